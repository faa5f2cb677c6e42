// The live features that are not events (protocol 5.5–5.8): receipts both ways, read state
// across devices, typing indicators both ways, presence both ways. Owned by ChatClient, which
// hands it the pushed frames; it keeps what it learns in the store (model.ts).
//
// Outgoing receipts are paced: one `receipt` per conversation at most every RECEIPT_DELAY_MS,
// and at most RECEIPTS_PER_TICK conversations per tick, so catching up on hundreds of
// conversations never runs into the frame rate limit (limits.frames_per_second).
import type {
  Conversation, ConversationId, PresenceEntry, PushFrame, User, UserId,
} from '../protocol/types';
import { newestFromOthers } from './messages';
import type { AppState, ConversationState, ReadState } from './model';
import { isActiveMember } from './selectors';
import type { Store } from './store';
import { newestSeq } from './timeline';

const RECEIPT_DELAY_MS = 250;
const RECEIPTS_PER_TICK = 10;
/** Typing: stop after this long without a keystroke. */
const TYPING_IDLE_MS = 5000;
const PRESENCE_BATCH = 200;

export interface LiveHost {
  store: Store<AppState>;
  me: UserId;
  ready(): boolean;
  request<T>(type: string, fields?: Record<string, unknown>): Promise<T>;
  limit(name: string): number | undefined;
  conversation(id: ConversationId): ConversationState | undefined;
  upsertConversation(meta: Conversation): void;
  /** A user as it is now (a new display name), the signed-in user included. */
  updateUser(user: User): void;
  /** Changes fields of a conversation's meta as they are (no merge rules). */
  patchMeta(id: ConversationId, patch: Partial<Conversation>): void;
  /** The user hid this message for itself (message_hidden, protocol 5.11). */
  hideMessage(id: ConversationId, seq: number): void;
  ensureUsers(ids: Iterable<UserId>): void;
  schedulePersist(): void;
}

/** The read state after a conversation object: member views carry counts, others only pointers. */
export function mergeRead(current: ReadState, meta: Conversation, events: ConversationState['events']): ReadState {
  const next: ReadState = {
    ...current,
    delivered: Math.max(current.delivered, meta.delivered_seq ?? 0, meta.read_seq ?? 0),
    read: Math.max(current.read, meta.read_seq ?? 0),
  };
  if (meta.peer_delivered_seq !== undefined) next.peerDelivered = Math.max(current.peerDelivered ?? 0, meta.peer_delivered_seq);
  if (meta.peer_read_seq !== undefined) next.peerRead = Math.max(current.peerRead ?? 0, meta.peer_read_seq);
  if (meta.unread_count !== undefined) {
    // A member view: its counts hold unless this device has read further, or knows newer counts.
    if ((meta.read_seq ?? 0) >= current.read && meta.last_seq >= current.countedTo) {
      next.unread = meta.unread_count;
      next.mentions = meta.mention_count ?? 0;
      next.countedTo = meta.last_seq;
    }
  } else if (next.read > current.read) {
    // Read further on another device, without counts: count again from there (conversations.list
    // after the next catch-up has the exact values).
    next.unread = 0;
    next.mentions = 0;
    next.countedTo = Math.max(next.read, events.length ? 0 : meta.last_seq);
  }
  return next;
}

/**
 * The highest seq delivered to / read by every other member (of `memberCount`) by the pointers
 * known; never lower than before (pointers only move forward, and a member who joins later does
 * not make older messages unread).
 */
export function reachedByAll(receipts: Record<UserId, { delivered: number; read?: number }>, memberCount: number | undefined,
  me: UserId, before: Pick<ReadState, 'allDelivered' | 'allRead'>): Pick<ReadState, 'allDelivered' | 'allRead'> {
  const others = (memberCount ?? 1) - 1;
  const pointers = Object.entries(receipts).filter(([user]) => Number(user) !== me).map(([, p]) => p);
  const lowest = (values: number[]) => (others > 0 && values.length >= others
    ? values.sort((a, b) => b - a)[others - 1] : 0);
  return {
    allDelivered: Math.max(before.allDelivered ?? 0, lowest(pointers.map((p) => p.delivered))),
    allRead: Math.max(before.allRead ?? 0, lowest(pointers.map((p) => p.read ?? 0))),
  };
}

export class LiveFeatures {
  private readonly deliveredQueue = new Map<ConversationId, number>();
  private readonly readQueue = new Map<ConversationId, number>();
  /** Pointers sent on this connection (not stored yet as far as we know). */
  private readonly sentDelivered = new Map<ConversationId, number>();
  private readonly sentRead = new Map<ConversationId, number>();
  private receiptTimer: ReturnType<typeof setTimeout> | undefined;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly typingOut = new Map<ConversationId, { sentAt: number; idle: ReturnType<typeof setTimeout> }>();
  private readonly wantedPresence = new Set<UserId>();
  private presenceQueued = false;
  private readonly onVisibility = () => this.sendPresence();

  constructor(private readonly host: LiveHost) {}

  start(): void {
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  stop(): void {
    document.removeEventListener('visibilitychange', this.onVisibility);
    clearTimeout(this.receiptTimer);
    clearTimeout(this.typingTimer);
    for (const entry of this.typingOut.values()) clearTimeout(entry.idle);
    this.typingOut.clear();
  }

  /** After each hello: nothing sent before is known to be stored; a hidden tab is away. */
  connected(): void {
    this.sentDelivered.clear();
    this.sentRead.clear();
    this.typingOut.forEach((entry) => clearTimeout(entry.idle));
    this.typingOut.clear();
    if (document.visibilityState === 'hidden') this.sendPresence();
  }

  /** The connection dropped: typing indicators would never get their stop. */
  disconnected(): void {
    if (Object.keys(this.host.store.get().typing).length) this.host.store.update((s) => ({ ...s, typing: {} }));
  }

  /**
   * Caught up after a hello, with fresh member views (conversations.list): ask for the presence
   * of every direct peer, and send the receipts the server has not got (protocol 11.2).
   */
  caughtUp(): void {
    const state = this.host.store.get();
    const peers: UserId[] = [];
    for (const conversation of Object.values(state.conversations)) {
      const { meta, read } = conversation;
      if (meta.kind === 'direct' && meta.peer && meta.peer.id !== this.host.me) peers.push(meta.peer.id);
      if (read.read > (meta.read_seq ?? 0)) this.readQueue.set(meta.id, read.read);
      this.noteReceived(meta.id);
    }
    this.wantPresence(peers);
    this.scheduleReceipts();
  }

  // --- receipts out -----------------------------------------------------------------------------

  /** Events arrived in a conversation: say they were delivered (direct chats and groups). */
  noteReceived(id: ConversationId): void {
    const conversation = this.host.conversation(id);
    if (!conversation || conversation.placeholder || conversation.meta.kind === 'channel' || !isActiveMember(conversation.meta)) return;
    const newest = newestFromOthers(conversation.events, this.host.me);
    const known = Math.max(conversation.read.delivered, this.sentDelivered.get(id) ?? 0, this.deliveredQueue.get(id) ?? 0);
    if (newest <= known) return;
    this.deliveredQueue.set(id, newestSeq(conversation.events));
    this.scheduleReceipts();
  }

  /**
   * The conversation is on screen, in a focused window, shown up to `upTo` (a seq; everything
   * when absent): what was shown is read. The events after `upTo` stay unread, counted from the
   * events this device holds (selectors.ts) until the server's read_state confirms the counts.
   */
  markRead(id: ConversationId, upTo = Number.POSITIVE_INFINITY): void {
    const conversation = this.host.conversation(id);
    if (!conversation || conversation.placeholder || !isActiveMember(conversation.meta)) return;
    const { read, events, meta } = conversation;
    const held = Math.max(newestSeq(events), events.length ? 0 : meta.last_seq);
    const newest = Math.min(held, upTo);
    if (newest < held && newest <= read.read) return; // nothing new shown yet
    const othersAfter = newestFromOthers(events, this.host.me) > read.read;
    if (!othersAfter && read.unread === 0 && read.mentions === 0) return;
    if (newest <= read.read && read.unread === 0 && read.mentions === 0) return;
    const seq = Math.max(newest, read.read);
    // At once on this device; the server's read_state confirms it (and tells the other devices).
    this.patchRead(id, { read: seq, delivered: Math.max(read.delivered, seq), unread: 0, mentions: 0, countedTo: seq });
    this.readQueue.set(id, seq);
    this.scheduleReceipts();
  }

  /**
   * Resolves once the server has stored the read receipts this device sent or queued for the
   * conversation (a read_state reached them), or after `timeoutMs`. "Mark as unread" waits for
   * it: a receipt stored after the mark would clear the mark again (protocol 5.10).
   */
  async receiptsStored(id: ConversationId, timeoutMs = 3000): Promise<void> {
    if (this.readQueue.has(id) && this.host.ready()) {
      clearTimeout(this.receiptTimer);
      this.receiptTimer = undefined;
      this.flushReceipts();
    }
    const target = Math.max(this.sentRead.get(id) ?? 0, this.readQueue.get(id) ?? 0);
    const stored = () => (this.host.conversation(id)?.meta.read_seq ?? 0) >= target;
    if (target === 0 || stored()) return;
    await new Promise<void>((resolve) => {
      const finish = () => {
        unsubscribe();
        clearTimeout(timer);
        resolve();
      };
      const unsubscribe = this.host.store.subscribe(() => {
        if (stored()) finish();
      });
      const timer = setTimeout(finish, timeoutMs);
    });
  }

  private scheduleReceipts(): void {
    if (this.receiptTimer !== undefined) return;
    this.receiptTimer = setTimeout(() => {
      this.receiptTimer = undefined;
      this.flushReceipts();
    }, RECEIPT_DELAY_MS);
  }

  private flushReceipts(): void {
    if (!this.host.ready()) return; // resent after the next catch-up
    const ids = new Set([...this.readQueue.keys(), ...this.deliveredQueue.keys()]);
    let sent = 0;
    for (const id of ids) {
      if (sent >= RECEIPTS_PER_TICK) break;
      const read = this.readQueue.get(id);
      const delivered = this.deliveredQueue.get(id);
      this.readQueue.delete(id);
      this.deliveredQueue.delete(id);
      const fields: Record<string, unknown> = { conversation_id: id };
      if (read !== undefined && read > (this.sentRead.get(id) ?? 0)) {
        fields.read_seq = read;
        this.sentRead.set(id, read);
      }
      if (delivered !== undefined && delivered > Math.max(this.sentDelivered.get(id) ?? 0, read ?? 0)) fields.delivered_seq = delivered;
      const pointer = Math.max(read ?? 0, delivered ?? 0);
      if (pointer > 0) this.sentDelivered.set(id, Math.max(this.sentDelivered.get(id) ?? 0, pointer));
      if (fields.read_seq === undefined && fields.delivered_seq === undefined) continue;
      sent++;
      this.host.request('receipt', fields).catch(() => {
        // Lost with the connection: caughtUp() sends what the server does not have.
      });
    }
    if (this.readQueue.size || this.deliveredQueue.size) this.scheduleReceipts();
  }

  private patchRead(id: ConversationId, patch: Partial<ReadState>): void {
    this.host.store.update((s) => {
      const conversation = s.conversations[id];
      if (!conversation) return s;
      return { ...s, conversations: { ...s.conversations, [id]: { ...conversation, read: { ...conversation.read, ...patch } } } };
    });
    this.host.schedulePersist();
  }

  // --- pushed frames ------------------------------------------------------------------------

  onPush(frame: PushFrame): void {
    switch (frame.type) {
      case 'conversation':
        this.host.upsertConversation(frame.conversation);
        if (frame.conversation.kind === 'direct' && frame.conversation.peer && frame.conversation.peer.id !== this.host.me) {
          this.wantPresence([frame.conversation.peer.id]);
        }
        break;
      case 'read_state':
        this.readState(frame);
        break;
      case 'conversation_settings':
        this.host.patchMeta(frame.conversation_id, {
          muted_until: frame.muted_until, archived: frame.archived, pin_rank: frame.pin_rank, marked_unread: frame.marked_unread,
          cleared_seq: frame.cleared_seq, ...(frame.notify !== undefined ? { notify: frame.notify } : {}),
        });
        break;
      case 'notification_settings':
        this.host.store.update((s) => ({ ...s, notifications: frame.notifications }));
        break;
      case 'message_hidden':
        this.host.hideMessage(frame.conversation_id, frame.seq);
        break;
      case 'receipt':
        this.receipt(frame);
        break;
      case 'typing':
        this.typingFrame(frame);
        break;
      case 'presence':
        this.applyPresence(frame.users);
        break;
      case 'user':
        this.host.updateUser(frame.user);
        break;
    }
  }

  private readState(frame: Extract<PushFrame, { type: 'read_state' }>): void {
    const conversation = this.host.conversation(frame.conversation_id);
    if (!conversation) return;
    const { read, events, meta } = conversation;
    const next: ReadState = {
      ...read,
      delivered: Math.max(read.delivered, frame.delivered_seq),
      read: Math.max(read.read, frame.read_seq),
    };
    if (frame.read_seq >= read.read) {
      // Counted when the pointers moved; frames come in commit order, after the events before it.
      next.unread = frame.unread_count;
      next.mentions = frame.mention_count;
      next.countedTo = events.length ? newestSeq(events) : meta.last_seq;
    }
    const nextMeta = { ...meta, delivered_seq: Math.max(meta.delivered_seq ?? 0, frame.delivered_seq), read_seq: Math.max(meta.read_seq ?? 0, frame.read_seq) };
    this.host.store.update((s) => ({
      ...s,
      conversations: { ...s.conversations, [meta.id]: { ...conversation, meta: nextMeta, read: next } },
    }));
    this.host.schedulePersist();
  }

  private receipt(frame: Extract<PushFrame, { type: 'receipt' }>): void {
    if (frame.user_id === this.host.me) return; // read_state says it for our own devices
    const conversation = this.host.conversation(frame.conversation_id);
    if (!conversation) return;
    if (conversation.meta.kind === 'direct') {
      this.patchRead(frame.conversation_id, {
        peerDelivered: Math.max(conversation.read.peerDelivered ?? 0, frame.delivered_seq, frame.read_seq ?? 0),
        peerRead: frame.read_seq === undefined ? conversation.read.peerRead : Math.max(conversation.read.peerRead ?? 0, frame.read_seq),
      });
      return;
    }
    this.notePointers(frame.conversation_id, [{ user: frame.user_id, delivered: frame.delivered_seq, read: frame.read_seq }]);
  }

  /** Group members' pointers from receipt frames and receipts.get (they only move forward). */
  notePointers(id: ConversationId, pointers: { user: UserId; delivered?: number; read?: number }[]): void {
    this.host.store.update((s) => {
      const conversation = s.conversations[id];
      if (!conversation) return s;
      const receipts = { ...conversation.receipts };
      let changed = false;
      for (const { user, delivered = 0, read } of pointers) {
        const current = receipts[user] ?? { delivered: 0 };
        const next = {
          delivered: Math.max(current.delivered, delivered, read ?? 0),
          read: read === undefined ? current.read : Math.max(current.read ?? 0, read),
        };
        if (next.delivered !== current.delivered || next.read !== current.read) {
          receipts[user] = next;
          changed = true;
        }
      }
      if (!changed) return s;
      const read = { ...conversation.read, ...reachedByAll(receipts, conversation.meta.member_count, s.me.id, conversation.read) };
      return { ...s, conversations: { ...s.conversations, [id]: { ...conversation, receipts, read } } };
    });
  }

  // --- typing -------------------------------------------------------------------------------

  private typingFrame(frame: Extract<PushFrame, { type: 'typing' }>): void {
    if (frame.user_id === this.host.me) return;
    if (frame.state === 'start') this.host.ensureUsers([frame.user_id]);
    if (frame.state === 'start') this.setTyping(frame.conversation_id, frame.user_id, Date.now() + (frame.expires_in_ms ?? 6000));
    else this.setTyping(frame.conversation_id, frame.user_id, null);
  }

  /** A message from someone ends their indicator (their send does not stop it on the server). */
  messageFrom(id: ConversationId, user: UserId): void {
    if (this.host.store.get().typing[id]?.[user]) this.setTyping(id, user, null);
  }

  private setTyping(id: ConversationId, user: UserId, until: number | null): void {
    this.host.store.update((s) => {
      const entries = { ...s.typing[id] };
      if (until === null) {
        if (!(user in entries)) return s;
        delete entries[user];
      } else {
        entries[user] = until;
      }
      const typing = { ...s.typing };
      if (Object.keys(entries).length) typing[id] = entries;
      else delete typing[id];
      return { ...s, typing };
    });
    this.scheduleTypingExpiry();
  }

  /** Drops indicators whose stop was lost (expires_in_ms after the last start). */
  private scheduleTypingExpiry(): void {
    clearTimeout(this.typingTimer);
    let next = Infinity;
    for (const entries of Object.values(this.host.store.get().typing)) {
      for (const until of Object.values(entries)) next = Math.min(next, until);
    }
    if (next === Infinity) return;
    this.typingTimer = setTimeout(() => {
      const now = Date.now();
      this.host.store.update((s) => {
        const typing: AppState['typing'] = {};
        for (const [id, entries] of Object.entries(s.typing)) {
          const kept = Object.fromEntries(Object.entries(entries).filter(([, until]) => until > now));
          if (Object.keys(kept).length) typing[Number(id)] = kept;
        }
        return { ...s, typing };
      });
      this.scheduleTypingExpiry();
    }, Math.max(50, next - Date.now() + 20));
  }

  /**
   * The user is composing (`active`) or stopped (sent, cleared the box, left it). A `start` goes
   * out at most every half TTL (and never faster than the server's throttle), so the others'
   * indicator never lapses while typing goes on; `stop` after TYPING_IDLE_MS without input.
   */
  typing(id: ConversationId, active: boolean): void {
    const current = this.typingOut.get(id);
    if (!active) {
      if (!current) return;
      clearTimeout(current.idle);
      this.typingOut.delete(id);
      if (this.host.ready()) this.host.request('typing', { conversation_id: id, state: 'stop' }).catch(() => undefined);
      return;
    }
    if (!this.host.ready()) return;
    const now = Date.now();
    const throttle = this.host.limit('typing_throttle_ms') ?? 2000;
    const ttl = this.host.limit('typing_ttl_ms') ?? 6000;
    const every = Math.max(throttle, ttl / 2);
    const idle = setTimeout(() => this.typing(id, false), TYPING_IDLE_MS);
    if (current) clearTimeout(current.idle);
    if (current && now - current.sentAt < every) {
      this.typingOut.set(id, { sentAt: current.sentAt, idle });
      return;
    }
    this.typingOut.set(id, { sentAt: now, idle });
    this.host.request('typing', { conversation_id: id, state: 'start' }).catch(() => undefined);
  }

  // --- presence -------------------------------------------------------------------------------

  /** Away while the tab is hidden, online when it is shown (the heartbeat keeps either alive). */
  private sendPresence(): void {
    if (!this.host.ready()) return;
    const status = document.visibilityState === 'hidden' ? 'away' : 'online';
    this.host.request('presence.set', { status }).catch(() => undefined);
  }

  /** Asks presence.get about these users (batched with other calls in the same task). */
  wantPresence(ids: UserId[]): void {
    for (const id of ids) this.wantedPresence.add(id);
    if (this.presenceQueued || this.wantedPresence.size === 0) return;
    this.presenceQueued = true;
    queueMicrotask(() => {
      this.presenceQueued = false;
      if (!this.host.ready()) return;
      const ids = [...this.wantedPresence];
      this.wantedPresence.clear();
      const batch = Math.min(PRESENCE_BATCH, this.host.limit('max_members_per_request') ?? PRESENCE_BATCH);
      for (let i = 0; i < ids.length; i += batch) {
        this.host.request<{ users: PresenceEntry[] }>('presence.get', { user_ids: ids.slice(i, i + batch) })
          .then((reply) => this.applyPresence(reply.users))
          .catch(() => undefined);
      }
    });
  }

  private applyPresence(entries: PresenceEntry[]): void {
    this.host.store.update((s) => {
      const presence = { ...s.presence };
      for (const entry of entries) {
        const previous = presence[entry.user_id];
        // last_seen belongs to offline entries (an online one may carry an old value: ignore it).
        const lastSeen = entry.status === 'offline' ? (entry.last_seen ?? undefined) : previous?.lastSeen;
        presence[entry.user_id] = { status: entry.status, lastSeen };
      }
      return { ...s, presence };
    });
  }
}
