// Pure operations on a conversation's event list: merging with de-duplication by seq (protocol
// 5.3: the same event can come live, from sync and from history), hole detection, and the
// membership window. Events are identified by (conversation_id, seq); a list holds one
// conversation, so seq alone is the key here.
import type { ChatEvent, Conversation } from '../protocol/types';

/**
 * How a known seq is treated when it comes again: 'keep' the stored copy (a live frame shows
 * the event as it was stored, never newer than what we have); take the 'state' of the message
 * from the incoming copy (sync reads show a message's current text or tombstone, without
 * reactions and thread summaries); or 'replace' it (history reads show everything current).
 */
export type Duplicates = 'keep' | 'state' | 'replace';

const STATE_FIELDS = ['text', 'edited', 'edited_at', 'deleted', 'deleted_at', 'mentions', 'mentions_all', 'hidden'] as const;

function withState(stored: ChatEvent, incoming: ChatEvent, mode: Duplicates): ChatEvent {
  if (mode === 'keep' || stored.kind !== 'text') return stored;
  if (mode === 'replace') {
    return sameMessage(stored, incoming, true) ? stored : incoming;
  }
  if (sameMessage(stored, incoming, false)) return stored;
  const next: ChatEvent = { ...stored };
  for (const field of STATE_FIELDS) {
    if (incoming[field] === undefined) delete next[field];
    else (next as Record<string, unknown>)[field] = incoming[field];
  }
  if (incoming.deleted) delete next.reactions; // deleting removes them (protocol 3.1)
  return next;
}

function sameMessage(a: ChatEvent, b: ChatEvent, extras: boolean): boolean {
  for (const field of STATE_FIELDS) {
    if (JSON.stringify(a[field]) !== JSON.stringify(b[field])) return false;
  }
  return !extras || (JSON.stringify(a.reactions) === JSON.stringify(b.reactions) && JSON.stringify(a.thread) === JSON.stringify(b.thread));
}

/**
 * Merges `incoming` into `events` (both for one conversation). Returns a new ascending,
 * duplicate-free list, or `events` itself when nothing changed, so callers can skip updates.
 */
export function mergeEvents(events: ChatEvent[], incoming: readonly ChatEvent[], duplicates: Duplicates = 'keep'): ChatEvent[] {
  if (incoming.length === 0) return events;
  const last = events.length ? events[events.length - 1].seq : 0;
  // The common case, a live event right after the newest one, needs no sorting.
  if (incoming.length === 1 && incoming[0].seq > last) return [...events, incoming[0]];
  const index = new Map<number, number>();
  events.forEach((event, i) => index.set(event.seq, i));
  const fresh: ChatEvent[] = [];
  let replaced: ChatEvent[] | null = null;
  const added = new Set<number>();
  for (const event of incoming) {
    const at = index.get(event.seq);
    if (at !== undefined) {
      const current = (replaced ?? events)[at];
      const next = withState(current, event, duplicates);
      if (next !== current) {
        replaced ??= [...events];
        replaced[at] = next;
      }
      continue;
    }
    if (added.has(event.seq)) continue;
    added.add(event.seq);
    fresh.push(event);
  }
  const base = replaced ?? events;
  if (fresh.length === 0) return base;
  return [...base, ...fresh].sort((a, b) => a.seq - b.seq);
}

/** The first missing range inside the list: seqs `after+1 .. before-1` are unknown. */
export function firstHole(events: readonly ChatEvent[]): { after: number; before: number } | null {
  for (let i = 1; i < events.length; i++) {
    if (events[i].seq !== events[i - 1].seq + 1) return { after: events[i - 1].seq, before: events[i].seq };
  }
  return null;
}

/** The newest events that follow each other without a hole, at most `max` of them. */
export function contiguousTail(events: readonly ChatEvent[], max: number): ChatEvent[] {
  let start = events.length - 1;
  const floor = Math.max(0, events.length - max);
  while (start > floor && events[start - 1].seq === events[start].seq - 1) start--;
  return events.slice(Math.max(start, floor));
}

/**
 * First seq the user reads (protocol 6.4); 1 when the membership is not known yet. After a
 * "clear chat" (cleared_seq, 5.11) the list starts above it: history ends there too.
 */
export function windowStart(meta: Conversation): number {
  return Math.max(meta.visible_from_seq ?? 1, (meta.cleared_seq ?? 0) + 1);
}

/** A message hidden for the user (message.hide): where it was, without what it said (5.11). */
export function hiddenCopy(event: ChatEvent): ChatEvent {
  const { conversation_id, seq, pos, id, sender_id, kind, ts, client_msg_id, thread_root, target_seq } = event;
  return { conversation_id, seq, pos, id, sender_id, kind, ts, client_msg_id, thread_root, target_seq, hidden: true };
}

/** Drops events outside the user's membership window, e.g. after a re-join reset it. */
export function clampToWindow(events: ChatEvent[], meta: Conversation): ChatEvent[] {
  const from = windowStart(meta);
  const to = meta.left_seq ?? Number.MAX_SAFE_INTEGER;
  if (events.length === 0 || (events[0].seq >= from && events[events.length - 1].seq <= to)) return events;
  return events.filter((event) => event.seq >= from && event.seq <= to);
}

/** Older events exist that the list does not hold yet (history with before_seq finds them). */
export function hasOlder(events: readonly ChatEvent[], meta: Conversation): boolean {
  if (events.length === 0) return meta.last_seq >= windowStart(meta) && meta.last_seq > 0;
  return events[0].seq > windowStart(meta);
}

/** Newest seq in the list, 0 if empty. */
export function newestSeq(events: readonly ChatEvent[]): number {
  return events.length ? events[events.length - 1].seq : 0;
}
