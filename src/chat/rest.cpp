// The REST API: one table of routes, each naming the command it runs. Path and query
// parameters feed the same parser as WebSocket frames, so both transports validate alike.
#include <array>

#include "chat/service.hpp"
#include "core/json_writer.hpp"

namespace parley::chat {
namespace {

struct Route {
  const char* method;
  const char* pattern;  // segments; "{name}" captures a parameter
  const char* command;  // the command type it runs
};

// Every REST endpoint. docs/protocol.md lists the same table.
constexpr std::array kRoutes = {
    Route{"GET", "/v1/me", "user.get"},
    Route{"GET", "/v1/users", "user.get"},  // ?username=
    Route{"GET", "/v1/users/{user_id}", "user.get"},
    Route{"POST", "/v1/users/{to_user_id}/messages", "send"},
    Route{"GET", "/v1/conversations", "conversations.list"},
    Route{"GET", "/v1/conversations/{conversation_id}", "conversation.get"},
    Route{"PATCH", "/v1/conversations/{conversation_id}", "conversation.rename"},
    Route{"GET", "/v1/conversations/{conversation_id}/events", "history"},
    Route{"POST", "/v1/conversations/{conversation_id}/messages", "send"},
    Route{"GET", "/v1/conversations/{conversation_id}/members", "members.list"},
    Route{"POST", "/v1/conversations/{conversation_id}/members", "members.add"},
    Route{"DELETE", "/v1/conversations/{conversation_id}/members/{user_id}", "members.remove"},
    Route{"PUT", "/v1/conversations/{conversation_id}/members/{user_id}/role", "members.set_role"},
    Route{"POST", "/v1/conversations/{conversation_id}/leave", "conversation.leave"},
    Route{"POST", "/v1/direct", "direct.open"},
    Route{"POST", "/v1/groups", "group.create"},
    Route{"GET", "/v1/channels", "channel.list"},
    Route{"POST", "/v1/channels", "channel.create"},
    Route{"POST", "/v1/channels/{conversation_id}/join", "channel.join"},
    Route{"GET", "/v1/sync", "sync"},
    Route{"POST", "/v1/conversations/{conversation_id}/receipts", "receipt"},
    Route{"GET", "/v1/conversations/{conversation_id}/messages/{seq}/receipts", "receipts.get"},
    Route{"PATCH", "/v1/conversations/{conversation_id}/messages/{seq}", "message.edit"},
    Route{"DELETE", "/v1/conversations/{conversation_id}/messages/{seq}", "message.delete"},
    Route{"GET", "/v1/conversations/{conversation_id}/messages/{seq}/edits", "message.edits"},
    Route{"POST", "/v1/conversations/{conversation_id}/messages/{seq}/reactions", "reaction.add"},
    Route{"DELETE", "/v1/conversations/{conversation_id}/messages/{seq}/reactions", "reaction.remove"},  // ?emoji=
    Route{"GET", "/v1/conversations/{conversation_id}/messages/{seq}/reactions", "reactions.get"},
    Route{"GET", "/v1/conversations/{conversation_id}/pins", "pins.list"},
    Route{"PUT", "/v1/conversations/{conversation_id}/pins/{seq}", "pin.add"},
    Route{"DELETE", "/v1/conversations/{conversation_id}/pins/{seq}", "pin.remove"},
    Route{"GET", "/v1/conversations/{conversation_id}/threads/{root_seq}", "thread.history"},
    Route{"GET", "/v1/presence", "presence.get"},  // ?user_ids=1,2
    Route{"PATCH", "/v1/me/settings", "settings.update"},
    Route{"POST", "/v1/users/lookup", "users.get"},  // {"user_ids":[...]}
};

// Matches `path` against `pattern`, appending captured parameters. False if it differs.
bool match(std::string_view pattern, std::string_view path, protocol::Params& params) {
  auto next = [](std::string_view& rest) {
    if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    auto slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    return segment;
  };
  const std::size_t before = params.size();
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty()) break;
    std::string_view want = next(pattern), got = next(path);
    if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
      if (got.empty()) break;
      params.emplace_back(std::string(want.substr(1, want.size() - 2)), std::string(got));
    } else if (want != got) {
      break;
    }
    if (pattern.empty() && (path.empty() || path == "/")) return true;
  }
  params.resize(before);
  return false;
}

gateway::HttpResponse json_response(int status, std::string body) {
  gateway::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

bool ChatService::on_request(gateway::HttpRequest& request, gateway::HttpResponder& respond) {
  const std::string& path = request.path;
  if (path == "/healthz") {
    respond(json_response(200, R"({"status":"ok"})"));
    return true;
  }
  if (path == "/readyz") {
    const bool is_ready = ready();
    respond(json_response(is_ready ? 200 : 503, is_ready ? R"({"status":"ready"})" : R"({"status":"not_ready"})"));
    return true;
  }
  if (path == "/metrics") {
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
  if ((path == "/v1/auth/register" || path == "/v1/auth/login" || path == "/v1/auth/logout") &&
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

  const bool is_logout = request.method == "POST" && path == "/v1/auth/logout";
  const Route* route = nullptr;
  protocol::Params params;
  bool path_known = is_logout;
  for (const Route& r : kRoutes) {
    if (!match(r.pattern, path, params)) continue;
    path_known = true;
    if (request.method == r.method) {
      route = &r;
      break;
    }
    params.clear();
  }
  if (!route && !is_logout) {
    respond(path_known ? json_response(405, R"({"error":{"code":"bad_request","message":"method not allowed"}})")
                       : reply_http(Reply::failure(ErrorCode::not_found, "no such endpoint")));
    return true;
  }
  if (request.bearer_token.empty()) {
    respond(reply_http(Reply::failure(ErrorCode::unauthorized, "send 'Authorization: Bearer <token>'")));
    return true;
  }
  for (auto& [key, value] : request.query) params.emplace_back(key, value);
  const std::string type = route ? route->command : "";
  const unsigned thread = request.thread_index;
  const bool is_me = path == "/v1/me";
  // The callback may run after this request object is gone: it owns what it needs.
  authenticate(request.bearer_token, thread,
               [this, body = std::move(request.body), respond, type, params = std::move(params), is_logout, is_me,
                thread](Result<Identity> identity) mutable {
                 if (!identity) return respond(reply_http(Reply::failure(identity.take_error())));
                 if (is_logout) return logout(*identity, respond, thread);
                 // /v1/me is the caller, whatever the query says (the first match wins).
                 if (is_me) params.insert(params.begin(), {"user_id", std::to_string(identity->user_id)});
                 auto command = parser(thread).parse_rest(type, body, params);
                 if (!command) return respond(reply_http(Reply::failure(command.take_error())));
                 ReplyTarget target;
                 target.thread = thread;
                 target.http = [respond](const Reply& reply) { respond(reply_http(reply)); };
                 run_command(nullptr, *identity, std::move(*command), std::move(target));
               });
  return true;
}

}  // namespace parley::chat
