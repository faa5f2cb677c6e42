// The scrolling message log of one conversation: day separators, system lines, runs of
// bubbles. Scrolling near the top loads older history (history before_seq) and keeps the view
// where it was; new messages scroll into view when the user is at the bottom.
//
// Opened with unread messages, it lands on the first of them under an "N unread messages"
// divider (loading older pages until it is there), and the read pointer follows what has been
// on screen, not what was loaded: the messages below the view stay unread until scrolled to.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Conversation } from '../../protocol/types';
import { kindOf, type Namer } from '../../state/eventKinds';
import { unreadCounts } from '../../state/selectors';
import { hasOlder } from '../../state/timeline';
import { Avatar, hueOf } from '../common/Avatar';
import { Icon } from '../common/icons';
import { dayLabel } from '../format';
import { useAppState, useClient } from '../hooks';
import { useMessageActions } from './actions';
import { buildItems, type Item, type MessageLine, type UnreadMark } from './items';
import { Bubble, MessageActionsContext } from './Message';

/** Distance from the top (px) at which the previous page is requested. */
const LOAD_OLDER_MARGIN = 600;
const AT_BOTTOM_SLACK = 80;
/** Where the unread divider lands (px from the top): below the sticky day label. */
const DIVIDER_TOP = 48;

export function ItemView(props: { item: Item; meta: Conversation; names: Namer; showSenders: boolean; rootSeq?: number }) {
  const { item, names } = props;
  if (item.type === 'day') {
    return <div class="day-separator" role="separator"><span>{dayLabel(item.ts)}</span></div>;
  }
  if (item.type === 'unread') {
    return (
      <div class="unread-divider" role="separator" data-testid="unread-divider">
        <span>{item.count === 1 ? '1 unread message' : `${item.count} unread messages`}</span>
      </div>
    );
  }
  if (item.type === 'system') {
    return (
      <div class="system-line" data-testid="system-line" data-seq={item.event.seq}>
        <span>{kindOf(item.event).describe(item.event, names, props.meta)}</span>
      </div>
    );
  }
  const name = names.name(item.senderId);
  const showSender = props.showSenders && !item.mine;
  return (
    <div class={`run ${item.mine ? 'run--mine' : 'run--theirs'}`}>
      {showSender ? <Avatar name={name} seed={item.senderId} size="sm" /> : null}
      <div class="run__bubbles">
        {showSender ? <span class="run__sender" dir="auto" style={{ '--avatar-hue': String(hueOf(item.senderId)) }}>{name}</span> : null}
        {item.lines.map((line, index) => (
          <Bubble key={line.key} line={line} mine={item.mine} first={index === 0} isRoot={line.seq !== undefined && line.seq === props.rootSeq} />
        ))}
      </div>
    </div>
  );
}

/**
 * Arrow keys move the focus between messages (the log is one Tab stop; a focused message shows
 * its toolbar and takes the shortcuts of Bubble); Home and End go to the first and last.
 */
export function onLogKeyDown(event: KeyboardEvent, container: HTMLElement | null): void {
  if (!container || !['ArrowUp', 'ArrowDown', 'Home', 'End'].includes(event.key)) return;
  const target = event.target as HTMLElement;
  const onMessage = target.dataset?.testid === 'message';
  if (!onMessage && target !== container) return;
  const bubbles = [...container.querySelectorAll<HTMLElement>('[data-testid="message"]')];
  if (bubbles.length === 0) return;
  const at = onMessage ? bubbles.indexOf(target) : -1;
  let next: HTMLElement | undefined;
  if (event.key === 'Home') next = bubbles[0];
  else if (event.key === 'End') next = bubbles[bubbles.length - 1];
  else if (event.key === 'ArrowUp') next = at < 0 ? bubbles[bubbles.length - 1] : bubbles[Math.max(0, at - 1)];
  else next = at < 0 ? bubbles[bubbles.length - 1] : bubbles[Math.min(bubbles.length - 1, at + 1)];
  event.preventDefault();
  next.focus({ preventScroll: true });
  next.scrollIntoView({ block: 'nearest' });
}

/** The seq of the newest message or system line whose top is inside the scroller's view. */
function newestShownSeq(el: HTMLElement): number {
  const bottom = el.getBoundingClientRect().bottom;
  const marks = el.querySelectorAll<HTMLElement>('[data-seq]');
  for (let i = marks.length - 1; i >= 0; i--) {
    if (marks[i].getBoundingClientRect().top < bottom) return Number(marks[i].dataset.seq);
  }
  return 0;
}

export function MessageList(props: {
  conversationId: number;
  scrollerRef: { current: HTMLDivElement | null };
  /** The page is visible and focused and the client connected: what is shown gets read. */
  canRead: boolean;
  onReply(line: MessageLine): void;
  onOpenThread(seq: number): void;
}) {
  const client = useClient();
  const id = props.conversationId;
  const conversation = useAppState((s) => s.conversations[id]);
  const unreadNow = useAppState((s) => (conversation ? unreadCounts(s, conversation).unread : 0));
  const outbox = useAppState((s) => s.outbox);
  const me = client.me.id;
  // Taken once, when the conversation is first shown: the divider stays where it was.
  const [unreadMark] = useState<UnreadMark | null>(() =>
    conversation && unreadNow > 0 ? { after: conversation.read.read, count: unreadNow } : null);
  // 'loading': older pages are fetched until the first unread message is there; 'landed' once
  // the view was put on it (or there was nothing to land on).
  const landing = useRef<'loading' | 'landed'>(unreadMark ? 'loading' : 'landed');
  const [unreadAbove, setUnreadAbove] = useState(false);
  const items = useMemo(() => (conversation ? buildItems(conversation, outbox, me, unreadMark) : []), [conversation, outbox, me, unreadMark]);
  const scroller = props.scrollerRef;
  const actions = useMessageActions({ conversationId: id, inThread: false, container: scroller, onReply: props.onReply, onOpenThread: props.onOpenThread });
  const names = actions.value?.names;
  const [atBottom, setAtBottom] = useState(true);
  const [newBelow, setNewBelow] = useState(0);

  const firstKey = items.find((item) => item.type !== 'day' && item.type !== 'unread')?.key;
  const lastItem = items[items.length - 1];
  const lastKey = lastItem?.type === 'messages' ? lastItem.lines[lastItem.lines.length - 1].key : lastItem?.key;
  // What the last layout showed, and the scroll geometry measured now, during render, before
  // the DOM changes: enough to tell appends from prepends and to keep the view in place.
  const shown = useRef<{ firstKey?: string; lastKey?: string; atBottom: boolean }>({ atBottom: true });
  const geometry = useRef({ height: 0, top: 0 });
  if (scroller.current) geometry.current = { height: scroller.current.scrollHeight, top: scroller.current.scrollTop };

  const showSenders = conversation?.meta.kind !== 'direct';
  // Names for senders and for the people system lines mention.
  useEffect(() => {
    if (!conversation) return;
    const ids = new Set<number>();
    for (const event of conversation.events) {
      ids.add(event.sender_id);
      if (typeof event.user_id === 'number') ids.add(event.user_id);
      for (const userId of event.user_ids ?? []) ids.add(userId);
      for (const userId of event.mentions ?? []) ids.add(userId);
    }
    client.ensureUsers(ids);
  }, [conversation?.events]);

  /** Marks read what has been on screen (everything once at the bottom). */
  function markShown() {
    const el = scroller.current;
    if (!el || !props.canRead || landing.current !== 'landed') return;
    client.markRead(id, shown.current.atBottom ? undefined : newestShownSeq(el));
  }

  function divider(): HTMLElement | null {
    return scroller.current?.querySelector<HTMLElement>('[data-testid="unread-divider"]') ?? null;
  }

  function updateUnreadAbove() {
    const el = scroller.current;
    const mark = divider();
    setUnreadAbove(!!el && !!mark && mark.getBoundingClientRect().bottom <= el.getBoundingClientRect().top);
  }

  /** Puts the divider near the top of the view, under the floating day label. */
  function showDivider(el: HTMLElement, mark: HTMLElement) {
    el.scrollTop += mark.getBoundingClientRect().top - el.getBoundingClientRect().top - DIVIDER_TOP;
  }

  useEffect(markShown, [props.canRead]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const previous = shown.current;
    let atEnd = previous.atBottom;
    if (landing.current === 'loading' && conversation && unreadMark) {
      const first = conversation.events[0]?.seq ?? 0;
      const more = hasOlder(conversation.events, conversation.meta) && first > unreadMark.after + 1;
      const mark = divider();
      // Landed also when an older page could not be loaded: reading must not stop for good.
      if (!more || conversation.loadError) {
        landing.current = 'landed';
        if (mark) {
          showDivider(el, mark);
          atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < AT_BOTTOM_SLACK;
          shown.current = { firstKey, lastKey, atBottom: atEnd };
          setAtBottom(atEnd);
          markShown();
          return;
        }
      } else if (!conversation.loadingOlder && !conversation.loadError) {
        void client.loadOlder(id);
      }
    }
    if (previous.firstKey === undefined && previous.lastKey === undefined) {
      el.scrollTop = el.scrollHeight; // first content: start at the newest message
      atEnd = true;
    } else if (previous.lastKey !== lastKey) {
      const mine = lastItem?.type === 'messages' && lastItem.mine;
      if (previous.atBottom || mine) {
        el.scrollTop = el.scrollHeight;
        atEnd = true;
      } else {
        setNewBelow((n) => n + 1);
      }
    } else if (previous.firstKey !== firstKey) {
      // Older messages were put above: keep what the user was looking at in place.
      el.scrollTop = geometry.current.top + (el.scrollHeight - geometry.current.height);
    } else if (previous.atBottom) {
      // A reaction, an edit or a thread reply grew a message: stay at the bottom.
      el.scrollTop = el.scrollHeight;
    }
    shown.current = { firstKey, lastKey, atBottom: atEnd };
    if (atEnd !== atBottom) setAtBottom(atEnd);
    maybeLoadOlder();
    markShown();
  }, [items]);

  function maybeLoadOlder() {
    const el = scroller.current;
    const state = client.conversation(id);
    if (!el || !state || state.loadingOlder || state.loadError || !hasOlder(state.events, state.meta)) return;
    if (el.scrollTop < LOAD_OLDER_MARGIN || el.scrollHeight <= el.clientHeight) void client.loadOlder(id);
  }

  function onScroll() {
    const el = scroller.current;
    if (!el) return;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < AT_BOTTOM_SLACK;
    shown.current.atBottom = bottom;
    if (bottom !== atBottom) setAtBottom(bottom);
    if (bottom && newBelow) setNewBelow(0);
    maybeLoadOlder();
    markShown();
    if (unreadMark) updateUnreadAbove();
  }

  if (!conversation || !actions.value || !names) return null;
  const older = hasOlder(conversation.events, conversation.meta);

  return (
    <MessageActionsContext.Provider value={actions.value}>
    <div class="messages">
      <div class="messages__scroller" ref={scroller} onScroll={onScroll} role="log" aria-label="Messages" tabIndex={0} onKeyDown={(event) => onLogKeyDown(event, scroller.current)}>
        <div class="messages__inner">
          <div class="messages__top">
            {conversation.loadError ? (
              <span class="messages__status" role="alert">
                Could not load earlier messages.{' '}
                <button type="button" class="link-button" onClick={() => void client.loadOlder(id)}>Try again</button>
              </span>
            ) : older ? (
              <span class="messages__status" data-testid="loading-older">Loading earlier messages…</span>
            ) : (
              <span class="messages__status messages__status--start" data-testid="history-start">
                {conversation.meta.kind === 'direct' ? 'This is the beginning of your chat.' : 'This is the beginning of the conversation.'}
              </span>
            )}
          </div>
          {items.map((item) => (
            <ItemView key={item.key} item={item} meta={conversation.meta} names={names} showSenders={showSenders} />
          ))}
        </div>
      </div>
      {unreadAbove && unreadMark ? (
        <button
          type="button"
          class="jump-unread"
          onClick={() => {
            const el = scroller.current;
            const mark = divider();
            if (el && mark) showDivider(el, mark);
          }}
        >
          <Icon name="arrowUp" />
          Jump to first unread
        </button>
      ) : null}
      {!atBottom ? (
        <button
          type="button"
          class="jump-button"
          aria-label={newBelow ? `${newBelow} new, jump to the newest message` : 'Jump to the newest message'}
          title="Jump to the newest message"
          onClick={() => {
            const el = scroller.current;
            if (el) el.scrollTop = el.scrollHeight;
            setNewBelow(0);
          }}
        >
          {newBelow ? <span class="badge">{newBelow}</span> : null}
          <Icon name="arrowDown" />
        </button>
      ) : null}
      {actions.dialogs}
    </div>
    </MessageActionsContext.Provider>
  );
}
