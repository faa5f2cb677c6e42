// Contract checks shared by the protocol fuzz targets (parse_fuzz, rest_fuzz). A broken check
// prints what broke and aborts, so libFuzzer saves the input as a crash.
//
// Known findings: a check that fails because of a reported, not yet fixed bug (tests/fuzz/findings/)
// carries a label. PARLEY_FUZZ_SKIP="label,label" turns those checks off so a run can look past the
// bug; by default every check is on. scripts/fuzz.sh passes the variable through.
#pragma once

#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "protocol/parse.hpp"

namespace parley::fuzz {

inline void check(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "contract broken: %s\n", what);
  std::abort();  // libFuzzer reports the abort with the input
}

// True if `label` is listed in PARLEY_FUZZ_SKIP (read once).
inline bool skipped(std::string_view label) {
  static const std::string list = [] {
    const char* env = std::getenv("PARLEY_FUZZ_SKIP");
    return "," + std::string(env ? env : "") + ",";
  }();
  return list.find("," + std::string(label) + ",") != std::string::npos;
}

// A check that a known finding breaks; `label` names the finding (tests/fuzz/findings/README.md).
inline void check_known(bool condition, std::string_view label, const char* what) {
  if (condition || skipped(label)) return;
  std::fprintf(stderr, "contract broken [%.*s]: %s\n", static_cast<int>(label.size()), label.data(), what);
  std::abort();
}

inline bool valid_utf8(std::string_view text) { return simdjson::validate_utf8(text.data(), text.size()); }

// Every error the parser returns is a parse error with a message that can go into a reply frame:
// JsonWriter copies messages verbatim into text frames and requires valid UTF-8.
inline void check_parse_error(const Error& error) {
  check(!error.message.empty(), "error without a message");
  check(error.code == ErrorCode::bad_request || error.code == ErrorCode::unknown_type ||
            error.code == ErrorCode::missing_field || error.code == ErrorCode::invalid_field ||
            error.code == ErrorCode::too_large,
        "parse error with a code that is not a parse error");
  check_known(valid_utf8(error.message), "error-message-utf8", "error message is not valid UTF-8");
}

// A string field of a parsed command: valid UTF-8 (it is written into JSON replies and events,
// see JsonWriter), within its limit, and non-empty if the command requires it.
inline void check_string(const std::string& value, std::size_t max_bytes, bool required, const char* what) {
  check(value.size() <= max_bytes, what);
  if (required) check(!value.empty(), what);
  check_known(valid_utf8(value), "rest-param-utf8", "a parsed string is not valid UTF-8");
}

inline void check_ids(const std::vector<std::int64_t>& ids, int max_count, const char* what) {
  check(ids.size() <= static_cast<std::size_t>(max_count), what);
  for (std::int64_t id : ids) check(id > 0, what);
}

// What a successfully parsed command promises its handler: the field rules of docs/protocol.md
// section 4 hold, so handlers need not re-check them.
inline void check_command(const protocol::Command& command, const protocol::ParseLimits& limits) {
  using namespace protocol;
  const auto text = static_cast<std::size_t>(limits.max_text_bytes);
  const auto title = static_cast<std::size_t>(limits.max_title_bytes);
  const auto username = static_cast<std::size_t>(limits.max_username_bytes);
  const int members = limits.max_members_per_request;
  check(command_name(command) != nullptr, "command without a name");
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, HelloCmd>) {
          check_string(c.token, 8192, false, "hello.token");
          check_string(c.device, 128, false, "hello.device");
          check(c.protocol == 1, "hello.protocol");
        } else if constexpr (std::is_same_v<T, SendCmd>) {
          check((c.conversation_id > 0) != (c.to_user_id > 0), "send: exactly one of conversation_id, to_user_id");
          check(c.conversation_id >= 0 && c.to_user_id >= 0, "send: ids are not negative");
          check_string(c.client_msg_id, static_cast<std::size_t>(limits.max_client_msg_id_bytes), true, "send.client_msg_id");
          check_string(c.text, text, true, "send.text");
          check(c.reply_to_seq >= 0 && c.thread_root_seq >= 0, "send: seqs are not negative");
        } else if constexpr (std::is_same_v<T, HistoryCmd> || std::is_same_v<T, ThreadHistoryCmd>) {
          check(c.conversation_id > 0, "history: conversation_id >= 1");
          check(!(c.before_seq && c.after_seq), "history: not both before_seq and after_seq");
          check(!c.before_seq || *c.before_seq >= 1, "history: before_seq >= 1");
          check(!c.after_seq || *c.after_seq >= 0, "history: after_seq >= 0");
          check(c.limit >= 1 && c.limit <= limits.max_history_page, "history: limit in range");
          if constexpr (std::is_same_v<T, ThreadHistoryCmd>) check(c.root_seq > 0, "thread.history: root_seq >= 1");
        } else if constexpr (std::is_same_v<T, SyncCmd>) {
          check(c.cursor >= 0 && c.limit >= 1 && c.limit <= limits.max_sync_page, "sync: cursor and limit in range");
        } else if constexpr (std::is_same_v<T, DirectOpenCmd> || std::is_same_v<T, UserGetCmd>) {
          check((c.user_id > 0) != !c.username.empty(), "exactly one of user_id, username");
          check(c.user_id >= 0, "user_id is not negative");
          check_string(c.username, username, false, "username");
        } else if constexpr (std::is_same_v<T, GroupCreateCmd>) {
          check_string(c.title, title, true, "group.create.title");
          check_ids(c.member_ids, members, "group.create.member_ids");
        } else if constexpr (std::is_same_v<T, ChannelCreateCmd>) {
          check_string(c.title, title, true, "channel.create.title");
          check_string(c.topic, 1024, false, "channel.create.topic");
        } else if constexpr (std::is_same_v<T, ChannelListCmd>) {
          check_string(c.query, title, false, "channel.list.query");
          check(c.after_id >= 0 && c.limit >= 1 && c.limit <= 100, "channel.list: after_id and limit in range");
        } else if constexpr (std::is_same_v<T, RenameCmd>) {
          check(c.conversation_id > 0, "conversation.rename: conversation_id >= 1");
          check_string(c.title, title, true, "conversation.rename.title");
        } else if constexpr (std::is_same_v<T, MembersAddCmd>) {
          check(c.conversation_id > 0 && !c.user_ids.empty(), "members.add: conversation_id, user_ids");
          check_ids(c.user_ids, members, "members.add.user_ids");
        } else if constexpr (std::is_same_v<T, MemberRemoveCmd>) {
          check(c.conversation_id > 0 && c.user_id > 0, "members.remove: ids >= 1");
        } else if constexpr (std::is_same_v<T, MemberSetRoleCmd>) {
          check(c.conversation_id > 0 && c.user_id > 0, "members.set_role: ids >= 1");
          check(c.role == Role::admin || c.role == Role::member, "members.set_role: role admin or member");
        } else if constexpr (std::is_same_v<T, MembersListCmd>) {
          check(c.conversation_id > 0 && c.after_user_id >= 0 && c.limit >= 1 && c.limit <= 1000,
                "members.list: fields in range");
        } else if constexpr (std::is_same_v<T, UsersGetCmd> || std::is_same_v<T, PresenceGetCmd>) {
          check_ids(c.user_ids, members, "user_ids");
        } else if constexpr (std::is_same_v<T, RegisterCmd>) {
          check_string(c.username, username, true, "auth.register.username");
          check_string(c.password, 1024, true, "auth.register.password");
          check_string(c.display_name, title, false, "auth.register.display_name");
        } else if constexpr (std::is_same_v<T, LoginCmd>) {
          check_string(c.username, username, true, "auth.login.username");
          check_string(c.password, 1024, true, "auth.login.password");
        } else if constexpr (std::is_same_v<T, ReceiptCmd>) {
          check(c.conversation_id > 0 && c.delivered_seq >= 0 && c.read_seq >= 0, "receipt: fields in range");
          check(c.delivered_seq > 0 || c.read_seq > 0, "receipt: at least one pointer");
        } else if constexpr (std::is_same_v<T, ReceiptsGetCmd>) {
          check(c.conversation_id > 0 && c.seq > 0, "receipts.get: ids >= 1");
        } else if constexpr (std::is_same_v<T, MessageEditCmd>) {
          check(c.message.conversation_id > 0 && c.message.seq > 0, "message.edit: ids >= 1");
          check_string(c.text, text, true, "message.edit.text");
        } else if constexpr (std::is_same_v<T, ReactionCmd>) {
          check(c.message.conversation_id > 0 && c.message.seq > 0, "reaction: ids >= 1");
          check_string(c.emoji, 32, true, "reaction.emoji");
        } else if constexpr (std::is_same_v<T, MessageDeleteCmd> || std::is_same_v<T, MessageEditsCmd> ||
                             std::is_same_v<T, ReactionsGetCmd> || std::is_same_v<T, PinCmd>) {
          check(c.message.conversation_id > 0 && c.message.seq > 0, "message reference: ids >= 1");
        } else if constexpr (std::is_same_v<T, ConversationGetCmd> || std::is_same_v<T, ChannelJoinCmd> ||
                             std::is_same_v<T, LeaveCmd> || std::is_same_v<T, PinsListCmd> ||
                             std::is_same_v<T, TypingCmd>) {
          check(c.conversation_id > 0, "conversation_id >= 1");
        }
      },
      command);
}

// The wire name a parsed command reports for a requested type: the two-way commands share one
// struct and one name ("reaction", "pin").
inline std::string_view expected_command_name(std::string_view type) {
  if (type == "reaction.add" || type == "reaction.remove") return "reaction";
  if (type == "pin.add" || type == "pin.remove") return "pin";
  return type;
}

}  // namespace parley::fuzz
