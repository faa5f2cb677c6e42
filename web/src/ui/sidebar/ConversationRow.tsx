// One row of the conversation list: avatar, title, time of the last activity, preview, unread.
import type { ConversationSummary } from '../../state/selectors';
import { Avatar } from '../common/Avatar';
import { listTime } from '../format';
import { conversationPath, navigate } from '../router';

export function ConversationRow(props: { summary: ConversationSummary; current: boolean }) {
  const { summary, current } = props;
  const path = conversationPath(summary.id);
  const unreadLabel = summary.unread === 1 ? '1 unread message' : `${summary.unread} unread messages`;
  return (
    <li>
      <a
        href={path}
        class={`conv-row ${current ? 'conv-row--current' : ''} ${summary.unread ? 'conv-row--unread' : ''}`}
        aria-current={current ? 'page' : undefined}
        data-conversation-id={summary.id}
        onClick={(event) => {
          if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
          event.preventDefault();
          navigate(path);
        }}
      >
        <Avatar name={summary.title} seed={summary.avatarSeed} kind={summary.kind} />
        <span class="conv-row__body">
          <span class="conv-row__top">
            <span class="conv-row__title">{summary.title}</span>
            <span class="conv-row__time">{listTime(summary.activity)}</span>
          </span>
          <span class="conv-row__bottom">
            <span class="conv-row__preview">
              {summary.previewAuthor ? <span class="conv-row__author">{summary.previewAuthor}: </span> : null}
              {summary.preview || (summary.active ? '' : 'You are no longer a member')}
            </span>
            {summary.unread > 0 ? (
              <span class="badge" aria-label={unreadLabel} data-testid="unread-badge">
                {summary.unread > 99 ? '99+' : summary.unread}
              </span>
            ) : null}
          </span>
        </span>
      </a>
    </li>
  );
}
