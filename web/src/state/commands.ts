// Commands over the WebSocket (protocol 4): direct chats, groups, channels and their members;
// message edits, deletes, reactions, pins, threads, receipts and settings. Each function sends one or a few commands, stores what the reply carries and
// returns it; errors are ProtocolError with the server's stable code, turned into sentences by
// describeError for the UI.
import {
  type Conversation, type ConversationId, type ConversationSettings, type EditVersion, type Member, type NotifyLevel, type Pin, ProtocolError, type ReceiptsReply, type Role,
  type Settings, type ThreadHistoryReply, type User, type UserId,
} from '../protocol/types';
import type { ChatClient } from './client';
import { describeError } from './errors';
import { mergeEvents } from './timeline';

export { describeError } from './errors';

/** Looks a user up by username (case-insensitive). */
export async function findUser(client: ChatClient, username: string): Promise<User> {
  try {
    const reply = await client.request<{ user: User }>('user.get', { username: username.trim() });
    client.addUsers([reply.user]);
    return reply.user;
  } catch (error) {
    if (error instanceof ProtocolError && error.code === 'not_found') {
      throw new ProtocolError('not_found', `No user is called “${username.trim()}”.`);
    }
    throw error;
  }
}

/** Opens (or creates) the direct chat with a user; the peer learns of it with the first message. */
/** One page of users.search: contacts first (`contact: true`), then the rest of the directory. */
export interface UserSearchPage {
  users: (User & { contact: boolean })[];
  has_more: boolean;
  cursor?: string;
}

export async function searchUsers(client: ChatClient, q: string, cursor?: string, limit = 8): Promise<UserSearchPage> {
  const reply = await client.request<UserSearchPage>('users.search', cursor ? { q, cursor, limit } : { q, limit });
  client.addUsers(reply.users);
  return reply;
}

export async function openDirect(client: ChatClient, username: string): Promise<Conversation> {
  try {
    const reply = await client.request<{ conversation: Conversation }>('direct.open', { username: username.trim() });
    client.upsertConversation(reply.conversation);
    client.setHidden(reply.conversation.id, false);
    return reply.conversation;
  } catch (error) {
    if (error instanceof ProtocolError && error.code === 'not_found') {
      throw new ProtocolError('not_found', `No user is called “${username.trim()}”.`);
    }
    throw error;
  }
}

export async function createGroup(client: ChatClient, title: string, members: User[]): Promise<Conversation> {
  const reply = await client.request<{ conversation: Conversation }>('group.create', {
    title: title.trim(),
    member_ids: members.map((user) => user.id),
  });
  client.upsertConversation(reply.conversation);
  return reply.conversation;
}

export async function createChannel(client: ChatClient, title: string, topic: string): Promise<Conversation> {
  const reply = await client.request<{ conversation: Conversation }>('channel.create', { title: title.trim(), topic: topic.trim() });
  client.upsertConversation(reply.conversation);
  return reply.conversation;
}

export interface ChannelPage {
  channels: Conversation[];
  has_more: boolean;
}

/** One page of public channels whose title starts with `query`. */
export function listChannels(client: ChatClient, query: string, afterId = 0): Promise<ChannelPage> {
  return client.request<ChannelPage>('channel.list', { query: query.trim(), after_id: afterId, limit: 50 });
}

/**
 * The channel called `name` (a `#name` in a message; case-insensitive): one the user knows, or
 * found with channel.list and kept for a preview (protocol: a channel's history is open to
 * anyone). Null if there is none.
 */
export async function findChannel(client: ChatClient, name: string): Promise<Conversation | null> {
  const wanted = name.toLowerCase();
  const known = Object.values(client.store.get().conversations).find((c) => c.meta.kind === 'channel' && c.meta.title.toLowerCase() === wanted);
  if (known && !known.placeholder) return known.meta;
  const page = await listChannels(client, name);
  const found = page.channels.find((c) => c.title.toLowerCase() === wanted) ?? null;
  if (found) client.upsertConversation(found);
  return found;
}

/** Shows a channel the user has not joined: its history can be read before joining. */
export function previewChannel(client: ChatClient, channel: Conversation): void {
  client.upsertConversation(channel);
}

export async function joinChannel(client: ChatClient, id: ConversationId): Promise<Conversation> {
  const reply = await client.request<{ conversation: Conversation; joined: boolean }>('channel.join', { conversation_id: id });
  client.upsertConversation(reply.conversation);
  client.setHidden(id, false);
  return reply.conversation;
}

export async function renameConversation(client: ChatClient, id: ConversationId, title: string): Promise<void> {
  const reply = await client.request<{ conversation: Conversation }>('conversation.rename', { conversation_id: id, title: title.trim() });
  client.upsertConversation(reply.conversation);
}

export async function addMembers(client: ChatClient, id: ConversationId, users: User[]): Promise<void> {
  const reply = await client.request<{ conversation: Conversation; added: UserId[] }>('members.add', {
    conversation_id: id,
    user_ids: users.map((user) => user.id),
  });
  client.upsertConversation(reply.conversation);
}

export async function removeMember(client: ChatClient, id: ConversationId, userId: UserId): Promise<void> {
  const reply = await client.request<{ conversation: Conversation }>('members.remove', { conversation_id: id, user_id: userId });
  client.upsertConversation(reply.conversation);
}

export async function setRole(client: ChatClient, id: ConversationId, userId: UserId, role: Exclude<Role, 'owner'>): Promise<void> {
  const reply = await client.request<{ conversation: Conversation }>('members.set_role', { conversation_id: id, user_id: userId, role });
  client.upsertConversation(reply.conversation);
}

/** Leaves a group or channel and takes it off this device's list. */
export async function leaveConversation(client: ChatClient, id: ConversationId): Promise<void> {
  const reply = await client.request<{ conversation: Conversation }>('conversation.leave', { conversation_id: id });
  client.upsertConversation(reply.conversation);
  client.setHidden(id, true);
}

/** Every member of a conversation (all pages of members.list), ordered by user id. */
export async function listMembers(client: ChatClient, id: ConversationId): Promise<Member[]> {
  const members: Member[] = [];
  let after = 0;
  for (;;) {
    const reply = await client.request<{ members: Member[]; has_more: boolean }>('members.list', {
      conversation_id: id,
      after_user_id: after,
      limit: 1000,
    });
    members.push(...reply.members);
    if (!reply.has_more || reply.members.length === 0) break;
    after = reply.members[reply.members.length - 1].user_id;
  }
  client.addUsers(members.map((m) => ({ id: m.user_id, username: m.username, display_name: m.display_name, created_at: 0 })));
  return members;
}

const RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

/** What the signed-in user may do to a member (protocol 4: members.remove, members.set_role). */
export function permissions(myRole: Role | undefined, active: boolean, member: Member, me: UserId) {
  const mine = active && myRole ? RANK[myRole] : -1;
  return {
    remove: member.user_id !== me && mine >= RANK.admin && RANK[member.role] < mine,
    changeRole: member.user_id !== me && myRole === 'owner' && active && member.role !== 'owner',
  };
}

export function canManage(myRole: Role | undefined, active: boolean): boolean {
  return active && (myRole === 'admin' || myRole === 'owner');
}

// --- messages: edits, deletes, reactions, pins, threads (protocol 4, live features) ------------
// The events these commands cause come back on the session before the reply (protocol 5.2), so
// the views update from the event log; the replies carry nothing more the client needs.

export async function editMessage(client: ChatClient, id: ConversationId, seq: number, text: string): Promise<void> {
  await client.request('message.edit', { conversation_id: id, seq, text });
}

export async function deleteMessage(client: ChatClient, id: ConversationId, seq: number): Promise<void> {
  await client.request('message.delete', { conversation_id: id, seq });
}

export async function setReaction(client: ChatClient, id: ConversationId, seq: number, emoji: string, add: boolean): Promise<void> {
  await client.request(add ? 'reaction.add' : 'reaction.remove', { conversation_id: id, seq, emoji });
}

export async function setPinned(client: ChatClient, id: ConversationId, seq: number, pinned: boolean): Promise<void> {
  await client.request(pinned ? 'pin.add' : 'pin.remove', { conversation_id: id, seq });
}

/** pins.list; also what the conversation's bubbles take as pinned. */
export async function listPins(client: ChatClient, id: ConversationId): Promise<Pin[]> {
  const reply = await client.request<{ pins: Pin[] }>('pins.list', { conversation_id: id });
  client.patchConversation(id, { pinned: reply.pins.map((pin) => pin.seq) });
  client.ensureUsers(reply.pins.flatMap((pin) => [pin.pinned_by, pin.message.sender_id]));
  return reply.pins;
}

export function threadKey(id: ConversationId, root: number): string {
  return `${id}:${root}`;
}

/** The newest page of a thread, or the page before the oldest reply loaded (`older`). */
export async function loadThread(client: ChatClient, id: ConversationId, root: number, older = false): Promise<void> {
  const key = threadKey(id, root);
  const current = client.store.get().threads[key];
  if (current?.loading) return;
  client.patchThread(key, { loading: true, error: undefined });
  try {
    const fields: Record<string, unknown> = { conversation_id: id, root_seq: root, limit: 50 };
    if (older && current?.events.length) fields.before_seq = current.events[0].seq;
    const reply = await client.request<ThreadHistoryReply>('thread.history', fields);
    const events = mergeEvents(older ? (current?.events ?? []) : [], reply.events, 'replace');
    client.patchThread(key, {
      root: reply.root,
      events,
      hasMore: reply.has_more,
      loading: false,
    });
    client.ensureUsers([reply.root.sender_id, ...reply.events.map((event) => event.sender_id)]);
  } catch (error) {
    client.patchThread(key, { loading: false, error: describeError(error) });
  }
}

/** Who has received and read a message (groups). */
export async function messageEdits(client: ChatClient, id: ConversationId, seq: number): Promise<EditVersion[]> {
  const reply = await client.request<{ versions: EditVersion[] }>('message.edits', { conversation_id: id, seq });
  return reply.versions;
}

export async function messageReceipts(client: ChatClient, id: ConversationId, seq: number): Promise<ReceiptsReply> {
  const reply = await client.request<ReceiptsReply>('receipts.get', { conversation_id: id, seq });
  client.live.notePointers(id, [
    ...reply.delivered_to.map((entry) => ({ user: entry.user_id, delivered: entry.delivered_seq })),
    ...reply.read_by.map((entry) => ({ user: entry.user_id, read: entry.read_seq })),
  ]);
  client.ensureUsers([...reply.delivered_to.map((entry) => entry.user_id), ...reply.read_by.map((entry) => entry.user_id)]);
  return reply;
}

/**
 * settings.update: changes what is given and answers with every setting. There is no
 * settings.get; an update with no field reads them.
 */
export async function updateSettings(client: ChatClient, change: Partial<Settings>): Promise<Settings> {
  const reply = await client.request<{ settings: Settings }>('settings.update', change);
  client.store.update((s) => ({ ...s, settings: reply.settings }));
  client.schedulePersist();
  return reply.settings;
}

/** The user's own settings of a conversation (mute, archive, pin, marked unread, which messages
 *  notify; protocol 5.10). Applied on this device from the reply; the other devices get a
 *  conversation_settings frame. */
export async function updateConversationSettings(
  client: ChatClient,
  id: ConversationId,
  patch: { muted_until?: number; archived?: boolean; pinned?: boolean; marked_unread?: boolean; notify?: NotifyLevel },
): Promise<ConversationSettings> {
  // This device's read receipts first: stored after the mark, they would clear it.
  if (patch.marked_unread) await client.live.receiptsStored(id);
  const reply = await client.request<{ settings: ConversationSettings }>('conversation.settings', { conversation_id: id, ...patch });
  client.patchMeta(id, { ...reply.settings });
  return reply.settings;
}

/** "Delete for me": hides messages for the user only, on all its devices (message.hide, 5.11). */
export async function hideMessages(client: ChatClient, id: ConversationId, seqs: number[]): Promise<void> {
  await client.request('message.hide', { conversation_id: id, seqs });
  for (const seq of seqs) client.hideMessage(id, seq);
}

/**
 * "Clear chat": everything up to the newest message this device has is gone for the user, on all
 * its devices (cleared_seq, 5.11). The messages cleared are read too, so no badge stays behind.
 */
export async function clearChat(client: ChatClient, id: ConversationId): Promise<void> {
  const upTo = client.conversation(id)?.meta.last_seq ?? 0;
  if (upTo === 0) return;
  client.markRead(id, upTo);
  const reply = await client.request<{ settings: ConversationSettings }>('conversation.settings', { conversation_id: id, cleared_seq: upTo });
  client.patchMeta(id, { ...reply.settings });
}

/** Changes the user's display name (account.update_profile); the reply is the user as it is now. */
export async function updateProfile(client: ChatClient, displayName: string): Promise<User> {
  const reply = await client.request<{ user: User }>('account.update_profile', { display_name: displayName });
  client.updateUser(reply.user);
  return reply.user;
}
