// What a refused sign-in or sign-up means for the form: which field to mark, in which words
// (protocol 2.1: register and login errors).
import { ProtocolError } from '../protocol/types';
import { errorField, retryIn, sentence } from '../state/errors';

export type AuthField = 'username' | 'display_name' | 'password' | 'invite' | 'form';
export type AuthErrors = Partial<Record<AuthField, string>>;

const FIELDS = new Set<string>(['username', 'display_name', 'password', 'invite']);

export function explainAuthError(error: unknown, signup: boolean): AuthErrors {
  if (!(error instanceof ProtocolError)) return { form: 'Something went wrong. Try again.' };
  switch (error.code) {
    case 'unauthorized':
      return { form: 'Wrong username or password.' };
    case 'conflict':
      return errorField(error) === 'display_name'
        ? { display_name: 'That display name looks like another user’s username. Choose another one.' }
        : { username: 'That username is taken. Try another one.' };
    case 'forbidden':
      // An invite missing or refused, or registration closed.
      if (signup && errorField(error) === 'invite') return { invite: sentence(error.message) };
      return { form: signup ? 'This server does not accept new accounts.' : sentence(error.message) };
    case 'rate_limited':
      return {
        form: signup
          ? `Too many sign-ups from your address. Try again ${retryIn(error.retryAfterMs)}.`
          : `Too many attempts. Try again ${retryIn(error.retryAfterMs)}.`,
      };
    case 'offline':
      return { form: error.message };
    case 'unavailable':
      return { form: 'The server is busy. Try again in a moment.' };
    case 'invalid_field':
    case 'too_large':
    case 'missing_field': {
      const field = errorField(error);
      return field && FIELDS.has(field) ? { [field]: sentence(error.message) } : { form: sentence(error.message) };
    }
    default:
      return { form: sentence(error.message) };
  }
}
