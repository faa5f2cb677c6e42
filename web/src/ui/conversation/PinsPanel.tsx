// The pinned messages of a conversation (pins.list), read again whenever a pin event arrives.
// A pin shows its message as it is now; choosing it shows the message in the conversation.
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Pin } from '../../protocol/types';
import { describeError, listPins, setPinned } from '../../state/commands';
import { foldMessages } from '../../state/messages';
import { attachmentPreview, namer } from '../../state/selectors';
import { Avatar } from '../common/Avatar';
import { Icon } from '../common/icons';
import { fullDate, listTime } from '../format';
import { useAppState, useClient } from '../hooks';

export function PinsPanel(props: { conversationId: number; onClose(): void; onJump(seq: number): void }) {
  const client = useClient();
  const id = props.conversationId;
  const conversation = useAppState((s) => s.conversations[id]);
  const users = useAppState((s) => s.users);
  const phase = useAppState((s) => s.phase);
  const [pins, setPins] = useState<Pin[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Pin events (and deletes, which unpin) change the list: count them to know when to re-read.
  const changes = useAppState((s) => (s.conversations[id]?.events ?? []).filter((e) => e.kind === 'message.pinned' || e.kind === 'message.unpinned' || e.kind === 'message.deleted').length);

  useEffect(() => {
    if (phase !== 'live') return;
    listPins(client, id).then((list) => {
      setPins(list);
      setError(null);
    }, (err) => setError(describeError(err)));
  }, [id, changes, phase === 'live']);

  const names = useMemo(() => namer(client.store.get()), [users]);
  if (!conversation) return null;
  const views = foldMessages(conversation.events, conversation.pinned);
  const { meta } = conversation;
  const canUnpin = meta.role !== undefined && meta.left_seq === undefined && (meta.kind !== 'channel' || meta.role === 'admin' || meta.role === 'owner');

  return (
    <aside class="panel" aria-label="Pinned messages">
      <header class="panel__header">
        <h2>Pinned messages</h2>
        <button type="button" class="icon-button" aria-label="Close pinned messages" title="Close" onClick={props.onClose}>
          <Icon name="close" />
        </button>
      </header>
      <div class="panel__body">
        {error ? <p class="form-error panel__note" role="alert">{error}</p> : null}
        {pins === null && !error ? <p class="panel__note">Loading…</p> : null}
        {pins?.length === 0 ? (
          <div class="panel__empty">
            <Icon name="pin" size={32} />
            <p>No pinned messages yet.</p>
            <p class="panel__sub">Pin a message from its menu to keep it here.</p>
          </div>
        ) : null}
        <ul class="pin-list">
          {(pins ?? []).map((pin) => {
            const view = views.get(pin.seq);
            const hidden = view ? view.hidden : pin.message.hidden === true;
            const text = hidden ? 'You deleted this message for yourself' : view ? (view.deleted ? 'This message was deleted' : attachmentPreview(view.text, view.attachments)) : attachmentPreview(pin.message.text ?? '', pin.message.attachments ?? []);
            const author = names.name(pin.message.sender_id);
            return (
              <li key={pin.seq} class="pin" data-testid="pin" data-seq-pinned={pin.seq}>
                <button type="button" class="pin__body" onClick={() => props.onJump(pin.seq)} aria-label={`${author}: ${text}. Show in the conversation`}>
                  <Avatar name={author} seed={pin.message.sender_id} size="sm" />
                  <span class="pin__text">
                    <span class="pin__top">
                      <span class="pin__author">{author}</span>
                      <time class="pin__time" title={fullDate(pin.message.ts)}>{listTime(pin.message.ts)}</time>
                    </span>
                    <span class="pin__message">{text}</span>
                    <span class="pin__by">Pinned by {pin.pinned_by === client.me.id ? 'you' : names.name(pin.pinned_by)}</span>
                  </span>
                </button>
                {canUnpin ? (
                  <button
                    type="button"
                    class="icon-button icon-button--small"
                    aria-label={`Unpin message from ${author}`}
                    title="Unpin"
                    onClick={() => setPinned(client, id, pin.seq, false).catch((err) => client.toast(describeError(err)))}
                  >
                    <Icon name="close" size={18} />
                  </button>
                ) : null}
              </li>
            );
          })}
        </ul>
      </div>
    </aside>
  );
}
