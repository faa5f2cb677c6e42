// Base64 (RFC 4648): the standard alphabet for general use, and the URL-safe alphabet without
// padding that JWTs and Parley's random ids use. Pure functions, safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace parley {

// Encodes `bytes` with the standard alphabet (A-Z a-z 0-9 + /), padded with '=' to a
// multiple of 4 characters (RFC 4648 section 4).
std::string base64_encode(std::string_view bytes);

// Encodes `bytes` with the URL-safe alphabet (A-Z a-z 0-9 - _) and no padding
// (RFC 4648 section 5, as JWTs use it: RFC 7515 section 2).
std::string base64url_encode(std::string_view bytes);

// Decodes URL-safe base64. Padding is optional, but if present it must be correct. Returns
// nullopt for characters outside the URL alphabet (including '+' and '/'), for a length no
// encoding can produce (length % 4 == 1), and for non-canonical input whose unused trailing
// bits are not zero, so every byte string has exactly one accepted unpadded encoding (which
// keeps JWT signatures from being malleable).
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace parley
