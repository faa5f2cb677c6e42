// Client-side routes: "/" (the list) and "/c/<conversation id>". parleyd answers any path
// without a file extension with index.html, so these URLs survive a reload.
import { useEffect, useState } from 'preact/hooks';

export type Route = { name: 'home' } | { name: 'conversation'; id: number };

const CHANGE = 'parley:navigate';

export function parseRoute(path: string): Route {
  const match = /^\/c\/(\d+)\/?$/.exec(path);
  if (match) return { name: 'conversation', id: Number(match[1]) };
  return { name: 'home' };
}

export function conversationPath(id: number): string {
  return `/c/${id}`;
}

/**
 * Goes to `path`. From one conversation to another the entry is replaced, not pushed: history
 * holds at most one conversation above the list, so Back (ours or the browser's) from any
 * conversation lands on the list, however many were opened in between.
 */
export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (path === location.pathname) return;
  const between = parseRoute(path).name === 'conversation' && parseRoute(location.pathname).name === 'conversation';
  // Between conversations the entry keeps its state: `parley` marks an entry pushed over ours
  // (Back may go back to it), and a conversation opened straight from a URL has none.
  if (between) history.replaceState(history.state, '', path);
  else if (options.replace) history.replaceState({ parley: true }, '', path);
  else history.pushState({ parley: true }, '', path);
  window.dispatchEvent(new Event(CHANGE));
}

/** Back to the list: the browser's back when it leads there, else a fresh entry. */
export function closeConversation(): void {
  if ((history.state as { parley?: boolean } | null)?.parley && history.length > 1) history.back();
  else navigate('/');
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname));
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  return route;
}
