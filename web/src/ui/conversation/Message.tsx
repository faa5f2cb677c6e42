// One message bubble and what hangs on it: the quoted message, the text with links and
// @mentions, "edited" and pin marks, ticks, reaction chips, the thread summary, the inline edit
// form, and — for the message under the pointer or the keyboard focus — the action toolbar with
// its emoji picker and "more" menu. What the actions do comes from MessageActionsContext
// (actions.tsx), so the main list and the thread panel share all of it.
import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { Attachment, User, UserId } from '../../protocol/types';
import { describeError, findChannel } from '../../state/commands';
import type { Namer } from '../../state/eventKinds';
import type { MessageView } from '../../state/messages';
import type { ConversationState } from '../../state/model';
import { attachmentPreview, isActiveMember, type MessageStatus } from '../../state/selectors';
import { hueOf } from '../common/Avatar';
import { Icon } from '../common/icons';
import { MenuItem, Popover } from '../common/Menu';
import { fullDate, timeOfDay } from '../format';
import { useClient } from '../hooks';
import { conversationPath, navigate } from '../router';
import { Attachments } from './Attachments';
import type { MessageLine } from './items';
import { formatted, isEmojiOnly } from './markdown';
import { EmojiPanel } from '../emoji/EmojiPanel';
import { rememberEmoji } from '../emoji/recents';

export const QUICK_REACTIONS: [emoji: string, label: string][] = [
  ['👍', 'Thumbs up'], ['❤️', 'Heart'], ['😂', 'Laughing'], ['😮', 'Surprised'],
  ['😢', 'Sad'], ['🙏', 'Thank you'], ['🎉', 'Celebrate'], ['🔥', 'Fire'],
];

export interface MessageActions {
  conversation: ConversationState;
  me: UserId;
  names: Namer;
  users: Record<UserId, User>;
  /** The thread panel: no "reply in thread" there (threads do not nest). */
  inThread: boolean;
  activeKey: string | null;
  setActive(key: string | null): void;
  /** While a picker or menu is open, pointing at other messages does not move the toolbar. */
  lock(locked: boolean): void;
  editing: number | null;
  setEditing(seq: number | null): void;
  reply(line: MessageLine): void;
  openThread(seq: number): void;
  /** Asks how to delete: for everyone (when allowed) or for the user only. */
  askDelete(seq: number, forEveryone: boolean): void;
  react(seq: number, emoji: string, add: boolean): void;
  pin(seq: number, pinned: boolean): void;
  info(seq: number): void;
  /** Opens the edit history (message.edits) of an edited message. */
  showEdits(seq: number): void;
  /** Opens the dialog that sends this text and these files to another conversation. */
  forward(message: { text: string; attachments: Attachment[] }): void;
  edit(seq: number, text: string): Promise<boolean>;
  /** A message of the conversation by seq (for quotes), if it is loaded. */
  lookup(seq: number): MessageView | undefined;
  jumpTo(seq: number): void;
  retry(clientMsgId: string): void;
  discard(clientMsgId: string): void;
}

export const MessageActionsContext = createContext<MessageActions | null>(null);

function useActions(): MessageActions {
  const actions = useContext(MessageActionsContext);
  if (!actions) throw new Error('MessageActionsContext missing');
  return actions;
}

/** What the user may do with a message (protocol 4: message.*, reaction.*, pin.*). */
export function permissionsFor(conversation: ConversationState, line: MessageLine, me: UserId) {
  const { meta } = conversation;
  const live = line.seq !== undefined && !!line.view && !line.view.deleted && isActiveMember(meta);
  const admin = meta.role === 'admin' || meta.role === 'owner';
  const mine = line.senderId === me;
  return {
    react: live,
    reply: live,
    thread: live && !line.view?.threadRoot,
    edit: live && mine,
    delete: live && (mine || (meta.kind !== 'direct' && admin)),
    pin: live && (meta.kind !== 'channel' || admin),
    info: live && mine && meta.kind !== 'channel',
    edits: live && !!line.view?.edited,
    /** "Delete for me": any message of a membership, active or former (protocol 5.11). */
    hide: line.seq !== undefined && !!line.view && (isActiveMember(meta) || meta.left_seq !== undefined),
  };
}

// --- text: links and mentions -------------------------------------------------------------------

// A link (http(s)://…, www.…, mailto:…; trailing punctuation is not part of it), an @mention
// or a #channel.
const TOKEN = /\b(?:https?:\/\/|www\.|mailto:)[^\s<>"']*[^\s<>"'.,;:!?)\]]|(?<![\w@])@[A-Za-z0-9][A-Za-z0-9_.-]*|(?<![\w&#/])#[\p{L}\p{N}][\p{L}\p{N}_-]*/gu;

const usernameIndex = new WeakMap<Record<UserId, User>, Map<string, UserId>>();

function userByName(users: Record<UserId, User>, name: string): UserId | undefined {
  let index = usernameIndex.get(users);
  if (!index) {
    index = new Map(Object.values(users).map((user) => [user.username.toLowerCase(), user.id]));
    usernameIndex.set(users, index);
  }
  return index.get(name.toLowerCase());
}

type TextProps = { text: string; mentions?: UserId[]; mentionsAll?: boolean; me: UserId; users: Record<UserId, User> };

/**
 * Text with its formatting (markdown.tsx), links (http(s), www., mailto:) made clickable and
 * @mentions highlighted; everything else stays plain text (never HTML). A mention is
 * highlighted when the server resolved it (the event's `mentions`, `mentions_all`); for the
 * user's own messages not read back yet, when the name is a known user.
 */
export function MessageText(props: TextProps) {
  return <>{formatted(props.text, (run) => linksAndMentions({ ...props, text: run }))}</>;
}

function linksAndMentions(props: TextProps): ComponentChildren[] {
  const { text, mentions, users, me } = props;
  const parts: ComponentChildren[] = [];
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    let token = match[0];
    const start = match.index ?? 0;
    if (token.startsWith('#')) {
      if (start > last) parts.push(text.slice(last, start));
      parts.push(<ChannelLink name={token.slice(1)} />);
    } else if (token.startsWith('@')) {
      token = token.replace(/[.-]+$/, '');
      const name = token.slice(1).toLowerCase();
      const all = name === 'all' || name === 'everyone';
      const id = all ? undefined : userByName(users, name);
      const resolved = all ? props.mentionsAll === true : id !== undefined && (mentions ? mentions.includes(id) : true);
      if (!resolved) continue;
      if (start > last) parts.push(text.slice(last, start));
      parts.push(<span class={`mention ${all || id === me ? 'mention--me' : ''}`}>{token}</span>);
    } else {
      if (start > last) parts.push(text.slice(last, start));
      const href = token.toLowerCase().startsWith('www.') ? `https://${token}` : token;
      parts.push(<a href={href} target="_blank" rel="noopener noreferrer">{token}</a>);
    }
    last = start + token.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/** `#name`: opens that channel (to read before joining, if the user is not in it), or says there is none. */
function ChannelLink(props: { name: string }) {
  const client = useClient();
  async function open() {
    try {
      const channel = await findChannel(client, props.name);
      if (channel) navigate(conversationPath(channel.id));
      else client.toast(`There is no channel called #${props.name}.`, 'info');
    } catch (error) {
      client.toast(describeError(error));
    }
  }
  return <button type="button" class="channel-link" onClick={() => void open()}>#{props.name}</button>;
}

/** Longer than this (characters or lines), a message is folded with "Read more". */
const FOLD_CHARS = 1200;
const FOLD_LINES = 20;

/** The text of a bubble: emoji alone drawn large; a very long text folded until "Read more". */
function LongText(props: { text: string; children: ComponentChildren }) {
  const long = props.text.length > FOLD_CHARS || props.text.split('\n').length > FOLD_LINES;
  const [open, setOpen] = useState(false);
  const jumbo = isEmojiOnly(props.text);
  return (
    <>
      <div class={`bubble__text ${jumbo ? 'bubble__text--jumbo' : ''} ${long && !open ? 'bubble__text--folded' : ''}`} dir="auto">
        {props.children}
      </div>
      {long ? (
        <button type="button" class="link-button bubble__more" aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Show less' : 'Read more'}
        </button>
      ) : null}
    </>
  );
}

// --- ticks -------------------------------------------------------------------------------------

const STATUS_LABEL: Record<MessageStatus, string> = {
  pending: 'Sending',
  failed: 'Not sent',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
};

export function Ticks({ status, size = 16 }: { status: MessageStatus; size?: number }) {
  const icon = status === 'pending' ? 'clock' : status === 'failed' ? 'alert' : status === 'sent' ? 'check' : 'doubleCheck';
  return (
    <span class={`ticks ticks--${status}`} role="img" aria-label={STATUS_LABEL[status]} title={STATUS_LABEL[status]}>
      <Icon name={icon} size={size} />
    </span>
  );
}

// --- popovers: the emoji picker and the "more" menu ------------------------------------------


export function EmojiPicker(props: { anchor: HTMLElement; mine: Set<string>; onPick(emoji: string, add: boolean): void; onMore(): void; onClose(): void }) {
  return (
    <Popover anchor={props.anchor} label="Add a reaction" class="emoji-picker" horizontal onClose={props.onClose}>
      {QUICK_REACTIONS.map(([emoji, label]) => (
        <button
          key={emoji}
          type="button"
          role="menuitemcheckbox"
          aria-checked={props.mine.has(emoji)}
          aria-label={label}
          title={label}
          class="emoji-picker__item"
          tabIndex={-1}
          onClick={(event) => {
            rememberEmoji({ char: emoji, name: label.toLowerCase() });
            props.onPick(emoji, !props.mine.has(emoji));
            props.onClose();
            // From the keyboard (a click without a pointer), the focus goes back to the button.
            if (event.detail === 0) props.anchor.focus();
          }}
        >
          {emoji}
        </button>
      ))}
      <button type="button" role="menuitem" aria-label="More reactions" title="More reactions" class="emoji-picker__item emoji-picker__more" tabIndex={-1} onClick={props.onMore}>
        <Icon name="plus" size={20} />
      </button>
    </Popover>
  );
}

/** The full picker for a reaction: picking an emoji the user already reacted with removes it. */
function ReactionPanel(props: { anchor: HTMLElement; seq: number; mine: Set<string>; onClose(): void }) {
  const actions = useActions();
  return (
    <EmojiPanel
      anchor={props.anchor}
      label="Add a reaction"
      chosen={props.mine}
      onPick={(emoji) => actions.react(props.seq, emoji, !props.mine.has(emoji))}
      onClose={props.onClose}
    />
  );
}

// --- the toolbar ---------------------------------------------------------------------------------

function Toolbar(props: { line: MessageLine; mine: boolean; onPopover(open: boolean): void }) {
  const actions = useActions();
  const { line } = props;
  const allowed = permissionsFor(actions.conversation, line, actions.me);
  const [open, setOpen] = useState<'react' | 'all' | 'more' | null>(null);
  const [beside, setBeside] = useState(true);
  const bar = useRef<HTMLDivElement>(null);
  const reactButton = useRef<HTMLButtonElement>(null);
  const moreButton = useRef<HTMLButtonElement>(null);
  const seq = line.seq!;
  const view = line.view!;
  const myReactions = new Set(view.reactions.filter((r) => r.userIds.includes(actions.me)).map((r) => r.emoji));

  function show(which: 'react' | 'all' | 'more' | null) {
    setOpen(which);
    props.onPopover(which !== null);
    actions.lock(which !== null);
  }

  useEffect(() => () => actions.lock(false), []);

  // The bar never leaves its own bubble's height, so it cannot cover a neighbour (their text,
  // time, name or reactions): beside the bubble, in the empty side of the column, when there is
  // room; otherwise over the bubble's own top corner (narrow screens, full-width bubbles).
  useLayoutEffect(() => {
    const bubble = bar.current?.parentElement;
    const log = bubble?.closest('[role="log"]');
    if (!bar.current || !bubble || !log) return;
    const own = bubble.getBoundingClientRect();
    const column = log.getBoundingClientRect();
    const room = props.mine ? own.left - column.left : column.right - own.right;
    setBeside(room >= bar.current.offsetWidth + 12);
  }, []);

  function run(action: () => void) {
    show(null);
    action();
  }

  return (
    <div ref={bar} class={`bubble__actions ${props.mine ? 'bubble__actions--mine' : ''} ${beside ? 'bubble__actions--beside' : ''}`} role="toolbar" aria-label="Message actions">
      {allowed.react ? (
        <button ref={reactButton} type="button" class="icon-button icon-button--small" aria-label="React" title="React (+)" aria-haspopup="menu" aria-expanded={open === 'react' || open === 'all'} onClick={() => show(open === null ? 'react' : null)}>
          <Icon name="emoji" size={18} />
        </button>
      ) : null}
      {allowed.reply ? (
        <button type="button" class="icon-button icon-button--small" aria-label="Reply" title="Reply (R)" onClick={() => actions.reply(line)}>
          <Icon name="reply" size={18} />
        </button>
      ) : null}
      {allowed.thread && !actions.inThread ? (
        <button type="button" class="icon-button icon-button--small" aria-label="Reply in thread" title="Reply in thread (T)" onClick={() => actions.openThread(seq)}>
          <Icon name="thread" size={18} />
        </button>
      ) : null}
      <button ref={moreButton} type="button" class="icon-button icon-button--small" aria-label="More actions" title="More actions" aria-haspopup="menu" aria-expanded={open === 'more'} onClick={() => show(open === 'more' ? null : 'more')}>
        <Icon name="more" size={18} />
      </button>
      {open === 'react' && reactButton.current ? (
        <EmojiPicker anchor={reactButton.current} mine={myReactions} onPick={(emoji, add) => actions.react(seq, emoji, add)} onMore={() => show('all')} onClose={() => show(null)} />
      ) : null}
      {open === 'all' && reactButton.current ? <ReactionPanel anchor={reactButton.current} seq={seq} mine={myReactions} onClose={() => show(null)} /> : null}
      {open === 'more' && moreButton.current ? (
        <Popover anchor={moreButton.current} label="Message actions" class="menu" onClose={() => show(null)}>
          {allowed.edit ? <MenuItem icon="edit" label="Edit" onSelect={() => run(() => actions.setEditing(seq))} /> : null}
          {allowed.pin ? (
            <MenuItem icon="pin" label={view.pinned ? 'Unpin' : 'Pin'} onSelect={() => run(() => actions.pin(seq, !view.pinned))} />
          ) : null}
          {view.text ? <MenuItem icon="copy" label="Copy text" onSelect={() => run(() => void navigator.clipboard?.writeText(view.text).catch(() => undefined))} /> : null}
          <MenuItem icon="forward" label="Forward" onSelect={() => run(() => actions.forward({ text: view.text, attachments: view.attachments }))} />
          {allowed.info ? <MenuItem icon="info" label="Message info" onSelect={() => run(() => actions.info(seq))} /> : null}
          {allowed.edits ? <MenuItem icon="edit" label="Edit history" onSelect={() => run(() => actions.showEdits(seq))} /> : null}
          {allowed.hide ? <MenuItem icon="trash" label="Delete" danger onSelect={() => run(() => actions.askDelete(seq, allowed.delete))} /> : null}
        </Popover>
      ) : null}
    </div>
  );
}

// --- parts of a bubble --------------------------------------------------------------------------

function Quote(props: { seq: number }) {
  const actions = useActions();
  const quoted = actions.lookup(props.seq);
  const author = quoted ? (quoted.senderId === actions.me ? 'You' : actions.names.name(quoted.senderId)) : '';
  const text = !quoted ? 'Original message not loaded' : quoted.deleted ? 'This message was deleted' : quoted.hidden ? 'You deleted this message for yourself' : attachmentPreview(quoted.text, quoted.attachments);
  return (
    <button
      type="button"
      class="quote"
      style={quoted ? { '--avatar-hue': String(hueOf(quoted.senderId)) } : undefined}
      onClick={() => actions.jumpTo(props.seq)}
      data-quote-seq={props.seq}
    >
      {/* Named by its visible text, so that speech input can say what it sees (WCAG 2.5.3). */}
      {author ? <span class="sr-only">Reply to </span> : null}
      {author ? <span class="quote__author" dir="auto">{author}</span> : null}
      {author ? <span class="sr-only">: </span> : null}
      <span class="quote__text" dir="auto">{text}</span>
      {quoted ? <span class="sr-only">. Show the message</span> : null}
    </button>
  );
}

function Reactions(props: { seq: number; view: MessageView; canReact: boolean }) {
  const actions = useActions();
  const [picking, setPicking] = useState(false);
  const add = useRef<HTMLButtonElement>(null);
  const mine = new Set(props.view.reactions.filter((r) => r.userIds.includes(actions.me)).map((r) => r.emoji));

  function pick(open: boolean) {
    setPicking(open);
    actions.lock(open);
  }

  return (
    <div class="reactions" role="group" aria-label="Reactions">
      {props.view.reactions.map((reaction) => {
        const who = reaction.userIds.map((id) => (id === actions.me ? 'you' : actions.names.name(id))).join(', ');
        return (
          <button
            key={reaction.emoji}
            type="button"
            class={`reaction ${mine.has(reaction.emoji) ? 'reaction--mine' : ''}`}
            aria-pressed={mine.has(reaction.emoji)}
            aria-label={`${reaction.emoji} ${reaction.userIds.length}: ${who}`}
            title={who}
            disabled={!props.canReact}
            data-emoji={reaction.emoji}
            onClick={() => actions.react(props.seq, reaction.emoji, !mine.has(reaction.emoji))}
          >
            <span class="reaction__emoji">{reaction.emoji}</span>
            <span class="reaction__count">{reaction.userIds.length}</span>
          </button>
        );
      })}
      {props.canReact ? (
        <button ref={add} type="button" class="reaction-add" aria-label="Add a reaction" title="Add a reaction" aria-haspopup="dialog" aria-expanded={picking} onClick={() => pick(!picking)}>
          <Icon name="emojiAdd" size={16} />
        </button>
      ) : null}
      {picking && add.current ? <ReactionPanel anchor={add.current} seq={props.seq} mine={mine} onClose={() => pick(false)} /> : null}
    </div>
  );
}

function EditForm(props: { seq: number; text: string }) {
  const actions = useActions();
  const [text, setText] = useState(props.text);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);

  useLayoutEffect(() => {
    const el = input.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  useLayoutEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 200)}px`;
  }, [text]);

  async function save() {
    const next = text.trim();
    if (!next) return;
    if (next === props.text) {
      actions.setEditing(null);
      return;
    }
    setBusy(true);
    if (!(await actions.edit(props.seq, next))) setBusy(false);
  }

  return (
    <form
      class="edit-form"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <textarea
        ref={input}
        class="edit-form__input"
        aria-label="Edit message"
        value={text}
        rows={1}
        onInput={(event) => setText(event.currentTarget.value)}
        onKeyDown={(event) => {
          event.stopPropagation();
          if (event.key === 'Escape') {
            event.preventDefault();
            actions.setEditing(null);
          } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            void save();
          }
        }}
      />
      <span class="edit-form__actions">
        <span class="edit-form__hint">Escape to cancel, Enter to save</span>
        <button type="button" class="button button--small button--ghost" onClick={() => actions.setEditing(null)}>Cancel</button>
        <button type="submit" class="button button--small button--primary" disabled={busy || !text.trim()}>Save</button>
      </span>
    </form>
  );
}

// --- the bubble --------------------------------------------------------------------------------

export function Bubble(props: { line: MessageLine; mine: boolean; first: boolean; isRoot?: boolean }) {
  const actions = useActions();
  const { line, mine } = props;
  const view = line.view;
  const ref = useRef<HTMLDivElement>(null);
  const [popover, setPopover] = useState(false);
  const active = actions.activeKey === line.key;
  const editing = view !== undefined && actions.editing === line.seq;
  const allowed = permissionsFor(actions.conversation, line, actions.me);
  const deleted = view?.deleted === true;
  const hasActions = line.seq !== undefined && !deleted;

  // After editing (saved or not), the keyboard focus comes back to the message.
  const wasEditing = useRef(false);
  useEffect(() => {
    if (wasEditing.current && !editing && ref.current && (!document.activeElement || document.activeElement === document.body)) {
      ref.current.focus({ preventScroll: true });
    }
    wasEditing.current = editing;
  }, [editing]);

  function onKeyDown(event: KeyboardEvent) {
    // Escape on a toolbar button goes back to the message (not out of the conversation).
    if (event.key === 'Escape' && event.target !== ref.current && (event.target as Element).closest('.bubble__actions')) {
      event.preventDefault();
      ref.current?.focus();
      return;
    }
    if (event.target !== ref.current || !hasActions || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    let handled = true;
    if ((key === 'r' || key === 'R') && allowed.reply) actions.reply(line);
    else if ((key === 'e' || key === 'E') && allowed.edit) actions.setEditing(line.seq!);
    else if ((key === 't' || key === 'T') && allowed.thread && !actions.inThread) actions.openThread(line.seq!);
    else if ((key === 'p' || key === 'P') && allowed.pin) actions.pin(line.seq!, !view!.pinned);
    else if ((key === 'Delete' || key === 'Backspace') && allowed.hide) actions.askDelete(line.seq!, allowed.delete);
    else if (key === '+' && allowed.react) ref.current?.querySelector<HTMLButtonElement>('[aria-label="React"]')?.click();
    else if (key === 'Enter') ref.current?.querySelector<HTMLButtonElement>('.bubble__actions button')?.focus();
    else handled = false;
    if (handled) event.preventDefault();
  }

  const classes = [
    'bubble',
    mine ? 'bubble--mine' : 'bubble--theirs',
    props.first ? 'bubble--first' : '',
    `bubble--${line.status}`,
    deleted ? 'bubble--deleted' : '',
    view?.pinned ? 'bubble--pinned' : '',
    editing ? 'bubble--editing' : '',
    line.attachments.length && !deleted ? 'bubble--media' : '',
  ].join(' ');

  return (
    <div
      ref={ref}
      class={classes}
      data-testid="message"
      data-seq={line.seq}
      data-status={line.status}
      data-client-msg-id={line.clientMsgId}
      tabIndex={-1}
      onMouseEnter={() => hasActions && actions.setActive(line.key)}
      // Also on a move: after a popover closes over the bubble, the pointer is inside it without
      // a new mouseenter.
      onMouseMove={() => hasActions && !active && actions.setActive(line.key)}
      onMouseLeave={() => {
        if (!popover && !ref.current?.contains(document.activeElement) && actions.activeKey === line.key) actions.setActive(null);
      }}
      onFocusIn={() => hasActions && actions.setActive(line.key)}
      onFocusOut={(event) => {
        const next = event.relatedTarget as Node | null;
        if (!popover && (!next || !ref.current?.contains(next)) && actions.activeKey === line.key) actions.setActive(null);
      }}
      onKeyDown={onKeyDown}
    >
      {line.replyTo && !deleted ? <Quote seq={line.replyTo} /> : null}
      {!deleted && line.attachments.length ? (
        <Attachments attachments={line.attachments} clientMsgId={line.seq === undefined ? line.clientMsgId : undefined} caption={line.text} />
      ) : null}
      {deleted ? (
        <span class="bubble__text bubble__text--deleted">
          <Icon name="block" size={16} />
          {mine ? 'You deleted this message' : 'This message was deleted'}
        </span>
      ) : editing ? (
        <EditForm seq={line.seq!} text={line.text} />
      ) : !line.text && line.attachments.length ? null : (
        <LongText text={line.text}>
          <MessageText text={line.text} mentions={view?.event.mentions} mentionsAll={view?.mentionsAll} me={actions.me} users={actions.users} />
        </LongText>
      )}
      {editing ? null : (
        <span class="bubble__meta">
          {view?.pinned ? <span class="bubble__pinned" role="img" aria-label="Pinned" title="Pinned"><Icon name="pin" size={13} /></span> : null}
          {view?.edited && !deleted && line.seq !== undefined ? (
            <button type="button" class="bubble__edited link-button" title={view.editedAt ? `Edited ${fullDate(view.editedAt)}: show the edit history` : 'Show the edit history'} onClick={() => actions.showEdits(line.seq!)}>
              edited
            </button>
          ) : null}
          <time dateTime={new Date(line.ts).toISOString()} title={fullDate(line.ts)}>{timeOfDay(line.ts)}</time>
          {mine && !deleted ? <Ticks status={line.status} /> : null}
        </span>
      )}
      {view && view.reactions.length ? <Reactions seq={line.seq!} view={view} canReact={allowed.react} /> : null}
      {view?.thread && !props.isRoot && !actions.inThread ? (
        <button type="button" class="bubble__thread" onClick={() => actions.openThread(line.seq!)}>
          <Icon name="thread" size={16} />
          <span>{view.thread.count === 1 ? '1 reply' : `${view.thread.count} replies`}</span>
          <span class="bubble__thread-time">Last reply {timeOfDay(view.thread.lastAt)}</span>
        </button>
      ) : null}
      {line.status === 'failed' && line.clientMsgId ? (
        <span class="bubble__error" role="alert">
          Not sent{line.error ? `: ${line.error}` : ''}
          {line.canRetry !== false ? <button type="button" class="link-button" onClick={() => actions.retry(line.clientMsgId!)}>Retry</button> : null}
          <button type="button" class="link-button" onClick={() => actions.discard(line.clientMsgId!)}>Delete</button>
        </span>
      ) : null}
      {active && hasActions && !editing ? <Toolbar line={line} mine={mine} onPopover={setPopover} /> : null}
    </div>
  );
}
