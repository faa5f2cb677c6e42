// The emoji dataset, generated at build time from emojibase-data (build-tools/emoji-data.ts).
declare module 'virtual:parley-emoji' {
  /** [emoji, name, search words, Unicode emoji version, skin tone variants (5) or absent] */
  type Entry = [string, string, string, number] | [string, string, string, number, string[]];
  const groups: { key: string; name: string; emoji: Entry[] }[];
  export default groups;
}
