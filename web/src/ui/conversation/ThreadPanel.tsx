// A thread beside the conversation: its root message, its replies (thread.history, newest page
// first, older on request; new replies arrive with the conversation's events) and a composer
// that replies in the thread (thread_root_seq).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { loadThread, threadKey } from '../../state/commands';
import { foldMessages, type MessageView } from '../../state/messages';
import { isActiveMember } from '../../state/selectors';
import { Icon } from '../common/icons';
import { useAppState, useClient } from '../hooks';
import { useMessageActions } from './actions';
import { Composer } from './Composer';
import { buildThreadItems, type MessageLine } from './items';
import { Bubble, MessageActionsContext } from './Message';
import { ItemView, onLogKeyDown } from './MessageList';

export function ThreadPanel(props: { conversationId: number; root: number; onClose(): void; autoFocus: boolean }) {
  const client = useClient();
  const id = props.conversationId;
  const key = threadKey(id, props.root);
  const conversation = useAppState((s) => s.conversations[id]);
  const thread = useAppState((s) => s.threads[key]);
  const outbox = useAppState((s) => s.outbox);
  const phase = useAppState((s) => s.phase);
  const me = client.me.id;
  const scroller = useRef<HTMLDivElement>(null);
  const [replyTo, setReplyTo] = useState<MessageLine | null>(null);

  useEffect(() => {
    if (phase === 'live') void loadThread(client, id, props.root);
  }, [id, props.root, phase === 'live']);

  const built = useMemo(
    () => (conversation ? buildThreadItems(conversation, props.root, thread?.root, thread?.events ?? [], outbox, me) : { root: null, items: [] }),
    [conversation, thread, outbox, me, props.root],
  );
  // Quotes inside the thread may name replies older than the conversation's loaded events.
  const extra = useMemo<Map<number, MessageView>>(() => foldMessages(thread?.events ?? []), [thread?.events]);
  const actions = useMessageActions({
    conversationId: id,
    inThread: true,
    container: scroller,
    onReply: setReplyTo,
    onOpenThread: () => undefined,
    extra,
  });

  // New replies scroll into view.
  const count = built.items.length;
  useEffect(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [count, built.items[count - 1]?.key]);

  if (!conversation || !actions.value) return null;
  const replies = built.root?.view?.thread?.count ?? thread?.events.length ?? 0;
  const rootLine = built.root;

  return (
    <aside class="panel thread-panel" aria-label="Thread">
      <header class="panel__header">
        <h2>Thread</h2>
        <button type="button" class="icon-button" aria-label="Close thread" title="Close" onClick={props.onClose}>
          <Icon name="close" />
        </button>
      </header>
      <MessageActionsContext.Provider value={actions.value}>
        <div class="panel__body thread-panel__body" ref={scroller} role="log" aria-label="Thread replies" tabIndex={0} onKeyDown={(event) => onLogKeyDown(event, scroller.current)}>
          {rootLine ? (
            <div class="thread-panel__root">
              <span class="run__sender" dir="auto">{actions.value.names.name(rootLine.senderId)}</span>
              <Bubble line={rootLine} mine={rootLine.senderId === me} first isRoot />
            </div>
          ) : thread?.error ? (
            <p class="panel__note" role="alert">{thread.error}</p>
          ) : (
            <p class="panel__note">Loading…</p>
          )}
          <div class="thread-panel__count" role="separator">
            <span>{replies === 1 ? '1 reply' : `${replies} replies`}</span>
          </div>
          {thread?.hasMore ? (
            <div class="messages__top">
              <button type="button" class="button button--small" disabled={thread.loading} onClick={() => void loadThread(client, id, props.root, true)}>
                Earlier replies
              </button>
            </div>
          ) : null}
          <div class="thread-panel__replies">
            {built.items.map((item) => (
              <ItemView key={item.key} item={item} meta={conversation.meta} names={actions.value!.names} showSenders />
            ))}
          </div>
        </div>
        {actions.dialogs}
      </MessageActionsContext.Provider>
      <footer class="conversation__footer thread-panel__footer">
        {isActiveMember(conversation.meta) && rootLine && !rootLine.view?.deleted ? (
          <Composer
            key={key}
            conversationId={id}
            threadRoot={props.root}
            autoFocus={props.autoFocus}
            replyTo={replyTo}
            onCancelReply={() => setReplyTo(null)}
            label="Reply in thread"
          />
        ) : null}
      </footer>
    </aside>
  );
}
