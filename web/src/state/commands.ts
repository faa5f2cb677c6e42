// Conversation management over the WebSocket (protocol 4): direct chats, groups, channels and
// their members. Each function sends one or a few commands, stores what the reply carries and
// returns it; errors are ProtocolError with the server's stable code, turned into sentences by
// describeError for the UI.
import { type Conversation, type ConversationId, type Member, ProtocolError, type Role, type User, type UserId } from '../protocol/types';
import type { ChatClient } from './client';

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
