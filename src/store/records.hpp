// Plain records exchanged with the store. No behaviour; the chat layer decides what they mean.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/domain.hpp"
#include "core/ids.hpp"

namespace parley::store {

struct UserRecord {
  UserId id = 0;
  std::string username;
  std::string display_name;
  std::int64_t created_at_ms = 0;
};

struct UserCredentials {
  UserId id = 0;
  std::string password_hash;  // empty for users of a host application (no password)
};

struct ConversationRecord {
  ConversationId id = 0;
  ConversationKind kind = ConversationKind::direct;
  std::string title;
  std::string topic;
  UserId created_by = 0;
  std::int64_t created_at_ms = 0;
  Seq last_seq = 0;
  Pos last_pos = 0;
  std::int64_t last_event_at_ms = 0;
  int member_count = 0;
};

struct MemberRecord {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  Role role = Role::member;
  Seq visible_from_seq = 1;     // first seq this member may read
  std::optional<Seq> left_seq;  // set once the member left or was removed: last seq it may read
  std::string left_title;       // the conversation's title at that moment
  Pos last_pos = 0;             // pos of the newest event visible to it (push conversations)
  std::int64_t joined_at_ms = 0;

  bool active() const { return !left_seq.has_value(); }
};

struct EventRecord {
  ConversationId conversation_id = 0;
  Seq seq = 0;
  Pos pos = 0;
  MessageId id = 0;
  UserId sender_id = 0;
  EventKind kind = EventKind::text;
  std::string client_msg_id;  // empty if none
  std::string body;           // message text
  std::string meta_json;      // JSON object with details of non-text events; empty if none
  std::int64_t created_at_ms = 0;
};

// What append_event did.
struct AppendOutcome {
  EventRecord event;       // the stored event (the original one if duplicate)
  bool duplicate = false;  // this sender used this client_msg_id before: nothing was stored
  bool reused_elsewhere = false;  // ... and that was in another conversation (`event` is there)
};

}  // namespace parley::store
