#include "rest_api.hpp"

#include <string_view>

#include "core/json_writer.hpp"

namespace parley::cli {

Outcome<JsonDoc> rest_call(const ServerUrl& server, const HttpRequest& request) {
  auto reply = http_exchange(server, request);
  if (!reply) return reply.take_error();
  auto doc = JsonDoc::parse(reply->body);
  const bool success = reply->status >= 200 && reply->status < 300;
  if (success && doc) return doc;
  bool has_error = false;
  if (doc) {
    const JsonElement error = json_object(doc->root(), "error", has_error);
    if (has_error) {
      std::string message = json_string(error, "message");
      // Say how long to wait, as the Retry-After header does (whole seconds, rounded up).
      if (const std::int64_t wait_ms = json_int(error, "retry_after_ms"); wait_ms > 0)
        message += " (retry after " + std::to_string((wait_ms + 999) / 1000) + " s)";
      return refused(json_string(error, "code"), std::move(message));
    }
  }
  if (success) return doc.take_error();
  return refused("http_" + std::to_string(reply->status),
                 request.method + " " + request.target + " answered HTTP " + std::to_string(reply->status));
}

namespace {

HttpRequest post_json(std::string target, std::string body) {
  HttpRequest request;
  request.method = "POST";
  request.target = std::move(target);
  request.body = std::move(body);
  return request;
}

HttpRequest with_token(std::string method, std::string target, std::string token, std::string body = {}) {
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.bearer_token = std::move(token);
  request.body = std::move(body);
  return request;
}

// `value` %-encoded for a path (unreserved characters as they are), so that '?', '#' or '%' in
// a typed id stay part of it. (parleyd decodes the path before it splits it into segments: an
// id with '/' reaches no route and gets not_found.)
std::string path_segment(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// Argon2 hashing of up to 1000 passwords runs on the server before it answers.
constexpr int kAdminTimeoutMs = 600000;
// Checking the current password and hashing the new one, behind other sign-ins in the queue.
constexpr int kPasswordTimeoutMs = 120000;

}  // namespace

Outcome<JsonDoc> register_account(const ServerUrl& server, const SignIn& sign_in) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().field("username", sign_in.username).field("password", sign_in.password);
  if (!sign_in.display_name.empty()) w.field("display_name", sign_in.display_name);
  if (!sign_in.invite.empty()) w.field("invite", sign_in.invite);
  if (!sign_in.device.empty()) w.field("device", sign_in.device);
  w.end_object();
  return rest_call(server, post_json("/v1/auth/register", std::move(body)));
}

Outcome<JsonDoc> login(const ServerUrl& server, const SignIn& sign_in) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().field("username", sign_in.username).field("password", sign_in.password);
  if (!sign_in.device.empty()) w.field("device", sign_in.device);
  w.end_object();
  return rest_call(server, post_json("/v1/auth/login", std::move(body)));
}

Outcome<JsonDoc> logout(const ServerUrl& server, const std::string& token) {
  HttpRequest request = post_json("/v1/auth/logout", "");
  request.bearer_token = token;
  return rest_call(server, request);
}

Outcome<JsonDoc> password_check(const ServerUrl& server, const std::string& password, const std::string& username,
                                const std::string& display_name) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().field("password", password);
  if (!username.empty()) w.field("username", username);
  if (!display_name.empty()) w.field("display_name", display_name);
  w.end_object();
  return rest_call(server, post_json("/v1/auth/password_check", std::move(body)));
}

Outcome<JsonDoc> fetch_me(const ServerUrl& server, const std::string& token) {
  HttpRequest request;
  request.target = "/v1/me";
  request.bearer_token = token;
  return rest_call(server, request);
}

Outcome<JsonDoc> account_sessions(const ServerUrl& server, const std::string& token) {
  return rest_call(server, with_token("GET", "/v1/account/sessions", token));
}

Outcome<JsonDoc> revoke_session(const ServerUrl& server, const std::string& token, const std::string& token_id) {
  return rest_call(server, with_token("DELETE", "/v1/account/sessions/" + path_segment(token_id), token));
}

Outcome<JsonDoc> logout_all(const ServerUrl& server, const std::string& token, bool keep_current) {
  std::string body;
  JsonWriter(body).begin_object().field("keep_current", keep_current).end_object();
  return rest_call(server, with_token("POST", "/v1/account/logout_all", token, std::move(body)));
}

Outcome<JsonDoc> change_password(const ServerUrl& server, const std::string& token, const std::string& current_password,
                                 const std::string& new_password) {
  std::string body;
  JsonWriter(body)
      .begin_object()
      .field("current_password", current_password)
      .field("new_password", new_password)
      .end_object();
  // The server hashes the new password (argon2id) before it answers.
  HttpRequest request = with_token("POST", "/v1/account/password", token, std::move(body));
  request.timeout_ms = kPasswordTimeoutMs;
  return rest_call(server, request);
}

Outcome<JsonDoc> admin_create_users(const ServerUrl& server, const std::string& admin_token,
                                    const std::vector<NewAccount>& accounts) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().key("users").begin_array();
  for (const auto& account : accounts) {
    w.begin_object().field("username", account.username);
    if (!account.password.empty()) w.field("password", account.password);
    w.end_object();
  }
  w.end_array().field("issue_tokens", true).end_object();
  HttpRequest request = post_json("/v1/admin/users", std::move(body));
  request.bearer_token = admin_token;
  request.timeout_ms = kAdminTimeoutMs;
  return rest_call(server, request);
}

Outcome<JsonDoc> admin_sessions(const ServerUrl& server, const std::string& admin_token) {
  HttpRequest request;
  request.target = "/v1/admin/sessions";
  request.bearer_token = admin_token;
  return rest_call(server, request);
}

Outcome<JsonDoc> admin_create_invite(const ServerUrl& server, const std::string& admin_token, const NewInvite& invite) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().field("uses", invite.uses);
  if (invite.expires_in_s >= 0) w.field("expires_in_s", invite.expires_in_s);
  if (!invite.note.empty()) w.field("note", invite.note);
  w.end_object();
  return rest_call(server, with_token("POST", "/v1/admin/invites", admin_token, std::move(body)));
}

Outcome<JsonDoc> admin_list_invites(const ServerUrl& server, const std::string& admin_token) {
  return rest_call(server, with_token("GET", "/v1/admin/invites", admin_token));
}

Outcome<JsonDoc> admin_delete_invite(const ServerUrl& server, const std::string& admin_token, const std::string& id) {
  return rest_call(server, with_token("DELETE", "/v1/admin/invites/" + path_segment(id), admin_token));
}

}  // namespace parley::cli
