// The REST calls the web client makes (protocol 8): only the account endpoints. Everything else
// goes over the WebSocket. Same origin as the page; errors become ProtocolError.
import { type AuthReply, ProtocolError } from './types';

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
    const error = (payload as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ProtocolError(error?.code ?? 'unavailable', error?.message ?? `HTTP ${response.status}`);
  }
  return payload as T;
}

/** POST /v1/auth/register. */
export function register(username: string, password: string, displayName?: string): Promise<AuthReply> {
  const body: Record<string, string> = { username, password };
  if (displayName) body.display_name = displayName;
  return call<AuthReply>('POST', '/v1/auth/register', body);
}

/** POST /v1/auth/login. */
export function login(username: string, password: string): Promise<AuthReply> {
  return call<AuthReply>('POST', '/v1/auth/login', { username, password });
}

/** POST /v1/auth/logout: revokes this one token; its live sessions are closed with 4004. */
export function logout(token: string): Promise<{ revoked: boolean }> {
  return call<{ revoked: boolean }>('POST', '/v1/auth/logout', undefined, token);
}
