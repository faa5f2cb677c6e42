// "New group": a title and the first members (group.create).
import { useState } from 'preact/hooks';
import type { User } from '../../protocol/types';
import { createGroup, describeError } from '../../state/commands';
import { Dialog } from '../common/Dialog';
import { UserPicker } from '../common/UserPicker';
import { useClient } from '../hooks';
import { conversationPath, navigate } from '../router';

export function NewGroupDialog(props: { onClose(): void }) {
  const client = useClient();
  const [title, setTitle] = useState('');
  const [members, setMembers] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    if (!title.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const conversation = await createGroup(client, title, members);
      props.onClose();
      navigate(conversationPath(conversation.id));
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title="New group" onClose={props.onClose}>
      <form class="form" onSubmit={submit}>
        <label class="field">
          <span class="field__label">Group name</span>
          <input class="input" name="title" value={title} autofocus maxLength={256} onInput={(e) => setTitle(e.currentTarget.value)} />
        </label>
        <UserPicker users={members} onChange={setMembers} label="Members (by username)" />
        {error ? <p class="form-error" role="alert">{error}</p> : null}
        <div class="dialog__actions">
          <button type="button" class="button button--ghost" onClick={props.onClose}>Cancel</button>
          <button type="submit" class="button button--primary" disabled={busy || !title.trim()}>Create group</button>
        </div>
      </form>
    </Dialog>
  );
}
