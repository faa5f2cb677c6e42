// Glue between the ChatClient and Preact components.
import { createContext } from 'preact';
import { useContext, useEffect, useReducer, useRef } from 'preact/hooks';
import type { ChatClient } from '../state/client';
import type { AppState } from '../state/model';

export const ClientContext = createContext<ChatClient | null>(null);

export function useClient(): ChatClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useClient outside ClientContext');
  return client;
}

/** Shallow equality of arrays and plain objects, for selectors that build new ones each time. */
export function shallowEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || !a || !b) return false;
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  return keysA.every((key) => Object.is((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

/**
 * The selected part of the app state; the component re-renders only when it changes
 * (by `equal`, default Object.is).
 */
export function useAppState<T>(selector: (state: AppState) => T, equal: (a: T, b: T) => boolean = Object.is): T {
  const client = useClient();
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const value = selector(client.store.get());
  const latest = useRef({ selector, value, equal });
  latest.current = { selector, value, equal };
  useEffect(
    () =>
      client.store.subscribe(() => {
        const { selector: select, value: previous, equal: same } = latest.current;
        if (!same(select(client.store.get()), previous)) rerender(0);
      }),
    [client],
  );
  return value;
}

/** document.visibilityState as state. */
export function usePageVisible(): boolean {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const onChange = () => rerender(0);
    document.addEventListener('visibilitychange', onChange);
    return () => document.removeEventListener('visibilitychange', onChange);
  }, []);
  return document.visibilityState === 'visible';
}

/** Whether the window has the focus (document.hasFocus()), as state. */
export function useWindowFocused(): boolean {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const onChange = () => rerender(0);
    window.addEventListener('focus', onChange);
    window.addEventListener('blur', onChange);
    return () => {
      window.removeEventListener('focus', onChange);
      window.removeEventListener('blur', onChange);
    };
  }, []);
  return document.hasFocus();
}
