#include "core/json_writer.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>

namespace parley {

JsonWriter& JsonWriter::key(std::string_view name) {
  separator();
  append_escaped(out_, name);
  out_.push_back(':');
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
  separator();
  append_escaped(out_, text);
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t number) {
  separator();
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  out_.append(buffer, end);
  return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t number) {
  separator();
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  out_.append(buffer, end);
  return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
  separator();
  out_.append(flag ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::null() {
  separator();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::id_string(std::uint64_t number) {
  separator();
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  out_.push_back('"');
  out_.append(buffer, end);
  out_.push_back('"');
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  separator();
  out_.append(json);
  return *this;
}

namespace {

// True if any of the 8 bytes in `word` is a control character, '"' or '\\' (SWAR: tests
// eight bytes at once; most text has none, so it is copied in one append).
bool needs_escape(std::uint64_t word) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  const std::uint64_t control = (word - kOnes * 0x20) & ~word & kHigh;  // bytes < 0x20
  return control | has_zero(word ^ (kOnes * '"')) | has_zero(word ^ (kOnes * '\\'));
}

}  // namespace

void JsonWriter::append_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t i = 0;
  while (i + 8 <= text.size()) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + i, 8);
    if (needs_escape(word)) break;
    i += 8;
  }
  std::size_t run_start = 0;
  for (; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(text.data() + run_start, text.size() - run_start);
  out.push_back('"');
}

}  // namespace parley
