#include "core/base64.hpp"

#include <array>
#include <cstdint>

namespace parley {
namespace {

constexpr std::string_view kStandardAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::int8_t kInvalidSextet = -1;

// Maps a character of the URL alphabet to its 6-bit value, everything else to kInvalidSextet.
constexpr std::array<std::int8_t, 256> make_url_decode_table() {
  std::array<std::int8_t, 256> table{};
  table.fill(kInvalidSextet);
  for (std::size_t i = 0; i < kUrlAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kUrlAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr std::array<std::int8_t, 256> kUrlDecodeTable = make_url_decode_table();

std::string encode_with(std::string_view alphabet, bool pad, std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  const auto byte_at = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])); };

  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = byte_at(i) << 16 | byte_at(i + 1) << 8 | byte_at(i + 2);
    out.push_back(alphabet[(group >> 18) & 0x3f]);
    out.push_back(alphabet[(group >> 12) & 0x3f]);
    out.push_back(alphabet[(group >> 6) & 0x3f]);
    out.push_back(alphabet[group & 0x3f]);
  }
  const std::size_t remaining = bytes.size() - i;
  if (remaining == 1) {
    const std::uint32_t group = byte_at(i) << 16;
    out.push_back(alphabet[(group >> 18) & 0x3f]);
    out.push_back(alphabet[(group >> 12) & 0x3f]);
    if (pad) out.append("==");
  } else if (remaining == 2) {
    const std::uint32_t group = byte_at(i) << 16 | byte_at(i + 1) << 8;
    out.push_back(alphabet[(group >> 18) & 0x3f]);
    out.push_back(alphabet[(group >> 12) & 0x3f]);
    out.push_back(alphabet[(group >> 6) & 0x3f]);
    if (pad) out.push_back('=');
  }
  return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) { return encode_with(kStandardAlphabet, true, bytes); }

std::string base64url_encode(std::string_view bytes) { return encode_with(kUrlAlphabet, false, bytes); }

std::optional<std::string> base64url_decode(std::string_view text) {
  // Padding, if any, must complete the last group to 4 characters; at most two '='.
  if (!text.empty() && text.back() == '=') {
    if (text.size() % 4 != 0) return std::nullopt;
    text.remove_suffix(1);
    if (!text.empty() && text.back() == '=') text.remove_suffix(1);
  }
  // A lone trailing character carries only 6 bits: no byte string encodes to that.
  const std::size_t tail_chars = text.size() % 4;
  if (tail_chars == 1) return std::nullopt;

  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t group = 0;
  int sextets_in_group = 0;
  for (const char c : text) {
    const std::int8_t sextet = kUrlDecodeTable[static_cast<unsigned char>(c)];
    if (sextet == kInvalidSextet) return std::nullopt;  // also catches '=' before the end
    group = group << 6 | static_cast<std::uint32_t>(sextet);
    if (++sextets_in_group == 4) {
      out.push_back(static_cast<char>((group >> 16) & 0xff));
      out.push_back(static_cast<char>((group >> 8) & 0xff));
      out.push_back(static_cast<char>(group & 0xff));
      group = 0;
      sextets_in_group = 0;
    }
  }
  if (tail_chars == 2) {  // 12 bits: one byte plus 4 bits that must be zero
    if ((group & 0x0f) != 0) return std::nullopt;
    out.push_back(static_cast<char>((group >> 4) & 0xff));
  } else if (tail_chars == 3) {  // 18 bits: two bytes plus 2 bits that must be zero
    if ((group & 0x03) != 0) return std::nullopt;
    out.push_back(static_cast<char>((group >> 10) & 0xff));
    out.push_back(static_cast<char>((group >> 2) & 0xff));
  }
  return out;
}

}  // namespace parley
