// Short messages about failed actions, bottom centre.
import { Icon } from './common/icons';
import { useAppState, useClient } from './hooks';

export function Toasts() {
  const client = useClient();
  const toasts = useAppState((s) => s.toasts);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.map((toast) => (
        <div key={toast.id} class={`toast toast--${toast.kind}`}>
          <span>{toast.text}</span>
          <button type="button" class="icon-button icon-button--small" aria-label="Dismiss" onClick={() => client.dismissToast(toast.id)}>
            <Icon name="close" size={16} />
          </button>
        </div>
      ))}
    </div>
  );
}
