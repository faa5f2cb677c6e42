// Column lists and row readers shared by the PostgreSQL engine's reads and writes. The same
// columns as the SQLite engine's (store/sqlite/rows.hpp), so both return identical records.
#pragma once

#include <string>
#include <string_view>

#include "store/postgres/connection.hpp"
#include "store/columns.hpp"
#include "store/records.hpp"

namespace parley::store::postgres {

inline constexpr const char* kUserColumns = columns::kUser;
inline constexpr const char* kConversationColumns = columns::kConversation;
inline constexpr int kConversationColumnCount = columns::kConversationCount;
inline constexpr const char* kMemberColumns = columns::kMember;
inline constexpr const char* kEventColumns = columns::kEvent;
inline constexpr const char* kTokenColumns = columns::kToken;

inline PushSubscriptionRecord read_push_subscription(const Rows& r, int row, int at = 0) {
  return PushSubscriptionRecord{r.integer(row, at),     r.integer(row, at + 1), r.text(row, at + 2),
                                r.text(row, at + 3),    r.text(row, at + 4),    r.text(row, at + 5),
                                r.text(row, at + 6),    r.text(row, at + 7),    r.integer(row, at + 8)};
}

inline TokenRecord read_token(const Rows& r, int row, int at = 0) {
  TokenRecord t;
  t.token_id = r.text(row, at);
  t.user_id = r.integer(row, at + 1);
  t.created_at_ms = r.integer(row, at + 2);
  t.expires_at_s = r.integer(row, at + 3);
  t.device = r.text(row, at + 4);
  t.address = r.text(row, at + 5);
  t.last_active_at_ms = r.integer(row, at + 6);
  return t;
}

inline UserRecord read_user(const Rows& r, int row, int at = 0) {
  UserRecord u;
  u.id = r.integer(row, at);
  u.username = r.text(row, at + 1);
  u.display_name = r.text(row, at + 2);
  u.created_at_ms = r.integer(row, at + 3);
  u.share_read_receipts = r.boolean(row, at + 4);
  u.share_last_seen = r.boolean(row, at + 5);
  u.last_seen_at_ms = r.integer(row, at + 6);
  u.discoverable = r.boolean(row, at + 7);
  return u;
}

inline ConversationRecord read_conversation(const Rows& r, int row, int at = 0) {
  ConversationRecord c;
  c.id = r.integer(row, at);
  c.kind = static_cast<ConversationKind>(r.integer(row, at + 1));
  c.title = r.text(row, at + 2);
  c.topic = r.text(row, at + 3);
  c.created_by = r.integer(row, at + 4);
  c.created_at_ms = r.integer(row, at + 5);
  c.last_seq = r.integer(row, at + 6);
  c.last_pos = r.integer(row, at + 7);
  c.last_event_at_ms = r.integer(row, at + 8);
  c.member_count = static_cast<int>(r.integer(row, at + 9));
  return c;
}

inline MemberRecord read_member(const Rows& r, int row, int at = 0) {
  MemberRecord m;
  m.conversation_id = r.integer(row, at);
  m.user_id = r.integer(row, at + 1);
  m.role = static_cast<Role>(r.integer(row, at + 2));
  m.visible_from_seq = r.integer(row, at + 3);
  m.left_seq = r.optional_integer(row, at + 4);
  m.last_pos = r.integer(row, at + 5);
  m.joined_at_ms = r.integer(row, at + 6);
  m.left_title = r.text(row, at + 7);
  m.delivered_seq = r.integer(row, at + 8);
  m.read_seq = r.integer(row, at + 9);
  m.settings.muted_until = r.integer(row, at + 10);
  m.settings.archived = r.boolean(row, at + 11);
  m.settings.pin_rank = r.integer(row, at + 12);
  m.settings.marked_unread = r.boolean(row, at + 13);
  m.settings.cleared_seq = r.integer(row, at + 14);
  m.settings.notify = static_cast<NotifyLevel>(r.integer(row, at + 15));
  return m;
}

inline EventRecord read_event(const Rows& r, int row) {
  EventRecord e;
  e.conversation_id = r.integer(row, 0);
  e.seq = r.integer(row, 1);
  e.pos = r.integer(row, 2);
  e.id = static_cast<MessageId>(r.integer(row, 3));
  e.sender_id = r.integer(row, 4);
  e.kind = static_cast<EventKind>(r.integer(row, 5));
  e.client_msg_id = r.text(row, 6);
  e.body = r.text(row, 7);
  e.meta_json = r.text(row, 8);
  e.created_at_ms = r.integer(row, 9);
  e.reply_to = r.integer(row, 10);
  e.thread_root = r.integer(row, 11);
  e.target_seq = r.integer(row, 12);
  e.edited_body = r.text(row, 13);
  e.edited_at_ms = r.integer(row, 14);
  e.deleted_at_ms = r.integer(row, 15);
  return e;
}

inline std::string sql(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out += p;
  return out;
}

}  // namespace parley::store::postgres
