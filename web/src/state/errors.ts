// Failed requests as sentences for the user (the server's `message` is for developers).
import { ProtocolError } from '../protocol/types';

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
    default:
      return error.message.charAt(0).toUpperCase() + error.message.slice(1);
  }
}
