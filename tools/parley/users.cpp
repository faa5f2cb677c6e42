#include "users.hpp"

#include <charconv>

#include "core/json_writer.hpp"

namespace parley::cli {

Outcome<std::int64_t> parse_id(const std::string& text, const char* what) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value <= 0)
    return usage_error(std::string(what) + " must be a positive number, not '" + text + "'");
  return value;
}

Outcome<std::int64_t> resolve_user_id(WsSession& session, const std::string& argument) {
  if (argument.empty()) return usage_error("empty user name");
  const bool forced_name = argument.front() == '@';
  if (!forced_name && argument.find_first_not_of("0123456789") == std::string::npos)
    return parse_id(argument, "a user id");
  std::string fields;
  JsonWriter(fields).field("username", forced_name ? argument.substr(1) : argument);
  auto reply = session.call("user.get", fields);
  if (!reply) {
    Failure failure = reply.take_failure();
    if (failure.code == "not_found") failure.message = "no such user: " + argument;
    return failure;
  }
  bool found = false;
  const JsonElement user = json_object(reply->root(), "user", found);
  return json_int(user, "id");
}

const std::string& UserNames::name_of(std::int64_t user_id) {
  if (auto it = names_.find(user_id); it != names_.end()) return it->second;
  std::string name = "user#" + std::to_string(user_id);
  if (auto reply = fetch_(user_id)) {
    bool found = false;
    const JsonElement user = json_object(reply->root(), "user", found);
    if (found && !json_string(user, "username").empty()) name = json_string(user, "username");
  }
  return names_[user_id] = std::move(name);
}

UserNames::Fetch fetch_user_over(WsSession& session) {
  return [&session](std::int64_t user_id) {
    std::string fields;
    JsonWriter(fields).field("user_id", user_id);
    return session.call("user.get", fields);
  };
}

}  // namespace parley::cli
