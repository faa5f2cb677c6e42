// Column lists and row readers shared by the SQLite engine's reads and writes.
#pragma once

#include <string>
#include <string_view>

#include "store/columns.hpp"
#include "store/records.hpp"
#include "store/sqlite/db.hpp"
#include "store/store.hpp"

namespace parley::store::sqlite {

inline constexpr const char* kUserColumns = columns::kUser;
inline constexpr const char* kConversationColumns = columns::kConversation;
inline constexpr int kConversationColumnCount = columns::kConversationCount;
inline constexpr const char* kMemberColumns = columns::kMember;
inline constexpr const char* kEventColumns = columns::kEvent;
inline constexpr const char* kTokenColumns = columns::kToken;
inline constexpr const char* kMediaColumns = columns::kMedia;

inline MediaRecord read_media(const Statement& s) {
  MediaRecord m;
  m.id = s.text(0);
  m.owner_id = s.integer(1);
  m.state = static_cast<MediaState>(s.integer(2));
  m.declared_size = s.integer(3);
  m.declared_type = s.text(4);
  m.file_name = s.text(5);
  m.sha256 = s.text(6);
  m.size = s.integer(7);
  m.content_type = s.text(8);
  m.width = static_cast<int>(s.integer(9));
  m.height = static_cast<int>(s.integer(10));
  m.has_thumbnail = s.integer(11) != 0;
  m.preview = s.text(12);
  m.created_at_ms = s.integer(13);
  m.expires_at_s = s.integer(14);
  m.completed_at_ms = s.integer(15);
  m.ref_count = static_cast<int>(s.integer(16));
  m.released = s.integer(17) != 0;
  return m;
}

inline PushSubscriptionRecord read_push_subscription(const Statement& s, int at = 0) {
  return PushSubscriptionRecord{s.integer(at),     s.integer(at + 1), s.text(at + 2), s.text(at + 3), s.text(at + 4),
                                s.text(at + 5),    s.text(at + 6),    s.text(at + 7), s.integer(at + 8)};
}

inline TokenRecord read_token(const Statement& s, int at = 0) {
  TokenRecord t;
  t.token_id = s.text(at);
  t.user_id = s.integer(at + 1);
  t.created_at_ms = s.integer(at + 2);
  t.expires_at_s = s.integer(at + 3);
  t.device = s.text(at + 4);
  t.address = s.text(at + 5);
  t.last_active_at_ms = s.integer(at + 6);
  return t;
}

inline UserRecord read_user(const Statement& s, int at = 0) {
  UserRecord u;
  u.id = s.integer(at);
  u.username = s.text(at + 1);
  u.display_name = s.text(at + 2);
  u.created_at_ms = s.integer(at + 3);
  u.share_read_receipts = s.integer(at + 4) != 0;
  u.share_last_seen = s.integer(at + 5) != 0;
  u.last_seen_at_ms = s.integer(at + 6);
  u.discoverable = s.integer(at + 7) != 0;
  return u;
}

inline ConversationRecord read_conversation(const Statement& s, int at = 0) {
  ConversationRecord c;
  c.id = s.integer(at);
  c.kind = static_cast<ConversationKind>(s.integer(at + 1));
  c.title = s.text(at + 2);
  c.topic = s.text(at + 3);
  c.created_by = s.integer(at + 4);
  c.created_at_ms = s.integer(at + 5);
  c.last_seq = s.integer(at + 6);
  c.last_pos = s.integer(at + 7);
  c.last_event_at_ms = s.integer(at + 8);
  c.member_count = static_cast<int>(s.integer(at + 9));
  return c;
}

inline MemberRecord read_member(const Statement& s, int at = 0) {
  MemberRecord m;
  m.conversation_id = s.integer(at);
  m.user_id = s.integer(at + 1);
  m.role = static_cast<Role>(s.integer(at + 2));
  m.visible_from_seq = s.integer(at + 3);
  m.left_seq = s.optional_integer(at + 4);
  m.last_pos = s.integer(at + 5);
  m.joined_at_ms = s.integer(at + 6);
  m.left_title = s.text(at + 7);
  m.delivered_seq = s.integer(at + 8);
  m.read_seq = s.integer(at + 9);
  m.settings.muted_until = s.integer(at + 10);
  m.settings.archived = s.integer(at + 11) != 0;
  m.settings.pin_rank = s.integer(at + 12);
  m.settings.marked_unread = s.integer(at + 13) != 0;
  m.settings.cleared_seq = s.integer(at + 14);
  m.settings.notify = static_cast<NotifyLevel>(s.integer(at + 15));
  return m;
}

inline EventRecord read_event(const Statement& s) {
  EventRecord e;
  e.conversation_id = s.integer(0);
  e.seq = s.integer(1);
  e.pos = s.integer(2);
  e.id = static_cast<MessageId>(s.integer(3));
  e.sender_id = s.integer(4);
  e.kind = static_cast<EventKind>(s.integer(5));
  e.client_msg_id = s.text(6);
  e.body = s.text(7);
  e.meta_json = s.text(8);
  e.created_at_ms = s.integer(9);
  e.reply_to = s.integer(10);
  e.thread_root = s.integer(11);
  e.target_seq = s.integer(12);
  e.edited_body = s.text(13);
  e.edited_at_ms = s.integer(14);
  e.deleted_at_ms = s.integer(15);
  return e;
}

inline std::string sql(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out += p;
  return out;
}

// cache_mb: the page cache of this connection (the readers' and the writer's differ).
inline void configure_connection(Database& db, std::int64_t cache_mb) {
  db.exec("PRAGMA cache_size = -" + std::to_string(cache_mb * 1024));
  db.exec("PRAGMA temp_store = MEMORY");
  db.exec("PRAGMA foreign_keys = OFF");
  // Deleted content (a message deleted for everyone, a revoked token) is overwritten with
  // zeros in the database file, not left in free pages. Set here, not trusted to the build.
  db.exec("PRAGMA secure_delete = ON");
}

}  // namespace parley::store::sqlite
