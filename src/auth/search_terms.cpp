#include "auth/search_terms.hpp"

#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <algorithm>

#include "auth/nfc.hpp"

namespace parley::auth {
namespace {

// NFC, case folded, NFC again (folding can denormalize), whitespace runs made one space and
// trimmed.
std::string fold(std::string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString unicode = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  unicode = nfc().normalize(unicode, status);
  unicode.foldCase();
  unicode = nfc().normalize(unicode, status);
  if (U_FAILURE(status)) return {};
  icu::UnicodeString collapsed;
  bool pending_space = false;
  for (int32_t i = 0; i < unicode.length();) {
    const UChar32 c = unicode.char32At(i);
    i += U16_LENGTH(c);
    if (u_isUWhiteSpace(c)) {
      pending_space = !collapsed.isEmpty();
      continue;
    }
    if (pending_space) collapsed.append(static_cast<UChar>(' '));
    pending_space = false;
    collapsed.append(c);
  }
  std::string out;
  collapsed.toUTF8String(out);
  return out;
}

}  // namespace

std::vector<std::string> user_search_terms(std::string_view username, std::string_view display_name) {
  std::vector<std::string> terms;
  if (std::string name = fold(username); !name.empty()) terms.push_back(std::move(name));
  const std::string display = fold(display_name);
  // Each word start (after a space) begins a term; `display` has single spaces, no ends.
  for (std::size_t start = 0; start < display.size();) {
    terms.push_back(display.substr(start));
    const std::size_t space = display.find(' ', start);
    if (space == std::string::npos) break;
    start = space + 1;
  }
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

std::string fold_search_query(std::string_view query) { return fold(query); }

std::string prefix_upper_bound(std::string_view prefix) {
  // Decode into code points, bump the last one that can be bumped, drop what follows it.
  std::vector<UChar32> points;
  for (int32_t i = 0; i < static_cast<int32_t>(prefix.size());) {
    UChar32 c = 0;
    U8_NEXT(reinterpret_cast<const uint8_t*>(prefix.data()), i, static_cast<int32_t>(prefix.size()), c);
    points.push_back(c < 0 ? 0xFFFD : c);
  }
  while (!points.empty()) {
    UChar32 next = points.back() + 1;
    if (next >= 0xD800 && next <= 0xDFFF) next = 0xE000;  // surrogates are not characters
    if (next <= 0x10FFFF) {
      points.back() = next;
      break;
    }
    points.pop_back();
  }
  std::string out;
  for (UChar32 c : points) {
    char buffer[4];
    int32_t length = 0;
    UBool error = false;  // cannot happen: c is a scalar value and 4 bytes hold any
    U8_APPEND(reinterpret_cast<uint8_t*>(buffer), length, 4, c, error);
    if (error) continue;
    out.append(buffer, static_cast<std::size_t>(length));
  }
  return out;
}

}  // namespace parley::auth
