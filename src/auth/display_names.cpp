#include "auth/display_names.hpp"

#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uspoof.h>
#include <unicode/utf16.h>

#include <memory>
#include <stdexcept>

#include "auth/nfc.hpp"

namespace parley::auth {
namespace {

// More combining marks on one character than any script needs: "Zalgo" text that spills over
// the lines around it.
constexpr int kMaxMarksPerCharacter = 4;

enum class Fault { none, control, invisible, marks };

const USpoofChecker* spoof_checker() {
  static const std::unique_ptr<USpoofChecker, void (*)(USpoofChecker*)> checker = [] {
    UErrorCode status = U_ZERO_ERROR;
    USpoofChecker* c = uspoof_open(&status);
    if (U_FAILURE(status)) throw std::runtime_error("ICU: cannot open the spoof checker");
    return std::unique_ptr<USpoofChecker, void (*)(USpoofChecker*)>(c, uspoof_close);
  }();
  return checker.get();
}

bool is_emoji_base(UChar32 c) {
  return u_hasBinaryProperty(c, UCHAR_EXTENDED_PICTOGRAPHIC) || u_hasBinaryProperty(c, UCHAR_EMOJI_MODIFIER) ||
         c == 0xFE0F;
}

// What is wrong with character `c` between `previous` (the last character kept; 0 at the
// start) and `next` (0 at the end), given `marks` combining marks already on the current one.
Fault judge(UChar32 c, UChar32 previous, UChar32 next, int marks) {
  switch (u_charType(c)) {
    case U_CONTROL_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_UNASSIGNED:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
      return Fault::control;
    case U_NON_SPACING_MARK:
    case U_ENCLOSING_MARK:
      if (u_hasBinaryProperty(c, UCHAR_VARIATION_SELECTOR)) return previous != 0 ? Fault::none : Fault::invisible;
      return previous == 0 ? Fault::invisible : (marks >= kMaxMarksPerCharacter ? Fault::marks : Fault::none);
    default:
      break;
  }
  // The zero-width joiner only inside an emoji sequence (👩‍💻); every other format character
  // (bidi overrides and isolates, marks, zero-width spaces, word joiner, BOM, soft hyphen, tag
  // characters) and every default-ignorable one (Hangul fillers) is invisible or reorders text.
  if (c == 0x200D) return is_emoji_base(previous) && u_hasBinaryProperty(next, UCHAR_EXTENDED_PICTOGRAPHIC) ? Fault::none : Fault::invisible;
  if (u_charType(c) == U_FORMAT_CHAR || u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) return Fault::invisible;
  if (c == 0x2800) return Fault::invisible;  // braille pattern blank: renders as nothing
  return Fault::none;
}

struct Cleaned {
  std::string text;
  Fault fault = Fault::none;
};

// NFC, whitespace collapsed and trimmed, each character judged. With `drop`, faulty
// characters are left out; without, the first fault stops the scan.
Cleaned clean(std::string_view input, bool drop) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString normalized =
      nfc().normalize(icu::UnicodeString::fromUTF8(icu::StringPiece(input.data(), static_cast<int32_t>(input.size()))), status);
  Cleaned result;
  if (U_FAILURE(status)) {
    result.fault = Fault::control;
    return result;
  }
  icu::UnicodeString out;
  bool pending_space = false;
  int marks = 0;
  UChar32 previous = 0;
  const int32_t length = normalized.length();
  for (int32_t i = 0; i < length;) {
    const UChar32 c = normalized.char32At(i);
    i += U16_LENGTH(c);
    const UChar32 next = i < length ? normalized.char32At(i) : 0;
    if (u_isUWhiteSpace(c)) {
      pending_space = out.length() > 0;
      previous = 0;
      marks = 0;
      continue;
    }
    const Fault fault = judge(c, previous, next, marks);
    if (fault != Fault::none) {
      if (!drop) {
        result.fault = fault;
        return result;
      }
      continue;
    }
    const auto type = u_charType(c);
    if (type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK) {
      if (!u_hasBinaryProperty(c, UCHAR_VARIATION_SELECTOR)) ++marks;
    } else {
      marks = 0;
    }
    if (pending_space) out.append(static_cast<UChar>(' '));
    pending_space = false;
    out.append(c);
    previous = c;
  }
  out.toUTF8String(result.text);
  return result;
}

std::string skeleton_of(const icu::UnicodeString& text) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString skeleton;
  uspoof_getSkeletonUnicodeString(spoof_checker(), 0, text, skeleton, &status);
  if (U_FAILURE(status)) return {};
  std::string out;
  skeleton.toUTF8String(out);
  return out;
}

}  // namespace

Result<std::string> normalize_display_name(std::string_view input, std::size_t max_bytes) {
  Cleaned cleaned = clean(input, false);
  switch (cleaned.fault) {
    case Fault::control:
      return field_error(ErrorCode::invalid_field, "display_name", "'display_name' contains control or unassigned characters");
    case Fault::invisible:
      return field_error(ErrorCode::invalid_field, "display_name",
                         "'display_name' contains invisible or direction-changing characters (zero-width, bidi controls)");
    case Fault::marks:
      return field_error(ErrorCode::invalid_field, "display_name",
                         "'display_name' stacks too many combining marks on one character");
    case Fault::none:
      break;
  }
  if (cleaned.text.size() > max_bytes)
    return field_error(ErrorCode::too_large, "display_name", "'display_name' longer than " + std::to_string(max_bytes) + " bytes");
  return std::move(cleaned.text);
}

std::string sanitize_display_name(std::string_view input, std::size_t max_bytes) {
  std::string text = clean(input, true).text;
  if (text.size() <= max_bytes) return text;
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // a character boundary
  text.resize(cut);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string name_skeleton(std::string_view text) {
  if (text.empty()) return {};
  icu::UnicodeString folded = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  folded.foldCase();
  return skeleton_of(folded);
}

std::vector<std::string> display_name_skeletons(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  out.push_back(name_skeleton(text));
  // Case folding hides confusions between capitals and lower case ("I" and "l"): the
  // skeleton of the name as written catches those.
  std::string as_written = skeleton_of(icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size()))));
  if (as_written != out.front()) out.push_back(std::move(as_written));
  return out;
}

}  // namespace parley::auth
