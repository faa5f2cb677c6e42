// What notifies the user, as the server decides it for push (protocol "Push notifications",
// conversation.settings `notify`, account.notifications): a conversation's level, mute, and the
// account's pause (do not disturb, daily quiet hours). The page's own notifications of a hidden
// tab (ui/notify.ts) follow the same rules, and Settings shows the pause with them.
import type {
  ChatEvent, Conversation, ConversationKind, NotificationSettings, NotifyLevel, QuietSchedule, UserId,
} from '../protocol/types';
import { isMuted } from './selectors';

export const NOTIFY_LEVELS: NotifyLevel[] = ['default', 'all', 'mentions', 'none'];

/** What 'default' means for a kind of conversation: every message, or only mentions in channels. */
export function defaultLevel(kind: ConversationKind): 'all' | 'mentions' {
  return kind === 'channel' ? 'mentions' : 'all';
}

/** The level in force: 'default' resolved by the conversation's kind. */
export function effectiveLevel(meta: Conversation): 'all' | 'mentions' | 'none' {
  const level = meta.notify ?? 'default';
  return level === 'default' ? defaultLevel(meta.kind) : level;
}

/** Whether a message of another user mentions this user (by name or @all). */
export function mentionsMe(event: ChatEvent, me: UserId): boolean {
  return event.mentions_all === true || (event.mentions ?? []).includes(me);
}

/** Whether a message notifies by the conversation's own settings (mute, then level). */
export function conversationNotifies(meta: Conversation, event: ChatEvent, me: UserId, now = Date.now()): boolean {
  if (isMuted(meta, now)) return false;
  const level = effectiveLevel(meta);
  return level === 'all' || (level === 'mentions' && mentionsMe(event, me));
}

/** Do not disturb is on at `now`: until a time still ahead, or until turned off (-1). */
export function dndActive(settings: NotificationSettings | null, now = Date.now()): boolean {
  const until = settings?.dnd_until ?? 0;
  return until === -1 || until > now;
}

/** "HH:MM" → minutes after midnight; null if it is not a time of day. */
export function minutesOf(time: string): number | null {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time);
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

/** The wall-clock minute of the day at `now` in a time zone; null for a zone this browser lacks. */
function minuteInZone(timezone: string, now: number): number | null {
  try {
    const parts = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now);
    const hour = Number(parts.find((p) => p.type === 'hour')?.value);
    const minute = Number(parts.find((p) => p.type === 'minute')?.value);
    return Number.isInteger(hour) && Number.isInteger(minute) ? hour * 60 + minute : null;
  } catch {
    return null;
  }
}

/**
 * Whether `now` is inside the daily quiet hours: from start (included) to end (excluded), across
 * midnight when end is earlier than start. null when this browser cannot tell (unknown zone).
 */
export function insideSchedule(schedule: QuietSchedule, now = Date.now()): boolean | null {
  const start = minutesOf(schedule.start);
  const end = minutesOf(schedule.end);
  const minute = minuteInZone(schedule.timezone, now);
  if (start === null || end === null || minute === null) return null;
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

/**
 * Whether the account's notifications are paused at `now`. The server's `quiet_now` was true when
 * it answered; the pause is worked out again here so that it ends on time in a page left open,
 * with the server's word kept where the browser cannot tell (a zone it does not know).
 */
export function pausedNow(settings: NotificationSettings | null, now = Date.now()): boolean {
  if (!settings) return false;
  if (dndActive(settings, now)) return true;
  if (!settings.schedule) return false;
  return insideSchedule(settings.schedule, now) ?? settings.quiet_now;
}
