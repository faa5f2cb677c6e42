// The emoji the pickers offer: emojibase's dataset (a chunk of its own, loaded when a picker first
// opens), without the emoji this browser cannot draw, with search by name, keyword and shortcode.

export interface Emoji {
  char: string;
  name: string;
  /** Lower-case words to search: name, keywords and shortcodes. */
  words: string[];
  /** The five skin tone variants (light … dark), for emoji that have them. */
  skins?: string[];
}

export interface EmojiGroup {
  key: string;
  name: string;
  emoji: Emoji[];
}

/** Emoji versions every browser we support draws; newer ones are checked on this one's fonts. */
const SAFE_VERSION = 14;
const MAX_RESULTS = 200;

let loading: Promise<EmojiGroup[]> | null = null;

export function loadEmoji(): Promise<EmojiGroup[]> {
  loading ??= import('virtual:parley-emoji').then(({ default: groups }) => {
    const newest = newestDrawable(groups.flatMap((group) => group.emoji));
    return groups.map((group) => ({
      key: group.key,
      name: group.name,
      emoji: group.emoji
        .filter(([, , , version]) => version <= newest)
        .map(([char, name, words, , skins]) => ({ char, name, words: `${name} ${words}`.toLowerCase().split(/[\s:_-]+/).filter(Boolean), skins })),
    }));
  });
  return loading;
}

/**
 * The newest emoji version whose emoji this browser draws as one colour glyph, tried newest first
 * with one emoji of each version. An emoji the fonts lack comes out as a monochrome box or as its
 * parts side by side (wider than one emoji).
 */
function newestDrawable(all: [string, string, string, number, ...unknown[]][]): number {
  const versions = [...new Set(all.map(([, , , version]) => version))].filter((v) => v > SAFE_VERSION).sort((a, b) => b - a);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 64;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) return SAFE_VERSION;
  context.font = '32px sans-serif';
  context.textBaseline = 'top';
  const reference = context.measureText('😀').width;
  for (const version of versions) {
    const sample = all.find(([, , , v]) => v === version)![0];
    if (context.measureText(sample).width > reference * 1.5) continue;
    context.clearRect(0, 0, 64, 64);
    context.fillText(sample, 0, 0);
    const pixels = context.getImageData(0, 0, 64, 64).data;
    for (let i = 0; i < pixels.length; i += 4) {
      const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
      if (a > 0 && (Math.abs(r - g) > 16 || Math.abs(g - b) > 16)) return version;
    }
  }
  return SAFE_VERSION;
}

/** Emoji whose name, keywords or shortcodes start with every word of the query; names first. */
export function searchEmoji(groups: EmojiGroup[], query: string): Emoji[] {
  const terms = query.toLowerCase().split(/[\s:_]+/).filter(Boolean);
  if (!terms.length) return [];
  const byName: Emoji[] = [];
  const byWord: Emoji[] = [];
  for (const group of groups) {
    for (const emoji of group.emoji) {
      if (!terms.every((term) => emoji.words.some((word) => word.startsWith(term)))) continue;
      (emoji.name.toLowerCase().startsWith(terms[0]) ? byName : byWord).push(emoji);
    }
  }
  return [...byName, ...byWord].slice(0, MAX_RESULTS);
}

/** The emoji in the user's skin tone (0 = the default yellow, 1..5 = light … dark). */
export function withTone(emoji: Emoji, tone: number): string {
  return tone > 0 && emoji.skins ? emoji.skins[tone - 1] : emoji.char;
}
