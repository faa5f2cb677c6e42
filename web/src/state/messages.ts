// The current state of each message of a conversation, folded from its event log (protocol 3.1,
// "Applying message-state events"): edits, deletes, reactions, pins and thread replies are events
// of their own that name their message by `target_seq` (or `thread_root`). The stored event list
// stays a plain log keyed by seq; this pure fold, memoized per list, is what the views read.
//
// Reads (history, thread.history) show a message's state as it was when read; replaying every
// later message-state event of the list on top is idempotent — each sets an absolute value (a
// text, a (user, emoji) pair present or not, pinned or not) — so the result is the current state
// whichever snapshot a cached event carries.
import type { Attachment, ChatEvent, UserId } from '../protocol/types';

export interface ReactionState {
  emoji: string;
  /** Who reacted, in the order they did. */
  userIds: UserId[];
}

export interface MessageView {
  event: ChatEvent;
  seq: number;
  senderId: UserId;
  ts: number;
  text: string;
  edited: boolean;
  editedAt?: number;
  deleted: boolean;
  /** Hidden for the user ("delete for me", protocol 5.11): not shown. */
  hidden: boolean;
  reactions: ReactionState[];
  pinned: boolean;
  replyTo?: number;
  threadRoot?: number;
  /** Thread roots: replies so far and the newest one. */
  thread?: { count: number; lastSeq: number; lastAt: number };
  mentions: UserId[];
  mentionsAll: boolean;
  /** The files it carries; none once deleted (a tombstone has no attachments). */
  attachments: Attachment[];
}

/** Kinds that change another message instead of adding one (display 'none' in eventKinds.ts). */
export const MESSAGE_STATE_KINDS = new Set([
  'message.edited', 'message.deleted', 'reaction.added', 'reaction.removed', 'message.pinned', 'message.unpinned',
]);

export function viewOf(event: ChatEvent, pinned = false): MessageView {
  const deleted = event.deleted === true;
  return {
    event,
    seq: event.seq,
    senderId: event.sender_id,
    ts: event.ts,
    text: deleted ? '' : (event.text ?? ''),
    edited: event.edited === true,
    editedAt: event.edited_at,
    deleted,
    hidden: event.hidden === true,
    reactions: deleted ? [] : (event.reactions ?? []).map((r) => ({ emoji: r.emoji, userIds: [...r.user_ids] })),
    pinned: pinned && !deleted,
    replyTo: event.reply_to,
    threadRoot: event.thread_root,
    thread: event.thread ? { count: event.thread.reply_count, lastSeq: event.thread.last_reply_seq, lastAt: event.thread.last_reply_at } : undefined,
    mentions: deleted ? [] : (event.mentions ?? []),
    mentionsAll: !deleted && event.mentions_all === true,
    attachments: deleted || !Array.isArray(event.attachments) ? [] : event.attachments,
  };
}

/** Applies one message-state event (or a thread reply) to the views it concerns. */
export function applyToViews(views: Map<number, MessageView>, event: ChatEvent): void {
  if (event.kind === 'text') {
    const root = event.thread_root ? views.get(event.thread_root) : undefined;
    if (root && (!root.thread || root.thread.lastSeq < event.seq)) {
      root.thread = { count: (root.thread?.count ?? 0) + 1, lastSeq: event.seq, lastAt: event.ts };
    }
    return;
  }
  if (!MESSAGE_STATE_KINDS.has(event.kind) || event.target_seq === undefined) return;
  const view = views.get(event.target_seq);
  if (!view) return; // its message is older than what is loaded
  if (event.kind === 'message.deleted') {
    Object.assign(view, { deleted: true, text: '', reactions: [], pinned: false, mentions: [], mentionsAll: false, attachments: [] });
    return;
  }
  if (view.hidden) return; // a live edit or reaction of a message the user hid: not shown
  if (view.deleted) return; // a tombstone stays one
  switch (event.kind) {
    case 'message.edited':
      if (event.text !== undefined) view.text = event.text;
      view.edited = true;
      view.editedAt = Math.max(view.editedAt ?? 0, event.ts);
      break;
    case 'reaction.added': {
      const emoji = event.emoji ?? '';
      const entry = view.reactions.find((r) => r.emoji === emoji);
      if (!entry) view.reactions = [...view.reactions, { emoji, userIds: [event.sender_id] }];
      else if (!entry.userIds.includes(event.sender_id)) {
        view.reactions = view.reactions.map((r) => (r === entry ? { emoji, userIds: [...r.userIds, event.sender_id] } : r));
      }
      break;
    }
    case 'reaction.removed': {
      const emoji = event.emoji ?? '';
      view.reactions = view.reactions
        .map((r) => (r.emoji === emoji ? { emoji, userIds: r.userIds.filter((id) => id !== event.sender_id) } : r))
        .filter((r) => r.userIds.length > 0);
      break;
    }
    case 'message.pinned':
      view.pinned = true;
      break;
    case 'message.unpinned':
      view.pinned = false;
      break;
  }
}

const memo = new WeakMap<readonly ChatEvent[], { pinned: readonly number[] | undefined; views: Map<number, MessageView> }>();

/** Every `text` event of the list with its current state, by seq. Memoized per list. */
export function foldMessages(events: readonly ChatEvent[], pinned?: readonly number[]): Map<number, MessageView> {
  const cached = memo.get(events);
  if (cached && cached.pinned === pinned) return cached.views;
  const pins = new Set(pinned ?? []);
  const views = new Map<number, MessageView>();
  for (const event of events) {
    if (event.kind === 'text') views.set(event.seq, viewOf(event, pins.has(event.seq)));
    applyToViews(views, event);
  }
  memo.set(events, { pinned, views });
  return views;
}

/** The seq of the newest event of someone else, 0 if none. */
export function newestFromOthers(events: readonly ChatEvent[], me: UserId): number {
  for (let i = events.length - 1; i >= 0; i--) if (events[i].sender_id !== me) return events[i].seq;
  return 0;
}

/** Whether the message mentions this user (by name or with @all). */
export function mentionsUser(view: Pick<MessageView, 'mentions' | 'mentionsAll'>, user: UserId): boolean {
  return view.mentionsAll || view.mentions.includes(user);
}
