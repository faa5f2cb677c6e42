// The outbox: messages the user wrote that the server has not acknowledged yet (protocol 5.4).
// Each keeps its client_msg_id for every retry, so the server stores it once however often it
// is sent; retries happen after a reconnect (once caught up), after `unavailable`, and by hand
// for a message the server refused.
import { newClientMsgId } from '../protocol/ids';
import { type AckReply, type ChatEvent, type ConversationId, ProtocolError, type UserId } from '../protocol/types';
import { describeError } from './errors';
import type { AppState, OutgoingMessage } from './model';
import type { Store } from './store';

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
}

export class Outbox {
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: OutboxHost) {}

  /** Queues a message: it shows at once as pending and goes out when the connection allows. */
  add(conversationId: ConversationId, text: string, refs: { replyTo?: number; threadRoot?: number } = {}): void {
    const message: OutgoingMessage = {
      client_msg_id: newClientMsgId(),
      conversation_id: conversationId,
      text,
      replyTo: refs.replyTo,
      threadRoot: refs.threadRoot,
      created_at: Date.now(),
      state: 'pending',
    };
    this.host.store.update((s) => ({ ...s, outbox: [...s.outbox, message] }));
    this.host.persist(true); // a reload right now must not lose it
    this.flush();
  }

  retry(clientMsgId: string): void {
    this.patch(clientMsgId, { state: 'pending', error: undefined });
    this.flush();
  }

  discard(clientMsgId: string): void {
    this.host.store.update((s) => ({ ...s, outbox: s.outbox.filter((m) => m.client_msg_id !== clientMsgId) }));
    this.host.persist(false);
  }

  /** Sends every pending message, oldest first, if the connection allows. */
  flush(): void {
    if (!this.host.canSend()) return;
    for (const message of this.host.store.get().outbox) {
      if (message.state === 'pending') this.transmit(message);
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
    }]);
    // The saved cursor does not move on acks: only on events (protocol 6.2).
    this.host.persist(true);
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
