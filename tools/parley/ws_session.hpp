// WsSession: a blocking facade over client::Client for commands that make a few requests and
// exit. open() connects and completes hello; call() and send() each run the event loop until
// their reply arrives. Events pushed meanwhile are ignored (`parley tail` uses Client directly);
// notices (receipt, read_state, typing, presence, conversation) are kept for wait_notice().
// Single-threaded: the caller's thread runs the io_context inside these calls.
#pragma once

#include <boost/asio/io_context.hpp>

#include <functional>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "client/client.hpp"
#include "json_doc.hpp"
#include "outcome.hpp"

namespace parley::cli {

// Device label sent in hello; `parley admin sessions` shows it.
inline constexpr const char* kDeviceLabel = "parley-cli/" PARLEY_VERSION;

// The failure code open() uses when the server refused the token in hello (close 4003/4004);
// the close frame does not say why, so the caller may ask REST for the precise code.
inline constexpr const char* kHelloRefused = "hello_refused";

class WsSession {
 public:
  struct Options {
    client::Endpoint endpoint;
    std::string server_text;   // the server URL as the user gave it, for messages
    std::string token;
    std::string http_base_url;       // "http://HOST:PORT[/PREFIX]": where media URLs that are paths go
    int connect_timeout_ms = 15000;  // to a completed hello, including server-busy retries
    int send_timeout_ms = 30000;     // to the ack, including reconnects and resends
  };

  // Blocks until hello succeeded. Fails with a network failure when the server cannot be
  // reached (at once) or no hello completes in time; refused(kHelloRefused) when the token is
  // refused.
  static Outcome<std::unique_ptr<WsSession>> open(Options options);
  // Closes the connection politely (waits briefly for the close handshake).
  ~WsSession();
  WsSession(const WsSession&) = delete;
  WsSession& operator=(const WsSession&) = delete;

  // One command of docs/protocol.md section 4; `fields` are JSON members without braces (may
  // be empty). Returns the whole reply frame; an error frame becomes refused(code, message).
  // A rate-limited request is retried after retry_after_ms. Not retried after a disconnect
  // (the command may have run): that is a network failure.
  Outcome<JsonDoc> call(std::string_view type, const std::string& fields);

  // Sends a text message to a conversation (`to_user` 0) or to a user's direct conversation,
  // retrying with the same options.client_msg_id (required) across reconnects until acked.
  // Returns the ack frame.
  Outcome<JsonDoc> send(std::int64_t conversation_id, std::int64_t to_user, const std::string& text,
                        const client::SendOptions& options);

  // Uploads the file at `path` (client::Client::upload_file) and returns its media. Failures:
  // the server's refusal (too_large, limit_reached, ...), a usage error when the file cannot
  // be read, a network failure when the transfer broke off.
  Outcome<client::Media> upload(const std::string& path, client::UploadOptions options);
  // Downloads a media's file into `out_path` (complete or not at all), or into `sink` when
  // `out_path` is empty. Returns the number of bytes.
  Outcome<std::uint64_t> download(const std::string& media_id, const std::string& out_path, client::BodySink sink,
                                  client::DownloadOptions options);

  // The first notice received since open() (earlier ones included) that `match` accepts,
  // removed from the buffer; waits up to `timeout_ms` for it. Empty on timeout.
  std::optional<client::Notice> wait_notice(const std::function<bool(const client::Notice&)>& match, int timeout_ms);

  // Keeps the session open for `duration_ms` (0: until SIGINT or SIGTERM, which also end a
  // timed stay), pinging and reconnecting as needed. `on_live_again` runs after each reconnect
  // (a new server session: per-session state such as presence must be set again); it runs
  // inside the event loop, so it must not block: send with Client::request. Fails when the
  // client stops for good (e.g. the token was revoked).
  Status stay(int duration_ms, const std::function<void(client::Client&)>& on_live_again);

  std::int64_t user_id() const { return client_->user_id(); }
  // The hello reply frame (server version, limits, cursor).
  const JsonDoc& hello() const { return *hello_; }

 private:
  explicit WsSession(Options options);
  // Runs the event loop until `done()` or `timeout_ms` passed; false on timeout or when
  // nothing is left to wait for.
  bool run_until(const std::function<bool()>& done, int timeout_ms);
  Outcome<JsonDoc> to_outcome(const client::Reply& reply, std::string_view what) const;
  // A failed reply as the CLI's Failure (to_outcome's mapping, plus the client's own media codes).
  Failure failure_of(const client::Reply& reply, std::string_view what) const;
  // Waits until live (after a reconnect); false if the client stopped or it took too long.
  bool wait_live();

  Options options_;
  boost::asio::io_context io_;
  std::shared_ptr<client::Client> client_;
  std::unique_ptr<JsonDoc> hello_;
  std::deque<client::Notice> notices_;
  std::uint16_t close_code_ = 0;
  std::string close_reason_;
};

}  // namespace parley::cli
