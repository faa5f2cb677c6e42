// The full emoji picker, floating next to the button that opened it: a search box (names,
// keywords, shortcodes), the recently used emoji first, then every category with a tab to jump
// to it, a skin tone choice, and a preview line with the name of the emoji under the pointer or
// the focus. The composer keeps it open for several emoji in a row; reactions close it on a pick.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { floatingStyle, useFloating } from '../common/Menu';
import { loadEmoji, searchEmoji, withTone, type Emoji, type EmojiGroup } from './data';
import { recentEmoji, rememberEmoji, setSkinTone, skinTone, type RecentEmoji } from './recents';

const TONES = ['✋', '✋🏻', '✋🏼', '✋🏽', '✋🏾', '✋🏿'];
const TONE_NAMES = ['Default skin tone', 'Light skin tone', 'Medium-light skin tone', 'Medium skin tone', 'Medium-dark skin tone', 'Dark skin tone'];

interface Section {
  key: string;
  name: string;
  icon: string;
  emoji: RecentEmoji[];
}

export function EmojiPanel(props: {
  anchor: HTMLElement;
  label: string;
  /** Emoji shown as already chosen (the user's own reactions). */
  chosen?: Set<string>;
  /** Stay open after a pick (the composer: several emoji in a row). */
  stayOpen?: boolean;
  onPick(emoji: string): void;
  onClose(): void;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const body = useRef<HTMLDivElement>(null);
  const search = useRef<HTMLInputElement>(null);
  const position = useFloating(props.anchor, ref, props.onClose);
  const [groups, setGroups] = useState<EmojiGroup[] | null>(null);
  const [failed, setFailed] = useState(false);
  const [query, setQuery] = useState('');
  const [tone, setTone] = useState(skinTone);
  const [choosingTone, setChoosingTone] = useState(false);
  const [recent] = useState(recentEmoji);
  const preview = useRef<(emoji: RecentEmoji | null) => void>(() => undefined);
  const markTab = useRef<(key: string) => void>(() => undefined);

  useEffect(() => {
    loadEmoji().then(setGroups, () => setFailed(true));
  }, []);

  useLayoutEffect(() => {
    if (position) search.current?.focus();
  }, [position !== null]);

  const sections: Section[] = useMemo(() => {
    if (!groups) return [];
    if (query.trim()) {
      const found = searchEmoji(groups, query).map((emoji) => named(emoji, tone));
      return [{ key: 'results', name: 'Search results', icon: '🔍', emoji: found }];
    }
    const all = groups.map((group) => ({ key: group.key, name: group.name, icon: group.emoji[0]?.char ?? '', emoji: group.emoji.map((emoji) => named(emoji, tone)) }));
    return recent.length ? [{ key: 'recent', name: 'Recently used', icon: '🕘', emoji: recent }, ...all] : all;
  }, [groups, query, tone, recent]);

  // The grid is memoized: a pick goes through the latest props, not the ones of its render.
  const latest = useRef(props);
  latest.current = props;

  function pick(emoji: RecentEmoji) {
    rememberEmoji(emoji);
    latest.current.onPick(emoji.char);
    if (!latest.current.stayOpen) close();
  }

  const grid = useMemo(
    () =>
      sections.map((section, sectionIndex) =>
        section.emoji.length ? (
          <div key={section.key} role="group" aria-label={section.name} data-section={section.key}>
            <div class="emoji-panel__heading" aria-hidden="true">{section.name}</div>
            <div class="emoji-panel__grid">
              {section.emoji.map((emoji, index) => (
                <button
                  key={emoji.char}
                  type="button"
                  class="emoji-panel__emoji"
                  aria-label={emoji.name}
                  aria-pressed={props.chosen ? props.chosen.has(emoji.char) : undefined}
                  data-emoji={emoji.char}
                  tabIndex={sectionIndex === 0 && index === 0 ? 0 : -1}
                  onClick={() => pick(emoji)}
                  onMouseEnter={() => preview.current(emoji)}
                  onFocus={() => preview.current(emoji)}
                >
                  {emoji.char}
                </button>
              ))}
            </div>
          </div>
        ) : null,
      ),
    [sections, props.chosen],
  );

  function close() {
    latest.current.onClose();
    latest.current.anchor.focus();
  }

  function chooseTone(next: number) {
    setTone(next);
    setSkinTone(next);
    setChoosingTone(false);
    search.current?.focus();
  }

  function buttons() {
    return [...(body.current?.querySelectorAll<HTMLElement>('.emoji-panel__emoji') ?? [])];
  }

  function onKeyDown(event: KeyboardEvent) {
    const target = event.target as HTMLElement;
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      if (choosingTone) setChoosingTone(false);
      else close();
      return;
    }
    if (target === search.current) {
      if (event.key === 'ArrowDown') {
        event.preventDefault();
        focusEmoji(buttons()[0]);
      } else if (event.key === 'Enter') {
        event.preventDefault();
        buttons()[0]?.click();
      }
      return;
    }
    if (!target.classList.contains('emoji-panel__emoji')) return;
    const next = neighbour(buttons(), target, event.key);
    if (next === undefined) return;
    event.preventDefault();
    event.stopPropagation();
    if (next === null) search.current?.focus();
    else focusEmoji(next);
  }

  function focusEmoji(button: HTMLElement | undefined) {
    button?.focus();
    button?.scrollIntoView({ block: 'nearest' });
  }

  function onScroll() {
    const top = body.current?.scrollTop ?? 0;
    let current: string | undefined = sections[0]?.key;
    for (const element of body.current?.querySelectorAll<HTMLElement>('[data-section]') ?? []) {
      if (element.offsetTop - (body.current?.offsetTop ?? 0) <= top + 8) current = element.dataset.section;
    }
    if (current) markTab.current(current);
  }

  return (
    <div ref={ref} class="popover emoji-panel" role="dialog" aria-label={props.label} style={floatingStyle(position)} onKeyDown={onKeyDown}>
      <div class="emoji-panel__top">
        <input
          ref={search}
          type="search"
          class="emoji-panel__search"
          placeholder="Search emoji"
          aria-label="Search emoji"
          value={query}
          onInput={(event) => {
            setQuery(event.currentTarget.value);
            if (body.current) body.current.scrollTop = 0;
          }}
        />
        <button type="button" class="emoji-panel__tone" aria-label={`Skin tone: ${TONE_NAMES[tone]}`} title="Skin tone" aria-expanded={choosingTone} onClick={() => setChoosingTone(!choosingTone)}>
          {TONES[tone]}
        </button>
      </div>
      {choosingTone ? (
        <div class="emoji-panel__tones" role="group" aria-label="Skin tone">
          {TONES.map((hand, index) => (
            <button key={hand} type="button" class="emoji-panel__emoji-choice" aria-label={TONE_NAMES[index]} aria-pressed={index === tone} onClick={() => chooseTone(index)}>
              {hand}
            </button>
          ))}
        </div>
      ) : null}
      {!query.trim() && sections.length > 1 ? (
        <Tabs
          sections={sections}
          register={(mark) => (markTab.current = mark)}
          onJump={(key) => {
            const section = body.current?.querySelector<HTMLElement>(`[data-section="${key}"]`);
            if (section && body.current) body.current.scrollTop = section.offsetTop - body.current.offsetTop;
          }}
        />
      ) : null}
      <div ref={body} class="emoji-panel__body" onScroll={onScroll}>
        {failed ? <p class="emoji-panel__note">The emoji could not be loaded.</p> : null}
        {!groups && !failed ? <p class="emoji-panel__note">Loading emoji…</p> : null}
        {groups && query.trim() && !sections[0].emoji.length ? <p class="emoji-panel__note">No emoji found</p> : null}
        {grid}
      </div>
      <Preview register={(show) => (preview.current = show)} />
    </div>
  );
}

function named(emoji: Emoji, tone: number): RecentEmoji {
  return { char: withTone(emoji, tone), name: emoji.name };
}

/**
 * The emoji button an arrow key moves to: the one before or after, or the nearest one in the row
 * above or below (rows of sections do not line up). null: above the first row (the search box);
 * undefined: not a key that moves.
 */
function neighbour(all: HTMLElement[], from: HTMLElement, key: string): HTMLElement | null | undefined {
  const index = all.indexOf(from);
  if (key === 'ArrowLeft') return all[index - 1] ?? null;
  if (key === 'ArrowRight') return all[index + 1] ?? from;
  if (key === 'Home') return all[0];
  if (key === 'End') return all[all.length - 1];
  if (key !== 'ArrowDown' && key !== 'ArrowUp') return undefined;
  const down = key === 'ArrowDown';
  const here = from.getBoundingClientRect();
  const x = here.left + here.width / 2;
  let best: { element: HTMLElement; distance: number } | null = null;
  let row: number | null = null;
  for (const element of down ? all.slice(index + 1) : all.slice(0, index).reverse()) {
    const box = element.getBoundingClientRect();
    if (down ? box.top <= here.top + 2 : box.top >= here.top - 2) continue;
    if (row === null) row = box.top;
    else if (Math.abs(box.top - row) > 2) break;
    const distance = Math.abs(box.left + box.width / 2 - x);
    if (!best || distance < best.distance) best = { element, distance };
  }
  return best ? best.element : down ? from : null;
}

/** The category tabs; the one whose section is at the top of the list is marked current. */
function Tabs(props: { sections: Section[]; register(mark: (key: string) => void): void; onJump(key: string): void }) {
  const [current, setCurrent] = useState<string | undefined>(props.sections[0]?.key);
  props.register(setCurrent);
  return (
    <div class="emoji-panel__tabs" role="group" aria-label="Emoji categories">
      {props.sections.map((section) => (
        <button
          key={section.key}
          type="button"
          class="emoji-panel__tab"
          aria-label={section.name}
          title={section.name}
          aria-current={section.key === current ? 'true' : undefined}
          onClick={() => {
            setCurrent(section.key);
            props.onJump(section.key);
          }}
        >
          {section.icon}
        </button>
      ))}
    </div>
  );
}

/** The emoji under the pointer or the focus, large, with its name (its own state: no re-render of the grid). */
function Preview(props: { register(show: (emoji: RecentEmoji | null) => void): void }) {
  const [emoji, setEmoji] = useState<RecentEmoji | null>(null);
  props.register(setEmoji);
  return (
    <div class="emoji-panel__preview" aria-hidden="true">
      {emoji ? (
        <>
          <span class="emoji-panel__preview-char">{emoji.char}</span>
          <span class="emoji-panel__preview-name">{emoji.name}</span>
        </>
      ) : (
        <span class="emoji-panel__preview-name">Pick an emoji</span>
      )}
    </div>
  );
}
