// A menu floating next to its anchor, and its items: the message menus and the conversation
// list's row menu use them.
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { Icon, type IconName } from './icons';

/**
 * Places a floating element (fixed, so the scrolling log does not clip it) below its anchor, or
 * above it when there is no room, and closes it on a click outside, a resize, or a scroll that
 * moves the anchor. The position is null until measured: render the element hidden until then.
 */
export function useFloating(anchor: HTMLElement, ref: { current: HTMLElement | null }, onClose: () => void) {
  const [position, setPosition] = useState<{ top: number; left: number } | null>(null);

  useLayoutEffect(() => {
    const floating = ref.current;
    if (!floating) return;
    const at = anchor.getBoundingClientRect();
    const box = floating.getBoundingClientRect();
    const below = at.bottom + 6 + box.height <= window.innerHeight - 8;
    const top = below ? at.bottom + 6 : Math.max(8, at.top - 6 - box.height);
    // Start at the anchor's left edge, or end at its right edge when that does not fit.
    const fitsRight = at.left + box.width <= window.innerWidth - 8;
    const left = Math.min(Math.max(8, fitsRight ? at.left : at.right - box.width), window.innerWidth - box.width - 8);
    setPosition({ top, left });
  }, []);

  useEffect(() => {
    const onDown = (event: MouseEvent) => {
      const target = event.target as Node;
      if (!ref.current?.contains(target) && !anchor.contains(target)) onClose();
    };
    // Scrolling the log moves the anchor away: close then (not on scroll events that move nothing).
    const start = anchor.getBoundingClientRect();
    const onScroll = (event: Event) => {
      if (ref.current?.contains(event.target as Node)) return;
      const now = anchor.getBoundingClientRect();
      if (Math.abs(now.top - start.top) > 2 || Math.abs(now.left - start.left) > 2) onClose();
    };
    document.addEventListener('mousedown', onDown);
    window.addEventListener('scroll', onScroll, true);
    window.addEventListener('resize', onClose);
    return () => {
      document.removeEventListener('mousedown', onDown);
      window.removeEventListener('scroll', onScroll, true);
      window.removeEventListener('resize', onClose);
    };
  }, []);

  return position;
}

/** The style of a floating element: hidden until placed (a hidden element cannot take focus). */
export function floatingStyle(position: { top: number; left: number } | null) {
  return position ? { top: `${position.top}px`, left: `${position.left}px` } : { visibility: 'hidden', top: '0', left: '0' };
}

/** A menu floating next to its anchor. Arrow keys move between its items, Escape and a click outside close it and give the focus back. */
export function Popover(props: { anchor: HTMLElement; label: string; class: string; horizontal?: boolean; onClose(): void; children: ComponentChildren }) {
  const ref = useRef<HTMLDivElement>(null);
  const position = useFloating(props.anchor, ref, props.onClose);

  // Once placed, the first item gets the focus.
  useLayoutEffect(() => {
    if (position) ref.current?.querySelector<HTMLElement>('[role^="menuitem"]')?.focus();
  }, [position !== null]);

  function onKeyDown(event: KeyboardEvent) {
    const items = [...(ref.current?.querySelectorAll<HTMLElement>('[role^="menuitem"]') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const next = props.horizontal ? ['ArrowRight', 'ArrowDown'] : ['ArrowDown', 'ArrowRight'];
    const previous = props.horizontal ? ['ArrowLeft', 'ArrowUp'] : ['ArrowUp', 'ArrowLeft'];
    let target: HTMLElement | undefined;
    if (next.includes(event.key)) target = items[(at + 1) % items.length];
    else if (previous.includes(event.key)) target = items[(at - 1 + items.length) % items.length];
    else if (event.key === 'Home') target = items[0];
    else if (event.key === 'End') target = items[items.length - 1];
    else if (event.key === 'Escape' || event.key === 'Tab') {
      if (event.key === 'Escape') event.preventDefault();
      event.stopPropagation();
      props.onClose();
      if (event.key === 'Escape') props.anchor.focus();
      return;
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    target?.focus();
  }

  return (
    <div
      ref={ref}
      class={`popover ${props.class}`}
      role="menu"
      aria-label={props.label}
      aria-orientation={props.horizontal ? 'horizontal' : 'vertical'}
      style={floatingStyle(position)}
      onKeyDown={onKeyDown}
    >
      {props.children}
    </div>
  );
}

export function MenuItem(props: { icon: IconName; label: string; danger?: boolean; onSelect(): void }) {
  return (
    <button type="button" role="menuitem" tabIndex={-1} class={`menu__item ${props.danger ? 'menu__item--danger' : ''}`} onClick={props.onSelect}>
      <Icon name={props.icon} size={18} />
      <span>{props.label}</span>
    </button>
  );
}
