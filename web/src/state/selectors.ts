// Derived values the UI shows: names, the ordered conversation list with previews, unread and
// mention counts, typing lines, presence and message ticks. Pure functions of AppState.
import type { ChatEvent, Conversation, ConversationId, PresenceStatus, UserId } from '../protocol/types';
import { kindOf, usersNamedBy, type Namer } from './eventKinds';
import { foldMessages, mentionsUser, type MessageView, viewOf } from './messages';
import { INLINE_IMAGE_TYPES } from './localFiles';
import type { AppState, ConversationState, OutgoingMessage, UserPresence } from './model';

/**
 * A message with files in one line, as other messengers put it: "📷 Photo", "📷 3 photos",
 * "📎 report.pdf", "📎 2 files"; a caption takes the label's place after the icon.
 */
export function attachmentPreview(text: string, files: readonly { content_type?: string; file_name?: string }[]): string {
  if (files.length === 0) return text;
  const photos = files.every((file) => INLINE_IMAGE_TYPES.has(file.content_type ?? ''));
  const label = photos
    ? (files.length === 1 ? 'Photo' : `${files.length} photos`)
    : (files.length === 1 ? (files[0].file_name ?? 'File') : `${files.length} files`);
  return `${photos ? '📷' : '📎'} ${text.trim() ? text : label}`;
}

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

/** The newest line of the main timeline: a message (not a thread reply) or a system line. */
function lastVisibleEvent(events: readonly ChatEvent[]): ChatEvent | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i];
    if (kindOf(event).display !== 'none' && !event.thread_root && !event.hidden) return event;
  }
  return undefined;
}

/** The server's last_message, unless this device has since hidden or cleared it. */
function serverPreview({ meta, events }: ConversationState): ChatEvent | undefined {
  const last = meta.last_message;
  if (!last || last.thread_root || last.seq <= (meta.cleared_seq ?? 0)) return undefined;
  return events.some((event) => event.seq === last.seq && event.hidden) ? undefined : last;
}

function pendingOf(outbox: readonly OutgoingMessage[], id: ConversationId): OutgoingMessage | undefined {
  for (let i = outbox.length - 1; i >= 0; i--) if (outbox[i].conversation_id === id && !outbox[i].threadRoot) return outbox[i];
  return undefined;
}

export interface UnreadCounts {
  unread: number;
  mentions: number;
}

/**
 * Unread messages and mentions: the server's counts (up to `read.countedTo`), plus the messages
 * of others the client received after that, minus the counted ones deleted since.
 */
export function unreadCounts(state: AppState, conversation: ConversationState): UnreadCounts {
  const { read, events } = conversation;
  const me = state.me.id;
  const from = Math.max(read.countedTo, read.read);
  let unread = read.unread;
  let mentions = read.mentions;
  if (events.length && events[events.length - 1].seq > from) {
    const views = foldMessages(events, conversation.pinned);
    for (let i = events.length - 1; i >= 0 && events[i].seq > from; i--) {
      const event = events[i];
      if (event.kind === 'message.deleted' && event.target_seq !== undefined && event.target_seq > read.read && event.target_seq <= from) {
        const target = views.get(event.target_seq);
        if (target && target.senderId !== me) {
          unread = Math.max(0, unread - 1);
          if (mentionsUser(viewOf(target.event), me)) mentions = Math.max(0, mentions - 1);
        }
      }
      if (event.kind !== 'text' || event.sender_id === me) continue;
      const view = views.get(event.seq);
      if (!view || view.deleted) continue;
      unread++;
      if (mentionsUser(view, me)) mentions++;
    }
  }
  return { unread, mentions };
}

export function unreadCount(state: AppState, conversation: ConversationState): number {
  return unreadCounts(state, conversation).unread;
}

/** "Alice is typing…", "Alice and Bob are typing…"; "typing…" in a direct chat; null if nobody. */
export function typingText(state: AppState, conversation: ConversationState): string | null {
  const entries = state.typing[conversation.meta.id];
  if (!entries) return null;
  const now = Date.now();
  const ids = Object.entries(entries).filter(([id, until]) => until > now && Number(id) !== state.me.id).map(([id]) => Number(id));
  if (ids.length === 0) return null;
  if (conversation.meta.kind === 'direct') return 'typing…';
  const names = ids.map((id) => userName(state, id).split(' ')[0]);
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

/** The presence shown for a direct chat's peer (undefined for groups, channels, oneself). */
/** The peer's presence in a direct chat; unknown (undefined) while the connection is down, since
 *  nothing tells this client then that it changed. */
export function peerPresence(state: AppState, meta: Conversation): UserPresence | undefined {
  if (meta.kind !== 'direct' || !meta.peer || meta.peer.id === state.me.id) return undefined;
  if (state.connection.state !== 'ready') return undefined;
  return state.presence[meta.peer.id];
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
  /** Ticks of the previewed message when it is the user's own. */
  previewStatus: MessageStatus | null;
  previewDeleted: boolean;
  /** The preview is a message's own text (with its formatting marks; the UI strips them). */
  previewIsText: boolean;
  /** The unsent text of the conversation's message box ('' if none), one line. */
  draft: string;
  unread: number;
  mentions: number;
  typing: string | null;
  presence: Exclude<PresenceStatus, 'unknown'> | null;
  active: boolean;
  /** The user's own settings (conversation.settings): muted now, archived, pinned (rank, 0 =
   *  not), marked as unread. */
  muted: boolean;
  archived: boolean;
  pinRank: number;
  markedUnread: boolean;
}

/** Muted now: until a time still ahead, or until unmuted (-1). */
export function isMuted(meta: Conversation, now = Date.now()): boolean {
  const until = meta.muted_until ?? 0;
  return until === -1 || until > now;
}

export function summarize(state: AppState, conversation: ConversationState): ConversationSummary {
  const { meta, events } = conversation;
  const names = namer(state);
  const me = state.me.id;
  const pending = pendingOf(state.outbox, meta.id);
  const event = lastVisibleEvent(events) ?? serverPreview(conversation);
  let preview = '';
  let previewAuthor: string | null = null;
  let previewStatus: MessageStatus | null = null;
  let previewDeleted = false;
  let previewIsText = false;
  let activity = Math.max(event ? event.ts : (meta.last_event_at ?? meta.created_at), meta.created_at);
  let previewPending = false;
  if (pending && (!event || pending.created_at >= event.ts)) {
    preview = attachmentPreview(pending.text, pending.attachments ?? []);
    previewPending = true;
    previewIsText = true;
    previewAuthor = 'You';
    previewStatus = pending.state === 'failed' ? 'failed' : 'pending';
    activity = Math.max(activity, pending.created_at);
  } else if (event) {
    const spec = kindOf(event);
    if (spec.display === 'message') {
      const view = foldMessages(events, conversation.pinned).get(event.seq) ?? viewOf(event);
      const mine = event.sender_id === me;
      previewDeleted = view.deleted;
      preview = view.deleted ? (mine ? 'You deleted this message' : 'This message was deleted') : attachmentPreview(view.text, view.attachments);
      previewIsText = !view.deleted;
      previewAuthor = view.deleted ? null : mine ? 'You' : meta.kind === 'direct' ? null : userName(state, event.sender_id);
      if (mine && !view.deleted) previewStatus = eventStatus(conversation, view, me);
    } else if (usersNamedBy(event).every((id) => id === me || state.users[id])) {
      preview = spec.describe(event, names, meta);
    } // else: no preview until the names it needs have arrived (the client asked for them), never "User 4"
  } else if (meta.kind === 'channel' && meta.topic) {
    preview = meta.topic;
  }
  const counts = unreadCounts(state, conversation);
  const presence = peerPresence(state, meta);
  return {
    id: meta.id,
    title: conversationTitle(state, meta),
    kind: meta.kind,
    avatarSeed: meta.kind === 'direct' && meta.peer ? meta.peer.id : meta.id,
    activity,
    preview: preview.replace(/\s+/g, ' '),
    previewAuthor,
    previewIsText,
    previewPending,
    previewStatus,
    previewDeleted,
    draft: (state.drafts[String(meta.id)] ?? '').trim().replace(/\s+/g, ' '),
    unread: counts.unread,
    mentions: counts.mentions,
    typing: typingText(state, conversation),
    presence: presence && presence.status !== 'unknown' ? presence.status : null,
    active: isActiveMember(meta),
    muted: isMuted(meta),
    archived: meta.archived === true,
    pinRank: meta.pin_rank ?? 0,
    markedUnread: meta.marked_unread === true,
  };
}

/**
 * Whether a conversation belongs in the list: not a stand-in, not removed on this device, one
 * the user is or was a member of (not a channel only previewed), and not a direct chat someone else opened without writing yet (the server announces those at
 * direct.open; they show with their first message, as the other person means them to).
 */
export function listed(state: AppState, c: ConversationState): boolean {
  if (c.placeholder || state.hidden[c.meta.id]) return false;
  const { meta } = c;
  if (meta.role === undefined) return false; // a channel previewed before joining
  return !(meta.kind === 'direct' && meta.last_seq === 0 && c.events.length === 0 && meta.created_by !== state.me.id);
}

/** The sidebar: visible conversations, the pinned ones first (last pinned on top), then newest
 *  activity first. Archived ones are in it too; the sidebar shows them apart. */
export function conversationList(state: AppState): ConversationSummary[] {
  return Object.values(state.conversations)
    .filter((c) => listed(state, c))
    .map((c) => summarize(state, c))
    .sort((a, b) => b.pinRank - a.pinRank || b.activity - a.activity || b.id - a.id);
}

/** Total unread over the list, for the tab title. */
export function totalUnread(state: AppState, exceptId?: ConversationId): number {
  let total = 0;
  const now = Date.now();
  for (const c of Object.values(state.conversations)) {
    // Muted conversations do not count; one marked as unread counts as one.
    if (!listed(state, c) || c.meta.id === exceptId || isMuted(c.meta, now)) continue;
    total += unreadCount(state, c) || (c.meta.marked_unread ? 1 : 0);
  }
  return total;
}

/**
 * The ticks under one of the user's own messages: 'pending' (in the outbox), 'failed', 'sent'
 * (acknowledged: durably stored), 'delivered' and 'read' from the receipt pointers — the peer's
 * in a direct chat; in a group, once every other member's pointer has passed the message
 * (members who hide read receipts keep it at delivered). Channels have no receipts.
 */
export type MessageStatus = 'pending' | 'failed' | 'sent' | 'delivered' | 'read';

export function eventStatus(conversation: ConversationState, view: Pick<MessageView, 'seq' | 'deleted'>, me: UserId): MessageStatus {
  const { meta, read } = conversation;
  if (view.deleted) return 'sent';
  if (meta.kind === 'direct') {
    if (!meta.peer || meta.peer.id === me) return 'sent';
    if ((read.peerRead ?? 0) >= view.seq) return 'read';
    if ((read.peerDelivered ?? 0) >= view.seq) return 'delivered';
    return 'sent';
  }
  if (meta.kind !== 'group') return 'sent';
  const others = (meta.member_count ?? 1) - 1;
  if (others <= 0) return 'sent';
  if ((read.allRead ?? 0) >= view.seq) return 'read';
  let delivered = 0;
  let readBy = 0;
  for (const [user, pointers] of Object.entries(conversation.receipts ?? {})) {
    if (Number(user) === me) continue;
    if (pointers.delivered >= view.seq) delivered++;
    if ((pointers.read ?? 0) >= view.seq) readBy++;
  }
  if (readBy >= others) return 'read';
  if (delivered >= others || (read.allDelivered ?? 0) >= view.seq) return 'delivered';
  return 'sent';
}
