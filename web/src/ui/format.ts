// Dates and times as a messenger shows them, in the browser's locale.

const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'long' });
const shortWeekday = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const date = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long', year: 'numeric' });
const shortDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'numeric', year: '2-digit' });

function startOfDay(ts: number): number {
  const d = new Date(ts);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Whole days between the day of `ts` and today (0 = today). */
function daysAgo(ts: number, now = Date.now()): number {
  return Math.round((startOfDay(now) - startOfDay(ts)) / 86_400_000);
}

export function sameDay(a: number, b: number): boolean {
  return startOfDay(a) === startOfDay(b);
}

export function timeOfDay(ts: number): string {
  return time.format(ts);
}

/** The label of a day separator: Today, Yesterday, a weekday this week, else the date. */
export function dayLabel(ts: number): string {
  const days = daysAgo(ts);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days > 1 && days < 7) return weekday.format(ts);
  return date.format(ts);
}

/** The time in a sidebar row: a time today, then Yesterday, a weekday, a short date. */
export function listTime(ts: number): string {
  const days = daysAgo(ts);
  if (days <= 0) return time.format(ts);
  if (days === 1) return 'Yesterday';
  if (days < 7) return shortWeekday.format(ts);
  return shortDate.format(ts);
}

/** "today at 14:03", "yesterday at 09:10", "Monday at 18:00", "3 March 2026". */
export function dayAndTime(ts: number): string {
  const days = daysAgo(ts);
  if (days <= 0) return `today at ${time.format(ts)}`;
  if (days === 1) return `yesterday at ${time.format(ts)}`;
  if (days < 7) return `${weekday.format(ts)} at ${time.format(ts)}`;
  return date.format(ts);
}

/** "last seen today at 14:03", "last seen yesterday at 09:10", "last seen 3 March 2026". */
export function lastSeenText(ts: number): string {
  return `last seen ${dayAndTime(ts)}`;
}

export function fullDate(ts: number): string {
  return `${date.format(ts)}, ${time.format(ts)}`;
}

/** UTF-8 length, the unit of every server limit. */
export function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}
