// The REST routes: one table, each naming the command it runs.
#include "protocol/routes.hpp"

#include <array>

namespace parley::protocol {
namespace {

struct Route {
  const char* method;
  const char* pattern;  // segments; "{name}" captures a parameter
  const char* command;  // the command type it runs
};

// Every REST endpoint. docs/protocol.md lists the same table.
constexpr std::array kRoutes = {
    Route{"GET", "/v1/me", "user.get"},
    Route{"PATCH", "/v1/me", "account.update_profile"},
    Route{"GET", "/v1/users", "user.get"},  // ?username=
    Route{"GET", "/v1/users/search", "users.search"},  // before /v1/users/{user_id}, which would take "search"
    Route{"GET", "/v1/users/{user_id}", "user.get"},
    Route{"POST", "/v1/users/{to_user_id}/messages", "send"},
    Route{"GET", "/v1/conversations", "conversations.list"},
    Route{"GET", "/v1/conversations/{conversation_id}", "conversation.get"},
    Route{"PATCH", "/v1/conversations/{conversation_id}", "conversation.rename"},
    Route{"GET", "/v1/conversations/{conversation_id}/events", "history"},
    Route{"GET", "/v1/conversations/{conversation_id}/settings", "conversation.settings"},  // reads them
    Route{"PATCH", "/v1/conversations/{conversation_id}/settings", "conversation.settings"},
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
    Route{"POST", "/v1/media", "media.upload"},
    Route{"POST", "/v1/media/{media_id}/complete", "media.complete"},
    Route{"POST", "/v1/media/urls", "media.urls"},
    Route{"GET", "/v1/push/subscriptions", "push.subscriptions"},
    Route{"POST", "/v1/push/subscriptions", "push.subscribe"},
    Route{"DELETE", "/v1/push/subscriptions/{subscription_id}", "push.unsubscribe"},
    Route{"POST", "/v1/conversations/{conversation_id}/receipts", "receipt"},
    Route{"GET", "/v1/conversations/{conversation_id}/messages/{seq}/receipts", "receipts.get"},
    Route{"PATCH", "/v1/conversations/{conversation_id}/messages/{seq}", "message.edit"},
    Route{"DELETE", "/v1/conversations/{conversation_id}/messages/{seq}", "message.delete"},
    Route{"POST", "/v1/conversations/{conversation_id}/messages/{seq}/hide", "message.hide"},
    Route{"POST", "/v1/conversations/{conversation_id}/hide", "message.hide"},  // {"seqs":[...]}
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
    Route{"GET", "/v1/me/notifications", "account.notifications"},
    Route{"PATCH", "/v1/me/notifications", "account.notifications"},
    Route{"POST", "/v1/users/lookup", "users.get"},  // {"user_ids":[...]}
    Route{"GET", "/v1/account/sessions", "account.sessions"},
    Route{"DELETE", "/v1/account/sessions/{token_id}", "account.revoke_session"},
    Route{"POST", "/v1/account/logout_all", "account.logout_all"},
    Route{"POST", "/v1/account/password", "account.change_password"},
};

// Matches `path` against `pattern`, appending captured parameters. False if it differs.
bool match(std::string_view pattern, std::string_view path, Params& params) {
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

}  // namespace

RouteMatch match_route(std::string_view method, std::string_view path, Params& params) {
  RouteMatch result;
  const std::size_t given = params.size();  // the caller's own parameters stay
  for (const Route& r : kRoutes) {
    if (!match(r.pattern, path, params)) continue;
    result.path_known = true;
    if (method == r.method) {
      result.command = r.command;
      return result;
    }
    params.resize(given);
  }
  return result;
}

}  // namespace parley::protocol
