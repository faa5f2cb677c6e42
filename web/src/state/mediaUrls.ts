// Download URLs of attachments (protocol "media.urls"): short-lived and per user, so never in
// events. The ids asked for in one moment (every attachment that comes into view while a list
// renders) go out as one request, at most limits.max_media_urls ids each; the answers are kept
// until shortly before `url_expires_at`. A picture that fails to load with an old URL asks again.
import { type CompleteReply, type MediaUrlsReply, ProtocolError } from '../protocol/types';

export interface MediaUrl {
  url: string;
  thumbnailUrl?: string;
  /** Epoch ms. */
  expiresAt: number;
  /** Epoch ms when it was issued: an error soon after is not the URL's fault. */
  issuedAt: number;
  /** Not handed out this close to its expiry (shorter for short-lived URLs). */
  margin: number;
}

export interface MediaUrlsHost {
  request<T>(type: string, fields: Record<string, unknown>): Promise<T>;
  ready(): boolean;
  limit(name: string): number | undefined;
  resolve(url: string): string;
}

/** A URL this close to its expiry is not handed out any more (a quarter of a shorter life). */
const FRESH_MARGIN_MS = 15_000;

export class MediaUrls {
  private readonly cache = new Map<string, MediaUrl>();
  /** Ids the server will not give this user a URL for (not visible, deleted). */
  private readonly missing = new Set<string>();
  private readonly wanted = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly waiters = new Map<string, ((url: MediaUrl | null) => void)[]>();
  private readonly listeners = new Set<() => void>();
  private flushQueued = false;

  constructor(private readonly host: MediaUrlsHost) {}

  /** A URL still good for a while, or undefined (then `want` it). */
  get(id: string, now = Date.now()): MediaUrl | undefined {
    const entry = this.cache.get(id);
    return entry && entry.expiresAt - entry.margin > now ? entry : undefined;
  }

  isMissing(id: string): boolean {
    return this.missing.has(id);
  }

  /** Asks for URLs of these ids (those without a fresh one), batched with other calls. */
  want(ids: Iterable<string>): void {
    let added = false;
    for (const id of ids) {
      if (this.get(id) || this.inFlight.has(id) || this.missing.has(id)) continue;
      this.wanted.add(id);
      added = true;
    }
    if (added && !this.flushQueued) {
      this.flushQueued = true;
      // A macrotask: every attachment rendered in this pass has asked by then.
      setTimeout(() => this.flush(), 0);
    }
  }

  /** A fresh URL for one id (the lightbox, a download): from the cache or the server. */
  fresh(id: string): Promise<MediaUrl | null> {
    const known = this.get(id);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
      this.missing.delete(id);
      this.want([id]);
    });
  }

  /**
   * A picture or download failed with this URL: forget it if it may have expired (issued more
   * than a few seconds ago), so the next `want` asks again. True if a new URL will be asked for.
   */
  failed(id: string, url: string): boolean {
    const entry = this.cache.get(id);
    if (!entry || (entry.url !== url && entry.thumbnailUrl !== url)) return !!this.get(id);
    if (Date.now() - entry.issuedAt < 5000) return false;
    this.cache.delete(id);
    this.want([id]);
    return true;
  }

  /** The uploader's own URLs, from media.complete. */
  seed(reply: CompleteReply): void {
    this.store(reply.media.id, reply.url, reply.thumbnail_url, reply.url_expires_at);
    this.notify();
  }

  /** The connection is back: ask for what is still wanted. */
  retry(): void {
    if (this.wanted.size) this.flush();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private flush(): void {
    this.flushQueued = false;
    if (!this.host.ready() || this.wanted.size === 0) return;
    const ids = [...this.wanted];
    this.wanted.clear();
    const batch = this.host.limit('max_media_urls') ?? 100;
    for (let i = 0; i < ids.length; i += batch) void this.fetch(ids.slice(i, i + batch));
  }

  private async fetch(ids: string[]): Promise<void> {
    for (const id of ids) this.inFlight.add(id);
    try {
      const reply = await this.host.request<MediaUrlsReply>('media.urls', { media_ids: ids });
      for (const entry of reply.media) this.store(entry.id, entry.url, entry.thumbnail_url, reply.url_expires_at);
      for (const id of reply.missing ?? []) this.missing.add(id);
      for (const id of ids) this.settle(id, this.cache.get(id) ?? null);
    } catch (error) {
      const retryable = error instanceof ProtocolError && error.retryable;
      for (const id of ids) {
        if (retryable) this.wanted.add(id); // asked again after the next catch-up (retry)
        else this.missing.add(id);
        this.settle(id, null);
      }
    } finally {
      for (const id of ids) this.inFlight.delete(id);
      this.notify();
    }
  }

  private store(id: string, url: string, thumbnailUrl: string | undefined, expiresAtS: number): void {
    this.missing.delete(id);
    const now = Date.now();
    // A clock ahead of the server's would make every URL look expired: then a minute (a URL
    // that did expire fails to load and is asked for again).
    const left = expiresAtS * 1000 - now;
    const lifetime = left > 0 ? left : 60_000;
    this.cache.set(id, {
      url: this.host.resolve(url),
      thumbnailUrl: thumbnailUrl ? this.host.resolve(thumbnailUrl) : undefined,
      expiresAt: now + lifetime,
      issuedAt: now,
      margin: Math.min(FRESH_MARGIN_MS, lifetime / 4),
    });
  }

  private settle(id: string, url: MediaUrl | null): void {
    const list = this.waiters.get(id);
    if (!list) return;
    this.waiters.delete(id);
    for (const resolve of list) resolve(url);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
