#include "ws_session.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>

#include <chrono>
#include <optional>

namespace parley::cli {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRateLimitRetries = 5;
// Client drops a connection whose request is unanswered after its request timeout (15 s); the
// reply handler then fires with "disconnected". This is only a backstop above that.
constexpr int kReplyWaitMs = 20000;

}  // namespace

WsSession::WsSession(Options options) : options_(std::move(options)) {}

Outcome<std::unique_ptr<WsSession>> WsSession::open(Options options) {
  std::unique_ptr<WsSession> session(new WsSession(std::move(options)));
  WsSession& self = *session;
  client::ClientOptions client_options;
  client_options.endpoint = self.options_.endpoint;
  client_options.token = self.options_.token;
  client_options.device = kDeviceLabel;
  client_options.reconnect = true;  // for server-busy refusals (1013) and, in send(), for resends
  client_options.backoff_cap_ms = 2000;
  client_options.http_base_url = self.options_.http_base_url;
  self.client_ = client::Client::create(self.io_, client_options);
  // Bounded: a one-shot command reads a few notices at most; a long stay() must not grow.
  self.client_->on_notice = [&self](const client::Notice& notice) {
    if (self.notices_.size() >= 1000) self.notices_.pop_front();
    self.notices_.push_back(notice);
  };

  bool live = false;
  int disconnects = 0;
  self.client_->on_state = [&live](client::State state) { live = state == client::State::live; };
  self.client_->on_hello = [&self](const client::Reply& reply) {
    if (auto doc = JsonDoc::parse(reply.json)) self.hello_ = std::make_unique<JsonDoc>(std::move(doc.value()));
  };
  self.client_->on_disconnect = [&self, &disconnects](std::uint16_t code, const std::string& reason) {
    ++disconnects;
    self.close_code_ = code;
    self.close_reason_ = reason;
  };
  self.client_->start();
  const auto hopeless = [&] {
    // Code 0: the connection never opened (refused, unreachable, upgrade refused).
    return (disconnects > 0 && self.close_code_ == 0) || self.client_->state() == client::State::stopped;
  };
  self.run_until([&] { return live || hopeless(); }, self.options_.connect_timeout_ms);
  // The callbacks above capture locals; later ones only track the last close.
  self.client_->on_state = nullptr;
  self.client_->on_hello = nullptr;
  self.client_->on_disconnect = [&self](std::uint16_t code, const std::string& reason) {
    self.close_code_ = code;
    self.close_reason_ = reason;
  };

  const std::string& server = self.options_.server_text;
  if (live && self.hello_) return session;
  if (self.client_->state() == client::State::stopped && (self.close_code_ == 4003 || self.close_code_ == 4004))
    return refused(kHelloRefused, "the server refused the token (close " + std::to_string(self.close_code_) + ": " +
                                      self.close_reason_ + "); log in again");
  if (disconnects > 0 && self.close_code_ == 0) return network_error("cannot connect to " + server + ": " + self.close_reason_);
  std::string message = "no session with " + server + " within " + std::to_string(self.options_.connect_timeout_ms / 1000) + " s";
  if (disconnects > 0)
    message += " (last close " + std::to_string(self.close_code_) + (self.close_reason_.empty() ? "" : ": " + self.close_reason_) + ")";
  return network_error(message);
}

WsSession::~WsSession() {
  if (!client_) return;
  client_->on_disconnect = nullptr;
  client_->stop();
  // Let the close frame go out and the server's echo come back; nothing else is pending.
  run_until([] { return false; }, 1000);
}

bool WsSession::run_until(const std::function<bool()>& done, int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    if (io_.stopped()) io_.restart();
    if (io_.run_one_until(deadline) == 0 && io_.stopped()) return done();  // no work left: nothing will change
  }
  return true;
}

Outcome<JsonDoc> WsSession::to_outcome(const client::Reply& reply, std::string_view what) const {
  if (reply.ok) return JsonDoc::parse(reply.json);
  return failure_of(reply, what);
}

Failure WsSession::failure_of(const client::Reply& reply, std::string_view what) const {
  if (reply.code == "disconnected" || reply.code == "timeout" || reply.code == "stopped") {
    std::string message = "connection to " + options_.server_text + " lost during " + std::string(what);
    if (close_code_) message += " (close " + std::to_string(close_code_) + ")";
    return network_error(message);
  }
  if (reply.code == "file_error") return usage_error(reply.message);
  if (reply.code == "transfer_failed") return network_error(reply.message);
  return refused(reply.code, reply.message);
}

bool WsSession::wait_live() {
  if (client_->state() == client::State::live) return true;
  run_until([this] { return client_->state() == client::State::live || client_->state() == client::State::stopped; },
            options_.connect_timeout_ms);
  return client_->state() == client::State::live;
}

Outcome<JsonDoc> WsSession::call(std::string_view type, const std::string& fields) {
  for (int attempt = 0;; ++attempt) {
    if (!wait_live()) return network_error("connection to " + options_.server_text + " lost");
    // Shared with the handler, which may outlive this call (Client fails it on stop()).
    auto reply = std::make_shared<std::optional<client::Reply>>();
    client_->request(std::string(type), fields, [reply](const client::Reply& r) { *reply = r; });
    if (!run_until([&] { return reply->has_value(); }, kReplyWaitMs))
      return network_error("no reply from " + options_.server_text + " to " + std::string(type));
    const client::Reply& answer = **reply;
    if (!answer.ok && answer.code == "rate_limited" && attempt < kRateLimitRetries) {
      auto waited = std::make_shared<bool>(false);
      boost::asio::steady_timer timer(io_, std::chrono::milliseconds(std::max<std::int64_t>(answer.retry_after_ms, 10)));
      timer.async_wait([waited](const boost::system::error_code&) { *waited = true; });
      run_until([&] { return *waited; }, static_cast<int>(answer.retry_after_ms) + 1000);
      continue;
    }
    return to_outcome(answer, type);
  }
}

Outcome<JsonDoc> WsSession::send(std::int64_t conversation_id, std::int64_t to_user, const std::string& text,
                                 const client::SendOptions& options) {
  const std::string& client_msg_id = options.client_msg_id;
  auto reply = std::make_shared<std::optional<client::Reply>>();
  auto done = [reply](const client::Reply& r) { *reply = r; };
  if (to_user) client_->send_to_user(to_user, text, options, done);
  else client_->send(conversation_id, text, options, done);
  if (!run_until([&] { return reply->has_value(); }, options_.send_timeout_ms))
    return network_error("no acknowledgement from " + options_.server_text + " within " +
                         std::to_string(options_.send_timeout_ms / 1000) +
                         " s; the message may have been stored: retry with --client-msg-id " + client_msg_id);
  return to_outcome(**reply, "send");
}

}  // namespace parley::cli

namespace parley::cli {

std::optional<client::Notice> WsSession::wait_notice(const std::function<bool(const client::Notice&)>& match,
                                                     int timeout_ms) {
  std::optional<client::Notice> found;
  const auto take = [&] {
    for (auto it = notices_.begin(); it != notices_.end(); ++it) {
      if (!match(*it)) continue;
      found = std::move(*it);
      notices_.erase(it);
      return true;
    }
    return false;
  };
  if (take()) return found;
  run_until([&] { return take() || client_->state() == client::State::stopped; }, timeout_ms);
  return found;
}

Status WsSession::stay(int duration_ms, const std::function<void(client::Client&)>& on_live_again) {
  // Shared with the handler, which still runs (cancelled) after this returns.
  auto interrupted = std::make_shared<bool>(false);
  boost::asio::signal_set signals(io_, SIGINT, SIGTERM);
  signals.async_wait([interrupted](const boost::system::error_code& ec, int) {
    if (!ec) *interrupted = true;
  });
  bool lost = false;
  client_->on_state = [&](client::State state) {
    if (state != client::State::live) {
      lost = true;
    } else if (lost) {
      lost = false;
      if (on_live_again) on_live_again(*client_);
    }
  };
  const auto over = [&] { return *interrupted || client_->state() == client::State::stopped; };
  // run_until() takes a finite timeout; a day at a time stands in for "until interrupted".
  constexpr int kDayMs = 24 * 3600 * 1000;
  if (duration_ms > 0) {
    run_until(over, duration_ms);
  } else {
    while (!over()) run_until(over, kDayMs);
  }
  signals.cancel();
  client_->on_state = nullptr;
  if (client_->state() == client::State::stopped)
    return network_error("the session with " + options_.server_text + " ended (close " + std::to_string(close_code_) +
                         (close_reason_.empty() ? "" : ": " + close_reason_) + ")");
  return Done{};
}

// Transfers have no overall deadline (a large file over a slow link takes long); the client
// bounds each step (HTTP reads and writes, command replies), so these waits end.
namespace {
constexpr int kTransferWaitMs = 24 * 3600 * 1000;
}

Outcome<client::Media> WsSession::upload(const std::string& path, client::UploadOptions options) {
  if (!wait_live()) return network_error("connection to " + options_.server_text + " lost");
  struct Result {
    client::Reply reply;
    client::Media media;
  };
  auto result = std::make_shared<std::optional<Result>>();
  client_->upload_file(path, std::move(options), [result](const client::Reply& reply, const client::Media& media) {
    *result = Result{reply, media};
  });
  if (!run_until([&] { return result->has_value(); }, kTransferWaitMs))
    return network_error("no end to the upload of " + path);
  if (!(*result)->reply.ok) return failure_of((*result)->reply, "the upload of " + path);
  return (*result)->media;
}

Outcome<std::uint64_t> WsSession::download(const std::string& media_id, const std::string& out_path,
                                           client::BodySink sink, client::DownloadOptions options) {
  if (!wait_live()) return network_error("connection to " + options_.server_text + " lost");
  struct Result {
    client::Reply reply;
    std::uint64_t bytes = 0;
  };
  auto result = std::make_shared<std::optional<Result>>();
  auto done = [result](const client::Reply& reply, std::uint64_t bytes) { *result = Result{reply, bytes}; };
  if (out_path.empty()) client_->download_to(media_id, std::move(sink), std::move(options), done);
  else client_->download(media_id, out_path, std::move(options), done);
  if (!run_until([&] { return result->has_value(); }, kTransferWaitMs))
    return network_error("no end to the download of " + media_id);
  if (!(*result)->reply.ok) return failure_of((*result)->reply, "the download of " + media_id);
  return (*result)->bytes;
}

}  // namespace parley::cli
