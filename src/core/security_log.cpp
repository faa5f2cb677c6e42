#include "core/security_log.hpp"

#include <spdlog/spdlog.h>

namespace parley {
namespace {

void append_value(std::string& out, std::string_view value) {
  bool plain = !value.empty();
  for (unsigned char c : value)
    if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c == 0x7f) plain = false;
  if (plain) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < ' ' || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

}  // namespace

std::string security_log_line(std::string_view event, std::initializer_list<SecurityField> fields) {
  std::string line = "security.";
  line.append(event);
  for (const auto& [key, value] : fields) {
    line.push_back(' ');
    line.append(key);
    line.push_back('=');
    append_value(line, value);
  }
  return line;
}

void security_log(std::string_view event, std::initializer_list<SecurityField> fields) {
  spdlog::info("{}", security_log_line(event, fields));
}

}  // namespace parley
