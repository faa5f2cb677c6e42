// What each event kind means to the client, in one table (protocol 3.1): how it shows, whether
// it counts as unread, and how it changes the conversation's metadata. Kinds not in the table
// are kept but not shown, as the protocol asks.
//
// Kinds that change an earlier message rather than add a line (edits, deletes, reactions, pins)
// have display 'none'; messages.ts folds them into their target, so the stored event list stays
// a plain log keyed by seq.
import type { ChatEvent, Conversation, UserId } from '../protocol/types';

/** Names users for system lines and previews ("You" for the signed-in user). */
export interface Namer {
  me: UserId;
  name(userId: UserId): string;
}

export interface KindSpec {
  /** 'message': a bubble; 'system': a centred line; 'none': not a line of its own. */
  display: 'message' | 'system' | 'none';
  /** Counts toward unread badges and notifications when someone else caused it. */
  countsAsUnread: boolean;
  /** One line of text for system lines and the sidebar preview. */
  describe(event: ChatEvent, names: Namer, conversation: Conversation): string;
  /** The metadata after this event; called only for events newer than the metadata. */
  apply?(meta: Conversation, event: ChatEvent, me: UserId): Conversation;
}

/** Every user an event's line or preview names (its sender, the members it adds or removes). */
export function usersNamedBy(event: ChatEvent): UserId[] {
  const ids = [event.sender_id, ...(event.user_ids ?? [])];
  if (event.user_id) ids.push(event.user_id);
  return ids;
}

function who(names: Namer, userId: UserId): string {
  return userId === names.me ? 'You' : names.name(userId);
}

function whom(names: Namer, userId: UserId): string {
  return userId === names.me ? 'you' : names.name(userId);
}

function list(parts: string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

function place(conversation: Conversation): string {
  return conversation.kind === 'channel' ? 'channel' : 'group';
}

function countChange(meta: Conversation, delta: number): Conversation {
  return meta.member_count === undefined ? meta : { ...meta, member_count: Math.max(0, meta.member_count + delta) };
}

/** The caller's membership started again at `seq` (added or joined after leaving, or first time). */
function membershipStarts(meta: Conversation, seq: number): Conversation {
  const visible = meta.kind === 'group' ? seq : 1;
  return { ...meta, role: meta.role ?? 'member', left_seq: undefined, visible_from_seq: meta.left_seq !== undefined ? visible : (meta.visible_from_seq ?? visible) };
}

export const EVENT_KINDS: Record<string, KindSpec> = {
  text: {
    display: 'message',
    countsAsUnread: true,
    describe: (event) => event.text ?? '',
  },
  'conversation.created': {
    display: 'system',
    countsAsUnread: false,
    describe: (event, names, conversation) =>
      `${who(names, event.sender_id)} created the ${place(conversation)} “${event.title ?? ''}”`,
  },
  'member.added': {
    display: 'system',
    countsAsUnread: false,
    describe: (event, names) =>
      `${who(names, event.sender_id)} added ${list((event.user_ids ?? []).map((id) => whom(names, id)))}`,
    apply: (meta, event, me) => {
      const added = event.user_ids ?? [];
      const next = countChange(meta, added.length);
      return added.includes(me) ? membershipStarts(next, event.seq) : next;
    },
  },
  'member.removed': {
    display: 'system',
    countsAsUnread: false,
    describe: (event, names) => `${who(names, event.sender_id)} removed ${whom(names, event.user_id ?? 0)}`,
    apply: (meta, event, me) => {
      const next = countChange(meta, -1);
      return event.user_id === me ? { ...next, left_seq: event.seq } : next;
    },
  },
  'member.left': {
    display: 'system',
    countsAsUnread: false,
    describe: (event, names) => `${who(names, event.sender_id)} left`,
    apply: (meta, event, me) => {
      const next = countChange(meta, -1);
      return event.sender_id === me ? { ...next, left_seq: event.seq } : next;
    },
  },
  'member.joined': {
    display: 'system',
    countsAsUnread: false,
    describe: (event, names) => `${who(names, event.sender_id)} joined`,
    apply: (meta, event, me) => {
      const next = countChange(meta, 1);
      return event.sender_id === me ? membershipStarts(next, event.seq) : next;
    },
  },
  'conversation.renamed': {
    display: 'system',
    countsAsUnread: false,
    describe: (event, names) => `${who(names, event.sender_id)} renamed this to “${event.title ?? ''}”`,
    apply: (meta, event) => ({ ...meta, title: event.title ?? meta.title }),
  },
  'member.role_changed': {
    display: 'system',
    countsAsUnread: false,
    describe: (event, names) => {
      const target = event.user_id ?? 0;
      if (event.role === 'owner') {
        return target === names.me ? 'You are now the owner' : `${names.name(target)} is now the owner`;
      }
      const role = event.role === 'admin' ? 'an admin' : 'a member';
      return `${who(names, event.sender_id)} made ${whom(names, target)} ${role}`;
    },
    apply: (meta, event, me) => (event.user_id === me && event.role ? { ...meta, role: event.role } : meta),
  },
};

const MESSAGE_STATE: KindSpec = { display: 'none', countsAsUnread: false, describe: () => '' };
for (const kind of ['message.edited', 'message.deleted', 'reaction.added', 'reaction.removed', 'message.pinned', 'message.unpinned']) {
  EVENT_KINDS[kind] = MESSAGE_STATE;
}

const UNKNOWN: KindSpec = { display: 'none', countsAsUnread: false, describe: () => '' };

export function kindOf(event: ChatEvent): KindSpec {
  return EVENT_KINDS[event.kind] ?? UNKNOWN;
}

/**
 * The metadata after `event`. Events the metadata already reflects (pos at or below its
 * `last_pos`) change nothing, so replaying old events (sync, history) never rolls a title back.
 */
export function applyEvent(meta: Conversation, event: ChatEvent, me: UserId): Conversation {
  if (event.pos <= meta.last_pos) return meta;
  const spec = kindOf(event);
  const next = spec.apply ? spec.apply(meta, event, me) : meta;
  return {
    ...next,
    last_seq: Math.max(next.last_seq, event.seq),
    last_pos: event.pos,
    last_event_at: Math.max(next.last_event_at ?? 0, event.ts),
  };
}
