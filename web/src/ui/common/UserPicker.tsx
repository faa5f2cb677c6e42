// Picks users: type a name and pick one of the people suggested (UserSuggestions.tsx), or press
// Enter or "Add" for an exact username (checked with user.get); each is shown as a removable chip.
import { useId, useState } from 'preact/hooks';
import type { User } from '../../protocol/types';
import { describeError, findUser } from '../../state/commands';
import { useClient } from '../hooks';
import { Icon } from './icons';
import { type Suggestion, SuggestionList, suggestionKeys, useUserSearch } from './UserSuggestions';

export function UserPicker(props: { users: User[]; onChange(users: User[]): void; exclude?: number[]; label?: string }) {
  const client = useClient();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputId = useId();
  const listId = useId();
  const search = useUserSearch(name, [client.me.id, ...(props.exclude ?? []), ...props.users.map((u) => u.id)]);
  const [active, setActive] = useState(-1);

  function pick(user: Suggestion) {
    props.onChange([...props.users, user]);
    setName('');
    setActive(-1);
    setError(null);
  }

  async function add() {
    const username = name.trim();
    if (!username) return;
    setBusy(true);
    setError(null);
    try {
      const user = await findUser(client, username);
      if (user.id === client.me.id || props.exclude?.includes(user.id)) setError(`${user.display_name} is already in.`);
      else if (!props.users.some((u) => u.id === user.id)) props.onChange([...props.users, user]);
      setName('');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="user-picker">
      <div class="field">
        <label class="field__label" for={inputId}>{props.label ?? 'Add people by username'}</label>
        <span class="field__row">
          <input
            id={inputId}
            class="input"
            value={name}
            autocomplete="off"
            spellcheck={false}
            placeholder="username"
            aria-autocomplete="list"
            aria-controls={search.users.length ? listId : undefined}
            aria-activedescendant={active >= 0 && search.users.length ? `${listId}-${active}` : undefined}
            onInput={(e) => {
              setName(e.currentTarget.value);
              setActive(-1);
            }}
            onKeyDown={(e) => {
              if (suggestionKeys(e, search, active, setActive, pick)) return;
              if (e.key === 'Enter') {
                e.preventDefault();
                void add();
              }
            }}
          />
          <button type="button" class="button" disabled={busy || !name.trim()} onClick={() => void add()}>Add</button>
        </span>
        <SuggestionList id={listId} search={search} active={active} onPick={pick} />
      </div>
      {error ? <p class="form-error" role="alert">{error}</p> : null}
      {props.users.length ? (
        <ul class="chips" aria-label="People to add">
          {props.users.map((user) => (
            <li class="chip" key={user.id}>
              <span>{user.display_name || user.username}</span>
              <button
                type="button"
                class="chip__remove"
                aria-label={`Remove ${user.display_name || user.username}`}
                onClick={() => props.onChange(props.users.filter((u) => u.id !== user.id))}
              >
                <Icon name="close" size={16} />
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
