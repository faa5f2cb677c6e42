// ChatClient: the signed-in user's view of the server, independent of the UI.
//
// It owns the Connection, runs the sync algorithm of protocol 6.2 after every hello, stores
// events de-duplicated by (conversation_id, seq), keeps the outbox and retries it with the same
// client_msg_id, loads history on demand, and persists all of it (cache.ts). The live features
// that are not events (receipts, read state, typing, presence, announcements) are in live.ts.
// The UI reads `store` and calls the methods below; commands.ts adds the other commands.
import { Connection, type ConnectionStatus, type RequestOptions } from '../net/connection';
import { deviceLabel } from '../net/device';
import {
  type Attachment, type ChatEvent, type Conversation, type ConversationId, type HelloReply,
  type HistoryReply, type NotificationSettings, ProtocolError, type SyncReply, type User, type UserId,
} from '../protocol/types';
import * as cache from './cache';
import { applyEvent, kindOf, usersNamedBy } from './eventKinds';
import { LiveFeatures, mergeRead } from './live';
import { type AppState, type ConversationState, EMPTY_READ, type OutgoingMessage, type PendingFile, type Session, type ThreadState } from './model';
import { describeError } from './errors';
import { addLocalFile, dropLocalFile } from './localFiles';
import { MediaUrls } from './mediaUrls';
import { Outbox } from './outbox';
import { Uploads } from './uploads';
import { isActiveMember } from './selectors';
import { Store } from './store';
import { clampToWindow, type Duplicates, firstHole, hasOlder, hiddenCopy, mergeEvents, newestSeq } from './timeline';

/** Events per history page; the server caps it at limits.max_history_page. */
const HISTORY_PAGE = 50;
/** Conversations whose newest messages are fetched at a first start, for previews. */
const PREVIEW_CONVERSATIONS = 30;
const PERSIST_DELAY_MS = 300;

/**
 * Why this browser is signed out when the user did it from here: 'everywhere' (account.logout_all
 * without keep_current) or 'this_device' (account.revoke_session of its own token).
 */
export type OwnSignOut = 'everywhere' | 'this_device';

export type IncomingListener = (event: ChatEvent, conversation: ConversationState) => void;

export class ChatClient {
  readonly store: Store<AppState>;
  private readonly connection: Connection;
  private readonly outbox: Outbox;
  readonly live: LiveFeatures;
  /** Download URLs of attachments (media.urls), batched and cached. */
  readonly mediaUrls: MediaUrls;
  private readonly uploads: Uploads;
  /** The saved sync cursor (protocol 6.1); null until the first hello on this device. */
  private cursor: number | null;
  /** Increments with every hello: async work of an older session checks it and stops. */
  private session = 0;
  private helloCursor = 0;
  /** Highest pos of live events stored while catching up (step 2 of protocol 6.2). */
  private liveMaxPos = 0;
  private readonly dirtyEvents = new Set<ConversationId>();
  private persistTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly fetchingConversations = new Set<ConversationId>();
  private readonly refreshTimers = new Map<ConversationId, ReturnType<typeof setTimeout>>();
  private readonly wantedUsers = new Set<UserId>();
  private readonly fetchingUsers = new Set<UserId>();
  /** Conversations whose newest page was read again since the page loaded (reactions, threads). */
  private readonly refreshed = new Set<ConversationId>();
  private readonly incomingListeners = new Set<IncomingListener>();
  private readonly signedOutListeners = new Set<(reason: string) => void>();
  private toastCounter = 0;
  /** Set while the user revokes this browser's own token (expectOwnSignOut). */
  private ownSignOut: OwnSignOut | null = null;
  /** The signed-out listeners have been told; they are told once. */
  private signedOut = false;
  /** After stop(): nothing is written any more (sign-out clears the cache right after). */
  private stopped = false;
  private readonly onPageHide = () => this.persistNow();

  constructor(readonly sessionInfo: Session, url: string) {
    const me = sessionInfo.user;
    const cached = cache.loadMeta(me.id);
    this.cursor = cached?.cursor ?? null;
    const conversations: Record<ConversationId, ConversationState> = {};
    for (const meta of Object.values(cached?.conversations ?? {})) {
      // A stand-in saved before conversation.get answered has no creator (real ids are >= 1).
      const placeholder = meta.created_by === 0 || undefined;
      const read = cached?.reads[meta.id] ?? EMPTY_READ;
      conversations[meta.id] = { meta, events: clampToWindow(cache.loadEvents(me.id, meta.id), meta), placeholder, read };
    }
    this.store = new Store<AppState>({
      me,
      connection: { state: 'stopped', attempt: 0, everReady: false },
      phase: 'connecting',
      conversations,
      users: { ...(cached?.users ?? {}), [me.id]: me },
      outbox: (cached?.outbox ?? []).map(restoredOutgoing),
      hidden: cached?.hidden ?? {},
      toasts: [],
      typing: {},
      presence: {},
      settings: cached?.settings ?? null,
      notifications: null,
      threads: {},
      drafts: cached?.drafts ?? {},
      composerFiles: {},
      uploads: {},
    });
    this.connection = new Connection(url, sessionInfo.token, {
      onReady: (reply) => this.onReady(reply),
      onEvent: (event) => this.onLiveEvent(event),
      onPush: (frame) => this.live.onPush(frame),
      onStatus: (status) => this.onStatus(status),
      onAuthFailed: (code) => this.authFailed(code),
    }, { device: deviceLabel() });
    const resolve = (path: string) => new URL(path, location.origin).href;
    this.uploads = new Uploads({
      request: (type, fields) => this.request(type, fields),
      resolve,
      progress: (localId, loaded, total, waiting) => this.store.update((s) => ({ ...s, uploads: { ...s.uploads, [localId]: { loaded, total, waiting } } })),
    });
    this.mediaUrls = new MediaUrls({
      request: (type, fields) => this.request(type, fields),
      ready: () => this.connection.ready,
      limit: (name) => this.connection.limits?.[name],
      resolve,
    });
    this.outbox = new Outbox({
      store: this.store,
      me: me.id,
      canSend: () => this.connection.ready && this.store.get().phase === 'live',
      request: (type, fields) => this.request(type, fields),
      storeEvents: (events) => this.storeEvents(events),
      persist: (now) => (now ? this.persistNow() : this.schedulePersist()),
      uploads: this.uploads,
      uploaded: (reply) => this.mediaUrls.seed(reply),
    });
    this.live = new LiveFeatures({
      store: this.store,
      me: me.id,
      ready: () => this.connection.ready,
      request: (type, fields) => this.request(type, fields),
      limit: (name) => this.connection.limits?.[name],
      conversation: (id) => this.conversation(id),
      upsertConversation: (meta) => this.upsertConversation(meta),
      patchMeta: (id, patch) => this.patchMeta(id, patch),
      hideMessage: (id, seq) => this.hideMessage(id, seq),
      updateUser: (user) => this.updateUser(user),
      ensureUsers: (ids) => this.ensureUsers(ids),
      schedulePersist: () => this.schedulePersist(),
    });
  }

  get me(): User {
    return this.sessionInfo.user;
  }

  start(): void {
    window.addEventListener('pagehide', this.onPageHide);
    this.live.start();
    this.connection.start();
  }

  /** Closes the connection and writes the cache; the client is not used afterwards. */
  stop(): void {
    window.removeEventListener('pagehide', this.onPageHide);
    this.session++;
    this.outbox.stop();
    this.uploads.stop();
    this.live.stop();
    for (const timer of this.refreshTimers.values()) clearTimeout(timer);
    this.refreshTimers.clear();
    this.connection.stop();
    this.persistNow();
    this.stopped = true;
  }

  reconnectNow(): void {
    this.connection.reconnectNow();
  }

  /** Sends one command on the live connection (see Connection.request). */
  request<T>(type: string, fields: Record<string, unknown> = {}, options?: RequestOptions): Promise<T> {
    return this.connection.request<T>(type, fields, options);
  }

  /** The server's VAPID public key (hello `push.vapid_public_key`); null before a hello. */
  get vapidPublicKey(): string | null {
    return this.connection.vapidPublicKey;
  }

  /** The user id of this session. */
  get userId(): number {
    return this.store.get().me.id;
  }

  get maxTextBytes(): number {
    return this.connection.limits?.max_text_bytes ?? 16_384;
  }

  onIncoming(listener: IncomingListener): () => void {
    this.incomingListeners.add(listener);
    return () => this.incomingListeners.delete(listener);
  }

  /**
   * Fires once when the token is no longer accepted: the server's code (token_expired,
   * token_revoked, unauthorized) — the user must sign in again — or an OwnSignOut reason when the
   * user revoked this browser's token on purpose.
   */
  onSignedOut(listener: (reason: string) => void): () => void {
    this.signedOutListeners.add(listener);
    return () => this.signedOutListeners.delete(listener);
  }

  /**
   * The user is about to revoke this browser's own token: the close 4004 that follows is then
   * reported as `reason`, not as a revocation from elsewhere. null: the request failed and the
   * token stays valid.
   */
  expectOwnSignOut(reason: OwnSignOut | null): void {
    this.ownSignOut = reason;
  }

  /** The revocation's reply came: signs out now rather than waiting for the close 4004. */
  confirmOwnSignOut(): void {
    if (this.ownSignOut) this.authFailed('token_revoked');
  }

  toast(text: string, kind: 'error' | 'info' = 'error'): void {
    const id = ++this.toastCounter;
    this.store.update((s) => ({ ...s, toasts: [...s.toasts, { id, text, kind }] }));
    setTimeout(() => this.dismissToast(id), 6000);
  }

  dismissToast(id: number): void {
    this.store.update((s) => (s.toasts.some((t) => t.id === id) ? { ...s, toasts: s.toasts.filter((t) => t.id !== id) } : s));
  }

  // --- connection and sync ------------------------------------------------------------------

  private onStatus(status: ConnectionStatus): void {
    this.store.update((s) => {
      let phase = s.phase;
      if (status.state === 'waiting' || status.state === 'stopped') phase = 'offline';
      else if (status.state !== 'ready' && !status.everReady) phase = 'connecting';
      return { ...s, connection: status, phase };
    });
    if (status.state !== 'ready') {
      this.outbox.connectionLost();
      this.live.disconnected();
    }
  }

  private onReady(reply: HelloReply): void {
    const session = ++this.session;
    this.helloCursor = reply.cursor;
    this.liveMaxPos = 0;
    this.store.update((s) => ({ ...s, phase: 'syncing' }));
    this.live.connected();
    void this.catchUp(session);
  }

  /** Step 2 of protocol 6.2: sync from the saved cursor until has_more is false. */
  private async catchUp(session: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        if (this.cursor === null) {
          await this.firstStart(session);
        } else {
          await this.syncFromCursor(session);
          // The live state is not replayed by sync: unread counts and receipt pointers (6.2).
          await this.refreshConversations(session);
        }
        break;
      } catch (error) {
        if (session !== this.session) return;
        if (error instanceof ProtocolError && (error.code === 'disconnected' || error.code === 'offline')) return;
        // 'unavailable' and the like: the connection is fine, try again a little later.
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 500 * 2 ** attempt)));
        if (session !== this.session) return;
      }
    }
    if (session !== this.session) return;
    this.store.update((s) => ({ ...s, phase: 'live' }));
    this.schedulePersist();
    this.refreshKnownUsers();
    this.refreshNotificationSettings(session);
    this.outbox.flush();
    this.uploads.retryNow();
    this.mediaUrls.retry();
    this.live.caughtUp();
    void this.repairAll(session);
  }

  /**
   * account.notifications without fields: the account's pause, which is not replayed by sync (a
   * notification_settings frame missed while offline). Failures leave what is known.
   */
  private refreshNotificationSettings(session: number): void {
    this.request<{ notifications: NotificationSettings }>('account.notifications').then(
      (reply) => {
        if (session === this.session) this.store.update((s) => ({ ...s, notifications: reply.notifications }));
      },
      () => {
        // Offline again, or a server without the command: nothing to pause by.
      },
    );
  }

  /** conversations.list: every conversation in the member view (counts, pointers, last message). */
  private async refreshConversations(session: number): Promise<void> {
    const reply = await this.request<{ conversations: Conversation[] }>('conversations.list');
    if (session !== this.session) return;
    for (const meta of reply.conversations) this.upsertConversation(meta);
  }

  private async syncFromCursor(session: number): Promise<void> {
    let cursor = this.cursor ?? 0;
    const limit = this.connection.limits?.max_sync_page ?? 100;
    for (;;) {
      const reply = await this.request<SyncReply>('sync', { cursor, limit });
      if (session !== this.session) return;
      for (const meta of reply.conversations) this.upsertConversation(meta);
      this.storeEvents(reply.events, 'state');
      cursor = reply.cursor;
      // Every event of this user up to `cursor` is now stored: the cursor may advance.
      this.cursor = Math.max(this.cursor ?? 0, cursor);
      this.schedulePersist();
      if (!reply.has_more) break;
    }
    this.cursor = Math.max(this.cursor ?? 0, this.helloCursor, this.liveMaxPos);
  }

  /**
   * No saved cursor (new device): take the hello cursor and load lazily (protocol 6.2, step 2):
   * the conversation list now (its member view has the previews and unread counts), the newest
   * messages of the first few conversations, the rest when opened.
   */
  private async firstStart(session: number): Promise<void> {
    const reply = await this.request<{ conversations: Conversation[] }>('conversations.list');
    if (session !== this.session) return;
    for (const meta of reply.conversations) this.upsertConversation(meta);
    this.cursor = Math.max(this.helloCursor, this.liveMaxPos);
    const recent = reply.conversations.filter((meta) => meta.last_seq > 0).slice(0, PREVIEW_CONVERSATIONS);
    void (async () => {
      for (const meta of recent) {
        if (session !== this.session) return;
        if (!this.conversation(meta.id)?.events.length) await this.loadLatest(meta.id, 20).catch(() => undefined);
      }
    })();
  }

  /** Step 1 and 3 of protocol 6.2: store the live event; advance the cursor once caught up. */
  private onLiveEvent(event: ChatEvent): void {
    const known = this.conversation(event.conversation_id);
    this.storeEvents([event]);
    if (this.store.get().phase === 'live') this.cursor = Math.max(this.cursor ?? 0, event.pos);
    else this.liveMaxPos = Math.max(this.liveMaxPos, event.pos);
    this.schedulePersist();
    const conversation = this.conversation(event.conversation_id);
    if (!conversation) return;
    if (kindOf(event).display === 'system') this.scheduleRefresh(event.conversation_id);
    if (known && newestSeq(known.events) + 1 < event.seq && known.events.length && this.store.get().phase === 'live') {
      void this.repairHoles(event.conversation_id, this.session);
    }
    if (event.kind === 'text') this.live.messageFrom(event.conversation_id, event.sender_id);
    if (event.sender_id !== this.me.id && kindOf(event).countsAsUnread && this.store.get().phase === 'live') {
      for (const listener of this.incomingListeners) listener(event, conversation);
    }
  }

  private authFailed(code: string): void {
    if (this.signedOut) return;
    this.signedOut = true;
    const reason = this.ownSignOut ?? code;
    for (const listener of [...this.signedOutListeners]) listener(reason);
  }

  // --- storing events and conversations -------------------------------------------------------

  conversation(id: ConversationId): ConversationState | undefined {
    return this.store.get().conversations[id];
  }

  /** Adds or refreshes a conversation from a server object; newer local metadata is kept. */
  /** A limit the server announced in its hello reply (`limits`), if connected once. */
  limit(name: string): number | undefined {
    return this.connection.limits?.[name];
  }

  patchMeta(id: ConversationId, patch: Partial<Conversation>): void {
    this.store.update((s) => {
      const current = s.conversations[id];
      if (!current) return s;
      const meta = { ...current.meta, ...patch };
      // A "clear chat" (cleared_seq) drops the cached events at or below it.
      const events = clampToWindow(current.events, meta);
      if (events !== current.events) this.dirtyEvents.add(id);
      return { ...s, conversations: { ...s.conversations, [id]: { ...current, meta, events } } };
    });
    this.schedulePersist();
  }

  /** Keeps a hidden message's place in the list, without its content (protocol 5.11). */
  hideMessage(id: ConversationId, seq: number): void {
    this.store.update((s) => {
      const current = s.conversations[id];
      const at = current?.events.findIndex((event) => event.seq === seq) ?? -1;
      if (!current || at < 0 || current.events[at].hidden) return s;
      const events = [...current.events];
      events[at] = hiddenCopy(events[at]);
      this.dirtyEvents.add(id);
      return { ...s, conversations: { ...s.conversations, [id]: { ...current, events } } };
    });
    this.schedulePersist();
  }

  upsertConversation(meta: Conversation): void {
    this.store.update((s) => {
      const current = s.conversations[meta.id];
      let merged: Conversation = meta;
      if (current && !current.placeholder && current.meta.last_pos > meta.last_pos) {
        // Our events are newer than this reply: keep their effects, take the rest.
        merged = { ...meta, title: current.meta.title, last_seq: current.meta.last_seq, last_pos: current.meta.last_pos, last_event_at: current.meta.last_event_at };
      }
      const events = clampToWindow(current?.events ?? [], merged);
      const read = mergeRead(current?.read ?? EMPTY_READ, meta, events);
      // The peer as the server has it now: a name changed while this device was away shows.
      const users = meta.peer && s.users[meta.peer.id]?.display_name !== meta.peer.display_name ? { ...s.users, [meta.peer.id]: meta.peer } : s.users;
      const hidden = s.hidden[meta.id] && current && isActiveMember(meta) && !isActiveMember(current.meta)
        ? Object.fromEntries(Object.entries(s.hidden).filter(([id]) => Number(id) !== meta.id)) : s.hidden;
      return { ...s, users, hidden, conversations: { ...s.conversations, [meta.id]: { ...current, meta: merged, events, read, placeholder: false } } };
    });
    // The preview names the last message's author, or the people a system line names.
    if (meta.last_message) this.ensureUsers(usersNamedBy(meta.last_message));
    this.schedulePersist();
  }

  /**
   * Stores events of any conversations, de-duplicated by (conversation_id, seq), applies them to
   * the metadata, and settles outbox entries they confirm (a send acknowledged on a connection
   * that then dropped comes back through sync).
   */
  storeEvents(events: readonly ChatEvent[], duplicates: Duplicates = 'keep'): void {
    if (events.length === 0) return;
    const byConversation = new Map<ConversationId, ChatEvent[]>();
    for (const event of events) {
      const list = byConversation.get(event.conversation_id);
      if (list) list.push(event);
      else byConversation.set(event.conversation_id, [event]);
    }
    const me = this.me.id;
    const unknown: ConversationId[] = [];
    this.store.update((s) => {
      const conversations = { ...s.conversations };
      const hidden = { ...s.hidden };
      const confirmed = new Set<string>();
      for (const [id, incoming] of byConversation) {
        let state = conversations[id];
        if (!state) {
          unknown.push(id);
          state = { meta: { id, kind: 'group', title: '', created_by: 0, created_at: incoming[0].ts, last_seq: 0, last_pos: 0 }, events: [], placeholder: true, read: EMPTY_READ };
        }
        let meta = state.meta;
        for (const event of incoming) {
          meta = applyEvent(meta, event, me);
          if (event.sender_id === me && event.client_msg_id) confirmed.add(event.client_msg_id);
        }
        const merged = clampToWindow(mergeEvents(state.events, incoming, duplicates), meta);
        if (merged !== state.events) this.dirtyEvents.add(id);
        conversations[id] = { ...state, meta, events: merged };
        // Added back to a conversation taken off the list: it comes back.
        if (hidden[id] && isActiveMember(meta) && !isActiveMember(state.meta)) delete hidden[id];
      }
      const outbox = confirmed.size ? s.outbox.filter((m) => !confirmed.has(m.client_msg_id)) : s.outbox;
      return { ...s, conversations, outbox, hidden };
    });
    for (const id of unknown) void this.fetchConversation(id);
    for (const id of byConversation.keys()) this.live.noteReceived(id);
    // The newest event of each conversation may become its preview: its names are needed now.
    for (const incoming of byConversation.values()) this.ensureUsers(usersNamedBy(incoming[incoming.length - 1]));
    this.schedulePersist();
  }

  /** conversation.get for a conversation first seen through an event. */
  private async fetchConversation(id: ConversationId): Promise<void> {
    if (this.fetchingConversations.has(id) || !this.connection.ready) return;
    this.fetchingConversations.add(id);
    try {
      const reply = await this.request<{ conversation: Conversation }>('conversation.get', { conversation_id: id });
      this.upsertConversation(reply.conversation);
    } catch {
      // Retried at the next hello through repairAll (the placeholder stays until then).
    } finally {
      this.fetchingConversations.delete(id);
    }
  }

  /** Membership events change counts and roles: re-read the conversation shortly after. */
  private scheduleRefresh(id: ConversationId): void {
    clearTimeout(this.refreshTimers.get(id));
    this.refreshTimers.set(id, setTimeout(() => {
      this.refreshTimers.delete(id);
      void this.fetchConversation(id);
    }, 250));
  }

  /** After catching up: fill any hole left in an event list and settle placeholders. */
  private async repairAll(session: number): Promise<void> {
    for (const state of Object.values(this.store.get().conversations)) {
      if (session !== this.session) return;
      if (state.placeholder) await this.fetchConversation(state.meta.id);
      if (firstHole(state.events)) await this.repairHoles(state.meta.id, session);
    }
  }

  /** Loads the events missing inside a conversation's list with history after_seq. */
  private async repairHoles(id: ConversationId, session: number): Promise<void> {
    for (let round = 0; round < 20; round++) {
      const state = this.conversation(id);
      const hole = state && firstHole(state.events);
      if (!hole || session !== this.session) return;
      const limit = Math.min(this.connection.limits?.max_history_page ?? 100, hole.before - hole.after - 1);
      const reply = await this.request<HistoryReply>('history', { conversation_id: id, after_seq: hole.after, limit }).catch(() => null);
      if (!reply || reply.events.length === 0) return;
      this.storeEvents(reply.events, 'replace');
    }
  }

  // --- history ----------------------------------------------------------------------------------

  /** The newest page of a conversation (when it is opened and nothing is known yet). */
  async loadLatest(id: ConversationId, limit = HISTORY_PAGE): Promise<void> {
    const reply = await this.request<HistoryReply>('history', { conversation_id: id, limit });
    this.noteWindow(id, reply);
    this.storeEvents(reply.events, 'replace');
  }

  /** Loads the page before the oldest known event; no-op while loading or at the beginning. */
  async loadOlder(id: ConversationId): Promise<void> {
    const state = this.conversation(id);
    if (!state || state.loadingOlder || state.placeholder || !hasOlder(state.events, state.meta)) return;
    this.patchConversation(id, { loadingOlder: true, loadError: undefined });
    try {
      if (state.events.length === 0) {
        await this.loadLatest(id);
      } else {
        const reply = await this.request<HistoryReply>('history', { conversation_id: id, before_seq: state.events[0].seq, limit: HISTORY_PAGE });
        this.noteWindow(id, reply);
        this.storeEvents(reply.events, 'replace');
      }
      this.patchConversation(id, { loadingOlder: false });
    } catch (error) {
      this.patchConversation(id, { loadingOlder: false, loadError: describeError(error) });
    }
  }

  /**
   * Opening a conversation: make sure its newest messages are there, and refresh what events do
   * not carry for older messages: their reactions and thread summaries (one history page), its
   * pins, and in a group who has received and read the user's newest message.
   */
  open(id: ConversationId): void {
    const state = this.conversation(id);
    if (!state) return;
    if (state.placeholder) {
      void this.fetchConversation(id);
      return;
    }
    if (state.events.length === 0) {
      if (state.meta.last_seq > 0) void this.loadOlder(id);
    }
    if (!this.connection.ready || this.store.get().phase !== 'live' || !isActiveMember(state.meta)) return;
    if (state.events.length > 0 && !this.refreshed.has(id)) {
      this.refreshed.add(id);
      void this.loadLatest(id).catch(() => this.refreshed.delete(id));
    }
    void this.request<{ pins: { seq: number }[] }>('pins.list', { conversation_id: id })
      .then((reply) => this.patchConversation(id, { pinned: reply.pins.map((pin) => pin.seq) }))
      .catch(() => undefined);
    if (state.meta.kind === 'group') {
      const mine = [...state.events].reverse().find((event) => event.kind === 'text' && event.sender_id === this.me.id && !event.deleted);
      if (mine) {
        void this.request<{ read_by: { user_id: UserId; read_seq: number }[]; delivered_to: { user_id: UserId; delivered_seq: number }[] }>(
          'receipts.get', { conversation_id: id, seq: mine.seq },
        ).then((reply) => this.live.notePointers(id, [
          ...reply.delivered_to.map((d) => ({ user: d.user_id, delivered: d.delivered_seq })),
          ...reply.read_by.map((r) => ({ user: r.user_id, read: r.read_seq })),
        ])).catch(() => undefined);
      }
    }
  }

  private noteWindow(id: ConversationId, reply: HistoryReply): void {
    const state = this.conversation(id);
    if (state && state.meta.visible_from_seq !== reply.visible_from_seq) {
      this.patchConversation(id, { meta: { ...state.meta, visible_from_seq: reply.visible_from_seq } });
    }
  }

  patchConversation(id: ConversationId, patch: Partial<ConversationState>): void {
    this.store.update((s) => {
      const state = s.conversations[id];
      return state ? { ...s, conversations: { ...s.conversations, [id]: { ...state, ...patch } } } : s;
    });
  }

  // --- unread marks and the list ----------------------------------------------------------------

  /** The conversation is on screen in a focused window, shown up to `upTo` (everything when
   *  absent): that much of it is read (receipts). */
  markRead(id: ConversationId, upTo?: number): void {
    this.live.markRead(id, upTo);
  }

  /** Composing (`true`) or not any more: typing indicators for the others (live.ts). */
  typing(id: ConversationId, active: boolean): void {
    this.live.typing(id, active);
  }

  /** A thread panel's state (key `${conversation}:${root}`). */
  patchThread(key: string, patch: Partial<ThreadState>): void {
    this.store.update((s) => {
      const current = s.threads[key] ?? { events: [], hasMore: false, loading: false };
      return { ...s, threads: { ...s.threads, [key]: { ...current, ...patch } } };
    });
  }

  /** The unsent text of a message box (empty: none), saved with the device cache. */
  setDraft(key: string, text: string): void {
    this.store.update((s) => {
      if ((s.drafts[key] ?? '') === text) return s;
      const drafts = { ...s.drafts };
      if (text) drafts[key] = text;
      else delete drafts[key];
      return { ...s, drafts };
    });
    this.schedulePersist();
  }

  /** Shows or hides a conversation in the list on this device. */
  setHidden(id: ConversationId, hidden: boolean): void {
    this.store.update((s) => {
      const next = { ...s.hidden };
      if (hidden) next[id] = true;
      else delete next[id];
      return { ...s, hidden: next };
    });
    this.schedulePersist();
  }

  // --- users ------------------------------------------------------------------------------------

  /** A user as it is now: everywhere it is shown, and the signed-in user's own name (kept with
   *  the saved session, so a reload shows it at once). */
  updateUser(user: User): void {
    this.addUsers([user]);
    if (user.id !== this.me.id) return;
    this.sessionInfo.user = user;
    cache.saveSession(this.sessionInfo);
    this.store.update((s) => ({ ...s, me: user }));
  }

  /** Adds users learned from replies (members.list, user.get). */
  addUsers(users: User[]): void {
    this.store.update((s) => {
      const next = { ...s.users };
      for (const user of users) next[user.id] = user;
      return { ...s, users: next };
    });
    this.schedulePersist();
  }

  /** Asks for the names of users not known yet (batched; repeated calls are cheap). */
  ensureUsers(ids: Iterable<UserId>): void {
    const users = this.store.get().users;
    let added = false;
    for (const id of ids) {
      if (id > 0 && !users[id] && !this.fetchingUsers.has(id)) {
        this.wantedUsers.add(id);
        added = true;
      }
    }
    if (added) queueMicrotask(() => this.requestUsers());
  }

  /**
   * After a catch-up, asks again for every user the device knows: a `user` frame (a new display
   * name) is not replayed by sync (protocol 5.8/6.2), so names cached while this device was
   * offline would stay old. One users.get per limits.max_members_per_request users.
   */
  private refreshKnownUsers(): void {
    for (const id of Object.keys(this.store.get().users).map(Number)) {
      if (id !== this.me.id && !this.fetchingUsers.has(id)) this.wantedUsers.add(id);
    }
    this.requestUsers();
  }

  /** users.get for every wanted user, in batches of limits.max_members_per_request. */
  private requestUsers(): void {
    if (!this.connection.ready || this.wantedUsers.size === 0) return;
    const ids = [...this.wantedUsers];
    this.wantedUsers.clear();
    const batch = this.connection.limits?.max_members_per_request ?? 256;
    for (let i = 0; i < ids.length; i += batch) {
      const chunk = ids.slice(i, i + batch);
      for (const id of chunk) this.fetchingUsers.add(id);
      this.request<{ users: User[] }>('users.get', { user_ids: chunk })
        .then((reply) => this.addUsers(reply.users))
        .catch((error: unknown) => {
          if (error instanceof ProtocolError && error.retryable) for (const id of chunk) this.wantedUsers.add(id);
        })
        .finally(() => {
          for (const id of chunk) this.fetchingUsers.delete(id);
        });
    }
  }

  // --- sending (outbox.ts) ---------------------------------------------------------------------

  /**
   * Queues a message; it shows at once as pending and is sent when the connection allows. Files
   * are uploaded first (and each can be cancelled); forwarded media are already on the server.
   */
  sendMessage(
    conversationId: ConversationId,
    text: string,
    refs: { replyTo?: number; threadRoot?: number } = {},
    files: { upload?: readonly PendingFile[]; forwarded?: readonly Attachment[] } = {},
  ): void {
    this.live.typing(conversationId, false);
    this.outbox.add(conversationId, text, refs, files);
  }

  /** Most files one message may carry (limits.max_attachments). */
  get maxAttachments(): number {
    return this.connection.limits?.max_attachments ?? 10;
  }

  /**
   * Adds files to a message box (key as for drafts), up to maxAttachments; says so in a toast
   * when some do not fit.
   */
  async attachFiles(key: string, files: readonly File[]): Promise<void> {
    if (files.length === 0) return;
    const room = this.maxAttachments - (this.store.get().composerFiles[key]?.length ?? 0);
    if (files.length > room) {
      this.toast(`A message can carry up to ${this.maxAttachments} files${room > 0 ? `: the first ${room} were added` : ''}.`);
    }
    if (room <= 0) return;
    const added = await Promise.all(files.slice(0, room).map((file) => addLocalFile(file)));
    this.store.update((s) => {
      const current = s.composerFiles[key] ?? [];
      // Another add may have filled the box meanwhile.
      const fit = added.slice(0, Math.max(0, this.maxAttachments - current.length));
      for (const file of added.slice(fit.length)) dropLocalFile(file.localId);
      return { ...s, composerFiles: { ...s.composerFiles, [key]: [...current, ...fit] } };
    });
  }

  /** Takes a file out of a message box (`keep`: it is being sent, do not let go of it). */
  removeComposerFile(key: string, localId: string, keep = false): void {
    if (!keep) dropLocalFile(localId);
    this.store.update((s) => {
      const current = s.composerFiles[key];
      if (!current) return s;
      const rest = current.filter((file) => file.localId !== localId);
      const composerFiles = { ...s.composerFiles };
      if (rest.length) composerFiles[key] = rest;
      else delete composerFiles[key];
      return { ...s, composerFiles };
    });
  }

  /** Empties a message box's files that were just sent (they now belong to the outbox). */
  takeComposerFiles(key: string): PendingFile[] {
    const files = this.store.get().composerFiles[key] ?? [];
    for (const file of files) this.removeComposerFile(key, file.localId, true);
    return files;
  }

  /** Cancels one file of an unsent message (the message goes if it was its last file). */
  cancelUpload(clientMsgId: string, localId: string): void {
    this.outbox.cancelFile(clientMsgId, localId);
  }

  retryMessage(clientMsgId: string): void {
    this.outbox.retry(clientMsgId);
  }

  discardMessage(clientMsgId: string): void {
    this.outbox.discard(clientMsgId);
  }

  // --- persistence --------------------------------------------------------------------------------

  schedulePersist(): void {
    if (this.persistTimer !== undefined || this.stopped) return;
    this.persistTimer = setTimeout(() => this.persistNow(), PERSIST_DELAY_MS);
  }

  /** Writes changed event lists, then the metadata with the cursor (the order matters: cache.ts). */
  persistNow(): void {
    clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    if (this.stopped) return;
    const s = this.store.get();
    const me = this.me.id;
    for (const id of this.dirtyEvents) {
      const state = s.conversations[id];
      if (state) cache.saveEvents(me, id, state.events);
    }
    this.dirtyEvents.clear();
    // Stand-ins are saved too: the cursor may already be past the event that created them.
    const conversations: Record<ConversationId, Conversation> = {};
    for (const state of Object.values(s.conversations)) conversations[state.meta.id] = state.meta;
    const reads: Record<ConversationId, ConversationState['read']> = {};
    for (const state of Object.values(s.conversations)) reads[state.meta.id] = state.read;
    cache.saveMeta(me, {
      cursor: this.cursor,
      conversations,
      users: s.users,
      reads,
      settings: s.settings,
      hidden: s.hidden,
      outbox: s.outbox,
      drafts: s.drafts,
    });
  }
}

/**
 * An outbox entry read back from the cache: one that was being sent goes again; files whose
 * upload had not finished are gone with the page that held them (only Delete is left for it).
 */
function restoredOutgoing(item: OutgoingMessage): OutgoingMessage {
  let message: OutgoingMessage = item.state === 'sending' ? { ...item, state: 'pending' } : item;
  if (message.attachments?.some((a) => a.state !== 'ready')) {
    const error = 'The page was closed before its files were sent.';
    message = {
      ...message,
      state: 'failed',
      error,
      attachments: message.attachments.map((a) => (a.state === 'ready' ? a : { ...a, state: 'failed', error })),
    };
  }
  return message;
}
