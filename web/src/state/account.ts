// The user's own account over the WebSocket (protocol 2.7): signed-in devices, signing one or
// all of them out, the password change, and the pause of push notifications on every device
// (account.notifications: do not disturb, quiet hours). Revoking this browser's own token ends this session:
// ChatClient then reports an OwnSignOut reason to its onSignedOut listeners.
import type { DeviceSession, NotificationSettings, QuietSchedule } from '../protocol/types';
import type { ChatClient, OwnSignOut } from './client';

/** account.sessions: every token of the account, newest first; `current` is this browser. */
export async function listDevices(client: ChatClient): Promise<DeviceSession[]> {
  const reply = await client.request<{ sessions: DeviceSession[] }>('account.sessions');
  return reply.sessions;
}

/** Sends a command that may revoke this browser's token; `own` says whether it does. */
async function revoking<T>(client: ChatClient, own: OwnSignOut | null, type: string, fields: Record<string, unknown>): Promise<T> {
  if (own) client.expectOwnSignOut(own);
  let reply: T;
  try {
    reply = await client.request<T>(type, fields);
  } catch (error) {
    if (own) client.expectOwnSignOut(null);
    throw error;
  }
  if (own) client.confirmOwnSignOut();
  return reply;
}

/** account.revoke_session: signs one device out (this browser too, if it is the current one). */
export async function signOutDevice(client: ChatClient, device: DeviceSession): Promise<void> {
  await revoking(client, device.current ? 'this_device' : null, 'account.revoke_session', { token_id: device.token_id });
}

/**
 * account.logout_all: signs every other device out (`keepCurrent`), or every device including
 * this browser. Returns how many tokens were revoked.
 */
export async function signOutEverywhere(client: ChatClient, keepCurrent: boolean): Promise<number> {
  const reply = await revoking<{ revoked: number }>(client, keepCurrent ? null : 'everywhere', 'account.logout_all', { keep_current: keepCurrent });
  return reply.revoked;
}

/**
 * account.change_password: returns how many other devices were signed out (this one stays).
 * A wrong current password is `forbidden`; after several the server throttles (`rate_limited`),
 * which is reported rather than retried with the same password.
 */
export async function changePassword(client: ChatClient, currentPassword: string, newPassword: string): Promise<number> {
  const reply = await client.request<{ changed: boolean; revoked: number }>(
    'account.change_password',
    { current_password: currentPassword, new_password: newPassword },
    { retryRateLimited: false },
  );
  return reply.revoked;
}

/** What account.notifications may change: absent fields stay; `schedule: null` removes it. */
export interface NotificationChange {
  /** ms since the epoch; 0 = off, -1 = until turned off. */
  dnd_until?: number;
  schedule?: QuietSchedule | null;
}

/**
 * account.notifications: changes what is given (nothing: reads) and answers with the settings in
 * force, which are stored. The user's other sessions get a notification_settings frame.
 */
export async function updateNotificationSettings(client: ChatClient, change: NotificationChange = {}): Promise<NotificationSettings> {
  const reply = await client.request<{ notifications: NotificationSettings }>('account.notifications', { ...change });
  client.store.update((s) => ({ ...s, notifications: reply.notifications }));
  return reply.notifications;
}
