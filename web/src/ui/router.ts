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

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (path === location.pathname) return;
  if (options.replace) history.replaceState({ parley: true }, '', path);
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
