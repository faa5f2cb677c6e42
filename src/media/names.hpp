// Names around stored media: ids (which are also the files' and objects' names, so a URL
// can never name anything else), the file names users give (sanitized before they are stored
// or sent to anyone), and the Content-Disposition that carries them back. Pure functions,
// safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::media {

// A new media id: 16 random bytes (OpenSSL's RAND_bytes) as 22 characters of URL-safe base64.
// Throws std::runtime_error only if the random generator fails.
std::string new_media_id();

// Whether `text` has the shape of a media id: exactly 22 characters of A-Z a-z 0-9 - _.
// Every route checks this before building any path, which is what keeps paths like
// "../../etc/passwd" from ever reaching the file system.
bool is_media_id(std::string_view text);

// A file name that is safe to store, show and offer for download: the last path component
// only (after '/' or '\'); invalid UTF-8 bytes, control characters (C0, DEL, C1), bidi
// controls (which can make "exe.png" read as "png.exe") and the characters Windows forbids
// (< > : " | ? *) become '_'; leading and trailing dots and spaces are dropped (no hidden
// files, no "..", no names ending in a dot); Windows' device names (CON, NUL, COM1, ...) get
// a leading '_'; cut to at most `max_bytes` bytes on a character boundary, keeping the
// extension when it is short. An empty result becomes "file".
std::string sanitize_file_name(std::string_view name, std::size_t max_bytes = 255);

// The Content-Disposition header value for serving `file_name` (already sanitized):
// `attachment` or `inline`, with an ASCII fallback `filename="..."` (non-ASCII bytes and
// quotes as '_') and the exact name as RFC 8187 `filename*=UTF-8''...`.
std::string content_disposition(std::string_view file_name, bool attachment);

}  // namespace parley::media
