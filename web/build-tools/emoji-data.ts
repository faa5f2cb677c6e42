// A Vite plugin: the module "virtual:parley-emoji" is emojibase-data's English dataset cut down
// to what the emoji picker shows and searches (about a quarter of the 775 KB file), built once
// per build and loaded by the client only when a picker first opens.
//
// Each emoji is written in its fully-qualified form (emoji-test.txt): U+FE0F kept after a
// character that is text by default (❤️) and dropped after one that is already an emoji (👍),
// so that a reaction picked here is byte for byte the one picked from the quick row or typed.
import type { Plugin } from 'vite';
import data from 'emojibase-data/en/data.json' with { type: 'json' };
import messages from 'emojibase-data/en/messages.json' with { type: 'json' };
import shortcodes from 'emojibase-data/en/shortcodes/emojibase.json' with { type: 'json' };

const MODULE = 'virtual:parley-emoji';
const RESOLVED = `\0${MODULE}`;
const COMPONENT_GROUP = 2; // skin tone and hair swatches: not emoji to send on their own

interface Source {
  hexcode: string;
  label: string;
  group?: number;
  order?: number;
  version: number;
  tags?: string[];
  skins?: Source[];
}

function fullyQualified(hexcode: string): string {
  const points = hexcode.split('-').map((hex) => Number.parseInt(hex, 16));
  return points
    .map((point, index) => {
      const char = String.fromCodePoint(point);
      const next = points[index + 1];
      // A character that is text by default needs U+FE0F, unless one follows already or a skin
      // tone modifier (U+1F3FB..U+1F3FF) makes it an emoji.
      const needsSelector = /\p{Emoji}/u.test(char) && !/\p{Emoji_Presentation}/u.test(char)
        && next !== 0xfe0f && !(next >= 0x1f3fb && next <= 0x1f3ff);
      return needsSelector ? `${char}\uFE0F` : char;
    })
    .join('');
}

/** [emoji, name, search words, Unicode emoji version, skin tone variants (5) or absent] */
type Entry = [string, string, string, number] | [string, string, string, number, string[]];

function build() {
  const codes = shortcodes as Record<string, string | string[]>;
  const groups = (messages as { groups: { key: string; message: string; order: number }[] }).groups
    .filter((group) => group.order !== COMPONENT_GROUP)
    .map((group) => ({ key: group.key, name: group.message[0].toUpperCase() + group.message.slice(1), order: group.order, emoji: [] as Entry[] }));
  const byOrder = new Map(groups.map((group) => [group.order, group]));
  const sorted = (data as Source[]).filter((e) => e.group !== undefined && e.group !== COMPONENT_GROUP).sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  for (const emoji of sorted) {
    const short = codes[emoji.hexcode] ?? [];
    const words = [...new Set([...(emoji.tags ?? []), ...(Array.isArray(short) ? short : [short])])].join(' ');
    const base = [fullyQualified(emoji.hexcode), emoji.label, words, emoji.version] as const;
    const entry: Entry = emoji.skins?.length === 5 ? [...base, emoji.skins.map((skin) => fullyQualified(skin.hexcode))] : [...base];
    byOrder.get(emoji.group!)?.emoji.push(entry);
  }
  return groups.map(({ key, name, emoji }) => ({ key, name, emoji }));
}

export function emojiData(): Plugin {
  return {
    name: 'parley-emoji-data',
    resolveId(id) {
      return id === MODULE ? RESOLVED : undefined;
    },
    load(id) {
      return id === RESOLVED ? `export default JSON.parse(${JSON.stringify(JSON.stringify(build()))});` : undefined;
    },
  };
}
