// The REST calls the CLI makes (docs/protocol.md section 8 and the admin API): accounts,
// the caller's own user, and the admin endpoints. Each returns the parsed response body on a
// 2xx status; an error body becomes refused(code, message); no response becomes a network
// failure. Blocking.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "json_doc.hpp"
#include "outcome.hpp"
#include "server_url.hpp"

namespace parley::cli {

// Any route: `request.target` is the path after the server URL ("/v1/...").
Outcome<JsonDoc> rest_call(const ServerUrl& server, const HttpRequest& request);

// A `rate_limited` refusal (HTTP 429) carries the wait in its message: "... (retry after N s)",
// N being the Retry-After seconds (the error object's retry_after_ms, rounded up).

// What register and login send. Empty optional fields are left out.
struct SignIn {
  std::string username;
  std::string password;
  std::string display_name;  // register only
  std::string invite;        // register only: the invite code (auth.registration = invite)
  std::string device;        // a label for the account's device list
};

// POST /v1/auth/register and /v1/auth/login: {token, token_id, expires_at, user}.
Outcome<JsonDoc> register_account(const ServerUrl& server, const SignIn& sign_in);
Outcome<JsonDoc> login(const ServerUrl& server, const SignIn& sign_in);
// POST /v1/auth/logout: {revoked}.
Outcome<JsonDoc> logout(const ServerUrl& server, const std::string& token);
// POST /v1/auth/password_check (no token): {acceptable, entropy_bits, problem?, min_...}.
// `username` and `display_name` may be empty.
Outcome<JsonDoc> password_check(const ServerUrl& server, const std::string& password, const std::string& username,
                                const std::string& display_name);
// GET /v1/me: {user}.
Outcome<JsonDoc> fetch_me(const ServerUrl& server, const std::string& token);

// The caller's account (docs/protocol.md 2.7), all with the user's `token`:
// GET /v1/account/sessions: {sessions: [{token_id, device, address, created_at, ...}]}.
Outcome<JsonDoc> account_sessions(const ServerUrl& server, const std::string& token);
// DELETE /v1/account/sessions/{token_id}: {token_id, revoked}.
Outcome<JsonDoc> revoke_session(const ServerUrl& server, const std::string& token, const std::string& token_id);
// POST /v1/account/logout_all: {revoked, kept_current}.
Outcome<JsonDoc> logout_all(const ServerUrl& server, const std::string& token, bool keep_current);
// POST /v1/account/password: {changed, revoked}.
Outcome<JsonDoc> change_password(const ServerUrl& server, const std::string& token, const std::string& current_password,
                                 const std::string& new_password);

struct NewAccount {
  std::string username;
  std::string password;  // empty: token-only account
};
// POST /v1/admin/users with issue_tokens: {users: [{username, id, token, expires_at, user} |
// {username, error}]}. Slow with passwords (each is hashed), hence the long timeout.
Outcome<JsonDoc> admin_create_users(const ServerUrl& server, const std::string& admin_token,
                                    const std::vector<NewAccount>& accounts);
// GET /v1/admin/sessions: {sessions: [...]}.
Outcome<JsonDoc> admin_sessions(const ServerUrl& server, const std::string& admin_token);

struct NewInvite {
  std::int64_t uses = 1;
  std::int64_t expires_in_s = -1;  // -1: the server's default (a week); 0: never
  std::string note;
};
// POST /v1/admin/invites: {code, invite: {id, uses_left, expires_at, created_at, note}}.
Outcome<JsonDoc> admin_create_invite(const ServerUrl& server, const std::string& admin_token, const NewInvite& invite);
// GET /v1/admin/invites: {invites: [...]} (usable ones, without codes).
Outcome<JsonDoc> admin_list_invites(const ServerUrl& server, const std::string& admin_token);
// DELETE /v1/admin/invites/{id}: {id, deleted}.
Outcome<JsonDoc> admin_delete_invite(const ServerUrl& server, const std::string& admin_token, const std::string& id);

}  // namespace parley::cli
