// Small text helpers.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace parley {

// At most `max_bytes` of valid UTF-8 `text`, cut on a character boundary.
inline std::string utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

// ASCII lower case (usernames are ASCII).
inline std::string ascii_lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

}  // namespace parley
