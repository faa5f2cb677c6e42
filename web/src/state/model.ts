// The client's state: what the UI renders and what the cache persists. Plain data only; the
// logic that changes it lives in client.ts (connection, sync, sending) and commands.ts.
import type { ConnectionStatus } from '../net/connection';
import type { ChatEvent, Conversation, ConversationId, User, UserId } from '../protocol/types';

/** The signed-in account, as kept in localStorage. */
export interface Session {
  token: string;
  /** Unix seconds (the register/login reply's unit). */
  expires_at: number;
  user: User;
}

export interface ConversationState {
  /** The server's description, kept current by events (eventKinds.ts) and replies. */
  meta: Conversation;
  /**
   * Known events in ascending seq, without duplicates: one contiguous block ending at the newest
   * known event. Holes appear only for a moment while a sync is running (and are then repaired).
   */
  events: ChatEvent[];
  /** The metadata is a stand-in until conversation.get answers (a live event came first). */
  placeholder?: boolean;
  loadingOlder?: boolean;
  /** The last history request failed with this message. */
  loadError?: string;
}

export type OutgoingState =
  | 'pending' // waiting for a connection (or for the sync after a reconnect)
  | 'sending' // sent on the current connection, no ack yet
  | 'failed'; // refused by the server; kept until retried or discarded

/** A message typed by the user and not yet acknowledged (protocol 5.4: retried with its key). */
export interface OutgoingMessage {
  client_msg_id: string;
  conversation_id: ConversationId;
  text: string;
  /** Local epoch ms: orders the outbox and dates the bubble until the ack brings `ts`. */
  created_at: number;
  state: OutgoingState;
  error?: string;
}

/**
 * Where the client stands with the server. 'connecting' until the first hello, 'syncing' while
 * catching up after a hello, 'live' once caught up, 'offline' between connections.
 */
export type SyncPhase = 'connecting' | 'syncing' | 'live' | 'offline';

export interface Toast {
  id: number;
  text: string;
  kind: 'error' | 'info';
}

export interface AppState {
  me: User;
  connection: ConnectionStatus;
  phase: SyncPhase;
  conversations: Record<ConversationId, ConversationState>;
  users: Record<UserId, User>;
  outbox: OutgoingMessage[];
  /** Per conversation, the newest seq the user has seen on this device (drives unread badges). */
  seen: Record<ConversationId, number>;
  /** Conversations the user removed from the list on this device (after leaving them). */
  hidden: Record<ConversationId, true>;
  toasts: Toast[];
}
