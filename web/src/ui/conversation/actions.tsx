// The message actions of one list (the conversation's, or a thread's): which message shows its
// toolbar, which one is being edited, and the commands behind the buttons, with the dialogs
// they need (delete confirmation, message info). Returned as the MessageActionsContext value.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Attachment, ConversationId, EditVersion, ReceiptsReply } from '../../protocol/types';
import {
  deleteMessage, describeError, editMessage, hideMessages, messageEdits, messageReceipts, setPinned, setReaction,
} from '../../state/commands';
import { fullDate } from '../format';
import { foldMessages, type MessageView } from '../../state/messages';
import { attachmentPreview, conversationList, namer } from '../../state/selectors';
import { Avatar } from '../common/Avatar';
import { ConfirmDialog, Dialog } from '../common/Dialog';
import { useAppState, useClient } from '../hooks';
import type { MessageLine } from './items';
import type { MessageActions } from './Message';

/** Scrolls a message of `root` into view, focuses it and flashes it; false if it is not there. */
export function jumpToMessage(root: HTMLElement | null, seq: number): boolean {
  const target = root?.querySelector<HTMLElement>(`[data-testid="message"][data-seq="${seq}"]`);
  if (!target) return false;
  target.scrollIntoView({ block: 'center' });
  target.focus({ preventScroll: true });
  target.classList.remove('bubble--flash');
  void target.offsetWidth; // restart the animation
  target.classList.add('bubble--flash');
  return true;
}

/** Who got and read one's own message: the peer in a direct chat, each member in a group. */
function InfoDialog(props: { conversationId: ConversationId; seq: number; view?: MessageView; direct: boolean; onClose(): void }) {
  const client = useClient();
  const users = useAppState((s) => s.users);
  const names = useMemo(() => namer(client.store.get()), [users]);
  const [reply, setReply] = useState<ReceiptsReply | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    messageReceipts(client, props.conversationId, props.seq).then(setReply, (err) => setError(describeError(err)));
  }, []);
  const name = (id: number) => names.name(id);
  const readIds = new Set(reply?.read_by.map((entry) => entry.user_id));
  const sent = props.view ? <p class="dialog__text">Sent {fullDate(props.view.event.ts)}</p> : null;
  if (props.direct) {
    // One peer: its state in words. Read is only known if the peer shares read receipts.
    const state = !reply ? null : reply.read_by.length ? 'Read' : reply.delivered_to.length ? 'Delivered' : 'Sent, not delivered yet';
    return (
      <Dialog title="Message info" onClose={props.onClose}>
        {error ? <p class="form-error" role="alert">{error}</p> : null}
        {sent}
        {!reply && !error ? <p class="dialog__text">Loading…</p> : null}
        {state ? <p class="dialog__text" data-testid="message-state"><strong>{state}</strong></p> : null}
      </Dialog>
    );
  }
  return (
    <Dialog title="Message info" onClose={props.onClose}>
      {error ? <p class="form-error" role="alert">{error}</p> : null}
      {sent}
      {!reply && !error ? <p class="dialog__text">Loading…</p> : null}
      {reply ? (
        <div class="receipts">
          <h3 class="panel__heading">Read by</h3>
          {reply.read_by.length ? (
            <ul class="receipts__list">{reply.read_by.map((entry) => <li key={entry.user_id}>{name(entry.user_id)}</li>)}</ul>
          ) : <p class="dialog__text">Nobody yet.</p>}
          <h3 class="panel__heading">Delivered to</h3>
          {reply.delivered_to.filter((entry) => !readIds.has(entry.user_id)).length ? (
            <ul class="receipts__list">
              {reply.delivered_to.filter((entry) => !readIds.has(entry.user_id)).map((entry) => <li key={entry.user_id}>{name(entry.user_id)}</li>)}
            </ul>
          ) : <p class="dialog__text">{reply.delivered_to.length ? 'Everyone it was delivered to has read it.' : 'Nobody yet.'}</p>}
        </div>
      ) : null}
    </Dialog>
  );
}

/** Every version of an edited message, the original first (message.edits). */
function EditsDialog(props: { conversationId: ConversationId; seq: number; onClose(): void }) {
  const client = useClient();
  const [versions, setVersions] = useState<EditVersion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    messageEdits(client, props.conversationId, props.seq).then(setVersions, (err) => setError(describeError(err)));
  }, []);
  return (
    <Dialog title="Edit history" onClose={props.onClose}>
      {error ? <p class="form-error" role="alert">{error}</p> : null}
      {!versions && !error ? <p class="dialog__text">Loading…</p> : null}
      {versions ? (
        <ol class="edit-history" aria-label="Versions, oldest first">
          {versions.map((version, index) => (
            <li key={index} class="edit-history__version">
              <span class="edit-history__label">
                {index === 0 ? 'Original' : index === versions.length - 1 ? 'Current' : `Edit ${index}`} · {fullDate(version.ts)}
              </span>
              <span class="edit-history__text" dir="auto">{version.text}</span>
            </li>
          ))}
        </ol>
      ) : null}
    </Dialog>
  );
}

/**
 * Sends a message's text and files to another conversation the user can write in: the files by
 * their media ids, without uploading them again (the server lets anyone who can see a message
 * attach its media elsewhere).
 */
function ForwardDialog(props: { from: ConversationId; text: string; attachments: Attachment[]; onClose(): void }) {
  const client = useClient();
  const list = useAppState(conversationList, (a, b) => a.length === b.length && a.every((item, i) => item.id === b[i].id && item.title === b[i].title));
  const [filter, setFilter] = useState('');
  const needle = filter.trim().toLowerCase();
  const targets = list.filter((c) => c.active && c.id !== props.from && (!needle || c.title.toLowerCase().includes(needle)));
  const shown = attachmentPreview(props.text, props.attachments);
  function forward(id: ConversationId, title: string) {
    client.sendMessage(id, props.text, {}, { forwarded: props.attachments });
    client.toast(`Forwarded to ${title}.`, 'info');
    props.onClose();
  }
  return (
    <Dialog title="Forward message" onClose={props.onClose}>
      <p class="dialog__text forward__text" dir="auto">{shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}</p>
      <input
        type="search"
        class="input"
        placeholder="Search conversations"
        aria-label="Search conversations to forward to"
        value={filter}
        autofocus
        onInput={(event) => setFilter(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter' && targets.length) forward(targets[0].id, targets[0].title);
        }}
      />
      <ul class="forward__list" aria-label="Conversations">
        {targets.map((c) => (
          <li key={c.id}>
            <button type="button" class="forward__target" onClick={() => forward(c.id, c.title)}>
              <Avatar name={c.title} seed={c.avatarSeed} kind={c.kind} size="sm" />
              <span dir="auto">{c.title}</span>
            </button>
          </li>
        ))}
        {targets.length === 0 ? <li class="dialog__text">No conversation to forward to.</li> : null}
      </ul>
    </Dialog>
  );
}

export function useMessageActions(options: {
  conversationId: ConversationId;
  inThread: boolean;
  container: { current: HTMLElement | null };
  onReply(line: MessageLine): void;
  onOpenThread(seq: number): void;
  /** Extra messages to find quotes in (a thread's replies read with thread.history). */
  extra?: Map<number, MessageView>;
}) {
  const client = useClient();
  const id = options.conversationId;
  const conversation = useAppState((s) => s.conversations[id]);
  const users = useAppState((s) => s.users);
  const names = useMemo(() => namer(client.store.get()), [users]);
  const [activeKey, setActiveKey] = useState<string | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const [deleting, setDeleting] = useState<{ seq: number; forEveryone: boolean } | null>(null);
  const [info, setInfo] = useState<number | null>(null);
  const [edits, setEdits] = useState<number | null>(null);
  const [forwarding, setForwarding] = useState<{ text: string; attachments: Attachment[] } | null>(null);
  const locked = useRef(false);
  const views = conversation ? foldMessages(conversation.events, conversation.pinned) : new Map<number, MessageView>();

  function fail(error: unknown) {
    client.toast(describeError(error));
  }

  function hide(seq: number) {
    hideMessages(client, id, [seq]).catch(fail);
    if (editing === seq) setEditing(null);
  }

  const value: MessageActions | null = conversation ? {
    conversation,
    me: client.me.id,
    names,
    users,
    inThread: options.inThread,
    activeKey,
    setActive(key) {
      if (!locked.current) setActiveKey(key);
    },
    lock(on) {
      locked.current = on;
    },
    editing,
    setEditing,
    reply: options.onReply,
    openThread: options.onOpenThread,
    askDelete: (seq, forEveryone) => setDeleting({ seq, forEveryone }),
    react(seq, emoji, add) {
      setReaction(client, id, seq, emoji, add).catch(fail);
    },
    pin(seq, pinned) {
      setPinned(client, id, seq, pinned).catch(fail);
    },
    info: setInfo,
    showEdits: setEdits,
    forward: setForwarding,
    async edit(seq, text) {
      try {
        await editMessage(client, id, seq, text);
        setEditing(null);
        return true;
      } catch (error) {
        fail(error);
        return false;
      }
    },
    lookup: (seq) => views.get(seq) ?? options.extra?.get(seq),
    jumpTo(seq) {
      if (!jumpToMessage(options.container.current, seq)) client.toast('That message is not loaded here.', 'info');
    },
    retry: (key) => client.retryMessage(key),
    discard: (key) => client.discardMessage(key),
  } : null;

  const dialogs = (
    <>
      {deleting !== null ? (
        <ConfirmDialog
          title="Delete message?"
          message={deleting.forEveryone
            ? 'Delete it for everyone in this conversation, or only for you, on all your devices. This cannot be undone.'
            : 'It will be removed for you only, on all your devices; the others still see it. This cannot be undone.'}
          confirmLabel={deleting.forEveryone ? 'Delete for everyone' : 'Delete for me'}
          alternative={deleting.forEveryone ? { label: 'Delete for me', onSelect: () => hide(deleting.seq) } : undefined}
          danger
          onConfirm={() => {
            const { seq, forEveryone } = deleting;
            if (forEveryone) deleteMessage(client, id, seq).catch(fail);
            else hide(seq);
            if (editing === seq) setEditing(null);
          }}
          onClose={() => setDeleting(null)}
        />
      ) : null}
      {info !== null ? (
        <InfoDialog conversationId={id} seq={info} view={views.get(info)} direct={conversation?.meta.kind === 'direct'} onClose={() => setInfo(null)} />
      ) : null}
      {edits !== null ? <EditsDialog conversationId={id} seq={edits} onClose={() => setEdits(null)} /> : null}
      {forwarding !== null ? <ForwardDialog from={id} text={forwarding.text} attachments={forwarding.attachments} onClose={() => setForwarding(null)} /> : null}
    </>
  );
  return { value, dialogs };
}
