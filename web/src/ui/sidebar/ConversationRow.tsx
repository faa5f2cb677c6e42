// One row of the conversation list: avatar (with the peer's presence), title, time of the last
// activity, preview (or who is typing) with the ticks of one's own last message, and the unread
// and mention badges.
import type { ConversationSummary } from '../../state/selectors';
import { Avatar } from '../common/Avatar';
import { Icon } from '../common/icons';
import { plainText } from '../conversation/markdown';
import { Ticks } from '../conversation/Message';
import { listTime } from '../format';
import { conversationPath, navigate } from '../router';
import { RowMenu } from './RowMenu';

const PRESENCE_LABEL = { online: 'online', away: 'away', offline: 'offline', unknown: '' } as const;

export function ConversationRow(props: { summary: ConversationSummary; current: boolean; menuOpen: boolean; onMenu(open: boolean): void }) {
  const { summary, current } = props;
  const path = conversationPath(summary.id);
  const unreadLabel = summary.unread === 1 ? '1 unread message' : `${summary.unread} unread messages`;
  const mentionLabel = summary.mentions === 1 ? '1 mention' : `${summary.mentions} mentions`;
  return (
    <li class="conv-item">
      <a
        href={path}
        class={`conv-row ${current ? 'conv-row--current' : ''} ${summary.unread || summary.markedUnread ? 'conv-row--unread' : ''}`}
        aria-current={current ? 'page' : undefined}
        data-conversation-id={summary.id}
        onClick={(event) => {
          if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
          event.preventDefault();
          navigate(path);
        }}
        onContextMenu={(event) => {
          event.preventDefault();
          props.onMenu(true);
        }}
      >
        <Avatar name={summary.title} seed={summary.avatarSeed} kind={summary.kind} presence={summary.presence === 'offline' ? undefined : (summary.presence ?? undefined)} />
        <span class="conv-row__body">
          <span class="conv-row__top">
            <span class="conv-row__title" dir="auto">{summary.title}</span>
            {summary.presence && summary.presence !== 'offline' ? <span class="sr-only">, {PRESENCE_LABEL[summary.presence]}</span> : null}
            <span class="conv-row__time">{listTime(summary.activity)}</span>
          </span>
          <span class="conv-row__bottom">
            {summary.typing ? (
              <span class="conv-row__preview conv-row__typing" data-testid="row-typing">{summary.typing}</span>
            ) : summary.draft && !current ? (
              <span class="conv-row__preview" data-testid="row-draft">
                <span class="conv-row__draft">Draft: </span>
                <bdi class="conv-row__text">{summary.draft}</bdi>
              </span>
            ) : (
              <span class={`conv-row__preview ${summary.previewDeleted ? 'conv-row__preview--deleted' : ''}`}>
                {summary.previewStatus ? <Ticks status={summary.previewStatus} size={15} /> : null}
                {summary.previewDeleted ? <Icon name="block" size={14} /> : null}
                {summary.previewAuthor ? <span class="conv-row__author"><bdi>{summary.previewAuthor}</bdi>: </span> : null}
                <bdi class="conv-row__text">{(summary.previewIsText ? plainText(summary.preview) : summary.preview) || (summary.active ? '' : 'You are no longer a member')}</bdi>
              </span>
            )}
            {summary.pinRank ? <span class="conv-row__flag" role="img" aria-label="Pinned" title="Pinned" data-testid="row-pinned"><Icon name="pin" size={16} /></span> : null}
            {summary.muted ? <span class="conv-row__flag" role="img" aria-label="Muted" title="Muted" data-testid="row-muted"><Icon name="bellOff" size={16} /></span> : null}
            {summary.mentions > 0 ? (
              <span class="badge badge--mention" aria-label={mentionLabel} title={mentionLabel} data-testid="mention-badge">@</span>
            ) : null}
            {summary.unread > 0 ? (
              <span class={`badge ${summary.muted ? 'badge--muted' : ''}`} aria-label={unreadLabel} data-testid="unread-badge">
                {summary.unread > 99 ? '99+' : summary.unread}
              </span>
            ) : summary.markedUnread ? (
              <span class={`badge badge--dot ${summary.muted ? 'badge--muted' : ''}`} role="img" aria-label="Marked as unread" data-testid="marked-unread" />
            ) : null}
          </span>
        </span>
      </a>
      <RowMenu summary={summary} open={props.menuOpen} onOpen={props.onMenu} />
    </li>
  );
}
