#include "users.hpp"

#include <algorithm>
#include <charconv>

#include "core/json_writer.hpp"

namespace parley::cli {

Outcome<std::int64_t> duration_seconds(const std::string& text, const std::string& option) {
  if (text == "never") return std::int64_t{0};
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string unit = text.substr(digits);
  struct Unit {
    const char* suffix;
    std::int64_t seconds;
  };
  static constexpr Unit kUnits[] = {{"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 7 * 86400}};
  std::int64_t scale = 0;
  for (const Unit& u : kUnits)
    if (unit == u.suffix) scale = u.seconds;
  // 10 digits are plenty (the server takes at most a year) and cannot overflow when scaled.
  if (digits == 0 || digits > 10 || scale == 0)
    return usage_error(option + ": '" + text + "' is not a duration (SECONDS, N with s, m, h, d or w, 0 or never)");
  return std::stoll(text.substr(0, digits)) * scale;
}

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
    Failure failure = reply.take_error();
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

namespace parley::cli {

void remember_users(WsSession& session, UserNames& names, std::vector<std::int64_t> user_ids) {
  std::sort(user_ids.begin(), user_ids.end());
  user_ids.erase(std::unique(user_ids.begin(), user_ids.end()), user_ids.end());
  constexpr std::size_t kBatch = 100;  // within the server's limits.max_members_per_request
  for (std::size_t start = 0; start < user_ids.size(); start += kBatch) {
    std::string fields;
    JsonWriter w(fields);
    w.key("user_ids").begin_array();
    for (std::size_t i = start; i < std::min(user_ids.size(), start + kBatch); ++i) w.value(user_ids[i]);
    w.end_array();
    auto reply = session.call("users.get", fields);
    if (!reply) return;
    for (JsonElement user : json_array(reply->root(), "users"))
      names.remember(json_int(user, "id"), json_string(user, "username"));
  }
}

}  // namespace parley::cli
