// The strip that says when the app is not connected: the countdown to the next attempt and a
// "Retry now" button; "Catching up…" while syncing after a reconnect. Hidden while live.
import { useEffect, useState } from 'preact/hooks';
import { useAppState, useClient } from './hooks';

export function ConnectionBanner() {
  const client = useClient();
  const phase = useAppState((s) => s.phase);
  const connection = useAppState((s) => s.connection);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    if (connection.state !== 'waiting') return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [connection.state, connection.retryAt]);

  let text: string | null = null;
  let retry = false;
  if (phase === 'offline' && connection.state === 'waiting') {
    const seconds = Math.max(0, Math.ceil(((connection.retryAt ?? now) - now) / 1000));
    text = seconds > 0 ? `Connection lost. Reconnecting in ${seconds} s…` : 'Connection lost. Reconnecting…';
    retry = true;
  } else if (phase === 'offline' || (phase === 'connecting' && connection.attempt > 0)) {
    text = connection.everReady ? 'Connection lost. Reconnecting…' : 'Connecting…';
  } else if (phase === 'syncing' && connection.everReady) {
    text = 'Catching up…';
  }

  return (
    <div class={`banner ${text ? 'banner--shown' : ''} ${phase === 'syncing' ? 'banner--info' : ''}`} role="status" aria-live="polite" data-testid="connection-banner" data-phase={phase}>
      {text ? (
        <>
          <span class="banner__text">{text}</span>
          {retry ? (
            <button type="button" class="banner__button" onClick={() => client.reconnectNow()}>Retry now</button>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
