// Domain vocabulary shared by every layer: kinds of conversations and events, member roles.
// Their wire names are part of the protocol (docs/protocol.md).
#pragma once

#include <optional>
#include <string_view>

namespace parley {

enum class Role : int { member = 0, admin = 1, owner = 2 };
// Whether `role` is `needed` or above (owner > admin > member).
inline bool has_role(Role role, Role needed) { return static_cast<int>(role) >= static_cast<int>(needed); }
enum class ConversationKind : int { direct = 1, group = 2, channel = 3 };

// Every persisted event of a conversation, each with its own seq.
enum class EventKind : int {
  text = 1,                   // a chat message
  conversation_created = 2,   // first event of a group or channel
  member_added = 3,           // meta: {"user_ids":[...]} added by sender_id
  member_removed = 4,         // meta: {"user_id":N} removed by sender_id
  member_left = 5,            // sender_id left
  member_joined = 6,          // sender_id joined a channel
  conversation_renamed = 7,   // meta: {"title":"..."}
  member_role_changed = 8,    // meta: {"user_id":N,"role":"admin"}
  message_edited = 9,         // target_seq; meta: {"text":"..."} (erased if the message is deleted)
  message_deleted = 10,       // target_seq: the message is now a tombstone
  reaction_added = 11,        // target_seq; meta: {"emoji":"..."}
  reaction_removed = 12,      // target_seq; meta: {"emoji":"..."}
  message_pinned = 13,        // target_seq
  message_unpinned = 14,      // target_seq
};

std::string_view role_name(Role role);
std::optional<Role> role_from_name(std::string_view name);
std::string_view conversation_kind_name(ConversationKind kind);
std::string_view event_kind_name(EventKind kind);

}  // namespace parley
