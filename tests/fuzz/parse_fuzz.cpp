// libFuzzer target for protocol/parse: arbitrary bytes as a WebSocket text frame
// (FrameParser::parse_frame) and as a REST body (FrameParser::parse_rest). Besides memory errors
// (run it under ASan/UBSan, see README.md) it checks the parser's contract: the request id echoed
// back is empty or valid JSON, every error is a parse error whose message is valid UTF-8, and a
// parsed command obeys the field rules (fuzz_checks.hpp).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_checks.hpp"
#include "protocol/parse.hpp"

namespace {

using parley::protocol::FrameParser;
using parley::protocol::kParsePadding;

// Commands parse_rest is tried with; the input's length picks one so every type gets fuzzed.
constexpr std::string_view kRestTypes[] = {"auth.register", "auth.login",   "send",        "history",
                                           "sync",          "group.create", "members.add", "members.set_role",
                                           "direct.open",   "channel.list", "hello",       "no.such.type"};

void check(bool condition) {
  if (!condition) std::abort();  // libFuzzer reports the abort with the crashing input
}

// The echoed id must be usable verbatim inside a JSON reply: a JSON string or an integer.
void check_request_id(const std::string& request_id) {
  if (request_id.empty()) return;
  static simdjson::dom::parser json;
  simdjson::dom::element element;
  check(json.parse(request_id).get(element) == simdjson::SUCCESS);
  check(element.is_string() || element.is_int64() || element.is_uint64());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static FrameParser parser{parley::protocol::ParseLimits{}};

  // parse_frame may read exactly kParsePadding bytes past its input. A fresh heap buffer of that
  // size lets ASan catch any read beyond what the contract allows.
  std::vector<char> frame(size + kParsePadding, '\0');
  if (size > 0) std::memcpy(frame.data(), data, size);
  std::string request_id = "stale";
  auto result = parser.parse_frame(std::string_view(frame.data(), size), request_id);
  check(request_id != "stale");
  check_request_id(request_id);
  if (result) {
    check(parley::protocol::command_name(*result) != nullptr);
    parley::fuzz::check_command(*result, parley::protocol::ParseLimits{});
  } else {
    check(!result.error().message.empty());
    parley::fuzz::check_parse_error(result.error());
  }

  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const std::string_view type = kRestTypes[size % std::size(kRestTypes)];
  auto rest = parser.parse_rest(type, body, {});
  if (rest) {
    parley::fuzz::check_command(*rest, parley::protocol::ParseLimits{});
    check(parley::protocol::command_name(*rest) == parley::fuzz::expected_command_name(type));
  } else {
    check(!rest.error().message.empty());
    parley::fuzz::check_parse_error(rest.error());
  }
  return 0;
}
