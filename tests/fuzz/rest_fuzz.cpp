// libFuzzer target for the REST edge: protocol::match_route (the route table) and
// FrameParser::parse_rest, fed the way chat/rest.cpp feeds them.
//
// Input format (what tests/fuzz/corpus/rest/ holds):
//   METHOD SP PATH[?QUERY] LF BODY
// PATH and the QUERY's keys and values are percent-decoded, as the gateway decodes them; QUERY is
// split on '&' and '='. Without a LF the whole input is the request line and the body is empty.
//
// Checks beyond memory errors: a route match names a command the parser knows and captures
// non-empty, slash-free path parameters; match_route only appends to the parameters it is given;
// a trailing '/' matches the same route; a parsed command obeys the field rules
// (fuzz_checks.hpp) and has the name of the command asked for; every error is a parse error
// with a message.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz_checks.hpp"
#include "protocol/parse.hpp"
#include "protocol/routes.hpp"

namespace {

using parley::fuzz::check;
using parley::protocol::FrameParser;
using parley::protocol::Params;
using parley::protocol::ParseLimits;

// Commands parse_rest is also tried with, whatever the route; the input's length picks one.
// auth.* are parsed from the body alone, as chat/accounts.cpp does.
constexpr std::string_view kFixedTypes[] = {"auth.register", "auth.login",   "send",          "settings.update",
                                            "users.get",     "presence.get", "channel.list",  "reaction.remove",
                                            "members.add",   "history",      "direct.open",   "no.such.type"};

// The names route patterns capture ("{conversation_id}", ...).
bool is_path_parameter(std::string_view name) {
  return name == "user_id" || name == "to_user_id" || name == "conversation_id" || name == "seq" || name == "root_seq";
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding; a '%' not followed by two hex digits stays as it is.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

Params decode_query(std::string_view query) {
  Params params;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    params.emplace_back(percent_decode(pair.substr(0, eq)),
                        eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1)));
  }
  return params;
}

void check_parse(FrameParser& parser, std::string_view type, std::string_view body, const Params& params) {
  auto result = parser.parse_rest(type, body, params);
  if (result) {
    parley::fuzz::check_command(*result, ParseLimits{});
    check(parley::protocol::command_name(*result) == parley::fuzz::expected_command_name(type),
          "parsed command has another name than the type asked for");
  } else {
    parley::fuzz::check_parse_error(result.error());
    if (type != "no.such.type") check(result.error().code != parley::ErrorCode::unknown_type, "a known type is unknown");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static FrameParser parser{ParseLimits{}};
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const std::size_t newline = input.find('\n');
  const std::string_view line = input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  const std::size_t space = line.find(' ');
  const std::string_view method = line.substr(0, space);
  const std::string_view target = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  const std::size_t question = target.find('?');
  const std::string path = percent_decode(target.substr(0, question));
  const Params query = question == std::string_view::npos ? Params() : decode_query(target.substr(question + 1));

  // The route, looked up as chat/rest.cpp does it: with no parameters yet.
  Params params;
  const auto route = parley::protocol::match_route(method, path, params);
  if (!route.command.empty()) check(route.path_known, "a route matched a path it does not know");
  if (route.command.empty()) check(params.empty(), "parameters captured without a match");
  for (const auto& [name, value] : params) {
    check(is_path_parameter(name), "captured a parameter no route pattern names");
    check(!value.empty() && value.find('/') == std::string::npos, "captured parameter is empty or spans segments");
  }

  // The header promises to append: parameters already there stay, the captured ones follow.
  Params prefilled = {{"sentinel", "kept"}};
  const auto again = parley::protocol::match_route(method, path, prefilled);
  check(again.command == route.command && again.path_known == route.path_known, "match_route is not repeatable");
  parley::fuzz::check_known(!prefilled.empty() && prefilled.front() == std::pair<std::string, std::string>("sentinel", "kept") &&
                                prefilled.size() == params.size() + 1 &&
                                std::equal(params.begin(), params.end(), prefilled.begin() + 1),
                            "route-params-clear", "match_route dropped parameters it was given");

  // A trailing '/' is accepted: the same route with the same parameters.
  if (!path.empty() && path.back() != '/') {
    Params slash_params;
    const auto slash = parley::protocol::match_route(method, path + "/", slash_params);
    check(slash.command == route.command && slash.path_known == route.path_known && slash_params == params,
          "a trailing '/' changes the route");
  }

  if (!route.command.empty()) {
    // Path parameters first, then the query's: the first occurrence of a name wins.
    if (path == "/v1/me") params.insert(params.begin(), {"user_id", "42"});  // as chat/rest.cpp does
    params.insert(params.end(), query.begin(), query.end());
    check_parse(parser, route.command, body, params);
  }

  const std::string_view type = kFixedTypes[size % std::size(kFixedTypes)];
  check_parse(parser, type, body, type.substr(0, 5) == "auth." ? Params() : query);
  return 0;
}
