// Settings → Security → Signed-in devices (account.sessions): each token of the account with its
// device label, address, last activity and whether it is connected now, and a way to sign it out
// (account.revoke_session) — this browser included. "Sign out everywhere else" and "Sign out
// everywhere" are account.logout_all with and without keep_current.
import { useEffect, useId, useState } from 'preact/hooks';
import type { DeviceSession } from '../../protocol/types';
import { listDevices, signOutDevice, signOutEverywhere } from '../../state/account';
import { describeError } from '../../state/errors';
import { ConfirmDialog } from '../common/Dialog';
import { dayAndTime } from '../format';
import { useAppState, useClient } from '../hooks';

function DeviceRow(props: { device: DeviceSession; busy: boolean; onSignOut(): void }) {
  const { device } = props;
  const metaId = useId();
  const online = device.online_sessions > 0;
  return (
    <li class="device" data-testid="device" data-current={device.current} data-online={online}>
      <div class="device__text">
        <span class="device__name">
          <span class={`device__dot ${online ? 'device__dot--online' : ''}`} aria-hidden="true" />
          {device.device}
          {device.current ? <span class="device__this">This device</span> : null}
        </span>
        <span class="device__meta" id={metaId}>
          {online ? 'Online now' : 'Not connected'} · {device.address} · last active {dayAndTime(device.last_active_at)}
          {' '}· signed in {dayAndTime(device.created_at)}
        </span>
      </div>
      <button
        type="button"
        class="button button--small button--danger-ghost"
        aria-label={device.current ? 'Sign out this device' : `Sign out ${device.device}`}
        aria-describedby={metaId}
        disabled={props.busy}
        onClick={props.onSignOut}
      >
        Sign out
      </button>
    </li>
  );
}

export function Devices(props: { version: number }) {
  const client = useClient();
  const live = useAppState((s) => s.phase === 'live');
  const [devices, setDevices] = useState<DeviceSession[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState<'others' | 'all' | null>(null);

  async function load() {
    try {
      setDevices(await listDevices(client));
      setError(null);
    } catch (err) {
      setError(describeError(err));
    }
  }

  useEffect(() => {
    if (live) void load();
  }, [live, props.version]);

  /**
   * Runs one sign-out action and reads the list again. An action that signed this browser out
   * answers null: the app is already on its way to the sign-in screen.
   */
  async function act(action: () => Promise<string | null>) {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const result = await action();
      if (result === null) return;
      setDone(result);
      await load();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="security__block">
      <h4 class="security__title">Signed-in devices</h4>
      {devices === null && !error ? <p class="security__hint">Loading…</p> : null}
      {devices ? (
        <ul class="devices" aria-label="Signed-in devices">
          {devices.map((device) => (
            <DeviceRow
              key={device.token_id}
              device={device}
              busy={busy}
              onSignOut={() => void act(async () => {
                await signOutDevice(client, device);
                return device.current ? null : `Signed out ${device.device}.`;
              })}
            />
          ))}
        </ul>
      ) : null}
      {done ? <p class="security__done" role="status">{done}</p> : null}
      {error ? <p class="form-error" role="alert">{error}</p> : null}
      <div class="devices__actions">
        <button type="button" class="button button--small" disabled={busy || !live} onClick={() => setConfirm('others')}>
          Sign out everywhere else
        </button>
        <button type="button" class="button button--small button--danger-ghost" disabled={busy || !live} onClick={() => setConfirm('all')}>
          Sign out everywhere
        </button>
      </div>
      {confirm === 'others' ? (
        <ConfirmDialog
          title="Sign out everywhere else?"
          message="Every other device and browser signed in to your account is signed out. This one stays signed in."
          confirmLabel="Sign out others"
          danger
          onClose={() => setConfirm(null)}
          onConfirm={() => void act(async () => {
            const revoked = await signOutEverywhere(client, true);
            return `Signed out ${revoked} other device${revoked === 1 ? '' : 's'}.`;
          })}
        />
      ) : null}
      {confirm === 'all' ? (
        <ConfirmDialog
          title="Sign out everywhere?"
          message="Every device and browser signed in to your account is signed out, this one too."
          confirmLabel="Sign out all"
          danger
          onClose={() => setConfirm(null)}
          onConfirm={() => void act(async () => {
            await signOutEverywhere(client, false);
            return null;
          })}
        />
      ) : null}
    </div>
  );
}
