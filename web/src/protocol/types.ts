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
  [field: string]: unknown;
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
  server: { version: string; node_id: number };
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

/** Register / login reply (REST). `expires_at` is in seconds, unlike every other timestamp. */
export interface AuthReply {
  token: string;
  expires_at: number;
  user: User;
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
