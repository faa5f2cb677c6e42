// The REST API: the route table (protocol/routes.cpp) names the command a request runs; path
// and query parameters feed the same parser as WebSocket frames, so both transports validate alike.
#include <openssl/crypto.h>

#include "chat/service.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "protocol/routes.hpp"

namespace parley::chat {
namespace {

gateway::HttpResponse json_response(int status, std::string body) {
  gateway::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

const gateway::MediaFileHandler* ChatService::media_files() const { return media_files_.get(); }

bool ChatService::on_request(gateway::HttpRequest& request, gateway::HttpResponder& respond) {
  const std::string& path = request.path;
  if (path == "/healthz") {
    respond(json_response(200, R"({"status":"ok"})"));
    return true;
  }
  if (path == "/readyz") {
    const bool is_ready = serving();
    respond(json_response(is_ready ? 200 : 503, is_ready ? R"({"status":"ready"})"
                                                : draining() ? R"({"status":"draining"})"
                                                             : R"({"status":"not_ready"})"));
    return true;
  }
  if (path == "/metrics") {
    // Not for the public: on the operator port, or with the metrics token.
    const std::string& token = config_.server.metrics_token;
    if (!request.operator_port) {
      if (token.empty()) {
        respond(reply_http(Reply::failure(ErrorCode::not_found, "no such endpoint")));
        return true;
      }
      if (request.bearer_token.size() != token.size() ||
          CRYPTO_memcmp(request.bearer_token.data(), token.data(), token.size()) != 0) {
        respond(reply_http(Reply::failure(ErrorCode::unauthorized, "the metrics token is required")));
        return true;
      }
    }
    gateway::HttpResponse response;
    response.content_type = "text/plain; version=0.0.4";
    response.body = metrics_text();
    respond(std::move(response));
    return true;
  }
  if (path.rfind("/v1/", 0) != 0) return false;

  if (!ready()) {
    respond(reply_http(Reply::failure(ErrorCode::unavailable, "the server is not ready")));
    return true;
  }
  if (path.rfind("/v1/admin/", 0) == 0) return handle_admin(request, respond);
  if ((path == "/v1/auth/register" || path == "/v1/auth/login" || path == "/v1/auth/logout" ||
       path == "/v1/auth/password_check") &&
      request.method != "POST") {
    respond(json_response(405, R"({"error":{"code":"bad_request","message":"method not allowed: use POST"}})"));
    return true;
  }
  if (request.method == "POST" && path == "/v1/auth/register") {
    register_account(request, respond);
    return true;
  }
  if (request.method == "POST" && path == "/v1/auth/login") {
    login(request, respond);
    return true;
  }
  if (request.method == "POST" && path == "/v1/auth/password_check") {
    password_check(request, respond);
    return true;
  }
  if (path == "/v1/auth/config") {
    if (request.method != "GET") {
      respond(json_response(405, R"({"error":{"code":"bad_request","message":"method not allowed: use GET"}})"));
      return true;
    }
    auth_config(respond);
    return true;
  }

  const bool is_logout = request.method == "POST" && path == "/v1/auth/logout";
  protocol::Params params;
  const protocol::RouteMatch route = protocol::match_route(request.method, path, params);
  if (route.command.empty() && !is_logout) {
    respond(route.path_known ? json_response(405, R"({"error":{"code":"bad_request","message":"method not allowed"}})")
                             : reply_http(Reply::failure(ErrorCode::not_found, "no such endpoint")));
    return true;
  }
  if (request.bearer_token.empty()) {
    respond(reply_http(Reply::failure(ErrorCode::unauthorized, "send 'Authorization: Bearer <token>'")));
    return true;
  }
  for (auto& [key, value] : request.query) params.emplace_back(key, value);
  const std::string type(route.command);
  const unsigned thread = request.thread_index;
  const bool is_me = path == "/v1/me";
  ClientInfo client{request.address, request.user_agent};
  // The callback may run after this request object is gone: it owns what it needs.
  authenticate(request.bearer_token, thread,
               [this, body = std::move(request.body), respond, type, params = std::move(params), is_logout, is_me,
                thread, client = std::move(client)](Result<Identity> identity) mutable {
                 if (!identity) return respond(reply_http(Reply::failure(identity.take_error())));
                 std::int64_t retry_after_ms = 0;
                 if (!admit_user_request(identity->user_id, retry_after_ms))
                   return respond(reply_http(Reply::rate_limited(
                       "too many requests from this user (limits.user_requests_per_second)", retry_after_ms)));
                 touch_token(*identity);
                 if (is_logout) return logout(*identity, respond, thread);
                 // /v1/me is the caller, whatever the query says (the first match wins).
                 if (is_me) params.insert(params.begin(), {"user_id", std::to_string(identity->user_id)});
                 auto command = parser(thread).parse_rest(type, body, params);
                 if (!command) return respond(reply_http(Reply::failure(command.take_error())));
                 ReplyTarget target;
                 target.thread = thread;
                 target.http = [respond](const Reply& reply) { respond(reply_http(reply)); };
                 run_command(nullptr, *identity, client, std::move(*command), std::move(target));
               });
  return true;
}

}  // namespace parley::chat
