// What the gateway exposes to the layer above it (chat): WebSocket sessions and HTTP
// requests, and the handler interfaces that layer implements. The gateway knows WebSocket and
// HTTP, nothing about conversations.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ids.hpp"
#include "gateway/websocket_codec.hpp"

namespace parley::gateway {

// Close codes Parley sends (1000-1011 from RFC 6455, 4000-4999 application-defined).
// Documented in docs/protocol.md; never renumber.
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;       // server shutting down
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003; // binary frames
inline constexpr std::uint16_t invalid_payload = 1007;  // text frame is not UTF-8
inline constexpr std::uint16_t too_big = 1009;          // frame over limits.max_frame_bytes
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t try_again_later = 1013;  // overloaded: reconnect with backoff
inline constexpr std::uint16_t idle_timeout = 4000;     // nothing received for limits.idle_timeout_ms
inline constexpr std::uint16_t auth_timeout = 4001;     // no successful hello in limits.auth_timeout_ms
inline constexpr std::uint16_t slow_consumer = 4002;    // outbound queue over limits.max_outbound_bytes
inline constexpr std::uint16_t auth_failed = 4003;      // hello refused
inline constexpr std::uint16_t token_invalid = 4004;    // token expired or revoked during the session
inline constexpr std::uint16_t write_timeout = 4008;    // a socket write stalled
inline constexpr std::uint16_t rate_limited = 4029;     // kept flooding after rate_limited errors
}  // namespace close_code

// State the layer above attaches to a session.
class SessionContext {
 public:
  virtual ~SessionContext() = default;
};

// Data from the HTTP upgrade request.
struct UpgradeInfo {
  std::string token;       // from "Authorization: Bearer" or the "token" query parameter; may be empty
  std::string remote;      // peer address and port
  std::string address;     // the client's IP address (behind a trusted proxy: the one it reports)
  std::string user_agent;  // the upgrade request's User-Agent, at most 256 bytes
};

// A WebSocket session. Every method must be called on the session's own I/O thread.
class Session {
 public:
  virtual ~Session() = default;

  SessionId id() const { return id_; }
  unsigned thread_index() const { return thread_index_; }
  const UpgradeInfo& upgrade() const { return upgrade_; }

  // Queues a frame. If the queued bytes pass limits.max_outbound_bytes the session is closed
  // with 4002 instead (the reader recovers through sync). Frames queued in one event-loop turn
  // leave in one socket write.
  virtual void send(SharedFrame frame) = 0;
  void send_text(std::string_view json) { send(make_text_frame(json)); }
  // Starts the close handshake with `code`; later sends are dropped.
  virtual void close(std::uint16_t code, std::string_view reason) = 0;
  virtual bool is_open() const = 0;
  // Lifts the authentication timeout; the session is closed with 4004 at `expires_at_ms`
  // (wall clock) if it is still open then.
  virtual void mark_authenticated(std::int64_t expires_at_ms) = 0;

  std::unique_ptr<SessionContext> context;

 protected:
  Session(SessionId id, unsigned thread_index, UpgradeInfo upgrade)
      : id_(id), thread_index_(thread_index), upgrade_(std::move(upgrade)) {}

 private:
  SessionId id_;
  unsigned thread_index_;
  UpgradeInfo upgrade_;
};

// Implemented by the chat layer. All calls happen on the session's thread.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  virtual void on_open(Session& session) = 0;
  // One complete text message. `json` is followed by at least 64 readable bytes (simdjson's
  // padding) and is valid UTF-8. Valid only during the call.
  virtual void on_text(Session& session, std::string_view json) = 0;
  // A text message refused by the session's rate limit (same buffer contract as on_text):
  // the handler answers it with an error that names the request, so the client can retry it.
  virtual void on_rate_limited(Session& session, std::string_view json, std::int64_t retry_after_ms) = 0;
  // The session is gone; it must not be used after this returns.
  virtual void on_close(Session& session) = 0;
};

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded query parameters
  std::string bearer_token;  // from "Authorization: Bearer", empty if none
  std::string body;
  std::string remote;      // peer address and port
  std::string address;     // the client's IP address (behind a trusted proxy: the one it reports)
  std::string user_agent;  // at most 256 bytes
  unsigned thread_index = 0;
  bool operator_port = false;  // arrived on the operator listener (server.metrics_listen)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Must be called exactly once, on the request's I/O thread.
using HttpResponder = std::function<void(HttpResponse)>;

// The local media backend's file routes, `PUT` and `GET`/`HEAD` on
// /v1/media/ID/content (and GET /v1/media/ID/thumbnail): the gateway streams the bytes
// between the socket and the disk (on its file thread, never on an I/O thread); this says
// whether a signed URL may do what it asks, and where the bytes live. Implemented by the
// chat layer (chat/media_files.cpp).
struct MediaGrant {
  int status = 200;               // anything else: refused with `error_code`
  std::string error_code;         // docs/protocol.md, 9.1
  std::string error_message;
  std::string path;               // upload: where the complete file goes; download: the file
  std::string part_path;          // upload: where it is written until complete
  std::int64_t declared_size = 0;  // upload: the signed size, which Content-Length must equal
};

// What a GET's Range header asks for (RFC 9110, 14): the whole file, one range (first..last,
// inclusive, clamped to the file) or nothing the file has (416).
struct ByteRange {
  enum class Kind { whole, partial, unsatisfiable } kind = Kind::whole;
  std::int64_t first = 0;
  std::int64_t last = 0;
};

class MediaFileHandler {
 public:
  virtual ~MediaFileHandler() = default;
  // True for the paths this handler answers (any method). I/O thread.
  virtual bool is_media_path(std::string_view path) const = 0;
  // Checks the request's signed URL (path and query) for an upload (`method` "PUT") or a
  // download ("GET"/"HEAD") now. Pure and quick: any thread (the gateway calls it on the
  // I/O thread once the request's header has arrived).
  virtual MediaGrant authorize(const HttpRequest& request) const = 0;
  // The MIME type a stored file is served as (what its bytes are) and whether a browser may
  // show it inline. Reads the file: called on the gateway's file thread only.
  virtual std::string content_type_of(const std::string& path) const = 0;
  virtual bool is_inline_type(std::string_view content_type) const = 0;
  // The range a Range header asks of a file of `size` bytes. Any thread.
  virtual ByteRange range_of(std::string_view header, std::int64_t size) const = 0;
};

// Implemented by the chat layer.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Returns false if the request is not for the API (the gateway then serves static files or
  // 404). If it returns true it must call `respond` exactly once, later or now.
  virtual bool on_request(HttpRequest& request, HttpResponder& respond) = 0;
  // The local media backend's file routes, or null (media.backend = s3). Lives as long as
  // the handler.
  virtual const MediaFileHandler* media_files() const { return nullptr; }
};

// Posting work onto I/O threads.
class ThreadPoster {
 public:
  virtual ~ThreadPoster() = default;
  virtual unsigned thread_count() const = 0;
  // Runs `task` on I/O thread `index`, after what is already queued there (FIFO per thread).
  virtual void post(unsigned index, std::function<void()> task) = 0;
  // Runs `task` on I/O thread `index` after about `delay_ms` (timers, coalescing windows).
  virtual void post_after(unsigned index, int delay_ms, std::function<void()> task) = 0;
};

}  // namespace parley::gateway
