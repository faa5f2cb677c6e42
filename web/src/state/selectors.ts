// Derived values the UI shows: names, the ordered conversation list with previews, unread
// counts and message status. Pure functions of AppState.
import type { ChatEvent, Conversation, ConversationId, UserId } from '../protocol/types';
import { kindOf, type Namer } from './eventKinds';
import type { AppState, ConversationState, OutgoingMessage } from './model';

export function userName(state: AppState, id: UserId): string {
  const user = state.users[id];
  return user ? user.display_name || user.username : `User ${id}`;
}

export function namer(state: AppState): Namer {
  return { me: state.me.id, name: (id) => userName(state, id) };
}

/** The title to show: the group/channel title, or the other person of a direct chat. */
export function conversationTitle(state: AppState, meta: Conversation): string {
  if (meta.kind === 'direct') {
    if (!meta.peer) return 'Direct chat';
    if (meta.peer.id === state.me.id) return `${userName(state, meta.peer.id)} (you)`;
    return userName(state, meta.peer.id);
  }
  return meta.title || (meta.kind === 'channel' ? 'Channel' : 'Group');
}

/** The user can post: an active member (no ended membership). */
export function isActiveMember(meta: Conversation): boolean {
  return meta.role !== undefined && meta.left_seq === undefined;
}

/** The event a sidebar preview shows: the newest one that is a line of its own. */
function lastVisibleEvent(events: readonly ChatEvent[]): ChatEvent | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    if (kindOf(events[i]).display !== 'none') return events[i];
  }
  return undefined;
}

function pendingOf(outbox: readonly OutgoingMessage[], id: ConversationId): OutgoingMessage | undefined {
  for (let i = outbox.length - 1; i >= 0; i--) if (outbox[i].conversation_id === id) return outbox[i];
  return undefined;
}

/** Unread events of others after the user's seen mark (an estimate when older ones are not loaded). */
export function unreadCount(state: AppState, conversation: ConversationState): number {
  const seen = state.seen[conversation.meta.id] ?? 0;
  const events = conversation.events;
  let count = 0;
  for (let i = events.length - 1; i >= 0 && events[i].seq > seen; i--) {
    const event = events[i];
    if (event.sender_id !== state.me.id && kindOf(event).countsAsUnread) count++;
  }
  // Unseen events older than the loaded list (a long absence): counted as they are numbered.
  const first = events.length ? events[0].seq : conversation.meta.last_seq + 1;
  if (seen > 0 && first - 1 > seen) count += first - 1 - seen;
  return count;
}

export interface ConversationSummary {
  id: ConversationId;
  title: string;
  kind: Conversation['kind'];
  /** Seeds the avatar colour: the peer for a direct chat (the same person looks the same everywhere). */
  avatarSeed: number;
  /** Epoch ms of the newest activity: orders the list. */
  activity: number;
  preview: string;
  /** Who the preview is from, for "You: …" / "Ann: …" prefixes; null for system lines. */
  previewAuthor: string | null;
  previewPending: boolean;
  unread: number;
  active: boolean;
}

export function summarize(state: AppState, conversation: ConversationState): ConversationSummary {
  const { meta, events } = conversation;
  const names = namer(state);
  const pending = pendingOf(state.outbox, meta.id);
  const event = lastVisibleEvent(events);
  let preview = '';
  let previewAuthor: string | null = null;
  let activity = Math.max(meta.last_event_at ?? meta.created_at, event?.ts ?? 0);
  if (pending && (!event || pending.created_at >= event.ts)) {
    preview = pending.text;
    previewAuthor = 'You';
    activity = Math.max(activity, pending.created_at);
  } else if (event) {
    const spec = kindOf(event);
    preview = spec.describe(event, names, meta);
    if (spec.display === 'message') {
      previewAuthor = event.sender_id === state.me.id ? 'You' : meta.kind === 'direct' ? null : userName(state, event.sender_id);
    }
  } else if (meta.kind === 'channel' && meta.topic) {
    preview = meta.topic;
  }
  return {
    id: meta.id,
    title: conversationTitle(state, meta),
    kind: meta.kind,
    avatarSeed: meta.kind === 'direct' && meta.peer ? meta.peer.id : meta.id,
    activity,
    preview: preview.replace(/\s+/g, ' '),
    previewAuthor,
    previewPending: !!pending && preview === pending.text.replace(/\s+/g, ' '),
    unread: unreadCount(state, conversation),
    active: isActiveMember(meta),
  };
}

/** The sidebar: visible conversations, newest activity first. */
export function conversationList(state: AppState): ConversationSummary[] {
  return Object.values(state.conversations)
    .filter((c) => !c.placeholder && !state.hidden[c.meta.id])
    .map((c) => summarize(state, c))
    .sort((a, b) => b.activity - a.activity || b.id - a.id);
}

/** Total unread over the list, for the tab title. */
export function totalUnread(state: AppState, exceptId?: ConversationId): number {
  let total = 0;
  for (const c of Object.values(state.conversations)) {
    if (c.placeholder || state.hidden[c.meta.id] || c.meta.id === exceptId) continue;
    total += unreadCount(state, c);
  }
  return total;
}

/**
 * The ticks under one of the user's own messages. Today: 'pending' (in the outbox), 'failed',
 * 'sent' (acknowledged: durably stored). Receipts will add 'delivered' and 'read' here, from
 * per-member read positions kept beside the events.
 */
export type MessageStatus = 'pending' | 'failed' | 'sent' | 'delivered' | 'read';

export function eventStatus(_conversation: ConversationState, _event: ChatEvent): MessageStatus {
  return 'sent';
}
