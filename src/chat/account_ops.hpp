// Account writes, each a ChatOp run by the store's writer: users (with their first token),
// tokens (issued, revoked, used), "log out everywhere", password changes, invites, and the
// upkeep of account rows (expired rows purged, username skeletons of older users filled in).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "chat/chat_op.hpp"
#include "chat/service.hpp"
#include "core/json_writer.hpp"

namespace parley::chat {

// A user to create (CreateUserOp).
struct NewAccount {
  std::string username;        // lower case, valid; for a host subject: the preferred name, may be empty
  std::string display_name;    // normalized; empty = the username
  std::string password_hash;   // empty: the user signs in with tokens only
  std::string external_id;     // a host application's subject: find or create its user
  std::string invite_hash;     // spend one use of this invite (hex SHA-256 of the code); empty: none
  std::optional<ClientInfo> token_for;  // issue a first token to this client
};

// What CreateUserOp made. Filled on the writer thread; read after the reply.
struct CreatedAccount {
  std::optional<store::UserRecord> user;
  std::string token_fields;    // with NewAccount::token_for: the fields of a sign-in reply
};

// Creates a user (or, for an external id, finds or creates it). Errors: conflict (username
// taken, or no name left for a host subject), forbidden (invite unknown, expired or used up),
// conflict (the display name looks like another user's username).
std::unique_ptr<ChatOp> make_create_user_op(ChatService& service, ReplyTarget target, NewAccount account,
                                            std::shared_ptr<CreatedAccount> created);
// Issues and stores a token for a signed-in user; the reply has the sign-in fields.
std::unique_ptr<ChatOp> make_issue_token_op(ChatService& service, ReplyTarget target, UserId user, ClientInfo client);
// Revokes the caller's own token (logout); reply {"revoked": true}.
std::unique_ptr<ChatOp> make_logout_op(ChatService& service, ReplyTarget target, Identity caller);
// Revokes one of the caller's tokens by id; reply {"token_id", "revoked": true}; not_found if
// the caller holds no such token.
std::unique_ptr<ChatOp> make_revoke_session_op(ChatService& service, ReplyTarget target, Identity caller,
                                               std::string token_id);
// Revokes every token of the caller (but the one it uses, with keep_current); reply
// {"revoked": N, "kept_current": bool}.
std::unique_ptr<ChatOp> make_logout_all_op(ChatService& service, ReplyTarget target, Identity caller,
                                           bool keep_current);
// Stores a new password hash and revokes every other token of the caller; reply
// {"changed": true, "revoked": N}.
std::unique_ptr<ChatOp> make_change_password_op(ChatService& service, ReplyTarget target, Identity caller,
                                                std::string new_hash);
// Sets the caller's display name (`display_name`: normalized; empty = the username) and its
// users.search terms in one transaction. conflict if the name looks like another user's
// username. Reply {"user": {...}}; when the name changed, every session of the caller and of its
// peers (the presence audience: active direct and group co-members) gets {"type":"user",...}
// before the reply.
std::unique_ptr<ChatOp> make_update_profile_op(ChatService& service, ReplyTarget target, UserId caller,
                                               std::string display_name);
// Records when a token was last used. No reply.
std::unique_ptr<ChatOp> make_touch_token_op(ChatService& service, std::string token_id, std::int64_t at_ms);
// Deletes expired tokens, revoked-token entries and invites; then fills in up to a few
// thousand missing username skeletons. `done` (on I/O thread 0) learns how many were still
// missing before this run.
std::unique_ptr<ChatOp> make_upkeep_op(ChatService& service, std::function<void(std::size_t missing)> done);
// Creates an invite; reply {"invite": {...}, "code": "..."} (the code is shown only here).
std::unique_ptr<ChatOp> make_create_invite_op(ChatService& service, ReplyTarget target, int uses,
                                              std::int64_t expires_at_s, std::string note);
// Deletes an invite by id; not_found if there is none.
std::unique_ptr<ChatOp> make_delete_invite_op(ChatService& service, ReplyTarget target, std::string id);

// conflict if `display_name` looks like the username of a user other than `own_username`.
Status check_impersonation(store::ReadTxn& txn, const std::string& display_name, const std::string& own_username);

// The stored form of an invite code: hex SHA-256.
std::string invite_code_hash(std::string_view code);

// An invite as JSON: {"id", "uses_left", "expires_at" (seconds, 0 = never), "created_at", "note"}.
void write_invite(JsonWriter& w, const store::InviteRecord& invite);

}  // namespace parley::chat
