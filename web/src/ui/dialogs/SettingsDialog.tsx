// Settings: privacy (settings.update: read receipts and "last seen"; the server has no read
// command for them, an update without fields answers with the current values) and security
// (the password and the signed-in devices, ChangePassword.tsx and Devices.tsx); the colour
// theme of this device (theme.ts).
import { useEffect, useState } from 'preact/hooks';
import type { Settings } from '../../protocol/types';
import { describeError, updateSettings } from '../../state/commands';
import { Dialog } from '../common/Dialog';
import { Icon } from '../common/icons';
import { useAppState, useClient } from '../hooks';
import { setThemeChoice, type ThemeChoice, themeChoice } from '../theme';
import { ChangePassword } from './ChangePassword';
import { Devices } from './Devices';

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
