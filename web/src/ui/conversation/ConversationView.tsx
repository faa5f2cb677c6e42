// The right-hand side: header (who, presence or typing, pins, details), message list, composer
// (with the message being replied to), and one side panel: details, pinned messages or a thread.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { describeError, joinChannel, updateConversationSettings } from '../../state/commands';
import { foldMessages } from '../../state/messages';
import { conversationTitle, isActiveMember, peerPresence, typingText } from '../../state/selectors';
import { Avatar } from '../common/Avatar';
import { Icon } from '../common/icons';
import { lastSeenText } from '../format';
import { useAppState, useClient, usePageVisible, useWindowFocused } from '../hooks';
import { closeConversation } from '../router';
import { jumpToMessage } from './actions';
import { Composer } from './Composer';
import { DetailsPanel } from './DetailsPanel';
import type { MessageLine } from './items';
import { MessageList } from './MessageList';
import { PinsPanel } from './PinsPanel';
import { ThreadPanel } from './ThreadPanel';

export type Panel = { kind: 'details' } | { kind: 'pins' } | { kind: 'thread'; root: number };

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function ConversationView(props: { conversationId: number; panel: Panel | null; onPanel(panel: Panel | null): void; autoFocus: boolean }) {
  const client = useClient();
  const id = props.conversationId;
  const state = useAppState((s) => s.conversations[id]);
  const title = useAppState((s) => (state ? conversationTitle(s, state.meta) : ''));
  const typing = useAppState((s) => (state ? typingText(s, state) : null));
  const presence = useAppState((s) => (state ? peerPresence(s, state.meta) : undefined));
  const phase = useAppState((s) => s.phase);
  const visible = usePageVisible();
  const focused = useWindowFocused();
  const scroller = useRef<HTMLDivElement>(null);
  const [replyTo, setReplyTo] = useState<MessageLine | null>(null);
  const [dropping, setDropping] = useState(false);
  const dragDepth = useRef(0);
  const pinCount = useMemo(() => {
    if (!state) return 0;
    let count = 0;
    for (const view of foldMessages(state.events, state.pinned).values()) if (view.pinned) count++;
    return Math.max(count, state.pinned?.length ?? 0);
  }, [state?.events, state?.pinned]);

  useEffect(() => {
    client.open(id);
  }, [id, !!state, state?.placeholder, phase === 'live']);

  // Opened in a focused window, a conversation marked as unread is not any more (on every device;
  // a receipt that moves the read pointer clears it too, but a chat read to the end has none).
  const markedUnread = state?.meta.marked_unread === true;
  useEffect(() => {
    if (markedUnread && visible && focused && phase === 'live') {
      updateConversationSettings(client, id, { marked_unread: false }).catch((err) => client.toast(describeError(err)));
    }
  }, [id, markedUnread, visible, focused, phase]);


  if (!state || state.placeholder) {
    return (
      <section class="conversation conversation--empty" aria-label="Conversation">
        <p class="empty-state__text">{phase === 'live' && !state ? 'This conversation is not available.' : 'Loading…'}</p>
        <button type="button" class="button" onClick={closeConversation}>Back to the list</button>
      </section>
    );
  }

  const { meta } = state;
  const active = isActiveMember(meta);
  let subtitle = '';
  if (meta.kind === 'direct') {
    if (presence?.status === 'online') subtitle = 'online';
    else if (presence?.status === 'away') subtitle = 'away';
    else if (presence?.status === 'offline' && presence.lastSeen) subtitle = lastSeenText(presence.lastSeen);
    else subtitle = meta.peer ? `@${meta.peer.username}` : '';
  } else if (meta.member_count !== undefined) subtitle = plural(meta.member_count, 'member');
  if (meta.kind === 'channel' && meta.topic) subtitle += subtitle ? ` · ${meta.topic}` : meta.topic;
  const avatarSeed = meta.kind === 'direct' && meta.peer ? meta.peer.id : meta.id;
  const panel = props.panel;
  const toggle = (kind: 'details' | 'pins') => props.onPanel(panel?.kind === kind ? null : { kind });

  function editLast() {
    const list = scroller.current;
    const mine = list?.querySelectorAll<HTMLElement>('.bubble--mine[data-seq]:not(.bubble--deleted)');
    const last = mine?.[mine.length - 1];
    if (!last) return;
    last.focus();
    last.dispatchEvent(new KeyboardEvent('keydown', { key: 'e', bubbles: true }));
  }

  // Files dragged over the conversation: an overlay says where they go; dropped, they wait in
  // the message box like picked ones. Enter and leave fire for every child: counted.
  const carriesFiles = (event: DragEvent) => active && !!event.dataTransfer?.types.includes('Files');
  const dropHandlers = {
    onDragEnter(event: DragEvent) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      dragDepth.current++;
      setDropping(true);
    },
    onDragOver(event: DragEvent) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer!.dropEffect = 'copy';
    },
    onDragLeave(event: DragEvent) {
      if (!carriesFiles(event)) return;
      dragDepth.current = Math.max(0, dragDepth.current - 1);
      if (dragDepth.current === 0) setDropping(false);
    },
    onDrop(event: DragEvent) {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      dragDepth.current = 0;
      setDropping(false);
      void client.attachFiles(String(id), [...(event.dataTransfer?.files ?? [])]);
      scroller.current?.closest('.conversation')?.querySelector<HTMLTextAreaElement>('.composer__input')?.focus();
    },
  };

  return (
    <div class={`conversation-layout ${panel ? 'conversation-layout--panel' : ''}`}>
      <section class="conversation" aria-label={`Conversation with ${title}`} {...dropHandlers}>
        {dropping ? (
          <div class="drop-overlay" data-testid="drop-overlay">
            <Icon name="attach" size={40} />
            <span>Drop files to send to {title}</span>
          </div>
        ) : null}
        <header class="conversation__header">
          <button type="button" class="icon-button conversation__back" aria-label="Back to conversations" title="Back" onClick={closeConversation}>
            <Icon name="back" />
          </button>
          <button type="button" class="conversation__who" onClick={() => toggle('details')} aria-expanded={panel?.kind === 'details'} title="Show details">
            <Avatar name={title} seed={avatarSeed} kind={meta.kind} presence={presence?.status === 'online' || presence?.status === 'away' ? presence.status : undefined} />
            <span class="conversation__titles">
              <h1 class="conversation__title" dir="auto">{title}</h1>
              <span class={`conversation__subtitle ${typing ? 'conversation__subtitle--typing' : ''}`} data-testid="conversation-status" aria-live="polite">
                {typing ?? subtitle}
              </span>
            </span>
          </button>
          <button
            type="button"
            class="icon-button conversation__pins"
            aria-label={pinCount ? `Pinned messages (${pinCount})` : 'Pinned messages'}
            title="Pinned messages"
            aria-pressed={panel?.kind === 'pins'}
            onClick={() => toggle('pins')}
          >
            <Icon name="pin" />
            {pinCount ? <span class="icon-button__count">{pinCount}</span> : null}
          </button>
          <button type="button" class="icon-button" aria-label="Details" title="Details" aria-pressed={panel?.kind === 'details'} onClick={() => toggle('details')}>
            <Icon name="info" />
          </button>
        </header>
        <MessageList
          key={id}
          conversationId={id}
          scrollerRef={scroller}
          canRead={visible && focused && phase !== 'connecting'}
          onReply={setReplyTo}
          onOpenThread={(root) => props.onPanel({ kind: 'thread', root })}
        />
        <footer class="conversation__footer">
          {active ? (
            <Composer
              key={id}
              conversationId={id}
              autoFocus={props.autoFocus}
              replyTo={replyTo}
              onCancelReply={() => setReplyTo(null)}
              onEditLast={editLast}
            />
          ) : meta.kind === 'channel' && meta.role === undefined ? (
            <div class="conversation__notice">
              <button
                type="button"
                class="button button--primary"
                onClick={() => joinChannel(client, id).catch((err) => client.toast(describeError(err)))}
              >
                Join channel
              </button>
            </div>
          ) : (
            <p class="conversation__notice">You can’t send messages here because you are no longer a member.</p>
          )}
        </footer>
      </section>
      {panel?.kind === 'details' ? <DetailsPanel conversationId={id} onClose={() => props.onPanel(null)} /> : null}
      {panel?.kind === 'pins' ? (
        <PinsPanel
          conversationId={id}
          onClose={() => props.onPanel(null)}
          onJump={(seq) => {
            if (window.matchMedia('(max-width: 1199px)').matches) props.onPanel(null);
            requestAnimationFrame(() => {
              if (!jumpToMessage(scroller.current, seq)) client.toast('That message is further back: scroll up to load it.', 'info');
            });
          }}
        />
      ) : null}
      {panel?.kind === 'thread' ? (
        <ThreadPanel key={panel.root} conversationId={id} root={panel.root} onClose={() => props.onPanel(null)} autoFocus={props.autoFocus} />
      ) : null}
    </div>
  );
}
