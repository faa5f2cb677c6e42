// Turns a conversation's events and outbox into what the message list draws: day separators,
// system lines, and runs of messages by one sender ("groups"). Pure; memoized by the view.
//
// Later event kinds that change an earlier message (edits, reactions, receipts) are folded in
// here, in a first pass over the events, before the lines are built.
import type { ChatEvent, UserId } from '../../protocol/types';
import { kindOf } from '../../state/eventKinds';
import type { ConversationState, OutgoingMessage } from '../../state/model';
import { eventStatus, type MessageStatus } from '../../state/selectors';
import { sameDay } from '../format';

export interface MessageLine {
  /** Stable across pending → sent: the client_msg_id when there is one, so the bubble is reused. */
  key: string;
  seq?: number;
  text: string;
  ts: number;
  status: MessageStatus;
  clientMsgId?: string;
  error?: string;
}

export type Item =
  | { type: 'day'; key: string; ts: number }
  | { type: 'system'; key: string; event: ChatEvent }
  | { type: 'messages'; key: string; senderId: UserId; mine: boolean; lines: MessageLine[] };

/** Messages further apart than this start a new run, even from the same sender. */
const RUN_GAP_MS = 5 * 60_000;

export function buildItems(conversation: ConversationState, outbox: readonly OutgoingMessage[], me: UserId): Item[] {
  const items: Item[] = [];
  let run: Extract<Item, { type: 'messages' }> | null = null;
  let lastTs = 0;

  function day(ts: number, key: string) {
    if (lastTs === 0 || !sameDay(lastTs, ts)) {
      items.push({ type: 'day', key: `day-${key}`, ts });
      run = null;
    }
    lastTs = ts;
  }

  function message(senderId: UserId, line: MessageLine) {
    const previous = run?.lines[run.lines.length - 1];
    if (!run || run.senderId !== senderId || (previous && line.ts - previous.ts > RUN_GAP_MS)) {
      run = { type: 'messages', key: `run-${line.key}`, senderId, mine: senderId === me, lines: [] };
      items.push(run);
    }
    run.lines.push(line);
  }

  for (const event of conversation.events) {
    const spec = kindOf(event);
    if (spec.display === 'none') continue;
    day(event.ts, `e${event.seq}`);
    if (spec.display === 'system') {
      items.push({ type: 'system', key: `sys-${event.seq}`, event });
      run = null;
      continue;
    }
    message(event.sender_id, {
      key: event.client_msg_id && event.sender_id === me ? `m-${event.client_msg_id}` : `s-${event.seq}`,
      seq: event.seq,
      text: event.text ?? '',
      ts: event.ts,
      status: event.sender_id === me ? eventStatus(conversation, event) : 'sent',
      clientMsgId: event.client_msg_id,
    });
  }

  for (const pending of outbox) {
    if (pending.conversation_id !== conversation.meta.id) continue;
    day(pending.created_at, pending.client_msg_id);
    message(me, {
      key: `m-${pending.client_msg_id}`,
      text: pending.text,
      ts: pending.created_at,
      status: pending.state === 'failed' ? 'failed' : 'pending',
      clientMsgId: pending.client_msg_id,
      error: pending.error,
    });
  }
  return items;
}
