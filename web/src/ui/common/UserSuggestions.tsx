// People suggested while a name is typed (users.search: the user's contacts first, then the
// directory, which leaves out those who are not discoverable), for the new-chat, new-group and
// add-member fields. The input stays a textbox: the list is tied to it with aria-controls and
// the highlighted option with aria-activedescendant, as the composer's @-completion does.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { User } from '../../protocol/types';
import { searchUsers, type UserSearchPage } from '../../state/commands';
import { useClient } from '../hooks';
import { Avatar } from './Avatar';

/** Typing pauses this long before a search goes out. */
const SEARCH_DELAY_MS = 150;

export type Suggestion = User & { contact: boolean };

export interface UserSearch {
  users: Suggestion[];
  hasMore: boolean;
  more(): void;
}

/** The suggestions for `query` (trimmed; none when empty), without the users in `exclude`. */
export function useUserSearch(query: string, exclude: readonly number[] = []): UserSearch {
  const client = useClient();
  const [page, setPage] = useState<{ q: string; users: Suggestion[]; cursor?: string; hasMore: boolean }>({ q: '', users: [], hasMore: false });
  const asked = useRef(0);
  const q = query.trim();

  useEffect(() => {
    if (!q) {
      setPage({ q: '', users: [], hasMore: false });
      return;
    }
    const ask = ++asked.current;
    const timer = setTimeout(() => {
      searchUsers(client, q).then(
        (reply: UserSearchPage) => {
          if (ask === asked.current) setPage({ q, users: reply.users, cursor: reply.cursor, hasMore: reply.has_more });
        },
        () => {
          if (ask === asked.current) setPage({ q, users: [], hasMore: false }); // typing on is the way on
        },
      );
    }, SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [q]);

  function more() {
    if (!page.hasMore || !page.cursor) return;
    const ask = ++asked.current;
    searchUsers(client, page.q, page.cursor).then((reply) => {
      if (ask === asked.current) setPage((p) => ({ ...p, users: [...p.users, ...reply.users], cursor: reply.cursor, hasMore: reply.has_more }));
    }, () => undefined);
  }

  const users = page.q === q ? page.users.filter((user) => !exclude.includes(user.id)) : [];
  return { users, hasMore: page.q === q && page.hasMore, more };
}

/** The list under the field; `active` is the index highlighted with the arrow keys (-1: none). */
export function SuggestionList(props: { id: string; search: UserSearch; active: number; onPick(user: Suggestion): void }) {
  const { users, hasMore } = props.search;
  if (!users.length) return null;
  return (
    <div class="suggestions">
      <ul id={props.id} class="suggestions__list" role="listbox" aria-label="Suggestions">
        {users.map((user, index) => (
          <li
            key={user.id}
            id={`${props.id}-${index}`}
            role="option"
            aria-selected={index === props.active}
            class={`suggestion ${index === props.active ? 'suggestion--active' : ''}`}
            // mousedown, not click: the field keeps its focus.
            onMouseDown={(event) => {
              event.preventDefault();
              props.onPick(user);
            }}
          >
            <Avatar name={user.display_name || user.username} seed={user.id} size="sm" />
            <span class="suggestion__names">
              <span class="suggestion__name" dir="auto">{user.display_name || user.username}</span>
              <span class="suggestion__username">@{user.username}{user.contact ? ' · in your chats' : ''}</span>
            </span>
          </li>
        ))}
      </ul>
      {hasMore ? (
        <button type="button" class="link-button suggestions__more" onMouseDown={(event) => event.preventDefault()} onClick={props.search.more}>
          More people
        </button>
      ) : null}
    </div>
  );
}

/** Arrow keys move the highlight, Enter picks it, Escape clears it; returns whether it used the key. */
export function suggestionKeys(event: KeyboardEvent, search: UserSearch, active: number, setActive: (n: number) => void, pick: (user: Suggestion) => void): boolean {
  const count = search.users.length;
  if (!count) return false;
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault();
    const step = event.key === 'ArrowDown' ? 1 : -1;
    setActive(active < 0 ? (step > 0 ? 0 : count - 1) : (active + step + count) % count);
    return true;
  }
  if (event.key === 'Enter' && active >= 0 && active < count) {
    event.preventDefault();
    pick(search.users[active]);
    return true;
  }
  if (event.key === 'Escape' && active >= 0) {
    event.preventDefault();
    event.stopPropagation();
    setActive(-1);
    return true;
  }
  return false;
}
