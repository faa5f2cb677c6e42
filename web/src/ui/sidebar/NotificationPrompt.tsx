// Asks for permission to show notifications, from a click (browsers require a user gesture).
import { useState } from 'preact/hooks';
import { Icon } from '../common/icons';

const DISMISSED_KEY = 'parley.notifications.dismissed';

export function NotificationPrompt() {
  const supported = typeof Notification !== 'undefined';
  const [permission, setPermission] = useState(supported ? Notification.permission : 'denied');
  const [dismissed, setDismissed] = useState(() => localStorage.getItem(DISMISSED_KEY) === '1');
  if (!supported || permission !== 'default' || dismissed) return null;
  return (
    <div class="prompt" role="region" aria-label="Notifications">
      <span class="prompt__icon"><Icon name="bell" /></span>
      <span class="prompt__text">Get notified of new messages while Parley is in the background.</span>
      <span class="prompt__actions">
        <button type="button" class="button button--small button--primary" onClick={() => void Notification.requestPermission().then(setPermission)}>
          Turn on
        </button>
        <button
          type="button"
          class="icon-button icon-button--small"
          aria-label="Not now"
          title="Not now"
          onClick={() => {
            localStorage.setItem(DISMISSED_KEY, '1');
            setDismissed(true);
          }}
        >
          <Icon name="close" size={18} />
        </button>
      </span>
    </div>
  );
}
