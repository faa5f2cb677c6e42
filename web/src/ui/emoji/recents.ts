// What the emoji pickers remember on this device: the recently used emoji (newest first) and the
// chosen skin tone. Kept in localStorage, so they survive reloads; a browser that refuses storage
// just starts empty each time.

const RECENT_KEY = 'parley.emoji.recent';
const TONE_KEY = 'parley.emoji.tone';
/** How many recently used emoji the picker shows first. */
export const MAX_RECENT_EMOJI = 24;

export interface RecentEmoji {
  char: string;
  name: string;
}

function read<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : (JSON.parse(raw) as T);
  } catch {
    return fallback;
  }
}

function write(key: string, value: unknown) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or disabled: the picker works without memory.
  }
}

export function recentEmoji(): RecentEmoji[] {
  const list = read<unknown>(RECENT_KEY, []);
  return Array.isArray(list) ? list.filter((e): e is RecentEmoji => typeof e?.char === 'string' && typeof e?.name === 'string') : [];
}

export function rememberEmoji(emoji: RecentEmoji) {
  write(RECENT_KEY, [emoji, ...recentEmoji().filter((e) => e.char !== emoji.char)].slice(0, MAX_RECENT_EMOJI));
}

export function skinTone(): number {
  const tone = read<unknown>(TONE_KEY, 0);
  return typeof tone === 'number' && tone >= 0 && tone <= 5 ? tone : 0;
}

export function setSkinTone(tone: number) {
  write(TONE_KEY, tone);
}
