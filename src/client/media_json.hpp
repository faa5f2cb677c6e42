// Readers of the server's JSON, inside the library (simdjson stays out of its public headers).
// Absent or mistyped fields read as empty / 0.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <vector>

#include "client/media.hpp"

namespace parley::client {

inline std::string text_of(simdjson::dom::element e, const char* field) {
  std::string_view v;
  if (e[field].get_string().get(v) == simdjson::SUCCESS) return std::string(v);
  return std::string();
}

inline std::int64_t int_of(simdjson::dom::element e, const char* field) {
  std::int64_t v = 0;
  if (e[field].get_int64().get(v) == simdjson::SUCCESS) return v;
  return 0;
}

// media.complete's `media`, or one attachment of a text event.
Media parse_media(simdjson::dom::element object);
// A text event's "attachments" (empty if none).
std::vector<Media> parse_attachments(simdjson::dom::element event);
// The reply of media.urls.
MediaUrls parse_media_urls(simdjson::dom::element reply);

}  // namespace parley::client
