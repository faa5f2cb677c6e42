// The REST calls the web client makes (protocol 8): only the account endpoints. Everything else
// goes over the WebSocket. Same origin as the page; errors become ProtocolError.
import { type AuthConfig, type AuthReply, type PasswordCheck, ProtocolError } from './types';

/** How long to wait after a 429: the error's retry_after_ms, else the Retry-After header. */
function retryAfterMs(response: Response, error: { retry_after_ms?: unknown } | undefined): number | undefined {
  if (typeof error?.retry_after_ms === 'number') return error.retry_after_ms;
  const seconds = Number(response.headers.get('Retry-After'));
  return response.headers.has('Retry-After') && Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ProtocolError('offline', 'The server cannot be reached. Check your connection.');
  }
  let payload: unknown = null;
  try {
    payload = await response.json();
  } catch {
    // not JSON: an error page of a proxy in front of parleyd
  }
  if (!response.ok) {
    const error = (payload as { error?: { code?: string; message?: string; retry_after_ms?: unknown; field?: unknown } } | null)
      ?.error;
    const field = typeof error?.field === 'string' ? error.field : undefined;
    throw new ProtocolError(error?.code ?? 'unavailable', error?.message ?? `HTTP ${response.status}`,
      retryAfterMs(response, error), field);
  }
  return payload as T;
}

export interface Registration {
  username: string;
  password: string;
  displayName?: string;
  /** The invite code, on a server with `registration: invite`. */
  invite?: string;
  /** The label of this sign-in in the account's device list. */
  device?: string;
}

/** POST /v1/auth/register. */
export function register(fields: Registration): Promise<AuthReply> {
  const body: Record<string, string> = { username: fields.username, password: fields.password };
  if (fields.displayName) body.display_name = fields.displayName;
  if (fields.invite) body.invite = fields.invite;
  if (fields.device) body.device = fields.device;
  return call<AuthReply>('POST', '/v1/auth/register', body);
}

/** POST /v1/auth/login. */
export function login(username: string, password: string, device?: string): Promise<AuthReply> {
  return call<AuthReply>('POST', '/v1/auth/login', device ? { username, password, device } : { username, password });
}

/** POST /v1/auth/logout: revokes this one token; its live sessions are closed with 4004. */
export function logout(token: string): Promise<{ revoked: boolean }> {
  return call<{ revoked: boolean }>('POST', '/v1/auth/logout', undefined, token);
}

/** GET /v1/auth/config: whether and how new accounts may be created, and the password rules. */
export function authConfig(): Promise<AuthConfig> {
  return call<AuthConfig>('GET', '/v1/auth/config');
}

/**
 * POST /v1/auth/password_check: how the server judges a new password; the names count as words
 * an attacker would try. The password travels in the body only, and is never logged here.
 */
export function passwordCheck(password: string, username?: string, displayName?: string): Promise<PasswordCheck> {
  const body: Record<string, string> = { password };
  if (username) body.username = username;
  if (displayName) body.display_name = displayName;
  return call<PasswordCheck>('POST', '/v1/auth/password_check', body);
}
