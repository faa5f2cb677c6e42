// User arguments and user names. A USER argument is a numeric id ("42"), a username ("bob"),
// or "@name" for a username made of digits only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "json_doc.hpp"
#include "outcome.hpp"
#include "ws_session.hpp"

namespace parley::cli {

// The user id a USER argument names, looking usernames up with user.get.
Outcome<std::int64_t> resolve_user_id(WsSession& session, const std::string& argument);

// A positive decimal id argument (conversation ids, seqs); `what` names it in the usage error.
// "3600", "90s", "45m", "12h", "7d", "2w" → seconds; "0" and "never" → 0. A usage error naming
// `option` (e.g. "--expires-in") otherwise.
Outcome<std::int64_t> duration_seconds(const std::string& text, const std::string& option);
Outcome<std::int64_t> parse_id(const std::string& text, const char* what);

// Display names for user ids, fetched once each through `fetch` (which returns a reply
// holding a "user" object) and cached. An id it cannot resolve shows as "user#ID".
class UserNames {
 public:
  using Fetch = std::function<Outcome<JsonDoc>(std::int64_t user_id)>;
  explicit UserNames(Fetch fetch) : fetch_(std::move(fetch)) {}

  const std::string& name_of(std::int64_t user_id);
  void remember(std::int64_t user_id, std::string username) { names_[user_id] = std::move(username); }

 private:
  Fetch fetch_;
  std::unordered_map<std::int64_t, std::string> names_;
};

// A UserNames::Fetch over a WebSocket session (user.get).
UserNames::Fetch fetch_user_over(WsSession& session);

// Learns the names of many users with a few users.get calls instead of one user.get each (for
// lists). Ids not found, or a failed call, are left to UserNames::name_of.
void remember_users(WsSession& session, UserNames& names, std::vector<std::int64_t> user_ids);

}  // namespace parley::cli
