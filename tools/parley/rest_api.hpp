// The REST calls the CLI makes (docs/protocol.md section 8 and the admin API): accounts,
// the caller's own user, and the admin endpoints. Each returns the parsed response body on a
// 2xx status; an error body becomes refused(code, message); no response becomes a network
// failure. Blocking.
#pragma once

#include <string>
#include <vector>

#include "http_client.hpp"
#include "json_doc.hpp"
#include "outcome.hpp"
#include "server_url.hpp"

namespace parley::cli {

// Any route: `request.target` is the path after the server URL ("/v1/...").
Outcome<JsonDoc> rest_call(const ServerUrl& server, const HttpRequest& request);

// POST /v1/auth/register and /v1/auth/login: {token, expires_at, user}.
Outcome<JsonDoc> register_account(const ServerUrl& server, const std::string& username, const std::string& password,
                                  const std::string& display_name);
Outcome<JsonDoc> login(const ServerUrl& server, const std::string& username, const std::string& password);
// POST /v1/auth/logout: {revoked}.
Outcome<JsonDoc> logout(const ServerUrl& server, const std::string& token);
// GET /v1/me: {user}.
Outcome<JsonDoc> fetch_me(const ServerUrl& server, const std::string& token);

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

}  // namespace parley::cli
