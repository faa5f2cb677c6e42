// Replies to requests, and where they go. One reply shape serves both transports: a WebSocket
// frame {"type":"ok","id":...,<fields>} or a REST body {<fields>}.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "gateway/session.hpp"

namespace parley::chat {

struct Reply {
  std::optional<Error> error;
  const char* type = "ok";  // "ok", or "ack" for send
  std::string fields;       // JSON object members without the braces; may be empty
  // rate_limited errors: when to retry. WebSocket: a "retry_after_ms" field; REST: the same
  // field in the error object and a Retry-After header (seconds, rounded up).
  std::int64_t retry_after_ms = 0;

  static Reply failure(Error e) {
    Reply r;
    r.error = std::move(e);
    return r;
  }
  static Reply failure(ErrorCode code, std::string message) { return failure(make_error(code, std::move(message))); }
  static Reply rate_limited(std::string message, std::int64_t retry_after_ms) {
    Reply r = failure(ErrorCode::rate_limited, std::move(message));
    r.retry_after_ms = std::max<std::int64_t>(1, retry_after_ms);
    return r;
  }
};

// Who asked: a WebSocket session (by id, on its thread) or an HTTP exchange (a callback run on
// its thread).
struct ReplyTarget {
  unsigned thread = 0;
  SessionId session_id = 0;
  std::string request_id;  // the frame's "id" as JSON text; empty if none
  std::function<void(const Reply&)> http;

  bool is_session() const { return session_id != 0; }
};

// {"type":"ok","id":..,<fields>} or {"type":"error","id":..,"code":..,"message":..}
std::string reply_frame_json(const Reply& reply, const std::string& request_id);
// REST: {<fields>} or {"error":{"code":..,"message":..}}, with the HTTP status.
gateway::HttpResponse reply_http(const Reply& reply);

}  // namespace parley::chat
