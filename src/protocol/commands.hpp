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
  Seq reply_to_seq = 0;     // quote this message (0 = none)
  Seq thread_root_seq = 0;  // reply in the thread under this message (0 = none)
  std::vector<std::string> attachments;  // media ids, distinct, in order (then `text` may be empty)
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
struct UsersGetCmd {
  std::vector<UserId> user_ids;
};
struct UserGetCmd {
  UserId user_id = 0;
  std::string username;
};

// Live features: receipts, typing, presence, edits, reactions, pins, threads, settings.
struct ReceiptCmd {
  ConversationId conversation_id = 0;
  Seq delivered_seq = 0;  // 0 = unchanged
  Seq read_seq = 0;       // 0 = unchanged
};
struct ReceiptsGetCmd {
  ConversationId conversation_id = 0;
  Seq seq = 0;
};
struct TypingCmd {
  ConversationId conversation_id = 0;
  bool typing = true;  // "start" (default) or "stop"
};
struct PresenceSetCmd {
  bool away = false;  // "online" or "away"
};
struct PresenceGetCmd {
  std::vector<UserId> user_ids;
};
struct SettingsUpdateCmd {
  std::optional<bool> read_receipts;
  std::optional<bool> last_seen;
  std::optional<bool> discoverable;
};
// Finding people by a prefix of their username or display name.
struct UsersSearchCmd {
  std::string query;   // as sent; folded and trimmed by the search (chat/user_search.cpp)
  std::string cursor;  // opaque, from the previous page; empty = the first page
  int limit = 20;
};
// The caller's own settings of one conversation; an absent field keeps its value.
struct ConversationSettingsCmd {
  ConversationId conversation_id = 0;
  std::optional<std::int64_t> muted_until;  // ms since the epoch; 0 = not muted, -1 = until unmuted
  std::optional<bool> archived;
  std::optional<bool> pinned;
  std::optional<bool> marked_unread;
  std::optional<Seq> cleared_seq;           // "clear chat" up to this seq (only moves forward)
  std::optional<int> notify;                // index in kNotifyLevelNames (= store::NotifyLevel)
};
// conversation.settings `notify`, by store::NotifyLevel value.
inline constexpr std::string_view kNotifyLevelNames[] = {"default", "all", "mentions", "none"};
// The caller's do-not-disturb (all of its devices); an absent field keeps its value.
struct AccountNotificationsCmd {
  std::optional<std::int64_t> dnd_until;  // ms since the epoch; 0 = off, -1 = until turned off
  bool schedule_given = false;            // `schedule` was sent: an object, or null (remove)
  std::string timezone;                   // the schedule's IANA zone ("" with schedule_given: remove)
  int quiet_start_min = 0;                // "HH:MM" as minutes after midnight
  int quiet_end_min = 0;
};
// Hides messages from the caller's own reads ("delete for me"): the request's `seq`, or its
// `seqs` (several == true).
struct MessageHideCmd {
  ConversationId conversation_id = 0;
  std::vector<Seq> seqs;  // ascending, each once
  bool several = false;   // named as `seqs` (the reply names them the same way)
};
// Commands that name one message: message.edit/delete/edits, reaction.*, reactions.get, pin.*.
struct MessageRef {
  ConversationId conversation_id = 0;
  Seq seq = 0;
};
struct MessageEditCmd {
  MessageRef message;
  std::string text;
};
struct MessageDeleteCmd { MessageRef message; };
struct MessageEditsCmd { MessageRef message; };
struct ReactionCmd {
  MessageRef message;
  std::string emoji;
  bool add = true;
};
struct ReactionsGetCmd { MessageRef message; };
struct PinCmd {
  MessageRef message;
  bool add = true;
};
struct PinsListCmd { ConversationId conversation_id = 0; };
struct ThreadHistoryCmd {
  ConversationId conversation_id = 0;
  Seq root_seq = 0;
  std::optional<Seq> before_seq;
  std::optional<Seq> after_seq;
  int limit = 50;
};

// REST only (POST /v1/auth/register, /v1/auth/login, /v1/auth/password_check).
struct RegisterCmd {
  std::string username;
  std::string password;
  std::string display_name;
  std::string invite;    // required when auth.registration = invite
  std::string device;    // label of the device signing in (else the User-Agent)
};
struct LoginCmd {
  std::string username;
  std::string password;
  std::string device;
};
struct PasswordCheckCmd {
  std::string password;
  std::string username;
  std::string display_name;
};

// The caller's own account: its signed-in devices (tokens) and its password.
struct AccountSessionsCmd {};
struct AccountRevokeSessionCmd { std::string token_id; };
struct AccountLogoutAllCmd { bool keep_current = true; };
struct AccountChangePasswordCmd {
  std::string current_password;
  std::string new_password;
};
// The caller's own profile. display_name as sent (normalized by the chat layer); empty = the username.
struct AccountUpdateProfileCmd {
  std::string display_name;
};

// Asks for an upload (issue 14): the server answers with a media id and where to PUT the bytes.
struct MediaUploadCmd {
  std::int64_t size = 0;     // exactly the bytes that will be uploaded
  std::string content_type;  // what the client says it is, "type/subtype", lower case (checked against the bytes later)
  std::string file_name;     // as the user named it (sanitized by the chat layer)
  std::string sha256;        // optional: lower-case hex SHA-256 of the file; "" = none
};

// The uploader says an upload is done (issue 14): the server checks and describes the file.
struct MediaCompleteCmd {
  std::string media_id;  // 22 characters of A-Z a-z 0-9 - _
};

// Download URLs for media the caller may see (issue 14).
struct MediaUrlsCmd {
  std::vector<std::string> media_ids;  // distinct media ids, in order
};

// Registers where to notify this device while it has no live session (issue 15). Checked
// further by the chat layer (URL scheme, keys, the per-user limit).
struct PushSubscribeCmd {
  std::string kind;         // webpush | fcm | apns | webhook
  std::string endpoint;     // webpush, webhook: "endpoint" (a URL); fcm, apns: "token"
  std::string p256dh;       // keys.p256dh, base64url; "" = none (required for webpush)
  std::string auth;         // keys.auth, base64url; with p256dh
  std::string topic;        // apns: the app's bundle id; "" = none
  std::string environment;  // apns: production | sandbox; "" = production
};
// The caller's push subscriptions (every device of the user).
struct PushSubscriptionsCmd {};
struct PushUnsubscribeCmd {
  std::int64_t subscription_id = 0;
};

using Command = std::variant<HelloCmd, PingCmd, SendCmd, HistoryCmd, SyncCmd, ConversationsListCmd,
                             ConversationGetCmd, DirectOpenCmd, GroupCreateCmd, ChannelCreateCmd,
                             ChannelListCmd, ChannelJoinCmd, RenameCmd, MembersAddCmd, MemberRemoveCmd,
                             MemberSetRoleCmd, LeaveCmd, MembersListCmd, UserGetCmd, RegisterCmd, LoginCmd, ReceiptCmd,
                             ReceiptsGetCmd, TypingCmd, PresenceSetCmd, PresenceGetCmd, SettingsUpdateCmd,
                             MessageEditCmd, MessageDeleteCmd, MessageEditsCmd, ReactionCmd, ReactionsGetCmd, PinCmd,
                             PinsListCmd, ThreadHistoryCmd, UsersGetCmd, PasswordCheckCmd, AccountSessionsCmd,
                             AccountRevokeSessionCmd, AccountLogoutAllCmd, AccountChangePasswordCmd,
                             ConversationSettingsCmd, UsersSearchCmd, AccountUpdateProfileCmd, MessageHideCmd, MediaUploadCmd,
                             MediaCompleteCmd, MediaUrlsCmd, PushSubscribeCmd, PushSubscriptionsCmd, PushUnsubscribeCmd,
                             AccountNotificationsCmd>;

// The wire name of a command ("send", "group.create", ...).
const char* command_name(const Command& command);

}  // namespace parley::protocol
