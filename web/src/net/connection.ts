// One logical WebSocket connection to parleyd that survives drops: it opens /ws, sends `hello`,
// matches replies to requests by id, keeps the connection alive with application pings, and
// reconnects with backoff (protocol 2, 9.2, 11). It knows frames, not chat: the sync algorithm
// and everything above it live in state/client.ts.
import { newRequestId } from '../protocol/ids';
import { type ChatEvent, type HelloReply, type Limits, ProtocolError, type PushFrame } from '../protocol/types';
import { Backoff } from './backoff';

export type ConnectionState =
  | 'connecting' // WebSocket opening
  | 'authenticating' // open, hello sent, no reply yet
  | 'ready' // hello succeeded: commands may be sent
  | 'waiting' // closed; the next attempt starts at `retryAt`
  | 'stopped'; // closed for good: stop() was called or the token was refused

export interface ConnectionStatus {
  state: ConnectionState;
  /** Epoch ms at which the next attempt starts (state 'waiting'). */
  retryAt?: number;
  /** Failed attempts since the last successful hello. */
  attempt: number;
  /** A hello has succeeded at least once: a drop is a reconnect, not a first connect. */
  everReady: boolean;
  /** The close code of the last connection, if it closed. */
  lastCloseCode?: number;
}

export interface ConnectionHandlers {
  /** After each successful hello, before any command of the new session is answered. */
  onReady(reply: HelloReply): void;
  /** Every `event` frame, in arrival order (ascending pos on one session). */
  onEvent(event: ChatEvent): void;
  /** Frames pushed without a request: receipts, read state, typing, presence, announcements. */
  onPush(frame: PushFrame): void;
  onStatus(status: ConnectionStatus): void;
  /** The token was refused, has expired or was revoked: the user must sign in again. */
  onAuthFailed(code: string): void;
}

export interface ConnectionOptions {
  device?: string;
  /**
   * Application ping period while ready (protocol 11.2 recommends 15 s). The ping is also the
   * presence heartbeat: a shorter `presence.heartbeat_ms` from the hello reply wins.
   */
  pingIntervalMs?: number;
  /** A ping with no frame at all received within this time means a dead connection. */
  pongTimeoutMs?: number;
  backoff?: Backoff;
}

export interface RequestOptions {
  /** Resend the frame after a `rate_limited` reply (default true). */
  retryRateLimited?: boolean;
}

interface PendingRequest {
  type: string;
  frame: string;
  socket: WebSocket;
  /** false: a `rate_limited` reply rejects the request (RequestOptions); hello is retried. */
  retryRateLimited?: boolean;
  resolve(reply: unknown): void;
  reject(error: ProtocolError): void;
}

type Frame = { type: string; id?: string | number; [field: string]: unknown };

/** Close codes after which the token must not be used again (protocol 9.2). */
const AUTH_ERRORS = new Set(['unauthorized', 'token_expired', 'token_revoked']);

export class Connection {
  private socket: WebSocket | null = null;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly backoff: Backoff;
  private status: ConnectionStatus = { state: 'stopped', attempt: 0, everReady: false };
  private helloError: string | null = null;
  private pushKey: string | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private watchdogTimer: ReturnType<typeof setTimeout> | undefined;
  private lastFrameAt = 0;
  private slowConsumerRetried = false;
  private serverLimits: Limits | null = null;
  private heartbeatMs: number | undefined;
  private readonly onOnline = () => this.reconnectNow();

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly handlers: ConnectionHandlers,
    private readonly options: ConnectionOptions = {},
  ) {
    this.backoff = options.backoff ?? new Backoff();
  }

  /** The limits of the last hello reply; null before the first one. */
  get limits(): Limits | null {
    return this.serverLimits;
  }

  /** The server's VAPID public key from the last hello reply (base64url); null without one. */
  get vapidPublicKey(): string | null {
    return this.pushKey;
  }

  get ready(): boolean {
    return this.status.state === 'ready';
  }

  /** Opens the connection; reconnects on its own until stop(). */
  start(): void {
    if (this.status.state !== 'stopped') return;
    window.addEventListener('online', this.onOnline);
    this.open();
  }

  /** Closes for good (sign-out, page teardown). Pending requests fail with 'disconnected'. */
  stop(): void {
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.teardown();
    if (socket?.readyState === WebSocket.OPEN) socket.close(1000, 'bye');
    // Closing a socket that is still connecting makes the browser log an error: wait for it.
    else if (socket?.readyState === WebSocket.CONNECTING) socket.onopen = () => socket.close(1000, 'bye');
    this.setStatus({ state: 'stopped' });
  }

  /** Skips the backoff wait: used by the "Retry now" button and when the browser goes online. */
  reconnectNow(): void {
    if (this.status.state !== 'waiting') return;
    clearTimeout(this.retryTimer);
    this.open();
  }

  /**
   * Sends one command and resolves with its reply frame (`ok`, `ack` or `pong`), or rejects with
   * a ProtocolError: the `error` frame's code, 'offline' when not ready, 'disconnected' when the
   * connection closes first. `rate_limited` replies are retried after `retry_after_ms` here,
   * unless `options.retryRateLimited` is false: a password change throttled after wrong
   * passwords (protocol 2.1) must reach the user, not be resent with the same password.
   */
  request<T>(type: string, fields: Record<string, unknown> = {}, options: RequestOptions = {}): Promise<T> {
    const socket = this.socket;
    if (!socket || this.status.state !== 'ready') {
      return Promise.reject(new ProtocolError('offline', 'Not connected to the server.'));
    }
    const id = newRequestId();
    const frame = JSON.stringify({ ...fields, type, id });
    const maxFrame = this.serverLimits?.max_frame_bytes;
    // A frame over the limit would close the whole connection (1009), not just fail this command.
    if (maxFrame && new TextEncoder().encode(frame).length > maxFrame) {
      return Promise.reject(new ProtocolError('too_large', 'This is too long to send.'));
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, {
        type,
        frame,
        socket,
        retryRateLimited: options.retryRateLimited ?? true,
        resolve: resolve as (reply: unknown) => void,
        reject,
      });
      socket.send(frame);
    });
  }

  private open(): void {
    this.teardown();
    this.helloError = null;
    this.setStatus({ state: 'connecting', retryAt: undefined });
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect(1006);
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.sendHello(socket);
    socket.onmessage = (message) => this.receive(socket, message.data);
    socket.onclose = (close) => this.closed(socket, close.code);
    socket.onerror = () => {
      // Always followed by a close event, which decides what to do.
    };
  }

  private sendHello(socket: WebSocket): void {
    this.setStatus({ state: 'authenticating' });
    this.lastFrameAt = Date.now();
    const id = newRequestId('h');
    const frame = JSON.stringify({ type: 'hello', id, token: this.token, protocol: 1, device: this.options.device ?? 'web' });
    this.pending.set(id, {
      type: 'hello',
      frame,
      socket,
      resolve: (reply) => this.helloSucceeded(reply as HelloReply),
      reject: (error) => {
        // A refused token is followed by close 4003; remember why for closed().
        this.helloError = error.code;
      },
    });
    socket.send(frame);
  }

  private helloSucceeded(reply: HelloReply): void {
    this.serverLimits = reply.limits;
    this.pushKey = reply.push?.vapid_public_key ?? null;
    this.heartbeatMs = reply.presence?.heartbeat_ms;
    this.backoff.reset();
    this.slowConsumerRetried = false;
    this.setStatus({ state: 'ready', attempt: 0, everReady: true, retryAt: undefined });
    this.startHeartbeat();
    this.handlers.onReady(reply);
  }

  private receive(socket: WebSocket, data: unknown): void {
    if (socket !== this.socket) return;
    this.lastFrameAt = Date.now();
    if (typeof data !== 'string') return;
    let frame: Frame;
    try {
      frame = JSON.parse(data) as Frame;
    } catch {
      return; // the server sends only JSON objects; ignore anything else rather than crash
    }
    if (frame.type === 'event') {
      const event = frame.event as ChatEvent | undefined;
      if (event) this.handlers.onEvent(event);
      return;
    }
    if (frame.id === undefined) {
      // Not a reply: a pushed frame. Unknown types are ignored there (protocol 3.1).
      if (this.status.state === 'ready') this.handlers.onPush(frame as unknown as PushFrame);
      return;
    }
    const id = frame.id === undefined ? undefined : String(frame.id);
    const request = id === undefined ? undefined : this.pending.get(id);
    if (!request) return; // a reply to a request we gave up on
    if (frame.type === 'error') {
      const code = String(frame.code ?? 'internal');
      const retryAfter = typeof frame.retry_after_ms === 'number' ? frame.retry_after_ms : undefined;
      if (code === 'rate_limited' && request.retryRateLimited !== false && id !== undefined) {
        // The refused frame was not processed: resend the same frame later (protocol 9.1).
        setTimeout(() => {
          if (this.pending.get(id) === request && this.socket === request.socket && this.ready) {
            request.socket.send(request.frame);
          }
        }, retryAfter ?? 1000);
        return;
      }
      if (id !== undefined) this.pending.delete(id);
      const field = typeof frame.field === 'string' ? frame.field : undefined;
      request.reject(new ProtocolError(code, String(frame.message ?? code), retryAfter, field));
      return;
    }
    if (id !== undefined) this.pending.delete(id);
    request.resolve(frame);
  }

  private closed(socket: WebSocket, code: number): void {
    if (socket !== this.socket) return;
    this.teardown();
    if (this.status.state === 'stopped') return;
    const refused = code === 4004 || (code === 4003 && AUTH_ERRORS.has(this.helloError ?? 'unauthorized'));
    if (refused) {
      this.setStatus({ state: 'stopped', lastCloseCode: code });
      window.removeEventListener('online', this.onOnline);
      this.handlers.onAuthFailed(code === 4004 ? 'token_revoked' : (this.helloError ?? 'unauthorized'));
      return;
    }
    this.scheduleReconnect(code);
  }

  private scheduleReconnect(code: number): void {
    // 4002 (slow consumer): reconnect at once, but only once in a row; then back off as usual.
    let delay: number;
    if (code === 4002 && !this.slowConsumerRetried) {
      this.slowConsumerRetried = true;
      delay = 0;
    } else {
      delay = this.backoff.next();
    }
    this.setStatus({ state: 'waiting', retryAt: Date.now() + delay, attempt: this.backoff.attempts, lastCloseCode: code });
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /** Forgets the current socket: timers stop and its pending requests fail with 'disconnected'. */
  private teardown(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.watchdogTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    }
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const request of pending) {
      request.reject(new ProtocolError('disconnected', 'The connection closed before the reply.'));
    }
  }

  private startHeartbeat(): void {
    const interval = Math.min(this.options.pingIntervalMs ?? 15_000, this.heartbeatMs || Infinity);
    const timeout = this.options.pongTimeoutMs ?? 10_000;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      const socket = this.socket;
      if (!socket || !this.ready) return;
      const sentAt = Date.now();
      this.request('ping').catch(() => undefined);
      clearTimeout(this.watchdogTimer);
      this.watchdogTimer = setTimeout(() => {
        if (this.socket !== socket || this.lastFrameAt >= sentAt) return;
        // Nothing at all came back: the connection is dead even if the browser has not noticed.
        this.teardown();
        socket.close(4000, 'heartbeat timeout');
        this.scheduleReconnect(1006);
      }, timeout);
    }, interval);
  }

  private setStatus(change: Partial<ConnectionStatus>): void {
    this.status = { ...this.status, ...change };
    this.handlers.onStatus(this.status);
  }
}
