// Settings → Notifications: Web Push on this device (push.ts). The permission prompt comes only
// from the switch, never on load; the line under it says what state the device is in.
import { useEffect, useState } from 'preact/hooks';
import { useClient } from '../hooks';
import { disablePush, enablePush, type PushState, readPushState } from '../push';

function describeState(state: PushState | null, busy: boolean): string {
  if (busy) return 'Working…';
  switch (state?.kind) {
    case undefined:
      return '';
    case 'on':
      return 'On: new messages notify you on this device, even with Parley closed.';
    case 'off':
      return 'Off on this device.';
    case 'blocked':
      return 'Blocked by the browser: allow notifications for this site in the browser’s settings, then try again.';
    case 'unsupported':
      return 'This browser cannot receive push notifications here.';
    case 'failed':
      return `Could not turn ${state.action} notifications: ${state.reason}`;
  }
}

export function PushSetting() {
  const client = useClient();
  const [state, setState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let current = true;
    void readPushState(client.userId).then((value) => current && setState(value));
    return () => {
      current = false;
    };
  }, [client]);

  async function change(on: boolean) {
    setBusy(true);
    try {
      setState(on ? await enablePush(client) : await disablePush(client));
    } finally {
      setBusy(false);
    }
  }

  const on = state?.kind === 'on' || (state?.kind === 'failed' && state.action === 'off');
  const unavailable = state?.kind === 'unsupported' || state?.kind === 'blocked';
  return (
    <section class="settings" aria-label="Notifications">
      <h3 class="panel__heading">Notifications</h3>
      <label class="toggle">
        <span class="toggle__text">
          <span class="toggle__label">Notifications on this device</span>
          <span class="toggle__hint">
            Get notified of new messages while Parley is closed or in the background. Mute a chat from its menu; choose which of its messages notify you in its info.
          </span>
        </span>
        <input
          type="checkbox"
          role="switch"
          class="toggle__input"
          checked={on}
          disabled={busy || state === null || unavailable}
          onChange={(event) => void change(event.currentTarget.checked)}
        />
      </label>
      <p
        class={state?.kind === 'failed' ? 'form-error push-state' : 'push-state'}
        role={state?.kind === 'failed' ? 'alert' : 'status'}
        data-testid="push-state"
        data-state={busy ? 'busy' : (state?.kind ?? 'loading')}
      >
        {describeState(state, busy)}
      </p>
    </section>
  );
}
