// A round avatar with initials on a colour derived from a stable id, with a presence dot for
// people who are online (green) or away (yellow).
import type { ConversationKind } from '../../protocol/types';
import { Icon } from './icons';

export type Presence = 'online' | 'away' | 'offline';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const LETTER = /^[\p{L}\p{N}]/u;

function firstGrapheme(text: string): string {
  for (const { segment } of graphemes.segment(text)) return segment;
  return '';
}

/** Up to two initials from the words that start with a letter or digit ("Alice Liddell (you)"
 *  → "AL", "Weekend trip 🏔️" → "WT"), taken by grapheme; a name with no such word shows its
 *  first grapheme (an emoji-only group name shows the emoji). */
export function initials(name: string): string {
  const words = name.trim().split(/[\s._-]+/).filter((word) => LETTER.test(word));
  if (words.length === 0) return firstGrapheme(name.trim()) || '?';
  const first = firstGrapheme(words[0]);
  const second = words.length > 1 ? firstGrapheme(words[words.length - 1]) : '';
  return (first + second).toLocaleUpperCase();
}

/** A stable hue (0..359) for a seed: the same user or conversation always gets the same colour. */
export function hueOf(seed: string | number): number {
  // Ids step by the golden angle, so that users 1, 2, 3 … get clearly different colours.
  if (typeof seed === 'number') return Math.round((seed * 137.508) % 360);
  let hash = 0x811c9dc5; // FNV-1a for strings
  for (const char of seed) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return (hash >>> 0) % 360;
}

export function Avatar(props: {
  name: string;
  seed: string | number;
  size?: 'sm' | 'md' | 'lg' | 'xl';
  kind?: ConversationKind;
  presence?: Presence;
}) {
  const { name, seed, size = 'md', kind, presence } = props;
  const style = { '--avatar-hue': String(hueOf(seed)) };
  return (
    <span class={`avatar avatar--${size}`} style={style} aria-hidden="true">
      {kind === 'channel' ? <Icon name="channel" size={20} /> : initials(name)}
      {presence ? <span class={`avatar__presence avatar__presence--${presence}`} data-presence={presence} /> : null}
    </span>
  );
}
