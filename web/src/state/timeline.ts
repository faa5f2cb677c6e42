// Pure operations on a conversation's event list: merging with de-duplication by seq (protocol
// 5.3: the same event can come live, from sync and from history), hole detection, and the
// membership window. Events are identified by (conversation_id, seq); a list holds one
// conversation, so seq alone is the key here.
import type { ChatEvent, Conversation } from '../protocol/types';

/**
 * Merges `incoming` into `events` (both for one conversation). Returns a new ascending,
 * duplicate-free list, or `events` itself when nothing was new, so callers can skip updates.
 */
export function mergeEvents(events: ChatEvent[], incoming: readonly ChatEvent[]): ChatEvent[] {
  if (incoming.length === 0) return events;
  const last = events.length ? events[events.length - 1].seq : 0;
  // The common case, a live event right after the newest one, needs no sorting.
  if (incoming.length === 1 && incoming[0].seq > last) return [...events, incoming[0]];
  const known = new Set(events.map((event) => event.seq));
  const fresh: ChatEvent[] = [];
  for (const event of incoming) {
    if (known.has(event.seq)) continue;
    known.add(event.seq);
    fresh.push(event);
  }
  if (fresh.length === 0) return events;
  return [...events, ...fresh].sort((a, b) => a.seq - b.seq);
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

/** First seq the user may read (protocol 6.4); 1 when the membership is not known yet. */
export function windowStart(meta: Conversation): number {
  return meta.visible_from_seq ?? 1;
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
