#include "core/domain.hpp"

namespace parley {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::owner: return "owner";
    case Role::admin: return "admin";
    case Role::member: return "member";
  }
  return "member";
}

std::optional<Role> role_from_name(std::string_view name) {
  if (name == "owner") return Role::owner;
  if (name == "admin") return Role::admin;
  if (name == "member") return Role::member;
  return std::nullopt;
}

std::string_view conversation_kind_name(ConversationKind kind) {
  switch (kind) {
    case ConversationKind::direct: return "direct";
    case ConversationKind::group: return "group";
    case ConversationKind::channel: return "channel";
  }
  return "direct";
}

std::string_view event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::text: return "text";
    case EventKind::conversation_created: return "conversation.created";
    case EventKind::member_added: return "member.added";
    case EventKind::member_removed: return "member.removed";
    case EventKind::member_left: return "member.left";
    case EventKind::member_joined: return "member.joined";
    case EventKind::conversation_renamed: return "conversation.renamed";
    case EventKind::member_role_changed: return "member.role_changed";
    case EventKind::message_edited: return "message.edited";
    case EventKind::message_deleted: return "message.deleted";
    case EventKind::reaction_added: return "reaction.added";
    case EventKind::reaction_removed: return "reaction.removed";
    case EventKind::message_pinned: return "message.pinned";
    case EventKind::message_unpinned: return "message.unpinned";
  }
  return "text";
}

}  // namespace parley
