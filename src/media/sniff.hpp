// What a file is, from its bytes (libmagic), never from what the client says; and how each
// type may be served. Safe from any thread (each thread gets its own libmagic handle).
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace parley::media {

// How much of a file libmagic looks at. Its own rules for the types Parley serves inline
// need the first few KiB; the rest of a large file is never read.
inline constexpr std::size_t kSniffBytes = 256 * 1024;

// The MIME type of `bytes` ("image/png", "text/html", "application/octet-stream" when
// nothing matches). internal if libmagic cannot be loaded (its database missing).
Result<std::string> sniff_bytes(std::string_view bytes);

// The MIME type of the file at `path`, from its first kSniffBytes. not_found if it cannot
// be opened.
Result<std::string> sniff_file(const std::string& path);

// Types a browser may show inline from Parley's origin: the common images (never SVG, which
// can carry script), video and audio. Everything else is served with
// Content-Disposition: attachment.
bool is_inline_type(std::string_view mime_type);

// Images Parley makes thumbnails and dimensions of: JPEG, PNG, WebP, GIF.
bool is_thumbnail_type(std::string_view mime_type);

// Whether what arrived may be stored under what the client declared. The stored and served
// type is always the sniffed one; but a declared type that is_inline_type() must be what the
// bytes are (same major type, and itself shown inline), so "a PNG that is really HTML" is
// refused rather than quietly turned into a download. invalid_field (field
// "content_type") naming both types otherwise.
Status check_declared_type(std::string_view declared, std::string_view sniffed);

}  // namespace parley::media
