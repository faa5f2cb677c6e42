// The outbox: messages the user wrote that the server has not acknowledged yet (protocol 5.4).
// Each keeps its client_msg_id for every retry, so the server stores it once however often it
// is sent; retries happen after a reconnect (once caught up), after `unavailable`, and by hand
// for a message the server refused.
//
// A message with files uploads them first (uploads.ts), each on its own with its progress in
// `uploads`; it is sent once all of them are ready, as one `send` with every media id. Cancelling
// a file takes it out of the message; cancelling the last one cancels the message: nothing is
// sent, not even its caption (a caption alone was never what the user meant to send).
import { newClientMsgId } from '../protocol/ids';
import { type AckReply, type Attachment, type ChatEvent, type CompleteReply, type ConversationId, ProtocolError, type UserId } from '../protocol/types';
import { describeError } from './errors';
import { dropLocalFile, localFile, noteUploaded, releaseLocalFile } from './localFiles';
import type { AppState, OutgoingAttachment, OutgoingMessage, PendingFile } from './model';
import type { Store } from './store';
import type { Uploads } from './uploads';

/** Every file of the message can still be sent: uploaded, or its File is still in this page. */
export function canRetry(message: OutgoingMessage): boolean {
  return (message.attachments ?? []).every((a) => a.state === 'ready' || (a.localId !== undefined && localFile(a.localId) !== undefined));
}

function ready(message: OutgoingMessage): boolean {
  return (message.attachments ?? []).every((a) => a.state === 'ready' && a.media);
}

export interface OutboxHost {
  store: Store<AppState>;
  me: UserId;
  /** Connected, and caught up after the last hello (protocol 11.2: hello, sync, then re-send). */
  canSend(): boolean;
  request<T>(type: string, fields: Record<string, unknown>): Promise<T>;
  /** Stores our own event, built from the ack (the sending session gets no event: protocol 5.2). */
  storeEvents(events: ChatEvent[]): void;
  /** Writes the cache now (`true`) or soon. */
  persist(now: boolean): void;
  uploads: Uploads;
  /** An upload's own download URLs (media.complete), for its pictures in the timeline. */
  uploaded(reply: CompleteReply): void;
}

export class Outbox {
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: OutboxHost) {}

  /**
   * Queues a message: it shows at once as pending and goes out when the connection allows.
   * `files` are uploaded first; `forwarded` are files already on the server (no upload).
   */
  add(
    conversationId: ConversationId,
    text: string,
    refs: { replyTo?: number; threadRoot?: number } = {},
    files: { upload?: readonly PendingFile[]; forwarded?: readonly Attachment[] } = {},
  ): void {
    const attachments: OutgoingAttachment[] = [
      ...(files.forwarded ?? []).map((media): OutgoingAttachment => ({ state: 'ready', media })),
      ...(files.upload ?? []).map((file): OutgoingAttachment => ({ ...file, state: 'uploading' })),
    ];
    const message: OutgoingMessage = {
      client_msg_id: newClientMsgId(),
      conversation_id: conversationId,
      text,
      replyTo: refs.replyTo,
      threadRoot: refs.threadRoot,
      created_at: Date.now(),
      state: 'pending',
      attachments: attachments.length ? attachments : undefined,
    };
    this.host.store.update((s) => ({ ...s, outbox: [...s.outbox, message] }));
    this.host.persist(true); // a reload right now must not lose it
    for (const attachment of attachments) if (attachment.state === 'uploading') void this.upload(message.client_msg_id, attachment);
    this.flush();
  }

  retry(clientMsgId: string): void {
    const message = this.find(clientMsgId);
    if (!message || !canRetry(message)) return;
    this.patch(clientMsgId, { state: 'pending', error: undefined });
    for (const attachment of message.attachments ?? []) {
      if (attachment.state === 'failed') {
        this.patchAttachment(clientMsgId, attachment.localId!, { state: 'uploading', error: undefined });
        void this.upload(clientMsgId, { ...attachment, state: 'uploading' });
      }
    }
    this.flush();
  }

  discard(clientMsgId: string): void {
    const message = this.find(clientMsgId);
    for (const attachment of message?.attachments ?? []) {
      if (attachment.localId && attachment.state !== 'ready') {
        this.host.uploads.cancel(attachment.localId);
        dropLocalFile(attachment.localId);
      }
    }
    this.host.store.update((s) => ({ ...s, outbox: s.outbox.filter((m) => m.client_msg_id !== clientMsgId) }));
    this.host.persist(false);
  }

  /** Takes one file out of a message not sent yet; without any file left, the message goes. */
  cancelFile(clientMsgId: string, localId: string): void {
    const message = this.find(clientMsgId);
    if (!message || message.state === 'sending') return;
    this.host.uploads.cancel(localId);
    dropLocalFile(localId);
    this.clearProgress(localId);
    const rest = (message.attachments ?? []).filter((a) => a.localId !== localId);
    if (rest.length === 0) {
      this.discard(clientMsgId);
      return;
    }
    this.patch(clientMsgId, { attachments: rest });
    this.flush();
  }

  /** Sends every pending message whose files are ready, oldest first, if the connection allows. */
  flush(): void {
    if (!this.host.canSend()) return;
    for (const message of this.host.store.get().outbox) {
      if (message.state === 'pending' && ready(message)) this.transmit(message);
    }
  }

  /** The connection dropped: sends in flight go again after the next sync. */
  connectionLost(): void {
    this.host.store.update((s) =>
      s.outbox.some((m) => m.state === 'sending')
        ? { ...s, outbox: s.outbox.map((m) => (m.state === 'sending' ? { ...m, state: 'pending' } : m)) }
        : s,
    );
  }

  stop(): void {
    clearTimeout(this.retryTimer);
  }

  private transmit(message: OutgoingMessage): void {
    this.patch(message.client_msg_id, { state: 'sending' });
    this.host.request<AckReply>('send', {
      conversation_id: message.conversation_id,
      client_msg_id: message.client_msg_id,
      text: message.text,
      reply_to_seq: message.replyTo,
      thread_root_seq: message.threadRoot,
      attachments: message.attachments?.map((a) => ({ media_id: a.media!.id })),
    }).then(
      (ack) => this.acknowledged(message, ack),
      (error: unknown) => {
        const code = error instanceof ProtocolError ? error.code : 'internal';
        if (code === 'offline' || code === 'disconnected') {
          this.patch(message.client_msg_id, { state: 'pending' });
        } else if (code === 'unavailable') {
          this.patch(message.client_msg_id, { state: 'pending' });
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => this.flush(), 2000 + Math.random() * 3000);
        } else {
          // Refused (not a member any more, too large, ...): nothing was stored; the user decides.
          this.patch(message.client_msg_id, { state: 'failed', error: describeError(error) });
        }
      },
    );
  }

  /** The ack stands in for our own event; storing it settles the outbox entry (client.ts). */
  private acknowledged(message: OutgoingMessage, ack: AckReply): void {
    this.host.storeEvents([{
      conversation_id: ack.conversation_id,
      seq: ack.seq,
      pos: ack.pos,
      id: ack.message_id,
      sender_id: this.host.me,
      kind: 'text',
      ts: ack.ts,
      text: message.text,
      client_msg_id: ack.client_msg_id,
      reply_to: message.replyTo,
      thread_root: message.threadRoot,
      attachments: message.attachments?.map((a) => a.media!),
    }]);
    // The saved cursor does not move on acks: only on events (protocol 6.2).
    this.host.persist(true);
  }

  /** Uploads one file of a message; the message goes once all of its files are ready. */
  private async upload(clientMsgId: string, attachment: OutgoingAttachment): Promise<void> {
    const localId = attachment.localId!;
    const file = localFile(localId);
    if (!file) {
      this.failAttachment(clientMsgId, localId, `“${attachment.file_name}” is no longer here: the page was closed before it was sent.`);
      return;
    }
    const info: PendingFile = {
      localId, file_name: attachment.file_name ?? file.name, size: attachment.size ?? file.size,
      content_type: attachment.content_type ?? 'application/octet-stream',
    };
    const outcome = await this.host.uploads.upload(info, file);
    this.clearProgress(localId);
    if (outcome.kind === 'cancelled') return;
    if (outcome.kind === 'failed') {
      this.failAttachment(clientMsgId, localId, outcome.error);
      return;
    }
    noteUploaded(localId, outcome.reply.media.id);
    releaseLocalFile(localId);
    this.host.uploaded(outcome.reply);
    this.patchAttachment(clientMsgId, localId, { state: 'ready', media: outcome.reply.media, error: undefined });
    this.flush();
  }

  private failAttachment(clientMsgId: string, localId: string, error: string): void {
    this.patchAttachment(clientMsgId, localId, { state: 'failed', error });
    this.patch(clientMsgId, { state: 'failed', error });
  }

  private patchAttachment(clientMsgId: string, localId: string, change: Partial<OutgoingAttachment>): void {
    const message = this.find(clientMsgId);
    if (!message?.attachments) return;
    this.patch(clientMsgId, { attachments: message.attachments.map((a) => (a.localId === localId ? { ...a, ...change } : a)) });
  }

  private clearProgress(localId: string): void {
    this.host.store.update((s) => {
      if (!(localId in s.uploads)) return s;
      const uploads = { ...s.uploads };
      delete uploads[localId];
      return { ...s, uploads };
    });
  }

  private find(clientMsgId: string): OutgoingMessage | undefined {
    return this.host.store.get().outbox.find((m) => m.client_msg_id === clientMsgId);
  }

  private patch(clientMsgId: string, change: Partial<OutgoingMessage>): void {
    this.host.store.update((s) => {
      const index = s.outbox.findIndex((m) => m.client_msg_id === clientMsgId);
      if (index < 0) return s;
      const outbox = [...s.outbox];
      outbox[index] = { ...outbox[index], ...change };
      return { ...s, outbox };
    });
    this.host.persist(false);
  }
}
