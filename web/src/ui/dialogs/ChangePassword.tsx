// Settings → Security → Change password (account.change_password): the current password, a new
// one with the server's strength hint, and the new one again. Every other device is signed out;
// this one stays. A wrong current password is an ordinary refusal (403), not a sign-out.
import { useId, useState } from 'preact/hooks';
import { ProtocolError } from '../../protocol/types';
import { changePassword } from '../../state/account';
import { describeError, errorField, retryIn, sentence } from '../../state/errors';
import { Field } from '../common/Field';
import { PasswordStrength, usePasswordStrength } from '../common/PasswordStrength';
import { useAppState, useClient } from '../hooks';

type Errors = Partial<Record<'current' | 'next' | 'confirm' | 'form', string>>;

function explain(error: unknown): Errors {
  if (!(error instanceof ProtocolError)) return { form: describeError(error) };
  if (error.code === 'forbidden') {
    return errorField(error) === 'current_password'
      ? { current: 'The current password is wrong.' }
      : { form: sentence(error.message) };
  }
  if (error.code === 'rate_limited') return { form: `Too many wrong passwords. Try again ${retryIn(error.retryAfterMs)}.` };
  const field = errorField(error);
  if (field === 'new_password') return { next: sentence(error.message) };
  if (field === 'current_password') return { current: sentence(error.message) };
  return { form: describeError(error) };
}

/** "No other device was signed in." / "1 other device was signed out." / "3 other devices were …" */
function revokedText(count: number): string {
  if (count === 0) return 'Password changed. No other device was signed in.';
  return `Password changed. ${count} other device${count === 1 ? ' was' : 's were'} signed out.`;
}

export function ChangePassword(props: { onChanged(): void }) {
  const client = useClient();
  const me = useAppState((s) => s.me);
  const [open, setOpen] = useState(false);
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const strength = usePasswordStrength(next, me.username, me.display_name);
  const strengthId = useId();
  const formId = useId();

  /** A field's setter that also takes its error (and the form's) away once the user edits it. */
  function edit(set: (value: string) => void, field: keyof Errors) {
    return (value: string) => {
      set(value);
      setErrors((current) => (current[field] || current.form ? { ...current, [field]: undefined, form: undefined } : current));
    };
  }

  async function submit(event: Event) {
    event.preventDefault();
    const problems: Errors = {};
    if (!current) problems.current = 'Enter your current password.';
    if (!next) problems.next = 'Enter a new password.';
    else if (next !== confirm) problems.confirm = 'The two new passwords are not the same.';
    if (Object.keys(problems).length) {
      setErrors(problems);
      return;
    }
    setBusy(true);
    setErrors({});
    setDone(null);
    try {
      const revoked = await changePassword(client, current, next);
      setDone(revokedText(revoked));
      setCurrent('');
      setNext('');
      setConfirm('');
      setOpen(false);
      props.onChanged();
    } catch (err) {
      setErrors(explain(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="security__block">
      <div class="security__row">
        <h4 class="security__title">Password</h4>
        <button
          type="button"
          class="button button--small"
          aria-expanded={open}
          aria-controls={formId}
          onClick={() => {
            setOpen(!open);
            setErrors({});
          }}
        >
          Change password
        </button>
      </div>
      {done ? <p class="security__done" role="status">{done}</p> : null}
      {open ? (
        <form id={formId} class="form security__form" aria-label="Change password" onSubmit={submit} noValidate>
          {/* For password managers: whose password this is. */}
          <input type="text" name="username" autocomplete="username" value={me.username} readOnly hidden />
          <Field label="Current password" name="current_password" type="password" value={current}
            autocomplete="current-password" error={errors.current} onInput={edit(setCurrent, 'current')} />
          <Field label="New password" name="new_password" type="password" value={next} autocomplete="new-password"
            error={errors.next} describedBy={strengthId} onInput={edit(setNext, 'next')}>
            <PasswordStrength id={strengthId} strength={strength} password={next} />
          </Field>
          <Field label="Repeat the new password" name="confirm_password" type="password" value={confirm}
            autocomplete="new-password" error={errors.confirm} onInput={edit(setConfirm, 'confirm')} />
          <p class="field__hint security__hint">Every other device will be signed out; this one stays signed in.</p>
          {errors.form ? <p class="form-error" role="alert">{errors.form}</p> : null}
          <div class="dialog__actions">
            <button type="submit" class="button button--primary" disabled={busy}>{busy ? 'Saving…' : 'Save new password'}</button>
          </div>
        </form>
      ) : null}
    </div>
  );
}
