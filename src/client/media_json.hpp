// Readers of the server's media JSON, inside the library (simdjson stays out of its public
// headers). Absent or mistyped fields read as empty / 0.
#pragma once

#include <simdjson.h>

#include <vector>

#include "client/media.hpp"

namespace parley::client {

// media.complete's `media`, or one attachment of a text event.
Media parse_media(simdjson::dom::element object);
// A text event's "attachments" (empty if none).
std::vector<Media> parse_attachments(simdjson::dom::element event);
// The reply of media.urls.
MediaUrls parse_media_urls(simdjson::dom::element reply);

}  // namespace parley::client
