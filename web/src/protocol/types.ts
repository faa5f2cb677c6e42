// Wire types of the Parley client protocol, version 1 (docs/protocol.md, sections 3 and 4).
// These mirror the JSON exactly; nothing here holds client state.

export type UserId = number;
export type ConversationId = number;

export interface User {
  id: UserId;
  username: string;
  display_name: string;
  created_at: number;
}

export type Role = 'owner' | 'admin' | 'member';
export type ConversationKind = 'direct' | 'group' | 'channel';

/** A conversation as the server describes it (protocol 3.2). Membership fields are optional. */
export interface Conversation {
  id: ConversationId;
  kind: ConversationKind;
  title: string;
  topic?: string;
  created_by: UserId;
  created_at: number;
  last_seq: number;
  last_pos: number;
  last_event_at?: number;
  member_count?: number;
  role?: Role;
  visible_from_seq?: number;
  left_seq?: number;
  /** The caller's receipt pointers (protocol 5.6); with a membership. */
  delivered_seq?: number;
  read_seq?: number;
  /** The caller's own settings, with an active membership (protocol 5.10). */
  muted_until?: number;
  archived?: boolean;
  pin_rank?: number;
  marked_unread?: boolean;
  /** Which of its messages notify the caller (push); absent from servers before it existed. */
  notify?: NotifyLevel;
  /** The caller's "clear chat": events up to this seq are not shown (protocol 5.11). */
  cleared_seq?: number;
  /** Member view only (conversations.list, conversation.get, `conversation` frames). */
  unread_count?: number;
  mention_count?: number;
  last_message?: ChatEvent;
  peer_delivered_seq?: number;
  peer_read_seq?: number;
  peer?: User;
}

/**
 * An event of a conversation (protocol 3.1). Known kinds are listed in state/eventKinds.ts;
 * unknown kinds and fields must be tolerated (the index signature keeps them).
 */
export interface ChatEvent {
  conversation_id: ConversationId;
  seq: number;
  pos: number;
  /** Snowflake as a decimal string: it exceeds 2^53, never parse it into a number. */
  id: string;
  sender_id: UserId;
  kind: string;
  ts: number;
  text?: string;
  client_msg_id?: string;
  title?: string;
  user_ids?: UserId[];
  user_id?: UserId;
  role?: Role;
  /** Kind `text`: the quoted message; the root of the thread this reply belongs to. */
  reply_to?: number;
  thread_root?: number;
  mentions?: UserId[];
  mentions_all?: boolean;
  /** The caller hid this message for itself (message.hide): no content (protocol 5.11). */
  hidden?: boolean;
  /** Reads show a message's current state: its latest text, or a tombstone. */
  edited?: boolean;
  edited_at?: number;
  deleted?: boolean;
  deleted_at?: number;
  /** Kinds `message.*` and `reaction.*`: the message acted on. */
  target_seq?: number;
  emoji?: string;
  /** `history` and `thread.history` only. */
  reactions?: ReactionSummary[];
  thread?: ThreadSummary;
  /** Kind `text`: the files it carries (issue 14); absent on tombstones and hidden messages. */
  attachments?: Attachment[];
  [field: string]: unknown;
}

/**
 * A file as the server describes it (media.complete's `media`, an event's `attachments`):
 * `content_type` is what the bytes are. JPEG, PNG, WebP and GIF have `width` and `height` (as
 * displayed), `thumbnail` and a `preview` (base64 JPEG, a few hundred bytes). No URLs: those are
 * short-lived and per user (media.urls).
 */
export interface Attachment {
  id: string;
  file_name: string;
  size: number;
  content_type: string;
  width?: number;
  height?: number;
  thumbnail?: boolean;
  preview?: string;
}

/** media.upload: where to PUT the bytes, until `expires_at` (Unix seconds). */
export interface UploadTicket {
  media_id: string;
  file_name: string;
  size: number;
  upload: { method: string; url: string; expires_at: number; headers: Record<string, string> };
}

/** media.complete: the described file, and the uploader's own download URLs. */
export interface CompleteReply {
  media: Attachment;
  url: string;
  thumbnail_url?: string;
  url_expires_at: number;
}

/** media.urls: download URLs for the media the caller may see (Unix-seconds expiry). */
export interface MediaUrlsReply {
  media: { id: string; url: string; thumbnail_url?: string }[];
  missing: string[];
  url_expires_at: number;
}

export interface ReactionSummary {
  emoji: string;
  count: number;
  user_ids: UserId[];
}

export interface ThreadSummary {
  reply_count: number;
  last_reply_seq: number;
  last_reply_at: number;
}

export interface Member {
  user_id: UserId;
  role: Role;
  joined_at: number;
  username: string;
  display_name: string;
}

/** The `limits` object of the hello reply (protocol 2.3). */
export interface Limits {
  max_frame_bytes: number;
  max_text_bytes: number;
  max_client_msg_id_bytes: number;
  max_history_page: number;
  max_sync_page: number;
  frames_per_second: number;
  frames_burst: number;
  idle_timeout_ms: number;
  ping_interval_ms: number;
  max_group_members: number;
  max_members_per_request: number;
  max_title_bytes: number;
  max_username_bytes: number;
  [name: string]: number;
}

export interface HelloReply {
  user_id: UserId;
  session_id: number;
  cursor: number;
  protocol: number;
  limits: Limits;
  /** How often to send `ping` to stay online, and when a silent session stops counting. */
  presence?: { heartbeat_ms: number; ttl_ms: number };
  /** The server's VAPID public key (base64url): the applicationServerKey for Web Push. */
  push?: { vapid_public_key?: string };
  server: { version: string; node_id: number };
}

/** A push subscription of the user (push.subscribe, push.subscriptions). */
export interface PushSubscriptionInfo {
  id: number;
  kind: 'webpush' | 'fcm' | 'apns' | 'webhook';
  endpoint?: string;
  token?: string;
  encrypted: boolean;
  created_at: number;
  this_device: boolean;
}

export interface AckReply {
  conversation_id: ConversationId;
  client_msg_id: string;
  message_id: string;
  seq: number;
  pos: number;
  ts: number;
  duplicate: boolean;
}

export interface HistoryReply {
  conversation_id: ConversationId;
  events: ChatEvent[];
  has_more: boolean;
  visible_from_seq: number;
  last_seq: number;
}

export interface SyncReply {
  events: ChatEvent[];
  conversations: Conversation[];
  cursor: number;
  has_more: boolean;
}

export interface ThreadHistoryReply {
  conversation_id: ConversationId;
  root_seq: number;
  root: ChatEvent;
  events: ChatEvent[];
  has_more: boolean;
}

export interface Pin {
  seq: number;
  pinned_by: UserId;
  pinned_at: number;
  message: ChatEvent;
}

/** One version in message.edits: the original (no edit_seq), then each edit in order. */
export interface EditVersion {
  text: string;
  ts: number;
  edit_seq?: number;
}

/**
 * Which messages of a conversation notify the user (conversation.settings `notify`): 'default'
 * is every message in direct chats and groups and only mentions in channels; 'mentions' only
 * messages that mention the user (or @all); 'none' nothing. Mute (muted_until) overrides it.
 */
export type NotifyLevel = 'default' | 'all' | 'mentions' | 'none';

/** One user's own settings of a conversation (conversation.settings, protocol 5.10). */
export interface ConversationSettings {
  /** ms since the epoch; 0 = not muted, -1 = until unmuted. */
  muted_until: number;
  archived: boolean;
  /** 0 = not pinned; pinned ones show highest first. */
  pin_rank: number;
  marked_unread: boolean;
  /** "Clear chat": the user's reads leave out every event up to this seq (5.11). */
  cleared_seq: number;
  /** Optional only for servers from before it existed. */
  notify?: NotifyLevel;
}

/** Daily quiet hours in a time zone: "HH:MM" to "HH:MM", across midnight when end < start. */
export interface QuietSchedule {
  /** An IANA name, e.g. "Europe/Berlin". */
  timezone: string;
  start: string;
  end: string;
}

/** The account's pause of push notifications, on every device (account.notifications). */
export interface NotificationSettings {
  /** Do not disturb: ms since the epoch; 0 = off, -1 = until turned off. */
  dnd_until: number;
  schedule: QuietSchedule | null;
  /** Paused right now (when the server answered): do not disturb, or inside the schedule. */
  quiet_now: boolean;
}

export interface ReceiptsReply {
  conversation_id: ConversationId;
  seq: number;
  read_by: { user_id: UserId; read_seq: number }[];
  delivered_to: { user_id: UserId; delivered_seq: number }[];
}

export type PresenceStatus = 'online' | 'away' | 'offline' | 'unknown';

export interface PresenceEntry {
  user_id: UserId;
  status: PresenceStatus;
  last_seen?: number;
}

export interface Settings {
  read_receipts: boolean;
  last_seen: boolean;
  /** Can be found with users.search by people who share no conversation with the user. */
  discoverable?: boolean;
}

/** Frames the server pushes without a request (protocol 5.5–5.8), besides `event`. */
export type PushFrame =
  | { type: 'conversation'; conversation: Conversation }
  | { type: 'receipt'; conversation_id: ConversationId; user_id: UserId; delivered_seq: number; read_seq?: number }
  | { type: 'read_state'; conversation_id: ConversationId; delivered_seq: number; read_seq: number; unread_count: number; mention_count: number }
  | ({ type: 'conversation_settings'; conversation_id: ConversationId } & ConversationSettings)
  /** The account's do-not-disturb or quiet hours changed (on every session of the user). */
  | { type: 'notification_settings'; notifications: NotificationSettings }
  | { type: 'message_hidden'; conversation_id: ConversationId; seq: number }
  | { type: 'typing'; conversation_id: ConversationId; user_id: UserId; state: 'start' | 'stop'; expires_in_ms?: number }
  | { type: 'presence'; users: PresenceEntry[] }
  /** A user's new display name: the user itself or someone sharing a conversation (2.7). */
  | { type: 'user'; user: User };

/** Register / login reply (REST). `expires_at` is in seconds, unlike every other timestamp. */
export interface AuthReply {
  token: string;
  /** Names this token in the account's device list (account.sessions). */
  token_id?: string;
  expires_at: number;
  user: User;
}

/** GET /v1/auth/config: what the server expects before it shows a sign-up form (protocol 2.1). */
export interface AuthConfig {
  registration: 'open' | 'invite' | 'closed';
  min_password_bytes: number;
  min_password_entropy_bits: number;
  max_username_bytes: number;
  max_display_name_bytes: number;
  host_tokens: boolean;
}

/** POST /v1/auth/password_check: the server's judgement of a new password (protocol 2.1). */
export interface PasswordCheck {
  acceptable: boolean;
  entropy_bits: number;
  /** Why it is refused; only when not acceptable. */
  problem?: string;
  min_password_bytes: number;
  min_password_entropy_bits: number;
}

/** One signed-in device of the account (account.sessions, protocol 2.7). */
export interface DeviceSession {
  token_id: string;
  device: string;
  address: string;
  created_at: number;
  last_active_at: number;
  /** Seconds, like every token expiry. */
  expires_at: number;
  /** The token of the request that listed it: this browser. */
  current: boolean;
  /** WebSocket sessions open with this token right now. */
  online_sessions: number;
}

/** Stable error codes (protocol 9.1), plus two the client itself produces. */
export type ErrorCode =
  | 'bad_request' | 'unknown_type' | 'missing_field' | 'invalid_field' | 'too_large'
  | 'not_authenticated' | 'already_authenticated' | 'unauthorized' | 'token_expired'
  | 'token_revoked' | 'forbidden' | 'not_member' | 'not_found' | 'conflict' | 'already_member'
  | 'limit_reached' | 'rate_limited' | 'unavailable' | 'internal'
  // client-side: the request could not be sent, or its connection closed before the reply
  | 'offline' | 'disconnected';

/** A failed request: an `error` frame, an HTTP error body, or a client-side failure. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode | string,
    message: string,
    readonly retryAfterMs?: number,
    /** The request field the error is about (protocol 9.1: the error's `field`), if any. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }

  /** True when the same request may succeed later without any change (protocol 9.1, 11.2). */
  get retryable(): boolean {
    return this.code === 'offline' || this.code === 'disconnected' || this.code === 'unavailable'
      || this.code === 'rate_limited';
  }
}
