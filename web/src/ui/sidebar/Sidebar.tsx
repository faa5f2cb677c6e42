// The left column: the account bar with the actions (settings and sign-out in their dialog),
// the notification prompt, a filter, and the conversations ordered by last activity.
import { useState } from 'preact/hooks';
import { conversationList } from '../../state/selectors';
import { Avatar } from '../common/Avatar';
import { Icon, type IconName } from '../common/icons';
import { ChannelsDialog } from '../dialogs/ChannelsDialog';
import { NewChatDialog } from '../dialogs/NewChatDialog';
import { NewGroupDialog } from '../dialogs/NewGroupDialog';
import { SettingsDialog } from '../dialogs/SettingsDialog';
import { shallowEqual, useAppState } from '../hooks';
import { ConversationRow } from './ConversationRow';
import { NotificationPrompt } from './NotificationPrompt';
import { conversationPath, navigate } from '../router';

type DialogName = 'chat' | 'group' | 'channels' | 'settings' | null;

function Action(props: { icon: IconName; label: string; onClick(): void }) {
  return (
    <button type="button" class="icon-button" aria-label={props.label} title={props.label} onClick={props.onClick}>
      <Icon name={props.icon} />
    </button>
  );
}

/** `main`: on a phone the list is the whole screen, so it is the page's main landmark then. */
export function Sidebar(props: { currentId: number | null; onSignOut(): void; main?: boolean }) {
  const me = useAppState((s) => s.me);
  const list = useAppState(conversationList, (a, b) => a.length === b.length && a.every((item, i) => shallowEqual(item, b[i])));
  const [dialog, setDialog] = useState<DialogName>(null);
  const [filter, setFilter] = useState('');
  /** The archived conversations instead of the others (a search looks through both). */
  const [archive, setArchive] = useState(false);
  const [menuOf, setMenuOf] = useState<number | null>(null);
  const needle = filter.trim().toLowerCase();
  const archived = list.filter((c) => c.archived);
  const shown = needle ? list.filter((c) => c.title.toLowerCase().includes(needle)) : list.filter((c) => c.archived === archive);
  const archivedUnread = archived.filter((c) => c.unread > 0 || c.markedUnread).length;

  return (
    <div class="sidebar" aria-label="Conversations" role={props.main ? 'main' : 'complementary'}>
      {props.main ? <h1 class="sr-only">Conversations</h1> : null}
      <div class="sidebar__header">
        <Avatar name={me.display_name || me.username} seed={me.id} />
        <span class="sidebar__me">
          <span class="sidebar__name">{me.display_name || me.username}</span>
          <span class="sidebar__username">@{me.username}</span>
        </span>
        <span class="sidebar__actions">
          <Action icon="chat" label="New chat" onClick={() => setDialog('chat')} />
          <Action icon="group" label="New group" onClick={() => setDialog('group')} />
          <Action icon="channel" label="Channels" onClick={() => setDialog('channels')} />
          <Action icon="settings" label="Settings" onClick={() => setDialog('settings')} />
        </span>
      </div>
      <NotificationPrompt />
      <div class="sidebar__search">
        <Icon name="search" size={18} />
        <input
          type="search"
          class="sidebar__filter"
          placeholder="Search conversations"
          aria-label="Search conversations"
          value={filter}
          onInput={(e) => setFilter(e.currentTarget.value)}
          onKeyDown={(e) => {
            // Enter opens the first match, as in other messengers' search boxes.
            if (e.key === 'Enter' && needle && shown.length) navigate(conversationPath(shown[0].id));
          }}
        />
      </div>
      <nav class="sidebar__list" aria-label="Conversation list">
        {!needle && (archive || archived.length > 0) ? (
          <button type="button" class="archive-entry" aria-pressed={archive} onClick={() => setArchive(!archive)}>
            <Icon name={archive ? 'back' : 'archive'} size={20} />
            <span class="archive-entry__label">{archive ? 'Back to chats' : 'Archived'}</span>
            {!archive && archivedUnread > 0 ? <span class="archive-entry__count" aria-label={`${archivedUnread} with unread messages`}>{archivedUnread}</span> : null}
            {!archive ? <span class="archive-entry__total" aria-hidden="true">{archived.length}</span> : null}
          </button>
        ) : null}
        {shown.length ? (
          <ul class="conv-list">
            {shown.map((summary) => (
              <ConversationRow
                key={summary.id}
                summary={summary}
                current={summary.id === props.currentId}
                menuOpen={menuOf === summary.id}
                onMenu={(open) => setMenuOf(open ? summary.id : null)}
              />
            ))}
          </ul>
        ) : needle ? (
          <p class="sidebar__empty">No conversation matches “{filter.trim()}”.</p>
        ) : archive ? (
          <p class="sidebar__empty">No archived conversations.</p>
        ) : (
          <div class="sidebar__empty">
            <p>No conversations yet.</p>
            <p>
              <button type="button" class="button button--primary" onClick={() => setDialog('chat')}>Start a chat</button>{' '}
              <button type="button" class="button" onClick={() => setDialog('channels')}>Browse channels</button>
            </p>
          </div>
        )}
      </nav>
      {dialog === 'chat' ? <NewChatDialog onClose={() => setDialog(null)} /> : null}
      {dialog === 'group' ? <NewGroupDialog onClose={() => setDialog(null)} /> : null}
      {dialog === 'channels' ? <ChannelsDialog onClose={() => setDialog(null)} /> : null}
      {dialog === 'settings' ? <SettingsDialog onClose={() => setDialog(null)} onSignOut={props.onSignOut} /> : null}
    </div>
  );
}
