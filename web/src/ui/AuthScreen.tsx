// Sign in / create an account (POST /v1/auth/login, /v1/auth/register). GET /v1/auth/config
// says whether anyone may sign up, only holders of an invite code, or nobody; the sign-up form
// shows the server's password strength hint while the user types and its refusals next to the
// fields they are about.
import { useEffect, useId, useState } from 'preact/hooks';
import { deviceLabel } from '../net/device';
import { authConfig, login, register } from '../protocol/rest';
import { type AuthConfig, type AuthReply, ProtocolError } from '../protocol/types';
import { type AuthErrors, type AuthField, explainAuthError } from './authErrors';
import { Field } from './common/Field';
import { Icon } from './common/icons';
import { PasswordStrength, usePasswordStrength } from './common/PasswordStrength';
import { byteLength } from './format';

type Mode = 'signin' | 'signup';

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;

interface Inputs {
  username: string;
  password: string;
  displayName: string;
  invite: string;
}

function validate(signup: boolean, inputs: Inputs, config: AuthConfig | null): AuthErrors | null {
  const username = inputs.username.trim();
  if (!signup) return username && inputs.password ? null : { form: 'Enter your username and password.' };
  if (!USERNAME.test(username)) {
    return { username: 'Usernames are 3 to 32 letters, digits, “_”, “.” or “-”, starting with a letter or digit.' };
  }
  const minBytes = config?.min_password_bytes ?? 8;
  if (byteLength(inputs.password) < minBytes) return { password: `Use a password of at least ${minBytes} characters.` };
  if (config?.registration === 'invite' && !inputs.invite.trim()) return { invite: 'Enter the invite code you were given.' };
  return null;
}

/** The server's sign-up rules; null until known (or if it cannot be asked: it decides anyway). */
function useAuthConfig(): [AuthConfig | null, () => void] {
  const [config, setConfig] = useState<AuthConfig | null>(null);
  const load = () => {
    authConfig().then(setConfig).catch(() => undefined);
  };
  useEffect(load, []);
  return [config, load];
}

export function AuthScreen(props: { onSignedIn(reply: AuthReply): void; notice: string | null }) {
  const [config, reloadConfig] = useAuthConfig();
  const [mode, setMode] = useState<Mode>('signin');
  const [inputs, setInputs] = useState<Inputs>({ username: '', password: '', displayName: '', invite: '' });
  const [errors, setErrors] = useState<AuthErrors>({});
  const [busy, setBusy] = useState(false);
  const strengthId = useId();

  const registration = config?.registration ?? 'open';
  const signup = mode === 'signup' && registration !== 'closed';
  const strength = usePasswordStrength(signup ? inputs.password : '', inputs.username, inputs.displayName);

  function edit(field: keyof Inputs, errorField: AuthField) {
    return (value: string) => {
      setInputs((current) => ({ ...current, [field]: value }));
      setErrors((current) => (current[errorField] || current.form ? { ...current, [errorField]: undefined, form: undefined } : current));
    };
  }

  async function submit(event: Event) {
    event.preventDefault();
    const problem = validate(signup, inputs, config);
    if (problem) {
      setErrors(problem);
      return;
    }
    setBusy(true);
    setErrors({});
    const username = inputs.username.trim();
    try {
      const device = deviceLabel();
      const reply = signup
        ? await register({
          username,
          password: inputs.password,
          displayName: inputs.displayName.trim() || undefined,
          invite: registration === 'invite' ? inputs.invite.trim() : undefined,
          device,
        })
        : await login(username, inputs.password, device);
      props.onSignedIn(reply);
    } catch (err) {
      setErrors(explainAuthError(err, signup));
      setBusy(false);
      // The rules may have changed since the page loaded (an invite is now needed, say).
      if (signup && err instanceof ProtocolError && err.code === 'forbidden') reloadConfig();
    }
  }

  function switchTo(next: Mode) {
    setMode(next);
    setErrors({});
  }

  return (
    <main class="auth">
      <div class="auth__card">
        <div class="auth__brand">
          <span class="auth__logo" aria-hidden="true"><Icon name="chat" size={32} /></span>
          <h1>Parley</h1>
        </div>
        {registration !== 'closed' ? (
          <div class="segmented" role="group" aria-label="Account">
            <button type="button" class="segmented__item" aria-pressed={!signup} onClick={() => switchTo('signin')}>Sign in</button>
            <button type="button" class="segmented__item" aria-pressed={signup} onClick={() => switchTo('signup')}>Create account</button>
          </div>
        ) : null}
        {props.notice ? <p class="auth__notice" role="status">{props.notice}</p> : null}
        <form class="form" onSubmit={submit} aria-label={signup ? 'Create account' : 'Sign in'} noValidate>
          <Field
            label="Username"
            name="username"
            value={inputs.username}
            autofocus
            autocomplete="username"
            error={errors.username}
            onInput={edit('username', 'username')}
          />
          {signup ? (
            <Field
              label="Display name"
              hint="(optional)"
              name="display_name"
              value={inputs.displayName}
              autocomplete="name"
              maxLength={256}
              error={errors.display_name}
              onInput={edit('displayName', 'display_name')}
            />
          ) : null}
          <Field
            label="Password"
            name="password"
            type="password"
            value={inputs.password}
            autocomplete={signup ? 'new-password' : 'current-password'}
            error={errors.password}
            describedBy={signup ? strengthId : undefined}
            onInput={edit('password', 'password')}
          >
            {signup ? <PasswordStrength id={strengthId} strength={strength} password={inputs.password} /> : null}
          </Field>
          {signup && registration === 'invite' ? (
            <Field
              label="Invite code"
              hint="(from the people who run this server)"
              name="invite"
              value={inputs.invite}
              autocomplete="off"
              required
              error={errors.invite}
              onInput={edit('invite', 'invite')}
            />
          ) : null}
          {errors.form ? <p class="form-error" role="alert">{errors.form}</p> : null}
          <button type="submit" class="button button--primary button--block" disabled={busy}>
            {busy ? 'Please wait…' : signup ? 'Create account' : 'Sign in'}
          </button>
        </form>
        {registration === 'closed' ? (
          <p class="auth__note" data-testid="registration-closed">
            This server does not take new sign-ups. Ask the people who run it for an account.
          </p>
        ) : null}
      </div>
    </main>
  );
}
