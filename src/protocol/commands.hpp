// Typed client commands. Frames and REST bodies are parsed into these at the edge
// (protocol/parse.cpp); nothing past the dispatcher sees raw JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/domain.hpp"
#include "core/ids.hpp"

namespace parley::protocol {

struct HelloCmd {
  std::string token;     // may be empty if the upgrade request carried a token
  int protocol = 1;
  std::string device;    // free-form device label, for session listings
};
struct PingCmd {};
struct SendCmd {
  ConversationId conversation_id = 0;  // either this ...
  UserId to_user_id = 0;               // ... or a user: the direct conversation, created on first use
  std::string client_msg_id;
  std::string text;
};
struct HistoryCmd {
  ConversationId conversation_id = 0;
  std::optional<Seq> before_seq;  // events with seq < before_seq, newest first page
  std::optional<Seq> after_seq;   // events with seq > after_seq, oldest first page
  int limit = 50;
};
struct SyncCmd {
  Pos cursor = 0;
  int limit = 100;
};
struct ConversationsListCmd {};
struct ConversationGetCmd { ConversationId conversation_id = 0; };
struct DirectOpenCmd {
  UserId user_id = 0;    // either this ...
  std::string username;  // ... or this
};
struct GroupCreateCmd {
  std::string title;
  std::vector<UserId> member_ids;  // besides the creator
};
struct ChannelCreateCmd {
  std::string title;
  std::string topic;
};
struct ChannelListCmd {
  std::string query;           // case-insensitive title prefix; empty = all
  ConversationId after_id = 0; // paging: channels with id > after_id
  int limit = 50;
};
struct ChannelJoinCmd { ConversationId conversation_id = 0; };
struct RenameCmd {
  ConversationId conversation_id = 0;
  std::string title;
};
struct MembersAddCmd {
  ConversationId conversation_id = 0;
  std::vector<UserId> user_ids;
};
struct MemberRemoveCmd {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
};
struct MemberSetRoleCmd {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  Role role = Role::member;
};
struct LeaveCmd { ConversationId conversation_id = 0; };
struct MembersListCmd {
  ConversationId conversation_id = 0;
  UserId after_user_id = 0;  // paging: members with user_id > after_user_id
  int limit = 100;
};
struct UserGetCmd {
  UserId user_id = 0;
  std::string username;
};

// REST only (POST /v1/auth/register, /v1/auth/login).
struct RegisterCmd {
  std::string username;
  std::string password;
  std::string display_name;
};
struct LoginCmd {
  std::string username;
  std::string password;
};

using Command = std::variant<HelloCmd, PingCmd, SendCmd, HistoryCmd, SyncCmd, ConversationsListCmd,
                             ConversationGetCmd, DirectOpenCmd, GroupCreateCmd, ChannelCreateCmd,
                             ChannelListCmd, ChannelJoinCmd, RenameCmd, MembersAddCmd, MemberRemoveCmd,
                             MemberSetRoleCmd, LeaveCmd, MembersListCmd, UserGetCmd, RegisterCmd, LoginCmd>;

// The wire name of a command ("send", "group.create", ...).
const char* command_name(const Command& command);

}  // namespace parley::protocol
