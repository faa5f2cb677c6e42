// open_bus: checks the URL and hands it to the engine its scheme names. Every URL error is
// reported here, at start-up, with the credentials taken out of the message.
#include "bus/bus.hpp"

#include <charconv>
#include <stdexcept>
#include <string>
#include <vector>

#include "bus/inproc_bus.hpp"
#include "bus/nats_bus.hpp"

namespace parley::bus {
namespace {

constexpr std::string_view kInprocScheme = "inproc:";
constexpr std::string_view kNatsScheme = "nats://";

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("bus.url: " + what); }

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// Checks one "nats://[user[:password]@]host[:port]" and returns it trimmed. libnats parses it
// again; this only makes sure a typo is a start-up error that names the URL, not a connection
// failure that hides it.
std::string check_nats_url(std::string_view url, std::string_view whole) {
  const std::string shown = strip_credentials(url);
  if (url.empty()) fail("empty server in the list \"" + strip_credentials(whole) + "\"");
  if (url.substr(0, kNatsScheme.size()) != kNatsScheme)
    fail("\"" + shown + "\" is not a nats:// URL (expected nats://host:port[,nats://host2:port2...])");
  std::string_view authority = url.substr(kNatsScheme.size());
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (authority.find_first_of("/?#") != std::string_view::npos)
    fail("\"" + shown + "\" has a path or query; expected nats://host:port");
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {  // IPv6 literal: [::1]:4222
    const auto close = authority.find(']');
    if (close == std::string_view::npos) fail("\"" + shown + "\" has an unclosed [ in its host");
    host = authority.substr(1, close - 1);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') fail("\"" + shown + "\" has text after its host");
      port = rest.substr(1);
      if (port.empty()) fail("\"" + shown + "\" has an empty port");
    }
  } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) fail("\"" + shown + "\" has an empty port");
  }
  if (host.empty()) fail("\"" + shown + "\" has no host");
  for (char c : host)
    if (!is_name_char(c) && c != ':') fail("\"" + shown + "\" has an invalid character in its host");
  if (!port.empty()) {
    int number = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (error != std::errc() || end != port.data() + port.size() || number < 1 || number > 65535)
      fail("\"" + shown + "\" has an invalid port (1-65535)");
  }
  return std::string(url);
}

std::vector<std::string> split_nats_urls(std::string_view urls) {
  std::vector<std::string> servers;
  std::size_t start = 0;
  while (true) {
    const auto comma = urls.find(',', start);
    servers.push_back(check_nats_url(trim(urls.substr(start, comma - start)), urls));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return servers;
}

}  // namespace

bool valid_subject(std::string_view subject, bool wildcards) {
  if (subject.empty()) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = subject.find('.', start);
    const std::string_view token = subject.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (token.empty()) return false;
    for (unsigned char c : token)
      if (c <= ' ' || c == 0x7f) return false;  // whitespace ends a subject in the NATS protocol
    const bool last = dot == std::string_view::npos;
    if (token == "*" && !wildcards) return false;
    if (token == ">" && (!wildcards || !last)) return false;
    if (last) return true;
    start = dot + 1;
  }
}

std::unique_ptr<Bus> open_bus(const Options& options) {
  const std::string_view url = options.url;
  if (url.empty()) fail("empty (expected inproc:NAME or nats://host:port[,nats://host2:port2...])");
  if (url.substr(0, kInprocScheme.size()) == kInprocScheme) {
    const std::string_view name = url.substr(kInprocScheme.size());
    if (name.empty()) fail("\"" + options.url + "\" has no name (expected inproc:NAME)");
    for (char c : name)
      if (!is_name_char(c)) fail("\"" + options.url + "\": an inproc name is letters, digits, '.', '-' and '_'");
    return std::make_unique<InprocBus>(options, std::string(name));
  }
  if (url.substr(0, kNatsScheme.size()) == kNatsScheme) return std::make_unique<NatsBus>(options, split_nats_urls(url));
  fail("\"" + strip_credentials(url) + "\" has an unknown scheme (expected inproc:NAME or nats://host:port[,...])");
}

}  // namespace parley::bus
