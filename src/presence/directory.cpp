// open_directory: checks the URL and hands it to the engine its scheme names. Every URL error is
// reported here, at start-up, naming the config key and never showing the password.
#include "presence/directory.hpp"

#include <cctype>
#include <charconv>
#include <limits>

#include "presence/inproc_directory.hpp"
#include "presence/redis_directory.hpp"

namespace parley::presence {
namespace {

constexpr std::string_view kInprocScheme = "inproc:";
constexpr std::string_view kRedisScheme = "redis://";
constexpr std::string_view kExpected = "expected inproc:NAME or redis://[:password@]host[:port][/db]";

Error url_error(const std::string& what) { return make_error(ErrorCode::invalid_field, "directory.url: " + what); }

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

// The URL with "user:password@" taken out, for messages.
std::string shown(std::string_view url) {
  const auto scheme = url.find("://");
  const std::size_t authority = scheme == std::string_view::npos ? 0 : scheme + 3;
  const auto at = url.rfind('@');
  if (at == std::string_view::npos || at < authority) return std::string(url);
  return std::string(url.substr(0, authority)) + std::string(url.substr(at + 1));
}

// A decimal in [low, high], nothing else.
bool parse_number(std::string_view text, int low, int high, int& out) {
  int number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || number < low || number > high)
    return false;
  out = number;
  return true;
}

// "redis://[[user]:password@]host[:port][/db]". The password is everything between the first ':'
// of the user info and the last '@', taken literally (no percent-decoding), so it may contain
// '@', ':' and '/'.
Result<RedisAddress> parse_redis_url(std::string_view url) {
  const std::string quoted = "\"" + shown(url) + "\"";
  RedisAddress address;
  std::string_view rest = url.substr(kRedisScheme.size());
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view user_info = rest.substr(0, at);
    const auto colon = user_info.find(':');
    if (colon == std::string_view::npos)
      return url_error(quoted + " has user info without a password (expected redis://[user]:password@host)");
    address.username = user_info.substr(0, colon);
    address.password = user_info.substr(colon + 1);
    if (address.password.empty()) return url_error(quoted + " has an empty password");
    rest.remove_prefix(at + 1);
  }
  if (rest.find_first_of("?#") != std::string_view::npos)
    return url_error(quoted + " has a query or fragment; expected redis://host[:port][/db]");
  std::string_view authority = rest;
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {  // IPv6 literal: [::1]:6379
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return url_error(quoted + " has an unclosed [ in its host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return url_error(quoted + " has text after its host");
      port = after.substr(1);
      has_port = true;
    }
    for (char c : host)
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return url_error(quoted + " has an invalid IPv6 address");
  } else {
    if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      has_port = true;
    }
    for (char c : host)
      if (!is_name_char(c)) return url_error(quoted + " has an invalid character in its host");
  }
  if (host.empty()) return url_error(quoted + " has no host");
  address.host = host;
  if (has_port && !parse_number(port, 1, 65535, address.port))
    return url_error(quoted + " has an invalid port (1-65535)");
  if (!path.empty() && !parse_number(path, 0, std::numeric_limits<int>::max(), address.database))
    return url_error(quoted + " has an invalid database (expected /0, /1, ...)");
  return address;
}

}  // namespace

Result<std::unique_ptr<Directory>> open_directory(const Options& options) {
  const std::string_view url = options.url;
  if (url.empty()) return url_error("empty (" + std::string(kExpected) + ")");
  if (url.substr(0, kInprocScheme.size()) == kInprocScheme) {
    const std::string_view name = url.substr(kInprocScheme.size());
    if (name.empty()) return url_error("\"" + options.url + "\" has no name (expected inproc:NAME)");
    for (char c : name)
      if (!is_name_char(c)) return url_error("\"" + options.url + "\": an inproc name is letters, digits, '.', '-' and '_'");
    return std::unique_ptr<Directory>(std::make_unique<InprocDirectory>(options, std::string(name)));
  }
  if (url.substr(0, kRedisScheme.size()) == kRedisScheme) {
    auto address = parse_redis_url(url);
    if (!address) return address.take_error();
    return std::unique_ptr<Directory>(std::make_unique<RedisDirectory>(options, std::move(address).value()));
  }
  if (url.substr(0, 9) == "rediss://")
    return url_error("\"" + shown(url) + "\": TLS (rediss://) is not supported; use redis:// on a private network");
  return url_error("\"" + shown(url) + "\" has an unknown scheme (" + std::string(kExpected) + ")");
}

const char* to_string(State state) {
  switch (state) {
    case State::offline:
      return "offline";
    case State::away:
      return "away";
    case State::online:
      return "online";
  }
  return "unknown";
}

}  // namespace parley::presence
