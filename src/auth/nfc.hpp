// ICU's NFC normalizer, shared by the display-name rules (display_names.cpp) and the users.search
// terms (search_terms.cpp). Internal to auth: ICU is its private dependency, and no header other
// layers include names an ICU type.
#pragma once

#include <unicode/normalizer2.h>

namespace parley::auth {

// The process-wide NFC instance (ICU owns it; thread-safe). Throws std::runtime_error if ICU
// has none (missing data: at start-up, with the first name checked).
const icu::Normalizer2& nfc();

}  // namespace parley::auth
