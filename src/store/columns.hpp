// What both SQL engines share: the column lists every read selects (so both return identical
// records) and the key of a direct conversation.
#pragma once

#include <string>
#include <utility>

#include "core/ids.hpp"

namespace parley::store::columns {

inline constexpr const char* kUser =
    "id, username, display_name, created_at, share_read_receipts, share_last_seen, coalesce(last_seen_at, 0), "
    "discoverable";
inline constexpr const char* kConversation =
    "c.id, c.kind, c.title, c.topic, c.created_by, c.created_at, c.last_seq, c.last_pos, c.last_event_at, "
    "c.member_count";
inline constexpr int kConversationCount = 10;
inline constexpr const char* kMember =
    "m.conversation_id, m.user_id, m.role, m.visible_from_seq, m.left_seq, m.last_pos, m.joined_at, "
    "coalesce(m.left_title, ''), m.delivered_seq, m.read_seq, m.muted_until, m.archived, m.pin_rank, m.marked_unread, m.cleared_seq, "
    "m.notify";
inline constexpr const char* kEvent =
    "conversation_id, seq, pos, id, sender_id, kind, client_msg_id, body, meta, created_at, "
    "coalesce(reply_to, 0), coalesce(thread_root, 0), coalesce(target_seq, 0), coalesce(edited_body, ''), "
    "coalesce(edited_at, 0), coalesce(deleted_at, 0)";
inline constexpr const char* kToken = "token_id, user_id, created_at, expires_at, device, address, last_active_at";
inline constexpr const char* kMedia =
    "id, owner_id, state, declared_size, declared_type, file_name, sha256, size, content_type, width, height, "
    "has_thumbnail, preview, created_at, expires_at, completed_at, ref_count, released";

inline constexpr const char* kPushSubscription =
    "id, user_id, token_id, kind, endpoint, p256dh, auth, options, created_at";

// "low:high" user ids: the unique key of the direct conversation of two users.
inline std::string direct_key(UserId a, UserId b) {
  if (a > b) std::swap(a, b);
  return std::to_string(a) + ":" + std::to_string(b);
}

}  // namespace parley::store::columns
