// What users.search matches: case-folded terms of a user's names, and the same folding of a
// query. Folding is ICU's full Unicode case folding of NFC text ("ß" matches "SS", "Ä" "ä"), done
// here, in the application, so that every store engine compares plain bytes and agrees.
//
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace parley::auth {

// The terms of a user that a query may be a prefix of: the username, the whole display name,
// and the display name from each of its later words on ("Anne Marie Smith" gives "anne marie
// smith", "marie smith", "smith"), each folded; without duplicates.
std::vector<std::string> user_search_terms(std::string_view username, std::string_view display_name);

// A query folded like the terms: NFC, whitespace trimmed and runs of it made one space, case
// folded. Empty if nothing but whitespace is left.
std::string fold_search_query(std::string_view query);

// The smallest string above every string that starts with `prefix` (the next one in code point
// order, valid UTF-8), so that "starts with prefix" is the range [prefix, upper) of a byte-ordered
// index. Empty if there is none (a prefix of only U+10FFFF).
std::string prefix_upper_bound(std::string_view prefix);

}  // namespace parley::auth
