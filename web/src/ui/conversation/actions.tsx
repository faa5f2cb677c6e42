// The message actions of one list (the conversation's, or a thread's): which message shows its
// toolbar, which one is being edited, and the commands behind the buttons, with the dialogs
// they need (delete confirmation, message info). Returned as the MessageActionsContext value.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ConversationId, ReceiptsReply } from '../../protocol/types';
import {
  deleteMessage, describeError, editMessage, messageReceipts, setPinned, setReaction,
} from '../../state/commands';
import { foldMessages, type MessageView } from '../../state/messages';
import { namer } from '../../state/selectors';
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

function InfoDialog(props: { conversationId: ConversationId; seq: number; onClose(): void }) {
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
  return (
    <Dialog title="Message info" onClose={props.onClose}>
      {error ? <p class="form-error" role="alert">{error}</p> : null}
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
  const [deleting, setDeleting] = useState<number | null>(null);
  const [info, setInfo] = useState<number | null>(null);
  const locked = useRef(false);
  const views = conversation ? foldMessages(conversation.events, conversation.pinned) : new Map<number, MessageView>();

  function fail(error: unknown) {
    client.toast(describeError(error));
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
    askDelete: setDeleting,
    react(seq, emoji, add) {
      setReaction(client, id, seq, emoji, add).catch(fail);
    },
    pin(seq, pinned) {
      setPinned(client, id, seq, pinned).catch(fail);
    },
    info: setInfo,
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
          message="It will be deleted for everyone in this conversation. This cannot be undone."
          confirmLabel="Delete for everyone"
          danger
          onConfirm={() => {
            const seq = deleting;
            deleteMessage(client, id, seq).catch(fail);
            if (editing === seq) setEditing(null);
          }}
          onClose={() => setDeleting(null)}
        />
      ) : null}
      {info !== null ? <InfoDialog conversationId={id} seq={info} onClose={() => setInfo(null)} /> : null}
    </>
  );
  return { value, dialogs };
}
