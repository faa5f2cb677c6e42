// Turns a conversation's events and outbox into what the message list draws: day separators,
// system lines, and runs of messages by one sender ("groups"). Pure; memoized by the view.
//
// Messages come with their current state (edits, deletes, reactions, pins, thread summaries:
// folded by state/messages.ts). Thread replies are not lines of the main list: they show in the
// thread panel (buildThreadItems), and as a reply count under their root.
import type { Attachment, ChatEvent, UserId } from '../../protocol/types';
import { kindOf } from '../../state/eventKinds';
import { foldMessages, type MessageView, viewOf } from '../../state/messages';
import type { ConversationState, OutgoingAttachment, OutgoingMessage } from '../../state/model';
import { canRetry } from '../../state/outbox';
import { eventStatus, type MessageStatus } from '../../state/selectors';
import { mergeEvents } from '../../state/timeline';
import { sameDay } from '../format';

export interface MessageLine {
  /** Stable across pending → sent: the client_msg_id when there is one, so the bubble is reused. */
  key: string;
  seq?: number;
  senderId: UserId;
  text: string;
  ts: number;
  status: MessageStatus;
  clientMsgId?: string;
  error?: string;
  /** The folded state; absent for messages still in the outbox. */
  view?: MessageView;
  replyTo?: number;
  /** The files it carries (none when deleted). */
  attachments: LineAttachment[];
  /** An unsent message that cannot be sent again (its files are gone with a reload). */
  canRetry?: boolean;
}

/** A file of a message: described by the server (`media`), or being uploaded by this page. */
export interface LineAttachment {
  key: string;
  media?: Attachment;
  /** This page's upload of it: its progress, its local picture, cancel. */
  localId?: string;
  file_name: string;
  size: number;
  content_type: string;
  width?: number;
  height?: number;
  state: 'uploading' | 'ready' | 'failed';
  error?: string;
}

function sentAttachment(media: Attachment): LineAttachment {
  return { key: media.id, media, file_name: media.file_name, size: media.size, content_type: media.content_type, width: media.width, height: media.height, state: 'ready' };
}

function outgoingAttachment(attachment: OutgoingAttachment, index: number): LineAttachment {
  const media = attachment.media;
  return {
    key: attachment.localId ?? media?.id ?? String(index),
    media,
    localId: attachment.localId,
    file_name: media?.file_name ?? attachment.file_name ?? 'file',
    size: media?.size ?? attachment.size ?? 0,
    content_type: media?.content_type ?? attachment.content_type ?? 'application/octet-stream',
    width: media?.width ?? attachment.width,
    height: media?.height ?? attachment.height,
    state: attachment.state,
    error: attachment.error,
  };
}

export type Item =
  | { type: 'day'; key: string; ts: number }
  | { type: 'unread'; key: string; count: number }
  | { type: 'system'; key: string; event: ChatEvent }
  | { type: 'messages'; key: string; senderId: UserId; mine: boolean; lines: MessageLine[] };

/** Messages further apart than this start a new run, even from the same sender. */
const RUN_GAP_MS = 5 * 60_000;

class ItemBuilder {
  readonly items: Item[] = [];
  private run: Extract<Item, { type: 'messages' }> | null = null;
  private lastTs = 0;

  constructor(private readonly me: UserId) {}

  day(ts: number, key: string): void {
    if (this.lastTs === 0 || !sameDay(this.lastTs, ts)) {
      this.items.push({ type: 'day', key: `day-${key}`, ts });
      this.run = null;
    }
    this.lastTs = ts;
  }

  /** "N unread messages": a separator, so the next message starts a new run. */
  unread(count: number): void {
    this.items.push({ type: 'unread', key: 'unread-divider', count });
    this.run = null;
  }

  system(event: ChatEvent): void {
    this.items.push({ type: 'system', key: `sys-${event.seq}`, event });
    this.run = null;
  }

  message(line: MessageLine): void {
    const previous = this.run?.lines[this.run.lines.length - 1];
    if (!this.run || this.run.senderId !== line.senderId || (previous && line.ts - previous.ts > RUN_GAP_MS)) {
      this.run = { type: 'messages', key: `run-${line.key}`, senderId: line.senderId, mine: line.senderId === this.me, lines: [] };
      this.items.push(this.run);
    }
    this.run.lines.push(line);
  }
}

function lineOf(conversation: ConversationState, view: MessageView, me: UserId): MessageLine {
  const event = view.event;
  return {
    key: event.client_msg_id && event.sender_id === me ? `m-${event.client_msg_id}` : `s-${event.seq}`,
    seq: event.seq,
    senderId: event.sender_id,
    text: view.text,
    ts: event.ts,
    status: event.sender_id === me ? eventStatus(conversation, view, me) : 'sent',
    clientMsgId: event.client_msg_id,
    view,
    replyTo: view.replyTo,
    attachments: view.attachments.map(sentAttachment),
  };
}

function pendingLine(pending: OutgoingMessage, me: UserId): MessageLine {
  return {
    key: `m-${pending.client_msg_id}`,
    senderId: me,
    text: pending.text,
    ts: pending.created_at,
    status: pending.state === 'failed' ? 'failed' : 'pending',
    clientMsgId: pending.client_msg_id,
    error: pending.error,
    replyTo: pending.replyTo,
    attachments: (pending.attachments ?? []).map(outgoingAttachment),
    canRetry: canRetry(pending),
  };
}

/** Where the unread messages began when the conversation was opened: after seq `after`. */
export interface UnreadMark {
  after: number;
  count: number;
}

export function buildItems(conversation: ConversationState, outbox: readonly OutgoingMessage[], me: UserId, unread?: UnreadMark | null): Item[] {
  const builder = new ItemBuilder(me);
  const views = foldMessages(conversation.events, conversation.pinned);
  let divider = !!unread;
  for (const event of conversation.events) {
    const spec = kindOf(event);
    if (spec.display === 'none' || event.thread_root || event.hidden) continue;
    builder.day(event.ts, `e${event.seq}`);
    if (divider && unread && event.seq > unread.after && event.sender_id !== me) {
      builder.unread(unread.count);
      divider = false;
    }
    if (spec.display === 'system') {
      builder.system(event);
      continue;
    }
    builder.message(lineOf(conversation, views.get(event.seq) ?? viewOf(event), me));
  }
  for (const pending of outbox) {
    if (pending.conversation_id !== conversation.meta.id || pending.threadRoot) continue;
    builder.day(pending.created_at, pending.client_msg_id);
    builder.message(pendingLine(pending, me));
  }
  return builder.items;
}

/**
 * A thread: its root and its replies — those read with thread.history and those that came with
 * the conversation's events (live, sync) — with the conversation's message-state events folded in.
 */
export function buildThreadItems(
  conversation: ConversationState,
  root: number,
  rootEvent: ChatEvent | undefined,
  fetched: readonly ChatEvent[],
  outbox: readonly OutgoingMessage[],
  me: UserId,
): { root: MessageLine | null; items: Item[] } {
  const fromConversation = conversation.events.filter((event) => event.thread_root === root && event.kind === 'text');
  const replies = mergeEvents([...fetched], fromConversation);
  const stateEvents = conversation.events.filter((event) => kindOf(event).display === 'none');
  const conversationRoot = conversation.events.find((event) => event.seq === root);
  const base = rootEvent ?? conversationRoot;
  // The fold needs the messages first, then the events that change them, in seq order.
  const all = mergeEvents(mergeEvents(base ? [base] : [], replies), stateEvents);
  const views = foldMessages(all, conversation.pinned);
  const builder = new ItemBuilder(me);
  for (const event of replies) {
    const view = views.get(event.seq);
    if (!view || view.hidden) continue;
    builder.day(event.ts, `t${event.seq}`);
    builder.message(lineOf(conversation, view, me));
  }
  for (const pending of outbox) {
    if (pending.conversation_id !== conversation.meta.id || pending.threadRoot !== root) continue;
    builder.day(pending.created_at, pending.client_msg_id);
    builder.message(pendingLine(pending, me));
  }
  const rootView = base ? views.get(base.seq) : undefined;
  return { root: rootView ? lineOf(conversation, rootView, me) : null, items: builder.items };
}
