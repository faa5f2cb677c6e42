// Sign in / create an account (POST /v1/auth/login, /v1/auth/register).
import { useState } from 'preact/hooks';
import { login, register } from '../protocol/rest';
import { type AuthReply, ProtocolError } from '../protocol/types';
import { Icon } from './common/icons';
import { byteLength } from './format';

type Mode = 'signin' | 'signup';

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$/;

function validate(mode: Mode, username: string, password: string): string | null {
  if (mode === 'signin') return username && password ? null : 'Enter your username and password.';
  if (!USERNAME.test(username)) {
    return 'Usernames are 3 to 32 letters, digits, “_”, “.” or “-”, starting with a letter or digit.';
  }
  if (byteLength(password) < 8) return 'Use a password of at least 8 characters.';
  return null;
}

function explain(error: unknown, mode: Mode): string {
  if (!(error instanceof ProtocolError)) return 'Something went wrong. Try again.';
  if (error.code === 'unauthorized') return 'Wrong username or password.';
  if (error.code === 'conflict') return 'That username is taken. Try another one.';
  if (error.code === 'forbidden' && mode === 'signup') return 'This server does not accept new accounts.';
  if (error.code === 'offline') return error.message;
  if (error.code === 'unavailable') return 'The server is busy. Try again in a moment.';
  return error.message.charAt(0).toUpperCase() + error.message.slice(1);
}

export function AuthScreen(props: { onSignedIn(reply: AuthReply): void; notice: string | null }) {
  const [mode, setMode] = useState<Mode>('signin');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const problem = validate(mode, username.trim(), password);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const reply = mode === 'signup'
        ? await register(username.trim(), password, displayName.trim() || undefined)
        : await login(username.trim(), password);
      props.onSignedIn(reply);
    } catch (err) {
      setError(explain(err, mode));
      setBusy(false);
    }
  }

  function switchTo(next: Mode) {
    setMode(next);
    setError(null);
  }

  return (
    <main class="auth">
      <div class="auth__card">
        <div class="auth__brand">
          <span class="auth__logo" aria-hidden="true"><Icon name="chat" size={32} /></span>
          <h1>Parley</h1>
        </div>
        <div class="segmented" role="group" aria-label="Account">
          <button type="button" class="segmented__item" aria-pressed={mode === 'signin'} onClick={() => switchTo('signin')}>Sign in</button>
          <button type="button" class="segmented__item" aria-pressed={mode === 'signup'} onClick={() => switchTo('signup')}>Create account</button>
        </div>
        {props.notice ? <p class="auth__notice" role="status">{props.notice}</p> : null}
        <form class="form" onSubmit={submit} aria-label={mode === 'signin' ? 'Sign in' : 'Create account'}>
          <label class="field">
            <span class="field__label">Username</span>
            <input
              class="input"
              name="username"
              value={username}
              autofocus
              autocomplete="username"
              autocapitalize="none"
              spellcheck={false}
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
          </label>
          {mode === 'signup' ? (
            <label class="field">
              <span class="field__label">Display name <span class="field__hint">(optional)</span></span>
              <input class="input" name="display_name" value={displayName} autocomplete="name" maxLength={256} onInput={(e) => setDisplayName(e.currentTarget.value)} />
            </label>
          ) : null}
          <label class="field">
            <span class="field__label">Password</span>
            <input
              class="input"
              name="password"
              type="password"
              value={password}
              autocomplete={mode === 'signin' ? 'current-password' : 'new-password'}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
          {error ? <p class="form-error" role="alert">{error}</p> : null}
          <button type="submit" class="button button--primary button--block" disabled={busy}>
            {busy ? 'Please wait…' : mode === 'signin' ? 'Sign in' : 'Create account'}
          </button>
        </form>
      </div>
    </main>
  );
}
