// Picks users by username: type a name, press Enter or "Add"; each is checked with user.get and
// shown as a removable chip.
import { useId, useState } from 'preact/hooks';
import type { User } from '../../protocol/types';
import { describeError, findUser } from '../../state/commands';
import { useClient } from '../hooks';
import { Icon } from './icons';

export function UserPicker(props: { users: User[]; onChange(users: User[]): void; exclude?: number[]; label?: string }) {
  const client = useClient();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputId = useId();

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
            onInput={(e) => setName(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                e.preventDefault();
                void add();
              }
            }}
          />
          <button type="button" class="button" disabled={busy || !name.trim()} onClick={() => void add()}>Add</button>
        </span>
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
