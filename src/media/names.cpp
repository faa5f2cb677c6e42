#include "media/names.hpp"

#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <stdexcept>

#include "core/base64.hpp"

namespace parley::media {
namespace {

constexpr std::size_t kMediaIdBytes = 16;
constexpr std::size_t kMediaIdChars = 22;
constexpr std::size_t kMaxKeptExtensionBytes = 16;

// Length of the UTF-8 sequence starting at `text[at]`, or 0 if it is not a valid one
// (overlong forms, surrogates and code points beyond U+10FFFF are invalid). Stores the code
// point in `code_point`.
std::size_t utf8_sequence(std::string_view text, std::size_t at, char32_t& code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  std::size_t length = 0;
  char32_t value = 0, minimum = 0;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (byte(at + i) & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  code_point = value;
  return length;
}

bool replaced(char32_t c) {
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F)) return true;  // control characters
  if (c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0x061C)
    return true;  // bidi marks, embeddings, overrides and isolates
  switch (c) {
    case '<': case '>': case ':': case '"': case '|': case '?': case '*':
      return true;
    default:
      return false;
  }
}

bool is_windows_device_name(std::string_view name) {
  std::string stem(name.substr(0, name.find('.')));
  while (!stem.empty() && stem.back() == ' ') stem.pop_back();
  for (auto& c : stem) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static constexpr std::array<std::string_view, 6> kPlain = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"};
  for (auto device : kPlain)
    if (stem == device) return true;
  return stem.size() == 4 && (stem.starts_with("COM") || stem.starts_with("LPT")) && stem[3] >= '0' && stem[3] <= '9';
}

// The longest prefix of `text` of at most `max_bytes` that ends on a character boundary
// (`text` is valid UTF-8 here).
std::string_view cut(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

std::string new_media_id() {
  unsigned char random[kMediaIdBytes];
  if (RAND_bytes(random, sizeof random) != 1) throw std::runtime_error("no random bytes for a media id");
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
}

bool is_media_id(std::string_view text) {
  if (text.size() != kMediaIdChars) return false;
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

std::string sanitize_file_name(std::string_view name, std::size_t max_bytes) {
  if (const auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  std::string clean;
  clean.reserve(name.size());
  for (std::size_t at = 0; at < name.size();) {
    char32_t c = 0;
    const std::size_t length = utf8_sequence(name, at, c);
    if (length == 0) {
      clean.push_back('_');
      ++at;
      continue;
    }
    if (replaced(c)) clean.push_back('_');
    else clean.append(name.substr(at, length));
    at += length;
  }
  const auto first = clean.find_first_not_of(". ");
  if (first == std::string::npos) return "file";
  const auto last = clean.find_last_not_of(". ");
  clean = clean.substr(first, last - first + 1);
  if (is_windows_device_name(clean)) clean.insert(0, "_");
  if (clean.size() > max_bytes) {
    const auto dot = clean.rfind('.');
    const std::string_view extension =
        dot != std::string::npos && dot > 0 && clean.size() - dot <= kMaxKeptExtensionBytes && clean.size() - dot < max_bytes
            ? std::string_view(clean).substr(dot)
            : std::string_view();
    clean = std::string(cut(std::string_view(clean).substr(0, clean.size() - extension.size()), max_bytes - extension.size())) +
            std::string(extension);
  }
  return clean.empty() ? "file" : clean;
}

std::string content_disposition(std::string_view file_name, bool attachment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string fallback, encoded;
  for (unsigned char c : file_name) {
    fallback.push_back(c < 0x20 || c >= 0x7F || c == '"' || c == '\\' ? '_' : static_cast<char>(c));
    // RFC 8187 attr-char: ALPHA DIGIT ! # $ & + - . ^ _ ` | ~
    if (std::isalnum(c) || std::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos) {
      encoded.push_back(static_cast<char>(c));
    } else {
      encoded.push_back('%');
      encoded.push_back(kHex[c >> 4]);
      encoded.push_back(kHex[c & 15]);
    }
  }
  return std::string(attachment ? "attachment" : "inline") + "; filename=\"" + fallback + "\"; filename*=UTF-8''" + encoded;
}

}  // namespace parley::media
