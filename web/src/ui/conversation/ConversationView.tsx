// The right-hand side: header, message list, composer, and the details panel.
import { useEffect } from 'preact/hooks';
import { describeError, joinChannel } from '../../state/commands';
import { conversationTitle, isActiveMember } from '../../state/selectors';
import { Avatar } from '../common/Avatar';
import { Icon } from '../common/icons';
import { useAppState, useClient, usePageVisible } from '../hooks';
import { closeConversation } from '../router';
import { Composer } from './Composer';
import { DetailsPanel } from './DetailsPanel';
import { MessageList } from './MessageList';

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function ConversationView(props: { conversationId: number; detailsOpen: boolean; onDetails(open: boolean): void; autoFocus: boolean }) {
  const client = useClient();
  const id = props.conversationId;
  const state = useAppState((s) => s.conversations[id]);
  const title = useAppState((s) => (state ? conversationTitle(s, state.meta) : ''));
  const phase = useAppState((s) => s.phase);
  const visible = usePageVisible();

  useEffect(() => {
    client.open(id);
  }, [id, !!state, state?.placeholder, phase === 'live']);

  // Everything on screen while the page is visible counts as seen.
  useEffect(() => {
    if (visible && state) client.markSeen(id);
  }, [id, visible, state?.events, state?.meta.last_seq]);

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
  if (meta.kind === 'direct') subtitle = meta.peer ? `@${meta.peer.username}` : '';
  else if (meta.member_count !== undefined) subtitle = plural(meta.member_count, 'member');
  if (meta.kind === 'channel' && meta.topic) subtitle += subtitle ? ` · ${meta.topic}` : meta.topic;
  const avatarSeed = meta.kind === 'direct' && meta.peer ? meta.peer.id : meta.id;

  return (
    <div class={`conversation-layout ${props.detailsOpen ? 'conversation-layout--details' : ''}`}>
      <section class="conversation" aria-label={`Conversation with ${title}`}>
        <header class="conversation__header">
          <button type="button" class="icon-button conversation__back" aria-label="Back to conversations" title="Back" onClick={closeConversation}>
            <Icon name="back" />
          </button>
          <button type="button" class="conversation__who" onClick={() => props.onDetails(!props.detailsOpen)} aria-expanded={props.detailsOpen} aria-label={`${title}: show details`}>
            <Avatar name={title} seed={avatarSeed} kind={meta.kind} />
            <span class="conversation__titles">
              <h1 class="conversation__title">{title}</h1>
              {subtitle ? <span class="conversation__subtitle">{subtitle}</span> : null}
            </span>
          </button>
          <button type="button" class="icon-button" aria-label="Details" title="Details" aria-pressed={props.detailsOpen} onClick={() => props.onDetails(!props.detailsOpen)}>
            <Icon name="info" />
          </button>
        </header>
        <MessageList key={id} conversationId={id} />
        <footer class="conversation__footer">
          {active ? (
            <Composer key={id} conversationId={id} autoFocus={props.autoFocus} />
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
      {props.detailsOpen ? <DetailsPanel conversationId={id} onClose={() => props.onDetails(false)} /> : null}
    </div>
  );
}
