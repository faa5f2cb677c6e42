// Parsing and validation of client frames (WebSocket) and REST requests into typed commands.
// Pure: no I/O, no threads. One FrameParser per thread (it owns simdjson's buffers).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "protocol/commands.hpp"

namespace parley::protocol {

struct ParseLimits {
  int max_json_depth = 16;
  int max_frame_bytes = 131072;  // as limits.max_frame_bytes
  int max_text_bytes = 16384;
  int max_client_msg_id_bytes = 64;
  int max_title_bytes = 256;
  int max_username_bytes = 32;
  int max_members_per_request = 256;
  int max_history_page = 100;
  int max_sync_page = 500;
  int max_display_name_bytes = 64;  // also the longest users.search query
  int max_search_results = 50;
  int default_search_results = 20;
  int max_hide_batch = 100;  // entries of message.hide's seqs
  int max_attachments = 10;  // entries of send's attachments
  int max_media_urls = 100;  // entries of media.urls' media_ids
  int max_push_endpoint_bytes = 2048;  // push.subscribe's endpoint or token
};

// Largest id, seq or cursor a client may send (2^53 - 1, exact in a JavaScript number); larger
// values are refused with invalid_field "out of range".
inline constexpr std::int64_t kMaxClientInteger = (std::int64_t{1} << 53) - 1;

// Passwords are at most this long (a longer one is refused with too_large before hashing).
inline constexpr std::size_t kMaxPasswordBytes = 1024;
// A display name as sent is read up to this many bytes; the stored one is bounded by
// limits.max_display_name_bytes after normalization.
inline constexpr std::size_t kMaxDisplayNameInputBytes = 1024;

// Extra readable bytes the parser may touch after the end of its input (simdjson's padding).
// Callers of parse_frame must guarantee them; parse_rest copies its input.
inline constexpr std::size_t kParsePadding = 64;

// Path and query parameters of a REST request; they take precedence over body fields.
using Params = std::vector<std::pair<std::string, std::string>>;

class FrameParser {
 public:
  explicit FrameParser(const ParseLimits& limits);
  ~FrameParser();
  FrameParser(const FrameParser&) = delete;
  FrameParser& operator=(const FrameParser&) = delete;

  // Parses one WebSocket text message. `json` must be followed by kParsePadding readable bytes.
  // On return `request_id` holds the frame's "id" re-serialized as JSON (empty if absent or
  // unusable), also when the result is an error, so the error reply can echo it.
  Result<Command> parse_frame(std::string_view json, std::string& request_id);

  // Parses a REST request for command `type` from an optional JSON body and path/query params.
  Result<Command> parse_rest(std::string_view type, std::string_view body, const Params& params);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Username rules: 3..max bytes of [a-z0-9_.-], starting with a letter or digit. Case-folded
// to lower case by the caller before storage.
bool is_valid_username(std::string_view name, int max_bytes);

}  // namespace parley::protocol
