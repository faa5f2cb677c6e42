// REST calls the tests make directly (protocol section 8): accounts, seeding messages, and
// reading history to check what the server stored.
import { randomUUID } from 'node:crypto';

export const PASSWORD = 'correct horse battery';

export class Api {
  constructor(base) {
    this.base = base;
  }

  async call(token, method, path, body) {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const payload = await response.json().catch(() => null);
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${JSON.stringify(payload)}`);
    return payload;
  }

  /** Registers a user; returns { token, user }. */
  register(username, displayName) {
    return this.call(null, 'POST', '/v1/auth/register', { username, password: PASSWORD, display_name: displayName });
  }

  /** Logs in (a new token, listed among the account's devices as `device`). */
  login(username, password = PASSWORD, device = undefined) {
    return this.call(null, 'POST', '/v1/auth/login', { username, password, device });
  }

  /** Revokes this one token (it leaves the account's device list). */
  logout(token) {
    return this.call(token, 'POST', '/v1/auth/logout');
  }

  /** The account's signed-in devices (account.sessions), newest first. */
  sessions(token) {
    return this.call(token, 'GET', '/v1/account/sessions').then((reply) => reply.sessions);
  }

  /** The HTTP status and error code of a request, for checks that expect a refusal. */
  async status(token, method, path, body) {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const payload = await response.json().catch(() => null);
    return { status: response.status, code: payload?.error?.code ?? null };
  }

  /** A new invite code from the admin API (the server runs with --auth.admin_token). */
  createInvite(adminToken, uses = 1) {
    return this.call(adminToken, 'POST', '/v1/admin/invites', { uses, note: 'browser test' }).then((reply) => reply.code);
  }

  /** Invites with uses left (admin API; without their codes). */
  invites(adminToken) {
    return this.call(adminToken, 'GET', '/v1/admin/invites').then((reply) => reply.invites);
  }

  /** Creates users through the admin API (works with registration closed). */
  adminCreateUsers(adminToken, users) {
    return this.call(adminToken, 'POST', '/v1/admin/users', { users }).then((reply) => reply.users);
  }

  createGroup(token, title, memberIds) {
    return this.call(token, 'POST', '/v1/groups', { title, member_ids: memberIds });
  }

  send(token, conversationId, text) {
    return this.call(token, 'POST', `/v1/conversations/${conversationId}/messages`, { client_msg_id: randomUUID(), text });
  }

  /** A message with a quote (reply_to_seq) or in a thread (thread_root_seq). */
  sendWith(token, conversationId, text, fields) {
    return this.call(token, 'POST', `/v1/conversations/${conversationId}/messages`, { client_msg_id: randomUUID(), text, ...fields });
  }

  react(token, conversationId, seq, emoji) {
    return this.call(token, 'POST', `/v1/conversations/${conversationId}/messages/${seq}/reactions`, { emoji });
  }

  /** Moves the caller's read pointer (and so its delivered pointer). */
  receipt(token, conversationId, readSeq) {
    return this.call(token, 'POST', `/v1/conversations/${conversationId}/receipts`, { read_seq: readSeq });
  }

  sendToUser(token, userId, text) {
    return this.call(token, 'POST', `/v1/users/${userId}/messages`, { client_msg_id: randomUUID(), text });
  }

  /** Every event of a conversation the caller may read, oldest first. */
  async allEvents(token, conversationId) {
    const events = [];
    let after = 0;
    for (;;) {
      const page = await this.call(token, 'GET', `/v1/conversations/${conversationId}/events?after_seq=${after}&limit=100`);
      events.push(...page.events);
      if (!page.has_more || page.events.length === 0) return events;
      after = page.events[page.events.length - 1].seq;
    }
  }

  conversations(token) {
    return this.call(token, 'GET', '/v1/conversations').then((reply) => reply.conversations);
  }
}

/** A username unique to this run (the tests share nothing, but names stay readable). */
export function uniqueName(base) {
  return `${base}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
