// Display names people see next to messages, checked so that they cannot be used to
// impersonate: Unicode-normalized (NFC), no control, format (bidi overrides, zero-width),
// private-use or unassigned characters, no invisible fillers, no stacks of combining marks,
// whitespace collapsed. And confusable skeletons (Unicode TS #39, via ICU), so that a display
// name that looks like another user's username can be recognised.
//
// Pure functions, thread-safe (ICU's normalizer and spoof checker are shared read-only).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace parley::auth {

// The display name to store for `input` (valid UTF-8), or invalid_field naming what is wrong,
// or too_large past `max_bytes` (after normalization). An empty result (input empty or only
// spaces) is allowed: the caller substitutes the username.
Result<std::string> normalize_display_name(std::string_view input, std::size_t max_bytes);

// Like normalize_display_name, but drops what is not allowed instead of refusing it, and cuts
// the result to `max_bytes` on a character boundary. For names Parley does not ask the user
// for (a host application's JWT claim). May return an empty string.
std::string sanitize_display_name(std::string_view input, std::size_t max_bytes);

// The confusable skeleton of `text`, case-insensitive: two names with equal skeletons look
// alike ("alice", "ALICE", "аlice" with a Cyrillic a). Empty for empty input. Stored for every
// username.
std::string name_skeleton(std::string_view text);

// The skeletons to compare a display name with usernames' skeletons: name_skeleton(text), and
// the skeleton of the text as written (which also catches "aIice" with a capital I).
std::vector<std::string> display_name_skeletons(std::string_view text);

}  // namespace parley::auth
