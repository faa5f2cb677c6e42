// "New chat": opens the direct conversation with a user, by username (direct.open).
import { useState } from 'preact/hooks';
import { describeError, openDirect } from '../../state/commands';
import { Dialog } from '../common/Dialog';
import { useClient } from '../hooks';
import { conversationPath, navigate } from '../router';

export function NewChatDialog(props: { onClose(): void }) {
  const client = useClient();
  const [username, setUsername] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (!username.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const conversation = await openDirect(client, username);
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
        <label class="field">
          <span class="field__label">Username</span>
          <input
            class="input"
            name="username"
            value={username}
            autofocus
            autocomplete="off"
            spellcheck={false}
            placeholder="username"
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        {error ? <p class="form-error" role="alert">{error}</p> : null}
        <div class="dialog__actions">
          <button type="button" class="button button--ghost" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="button button--primary" disabled={busy || !username.trim()}>Start chat</button>
        </div>
      </form>
    </Dialog>
  );
}
