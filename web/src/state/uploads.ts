// Uploading one file (protocol "media.upload", "media.complete"): ask for an upload URL, PUT the
// bytes there with XMLHttpRequest (fetch reports no upload progress), then have the server
// check and describe them. The bytes never travel over the WebSocket.
//
// Interruptions are retried with backoff, up to 30 s apart, sooner when the browser comes back
// online or the client catches up after a reconnect: the same URL while it is valid (the server
// keeps nothing of a PUT that stopped short), a new media.upload once it expired. A refusal (too
// large, over the quota, not what it claims to be) ends the upload with a sentence for the user.
import { type CompleteReply, ProtocolError, type UploadTicket } from '../protocol/types';
import { describeUploadError } from './errors';
import type { PendingFile } from './model';

export interface UploadHost {
  request<T>(type: string, fields: Record<string, unknown>): Promise<T>;
  /** Resolves a relative URL of the server (media.backend = local) against its origin. */
  resolve(url: string): string;
  progress(localId: string, loaded: number, total: number, waiting: boolean): void;
}

export type UploadOutcome =
  | { kind: 'done'; reply: CompleteReply }
  | { kind: 'failed'; error: string }
  | { kind: 'cancelled' };

/** An upload URL this close to its expiry is not used any more: ask for a new one. */
const EXPIRY_MARGIN_MS = 30_000;
const MAX_DELAY_MS = 30_000;
/** Headers a page may not set; the browser sends them itself (Content-Length from the body). */
const FORBIDDEN_HEADERS = new Set(['content-length', 'host', 'connection', 'expect', 'accept-encoding']);

/** A failure worth trying again (the network, the server busy), as opposed to a refusal. */
class Retry extends Error {}

type PutResult = 'stored' | 'expired' | 'cancelled';

class UploadJob {
  cancelled = false;
  private xhr: XMLHttpRequest | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly host: UploadHost, private readonly info: PendingFile, private readonly file: File) {}

  async run(): Promise<UploadOutcome> {
    let ticket: UploadTicket | null = null;
    let stored = false;
    for (let attempt = 0; !this.cancelled; attempt++) {
      try {
        if (!stored) {
          if (!ticket || ticket.upload.expires_at * 1000 - EXPIRY_MARGIN_MS < Date.now()) {
            ticket = await this.host.request<UploadTicket>('media.upload', {
              size: this.info.size, content_type: this.info.content_type, file_name: this.info.file_name,
            });
          }
          if (this.cancelled) break;
          const put = await this.put(ticket);
          if (put === 'cancelled') break;
          if (put === 'expired') {
            ticket = null; // a new URL after the pause (a refused one must not loop fast)
            throw new Retry('expired');
          }
          stored = true;
        }
        const reply = await this.host.request<CompleteReply>('media.complete', { media_id: ticket!.media_id });
        return this.cancelled ? { kind: 'cancelled' } : { kind: 'done', reply };
      } catch (error) {
        if (this.cancelled) break;
        if (error instanceof ProtocolError) {
          if (error.code === 'conflict') stored = false; // nothing arrived after all: PUT again
          else if (error.code === 'not_found') {
            ticket = null; // swept as never completed: start over
            stored = false;
          } else if (!error.retryable) return { kind: 'failed', error: describeUploadError(error, this.info.file_name) };
        } else if (!(error instanceof Retry)) {
          return { kind: 'failed', error: describeUploadError(error, this.info.file_name) };
        }
      }
      await this.pause(attempt);
    }
    return { kind: 'cancelled' };
  }

  cancel(): void {
    this.cancelled = true;
    this.xhr?.abort();
    this.wake?.();
  }

  /** Ends a pause early (back online, reconnected). */
  retryNow(): void {
    this.wake?.();
  }

  private put(ticket: UploadTicket): Promise<PutResult> {
    const total = this.info.size;
    this.host.progress(this.info.localId, 0, total, false);
    return new Promise<PutResult>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open(ticket.upload.method || 'PUT', this.host.resolve(ticket.upload.url));
      for (const [name, value] of Object.entries(ticket.upload.headers ?? {})) {
        if (!FORBIDDEN_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
      }
      xhr.upload.onprogress = (event) => this.host.progress(this.info.localId, event.loaded, total, false);
      xhr.onload = () => {
        this.xhr = null;
        const status = xhr.status;
        // 409: this URL's file is already complete (an earlier attempt got through), or another
        // PUT of it is still running; media.complete tells which.
        if ((status >= 200 && status < 300) || status === 409) {
          this.host.progress(this.info.localId, total, total, false);
          resolve('stored');
        } else if (status === 403) {
          resolve('expired'); // expired (or no longer valid): a new media.upload
        } else if (status >= 500 || status === 408 || status === 429 || status === 0) {
          reject(new Retry(`HTTP ${status}`));
        } else {
          let code = status === 413 ? 'too_large' : 'invalid_field';
          let message = `HTTP ${status}`;
          try {
            const body = JSON.parse(xhr.responseText) as { error?: { code?: string; message?: string } };
            code = body.error?.code ?? code;
            message = body.error?.message ?? message;
          } catch {
            // not JSON (an object store's XML): the status says enough
          }
          reject(new ProtocolError(code, message));
        }
      };
      xhr.onerror = () => {
        this.xhr = null;
        reject(new Retry('network'));
      };
      xhr.ontimeout = xhr.onerror;
      xhr.onabort = () => {
        this.xhr = null;
        resolve('cancelled');
      };
      xhr.send(this.file);
    });
  }

  /** Waits before the next attempt: exponential with jitter, ended early by retryNow/online. */
  private pause(attempt: number): Promise<void> {
    this.host.progress(this.info.localId, 0, this.info.size, true);
    const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2);
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        window.removeEventListener('online', done);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, delay);
      window.addEventListener('online', done);
      this.wake = done;
    });
  }
}

/** The uploads of this page, by the local id of their file. */
export class Uploads {
  private readonly jobs = new Map<string, UploadJob>();

  constructor(private readonly host: UploadHost) {}

  /** Uploads a file; resolves once it is described by the server, refused, or cancelled. */
  async upload(info: PendingFile, file: File): Promise<UploadOutcome> {
    this.jobs.get(info.localId)?.cancel();
    const job = new UploadJob(this.host, info, file);
    this.jobs.set(info.localId, job);
    try {
      return await job.run();
    } finally {
      if (this.jobs.get(info.localId) === job) this.jobs.delete(info.localId);
    }
  }

  running(localId: string): boolean {
    return this.jobs.has(localId);
  }

  cancel(localId: string): void {
    this.jobs.get(localId)?.cancel();
  }

  /** The connection is back: uploads waiting to try again go now. */
  retryNow(): void {
    for (const job of this.jobs.values()) job.retryNow();
  }

  stop(): void {
    for (const job of this.jobs.values()) job.cancel();
    this.jobs.clear();
  }
}
