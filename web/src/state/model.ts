// The client's state: what the UI renders and what the cache persists. Plain data only; the
// logic that changes it lives in client.ts (connection, sync, sending) and commands.ts.
import type { ConnectionStatus } from '../net/connection';
import type {
  Attachment, ChatEvent, Conversation, ConversationId, NotificationSettings, PresenceStatus, Settings, User, UserId,
} from '../protocol/types';

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
  /** Receipt pointers and the server's unread counts (protocol 5.6). */
  read: ReadState;
  /** Groups: the other members' receipt pointers, as far as they are known (receipt frames, receipts.get). */
  receipts?: Record<UserId, { delivered: number; read?: number }>;
  /** Seqs pinned according to the last pins.list (events after it are folded on top). */
  pinned?: number[];
}

/**
 * Where the user has read to, and what the server counted as unread. The server's counts cover
 * events up to `countedTo`; newer events of others that the client holds are added to them
 * (selectors.ts), so badges move at once with live events and are corrected by `read_state`.
 */
export interface ReadState {
  delivered: number;
  read: number;
  unread: number;
  mentions: number;
  countedTo: number;
  /** Direct chats: the peer's pointers; `peerRead` only if the peer shares read receipts. */
  peerDelivered?: number;
  peerRead?: number;
  /** Groups: the highest seq every other member has had delivered / has read, as far as known.
   *  Kept with the device cache, so the list's ticks hold after a reload before receipts.get. */
  allDelivered?: number;
  allRead?: number;
}

export const EMPTY_READ: ReadState = { delivered: 0, read: 0, unread: 0, mentions: 0, countedTo: 0 };

export type OutgoingState =
  | 'pending' // waiting for a connection (or for the sync after a reconnect)
  | 'sending' // sent on the current connection, no ack yet
  | 'failed'; // refused by the server; kept until retried or discarded

/** A message typed by the user and not yet acknowledged (protocol 5.4: retried with its key). */
export interface OutgoingMessage {
  client_msg_id: string;
  conversation_id: ConversationId;
  text: string;
  /** The quoted message (send's reply_to_seq) and the thread root (thread_root_seq). */
  replyTo?: number;
  threadRoot?: number;
  /** Local epoch ms: orders the outbox and dates the bubble until the ack brings `ts`. */
  created_at: number;
  state: OutgoingState;
  error?: string;
  /** Files it carries: uploaded first (uploads.ts), sent once every one is ready. */
  attachments?: OutgoingAttachment[];
}

/** A file picked in the message box, before it is sent: its File is in localFiles.ts. */
export interface PendingFile {
  localId: string;
  file_name: string;
  size: number;
  content_type: string;
  /** Images this browser can draw (JPEG, PNG, WebP, GIF): their size, read from the file. */
  width?: number;
  height?: number;
}

/**
 * A file of an outgoing message. 'uploading' until media.complete described it (`media`), then
 * 'ready'; a forwarded file is ready from the start (no localId: nothing to upload). 'failed':
 * refused, or its File is gone (the page was reloaded before the upload finished).
 */
export interface OutgoingAttachment extends Partial<PendingFile> {
  state: 'uploading' | 'ready' | 'failed';
  media?: Attachment;
  error?: string;
}

/** How far an upload is (not persisted): bytes sent, and whether it waits to try again. */
export interface UploadProgress {
  loaded: number;
  total: number;
  waiting?: boolean;
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
  /** Conversations the user removed from the list on this device (after leaving them). */
  hidden: Record<ConversationId, true>;
  toasts: Toast[];
  /** Who is typing where, until when (local epoch ms). */
  typing: Record<ConversationId, Record<UserId, number>>;
  /** Presence of the users the client asked about or heard of (protocol 5.8). */
  presence: Record<UserId, UserPresence>;
  /** The privacy settings, once read (settings.update answers with them). */
  settings: Settings | null;
  /** The account's do-not-disturb and quiet hours (account.notifications), once read; not
   *  persisted (read after every catch-up, then kept by notification_settings frames). */
  notifications: NotificationSettings | null;
  /** Open thread panels' pages: key `${conversation}:${root}`. */
  threads: Record<string, ThreadState>;
  /** Unsent text per message box: key `${conversation}` or `${conversation}:${thread root}`; kept
   *  across reloads on this device. */
  drafts: Record<string, string>;
  /** Files picked per message box (same keys as drafts), not sent yet; not persisted. */
  composerFiles: Record<string, PendingFile[]>;
  /** Uploads in progress by localId; not persisted. */
  uploads: Record<string, UploadProgress>;
}

export interface UserPresence {
  status: PresenceStatus;
  lastSeen?: number;
}

export interface ThreadState {
  root?: ChatEvent;
  /** Replies read with thread.history (live ones are in the conversation's events as well). */
  events: ChatEvent[];
  hasMore: boolean;
  loading: boolean;
  error?: string;
}
