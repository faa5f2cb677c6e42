// The device cache in localStorage: the session, and per user the sync cursor, conversations,
// users, read pointers and unread counts, the outbox and the newest events of each conversation.
//
// The invariant that makes a reload safe: every event at or below the saved cursor is either in
// the stored event lists or older than a list's first event (and then found with history). So
// event lists are written before the cursor, each list keeps a contiguous block of the newest
// events, and writes merge with what is stored: another tab of the same user may have written
// newer lists, and a list never loses events in a write.
import type { ChatEvent, Conversation, ConversationId, User, UserId } from '../protocol/types';
import type { Settings } from '../protocol/types';
import type { OutgoingMessage, ReadState, Session } from './model';
import { contiguousTail, mergeEvents } from './timeline';

const SESSION_KEY = 'parley.session';
/** 2: read state from the server (receipts) replaced the device's own unread marks. */
const VERSION = 2;
/** Events kept per conversation: enough for the first screen; older ones come from history. */
export const CACHED_EVENTS = 100;

export interface CachedMeta {
  version: number;
  /** The saved sync cursor (a pos); null before the first successful hello on this device. */
  cursor: number | null;
  conversations: Record<ConversationId, Conversation>;
  users: Record<UserId, User>;
  reads: Record<ConversationId, ReadState>;
  settings: Settings | null;
  hidden: Record<ConversationId, true>;
  outbox: OutgoingMessage[];
  /** Absent in caches written before drafts were kept. */
  drafts?: Record<string, string>;
}

function prefix(userId: UserId): string {
  return `parley.u${userId}.`;
}

function read<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? null : (JSON.parse(raw) as T);
  } catch {
    return null; // unreadable or corrupt: treat as absent
  }
}

/** Writes one key; when the quota is full, drops cached event lists once and tries again. */
function write(key: string, value: unknown): void {
  const text = JSON.stringify(value);
  try {
    localStorage.setItem(key, text);
  } catch {
    evictEventLists();
    try {
      localStorage.setItem(key, text);
    } catch (error) {
      console.warn('parley: cannot write the local cache', error);
    }
  }
}

function evictEventLists(): void {
  const keys: string[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (key && /^parley\.u\d+\.events\./.test(key)) keys.push(key);
  }
  // Dropping a list is safe: history reloads it (the cursor invariant only needs no holes).
  for (const key of keys) localStorage.removeItem(key);
}

export function loadSession(): Session | null {
  const session = read<Session>(SESSION_KEY);
  if (!session || typeof session.token !== 'string' || !session.user) return null;
  // Expired tokens are refused by the server anyway; asking for a sign-in at once is kinder.
  if (session.expires_at * 1000 <= Date.now()) return null;
  return session;
}

export function saveSession(session: Session): void {
  write(SESSION_KEY, session);
}

/** Forgets the session and everything cached for its user. */
export function clearSession(userId: UserId | null): void {
  localStorage.removeItem(SESSION_KEY);
  if (userId === null) return;
  const keys: string[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (key?.startsWith(prefix(userId))) keys.push(key);
  }
  for (const key of keys) localStorage.removeItem(key);
}

export function loadMeta(userId: UserId): CachedMeta | null {
  const meta = read<CachedMeta>(prefix(userId) + 'meta');
  if (!meta || meta.version !== VERSION) return null;
  return meta;
}

export function loadEvents(userId: UserId, conversationId: ConversationId): ChatEvent[] {
  const events = read<ChatEvent[]>(`${prefix(userId)}events.${conversationId}`);
  return Array.isArray(events) ? events : [];
}

/** Merges `events` into the stored list of the conversation, keeping the newest block. */
export function saveEvents(userId: UserId, conversationId: ConversationId, events: ChatEvent[]): void {
  const key = `${prefix(userId)}events.${conversationId}`;
  const stored = read<ChatEvent[]>(key);
  // What this page holds is at least as current as what is stored (message states included).
  const merged = Array.isArray(stored) ? mergeEvents(stored, events, 'replace') : events;
  write(key, contiguousTail(merged, CACHED_EVENTS));
}

/** Writes the metadata; call after saveEvents for every changed list (see the invariant above). */
export function saveMeta(userId: UserId, meta: Omit<CachedMeta, 'version'>): void {
  const stored = loadMeta(userId);
  let cursor = meta.cursor;
  const reads = { ...meta.reads };
  const conversations = { ...meta.conversations };
  if (stored) {
    // Another tab may be further ahead: keep the larger cursor, read pointers and metadata.
    if (stored.cursor !== null && (cursor === null || stored.cursor > cursor)) cursor = stored.cursor;
    for (const [id, read] of Object.entries(stored.reads ?? {})) {
      const mine = reads[Number(id)];
      if (!mine || read.read > mine.read) reads[Number(id)] = read;
    }
    for (const [id, conversation] of Object.entries(stored.conversations)) {
      const mine = conversations[Number(id)];
      if (!mine || conversation.last_pos > mine.last_pos) conversations[Number(id)] = conversation;
    }
  }
  write(prefix(userId) + 'meta', { ...meta, cursor, reads, conversations, version: VERSION });
}
