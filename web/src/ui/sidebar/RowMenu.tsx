// The menu of a conversation in the list (its ⌄ button, or a right click on the row): the
// user's own settings of it, which follow the user to every device (conversation.settings):
// pin to top, mute for a while or always, archive, mark as unread / as read, clear the chat.
import { useRef, useState } from 'preact/hooks';
import { ProtocolError } from '../../protocol/types';
import { clearChat, describeError, updateConversationSettings } from '../../state/commands';
import type { ConversationSummary } from '../../state/selectors';
import { ConfirmDialog } from '../common/Dialog';
import { Icon } from '../common/icons';
import { MenuItem, Popover } from '../common/Menu';
import { useClient } from '../hooks';

const HOUR = 3_600_000;

export function RowMenu(props: { summary: ConversationSummary; open: boolean; onOpen(open: boolean): void }) {
  const client = useClient();
  const { summary } = props;
  const button = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [clearing, setClearing] = useState(false);

  async function change(patch: Parameters<typeof updateConversationSettings>[2]) {
    props.onOpen(false);
    setBusy(true);
    try {
      await updateConversationSettings(client, summary.id, patch);
    } catch (error) {
      if (error instanceof ProtocolError && error.code === 'limit_reached' && patch.pinned) {
        const max = client.limit('max_pinned_conversations');
        client.toast(`You can pin up to ${max ?? 'a few'} conversations. Unpin one first.`);
      } else client.toast(describeError(error));
    } finally {
      setBusy(false);
    }
  }

  function markRead() {
    props.onOpen(false);
    client.markRead(summary.id);
    if (summary.markedUnread) void change({ marked_unread: false });
  }

  const unreadNow = summary.unread > 0 || summary.markedUnread;
  return (
    <>
      <button
        ref={button}
        type="button"
        class="icon-button conv-row__menu"
        aria-label={`Chat options: ${summary.title}`}
        title="Chat options"
        aria-haspopup="menu"
        aria-expanded={props.open}
        disabled={busy}
        onClick={() => props.onOpen(!props.open)}
      >
        <Icon name="chevronDown" size={20} />
      </button>
      {props.open && button.current ? (
        <Popover anchor={button.current} label={`Options of ${summary.title}`} class="menu" onClose={() => props.onOpen(false)}>
          <MenuItem icon="pin" label={summary.pinRank ? 'Unpin' : 'Pin to top'} onSelect={() => void change({ pinned: !summary.pinRank })} />
          {summary.muted ? (
            <MenuItem icon="bell" label="Unmute" onSelect={() => void change({ muted_until: 0 })} />
          ) : (
            <>
              <MenuItem icon="bellOff" label="Mute for 8 hours" onSelect={() => void change({ muted_until: Date.now() + 8 * HOUR })} />
              <MenuItem icon="bellOff" label="Mute for 1 week" onSelect={() => void change({ muted_until: Date.now() + 7 * 24 * HOUR })} />
              <MenuItem icon="bellOff" label="Mute always" onSelect={() => void change({ muted_until: -1 })} />
            </>
          )}
          <MenuItem icon="archive" label={summary.archived ? 'Unarchive' : 'Archive'} onSelect={() => void change({ archived: !summary.archived })} />
          {unreadNow ? (
            <MenuItem icon="doubleCheck" label="Mark as read" onSelect={markRead} />
          ) : (
            <MenuItem icon="unread" label="Mark as unread" onSelect={() => void change({ marked_unread: true })} />
          )}
          <MenuItem icon="trash" label="Clear chat" danger onSelect={() => { props.onOpen(false); setClearing(true); }} />
        </Popover>
      ) : null}
      {clearing ? (
        <ConfirmDialog
          title="Clear this chat?"
          message={`The messages of “${summary.title}” so far will be removed for you, on all your devices; the others still see them. New messages show as usual.`}
          confirmLabel="Clear chat"
          danger
          onConfirm={() => void clearChat(client, summary.id).catch((error: unknown) => client.toast(describeError(error)))}
          onClose={() => setClearing(false)}
        />
      ) : null}
    </>
  );
}
