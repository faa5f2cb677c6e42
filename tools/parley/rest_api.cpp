#include "rest_api.hpp"

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
    if (has_error) return refused(json_string(error, "code"), json_string(error, "message"));
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

// Argon2 hashing of up to 1000 passwords runs on the server before it answers.
constexpr int kAdminTimeoutMs = 600000;

}  // namespace

Outcome<JsonDoc> register_account(const ServerUrl& server, const std::string& username, const std::string& password,
                                  const std::string& display_name) {
  std::string body;
  JsonWriter w(body);
  w.begin_object().field("username", username).field("password", password);
  if (!display_name.empty()) w.field("display_name", display_name);
  w.end_object();
  return rest_call(server, post_json("/v1/auth/register", std::move(body)));
}

Outcome<JsonDoc> login(const ServerUrl& server, const std::string& username, const std::string& password) {
  std::string body;
  JsonWriter(body).begin_object().field("username", username).field("password", password).end_object();
  return rest_call(server, post_json("/v1/auth/login", std::move(body)));
}

Outcome<JsonDoc> logout(const ServerUrl& server, const std::string& token) {
  HttpRequest request = post_json("/v1/auth/logout", "");
  request.bearer_token = token;
  return rest_call(server, request);
}

Outcome<JsonDoc> fetch_me(const ServerUrl& server, const std::string& token) {
  HttpRequest request;
  request.target = "/v1/me";
  request.bearer_token = token;
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

}  // namespace parley::cli
