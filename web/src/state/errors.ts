// Failed requests as sentences for the user (the server's `message` is for developers).
import { ProtocolError } from '../protocol/types';

/** How the fields the server names in its messages ('display_name' ...) read in a sentence. */
const FIELD_NAMES: Record<string, string> = {
  username: 'username',
  password: 'password',
  new_password: 'new password',
  current_password: 'current password',
  display_name: 'display name',
  invite: 'invite code',
};

/** The request field a refusal is about (the error's `field`, protocol 9.1); null if none. */
export function errorField(error: unknown): string | null {
  if (!(error instanceof ProtocolError)) return null;
  return error.field ?? null;
}

/** A server message as a sentence: "'new_password' must be ..." → "The new password must be ...". */
export function sentence(message: string): string {
  const text = message.replace(/^'([a-z_]+)'/, (_, field: string) => `The ${FIELD_NAMES[field] ?? field.replace(/_/g, ' ')}`);
  const capitalized = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}

/** "in 30 seconds", "in about 5 minutes", "in about 2 hours": when to try again after a 429. */
export function retryIn(ms: number | undefined): string {
  if (ms === undefined) return 'in a moment';
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 90) return `in ${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `in about ${minutes} minutes`;
  return `in about ${Math.round(minutes / 60)} hours`;
}

/** A sentence for the user about a failed command. */
export function describeError(error: unknown): string {
  if (!(error instanceof ProtocolError)) return 'Something went wrong.';
  switch (error.code) {
    case 'offline':
    case 'disconnected':
      return 'Not connected to the server. Try again in a moment.';
    case 'forbidden':
      return 'You are not allowed to do that here.';
    case 'not_member':
      return 'You are not a member of this conversation.';
    case 'limit_reached':
      return 'This conversation is full.';
    case 'unavailable':
      return 'The server is busy. Try again in a moment.';
    case 'rate_limited':
      return `Too many attempts. Try again ${retryIn(error.retryAfterMs)}.`;
    default:
      return error.message.charAt(0).toUpperCase() + error.message.slice(1);
  }
}

/** A file size as people read it: "812 B", "48 KB", "3.4 MB", "1.2 GB" (units of 1024). */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, '') : Math.round(value)} ${units[unit]}`;
}

/** The number in a server message such as "… (media.max_file_bytes = 104857600)". */
function limitIn(message: string): number | undefined {
  const match = /\(\D*?(\d+)/.exec(message);
  return match ? Number(match[1]) : undefined;
}

/** A refused upload (media.upload, the PUT, media.complete) as a sentence naming the file. */
export function describeUploadError(error: unknown, fileName: string): string {
  const name = `“${fileName}”`;
  if (error instanceof ProtocolError) {
    const limit = limitIn(error.message);
    if (error.code === 'too_large' && error.field === 'pixels') return `${name} has too many pixels to be shown.`;
    if (error.code === 'too_large') {
      return limit !== undefined ? `${name} is too large: files can be up to ${fileSize(limit)}.` : `${name} is too large to send.`;
    }
    if (error.code === 'limit_reached' && error.field === 'size') {
      return limit !== undefined ? `${name} would go past your storage quota of ${fileSize(limit)}.` : `${name} would go past your storage quota.`;
    }
    if (error.code === 'limit_reached') return 'Too many uploads are unfinished. Try again in a while.';
    if (error.code === 'invalid_field' && error.field === 'content_type') return `${name} is not the kind of file it says it is.`;
  }
  return `${name} could not be uploaded. ${describeError(error)}`;
}
