// "New chat": opens the direct conversation with a user (direct.open), picked from the people
// suggested as a name is typed (users.search) or by exact username.
import { useId, useState } from 'preact/hooks';
import { describeError, openDirect } from '../../state/commands';
import { Dialog } from '../common/Dialog';
import { type Suggestion, SuggestionList, suggestionKeys, useUserSearch } from '../common/UserSuggestions';
import { useClient } from '../hooks';
import { conversationPath, navigate } from '../router';

export function NewChatDialog(props: { onClose(): void }) {
  const client = useClient();
  const [username, setUsername] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const listId = useId();
  const search = useUserSearch(username, [client.me.id]);
  const [active, setActive] = useState(-1);

  async function submit(event: Event) {
    event.preventDefault();
    await open(username);
  }

  async function open(name: string) {
    if (!name.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const conversation = await openDirect(client, name);
      props.onClose();
      navigate(conversationPath(conversation.id));
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title="New chat" onClose={props.onClose}>
      <form class="form" onSubmit={submit}>
        <div class="field">
          <label class="field__label" for={`${listId}-input`}>Name or username</label>
          <input
            id={`${listId}-input`}
            class="input"
            name="username"
            value={username}
            autofocus
            autocomplete="off"
            spellcheck={false}
            placeholder="Search people"
            aria-autocomplete="list"
            aria-controls={search.users.length ? listId : undefined}
            aria-activedescendant={active >= 0 && search.users.length ? `${listId}-${active}` : undefined}
            onInput={(e) => {
              setUsername(e.currentTarget.value);
              setActive(-1);
            }}
            onKeyDown={(e) => void suggestionKeys(e, search, active, setActive, (user: Suggestion) => void open(user.username))}
          />
          <SuggestionList id={listId} search={search} active={active} onPick={(user) => void open(user.username)} />
        </div>
        {error ? <p class="form-error" role="alert">{error}</p> : null}
        <div class="dialog__actions">
          <button type="button" class="button button--ghost" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="button button--primary" disabled={busy || !username.trim()}>Start chat</button>
        </div>
      </form>
    </Dialog>
  );
}
