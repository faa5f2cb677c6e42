// Settings: the display name (account.update_profile), privacy (settings.update: read receipts and "last seen"; the server has no read
// command for them, an update without fields answers with the current values) and security
// (the password and the signed-in devices, ChangePassword.tsx and Devices.tsx); notifications on
// this device (Web Push, PushSetting.tsx) and the account's pause of them (do not disturb, quiet
// hours: QuietSetting.tsx); the colour
// theme of this device (theme.ts).
import { useEffect, useState } from 'preact/hooks';
import { ProtocolError, type Settings } from '../../protocol/types';
import { describeError, updateProfile, updateSettings } from '../../state/commands';
import { Field } from '../common/Field';
import { Dialog } from '../common/Dialog';
import { Icon } from '../common/icons';
import { useAppState, useClient } from '../hooks';
import { setThemeChoice, type ThemeChoice, themeChoice } from '../theme';
import { ChangePassword } from './ChangePassword';
import { Devices } from './Devices';
import { PushSetting } from './PushSetting';
import { QuietSetting } from './QuietSetting';

function Toggle(props: { label: string; hint: string; checked: boolean; disabled: boolean; onChange(value: boolean): void }) {
  return (
    <label class="toggle">
      <span class="toggle__text">
        <span class="toggle__label">{props.label}</span>
        <span class="toggle__hint">{props.hint}</span>
      </span>
      <input
        type="checkbox"
        role="switch"
        class="toggle__input"
        checked={props.checked}
        disabled={props.disabled}
        onChange={(event) => props.onChange(event.currentTarget.checked)}
      />
    </label>
  );
}

/** The display name others see (account.update_profile); the username never changes. */
function ProfileSetting() {
  const client = useClient();
  const me = useAppState((s) => s.me);
  const [name, setName] = useState(me.display_name);
  const [error, setError] = useState<string | undefined>(undefined);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  async function save(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setSaved(false);
    try {
      const user = await updateProfile(client, name);
      setName(user.display_name);
      setSaved(true);
    } catch (err) {
      setError(err instanceof ProtocolError && err.code === 'conflict' ? 'That name looks like another user’s username.' : describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="settings" aria-label="Profile">
      <h3 class="panel__heading">Profile</h3>
      <form class="form profile-form" onSubmit={save}>
        <Field
          label="Display name"
          hint={`(your username @${me.username} stays)`}
          name="display_name"
          value={name}
          autocomplete="name"
          maxLength={256}
          error={error}
          onInput={(value) => {
            setName(value);
            setSaved(false);
          }}
        />
        <div class="profile-form__actions">
          <button type="submit" class="button" disabled={busy || name.trim() === me.display_name}>Save name</button>
          {saved ? <span class="profile-form__saved" role="status">Saved</span> : null}
        </div>
      </form>
    </section>
  );
}

const THEMES: { value: ThemeChoice; label: string }[] = [
  { value: 'system', label: 'System' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

/** The colour theme, kept on this device (theme.ts). */
function ThemeSetting() {
  const [choice, setChoice] = useState<ThemeChoice>(themeChoice);
  return (
    <section class="settings" aria-label="Appearance">
      <h3 class="panel__heading">Appearance</h3>
      <fieldset class="choice">
        <legend class="choice__legend">Theme</legend>
        {THEMES.map((theme) => (
          <label key={theme.value} class="choice__item">
            <input
              type="radio"
              name="theme"
              value={theme.value}
              checked={choice === theme.value}
              onChange={() => {
                setThemeChoice(theme.value);
                setChoice(theme.value);
              }}
            />
            {theme.label}
          </label>
        ))}
      </fieldset>
    </section>
  );
}

export function SettingsDialog(props: { onClose(): void; onSignOut(): void }) {
  const client = useClient();
  const settings = useAppState((s) => s.settings);
  const phase = useAppState((s) => s.phase);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** Bumped after a password change: the device list is read again (the others are gone). */
  const [devicesVersion, setDevicesVersion] = useState(0);

  useEffect(() => {
    if (phase !== 'live') return;
    updateSettings(client, {}).catch((err) => setError(describeError(err)));
  }, [phase === 'live']);

  /** A switch shows its new position at once, while the server stores it (back if refused). */
  const [pending, setPending] = useState<Partial<Settings>>({});
  const shown = { ...settings, ...pending };

  async function change(patch: Partial<Settings>) {
    setBusy(true);
    setError(null);
    setPending(patch);
    try {
      await updateSettings(client, patch);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setPending({});
      setBusy(false);
    }
  }

  return (
    <Dialog title="Settings" onClose={props.onClose} wide>
      <ProfileSetting />
      <section class="settings" aria-label="Privacy">
        <h3 class="panel__heading">Privacy</h3>
        <Toggle
          label="Read receipts"
          hint="Others see when you have read their messages (blue ticks)."
          checked={shown.read_receipts ?? true}
          disabled={busy || !settings}
          onChange={(value) => void change({ read_receipts: value })}
        />
        <Toggle
          label="Last seen"
          hint="People you chat with see when you were last online."
          checked={shown.last_seen ?? true}
          disabled={busy || !settings}
          onChange={(value) => void change({ last_seen: value })}
        />
        <Toggle
          label="Findable by name"
          hint="People you have no chat with can find you by your name or username when they start one."
          checked={shown.discoverable ?? true}
          disabled={busy || !settings}
          onChange={(value) => void change({ discoverable: value })}
        />
      </section>
      {error ? <p class="form-error" role="alert">{error}</p> : null}
      <PushSetting />
      <QuietSetting />
      <ThemeSetting />
      <section class="settings security" aria-label="Security">
        <h3 class="panel__heading">Security</h3>
        <ChangePassword onChanged={() => setDevicesVersion((n) => n + 1)} />
        <Devices version={devicesVersion} />
      </section>
      <div class="dialog__actions">
        <button type="button" class="button button--danger-ghost settings__sign-out" onClick={props.onSignOut}>
          <Icon name="logout" size={18} />
          Sign out
        </button>
        <button type="button" class="button button--primary" onClick={props.onClose}>Done</button>
      </div>
    </Dialog>
  );
}
