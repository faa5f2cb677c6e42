#include "gateway/ws_session.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/post.hpp>

#include "core/clock.hpp"

namespace parley::gateway {

namespace asio = boost::asio;
using websocket::Opcode;

namespace {

constexpr std::size_t kPadding = 64;        // simdjson reads up to this far past a message
constexpr std::size_t kMaxWriteBuffers = 64;  // frames gathered into one writev
constexpr int kReadRoundsPerWakeup = 4;     // fairness between sessions of one thread
constexpr std::int64_t kCloseHandshakeMs = 3000;
std::atomic<int> g_live_sessions{0};

SharedFrame control_frame(Opcode opcode, std::string_view payload) {
  return std::make_shared<const std::string>(websocket::make_frame(opcode, payload));
}

// Returns excess capacity of a buffer that grew for one large frame.
void release_if_large(std::string& buffer) {
  if (buffer.capacity() > 4096) std::string().swap(buffer);
}

}  // namespace

WsSession::WsSession(ThreadContext& thread, Transport transport, UpgradeInfo upgrade, const LimitsConfig& limits,
                     SessionHandler& handler, SessionId id, std::string first_bytes, std::string received,
                     std::atomic<int>& connection_count, AddressSlot slot)
    : Session(id, thread.index, std::move(upgrade)),
      thread_(thread),
      connection_count_(connection_count),
      transport_(std::move(transport)),
      slot_(std::move(slot)),
      limits_(limits),
      handler_(handler),
      pending_(std::move(received)),
      opened_at_ms_(monotonic_ms()),
      last_received_ms_(opened_at_ms_),
      rate_tokens_(limits.frames_burst),
      rate_refilled_ms_(opened_at_ms_) {
  if (!first_bytes.empty()) enqueue(std::make_shared<const std::string>(std::move(first_bytes)));
}

WsSession::~WsSession() { connection_count_.fetch_sub(1, std::memory_order_relaxed); }

int WsSession::live_count() { return g_live_sessions.load(std::memory_order_relaxed); }

void WsSession::start() {
  g_live_sessions.fetch_add(1, std::memory_order_relaxed);
  ThreadCounters::add(thread_.counters.sessions_opened);
  boost::system::error_code ec;
  transport_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  sweep_index = thread_.sessions.size();
  thread_.sessions.push_back(this);
  handler_.on_open(*this);
  if (!pending_.empty()) {
    // Frames that arrived together with the upgrade request.
    std::string received = std::move(pending_);
    pending_.clear();
    received.reserve(received.size() + kPadding);
    auto* data = reinterpret_cast<std::uint8_t*>(received.data());
    const std::size_t used = process(data, received.size());
    if (state_ != State::closed && used < received.size()) pending_.assign(received, used, std::string::npos);
  }
  schedule_flush();
  arm_read();
}

void WsSession::arm_read() {
  if (reading_ || state_ == State::closed) return;
  reading_ = true;
  auto on_ready = [self = shared_from_this()](const boost::system::error_code& ec) {
    self->reading_ = false;
    self->on_readable(ec);
  };
  // TLS may hold a decrypted record already (the socket will not signal it), or need to write
  // (a key update) before it can read.
  if (transport_.has_buffered_input()) return asio::post(thread_.io, [on_ready] { on_ready({}); });
  transport_.socket().async_wait(
      transport_.wants() == Transport::Wait::write ? asio::ip::tcp::socket::wait_write : asio::ip::tcp::socket::wait_read,
      std::move(on_ready));
}

void WsSession::on_readable(const boost::system::error_code& ec) {
  if (state_ == State::closed) return;
  if (ec) {
    terminate();
    return;
  }
  for (int round = 0; round < kReadRoundsPerWakeup && state_ != State::closed; ++round) {
    boost::system::error_code read_error;
    std::uint8_t* buffer = thread_.read_buffer.get();
    const std::size_t n = transport_.read_some(buffer, ThreadContext::kReadBufferSize, read_error);
    if (read_error == asio::error::would_block) break;
    if (read_error || n == 0) {
      terminate();  // EOF or reset: the peer is gone
      return;
    }
    last_received_ms_ = monotonic_ms();
    if (pending_.empty()) {
      const std::size_t used = process(buffer, n);
      if (state_ != State::closed && used < n) pending_.assign(reinterpret_cast<char*>(buffer) + used, n - used);
    } else {
      pending_.append(reinterpret_cast<char*>(buffer), n);
      pending_.reserve(pending_.size() + kPadding);
      const std::size_t used = process(reinterpret_cast<std::uint8_t*>(pending_.data()), pending_.size());
      if (state_ == State::closed) return;
      pending_.erase(0, used);
      if (pending_.empty()) release_if_large(pending_);
    }
    if (n < ThreadContext::kReadBufferSize) break;  // drained for now
  }
  arm_read();
}

std::size_t WsSession::process(std::uint8_t* data, std::size_t size) {
  std::size_t at = 0;
  while (state_ != State::closed && at < size) {
    websocket::FrameHeader header;
    const auto status = websocket::decode_client_header(data + at, size - at, header);
    if (status == websocket::HeaderStatus::incomplete) break;
    if (status == websocket::HeaderStatus::invalid) {
      fail(close_code::protocol_error, "malformed frame");
      return size;
    }
    const std::size_t limit = static_cast<std::size_t>(limits_.max_frame_bytes);
    const std::size_t already = header.opcode == Opcode::continuation ? message_.size() : 0;
    if (header.payload_length > limit || already + header.payload_length > limit) {
      fail(close_code::too_big, "message larger than limits.max_frame_bytes");
      return size;
    }
    if (size - at < header.header_length + header.payload_length) break;  // wait for the rest
    std::uint8_t* payload = data + at + header.header_length;
    const auto length = static_cast<std::size_t>(header.payload_length);
    websocket::unmask(payload, length, header.mask);
    at += header.header_length + length;
    // While closing, only the peer's close frame matters.
    if (state_ == State::closing && header.opcode != Opcode::close) continue;
    handle_frame(header.opcode, header.fin, payload, length);
  }
  return at;
}

void WsSession::handle_frame(Opcode opcode, bool fin, std::uint8_t* payload, std::size_t size) {
  switch (opcode) {
    case Opcode::text:
    case Opcode::binary:
      if (in_fragmented_message_) return fail(close_code::protocol_error, "new message inside a fragmented one");
      if (opcode == Opcode::binary) return fail(close_code::unsupported_data, "binary messages are not supported");
      if (fin) return deliver_message(payload, size);
      in_fragmented_message_ = true;
      message_.assign(reinterpret_cast<char*>(payload), size);
      return;
    case Opcode::continuation:
      if (!in_fragmented_message_) return fail(close_code::protocol_error, "continuation without a message");
      message_.append(reinterpret_cast<char*>(payload), size);
      if (fin) {
        in_fragmented_message_ = false;
        message_.reserve(message_.size() + kPadding);
        deliver_message(reinterpret_cast<std::uint8_t*>(message_.data()), message_.size());
        message_.clear();
        release_if_large(message_);
      }
      return;
    case Opcode::ping: {
      std::int64_t retry_after_ms = 0;
      if (!take_rate_token(last_received_ms_, retry_after_ms)) return;  // pings over the limit get no pong
      enqueue(control_frame(Opcode::pong, std::string_view(reinterpret_cast<char*>(payload), size)));
      schedule_flush();
      return;
    }
    case Opcode::pong:
      return;
    case Opcode::close: {
      std::uint16_t code = close_code::normal;
      if (size == 1) return fail(close_code::protocol_error, "bad close frame");
      if (size >= 2) {
        code = static_cast<std::uint16_t>((payload[0] << 8) | payload[1]);
        if (!websocket::is_valid_close_code(code)) return fail(close_code::protocol_error, "bad close code");
        if (!websocket::is_valid_utf8(reinterpret_cast<char*>(payload) + 2, size - 2))
          return fail(close_code::invalid_payload, "close reason is not UTF-8");
      }
      if (state_ == State::open) {
        // Echo the close, then end the connection once it is written.
        state_ = State::closing;
        close_deadline_ms_ = monotonic_ms() + kCloseHandshakeMs;
        enqueue(control_frame(Opcode::close, websocket::close_payload(code, "")));
      }
      terminate_after_flush_ = true;
      schedule_flush();
      return;
    }
  }
}

void WsSession::deliver_message(std::uint8_t* data, std::size_t size) {
  if (!websocket::is_valid_utf8(reinterpret_cast<char*>(data), size))
    return fail(close_code::invalid_payload, "text message is not valid UTF-8");
  const std::string_view json(reinterpret_cast<char*>(data), size);
  std::int64_t retry_after_ms = 0;
  ThreadCounters::add(thread_.counters.messages_received);
  if (!take_rate_token(last_received_ms_, retry_after_ms)) {
    ThreadCounters::add(thread_.counters.rate_limited_frames);
    if (state_ == State::open) handler_.on_rate_limited(*this, json, retry_after_ms);
    return;
  }
  handler_.on_text(*this, json);
}

bool WsSession::take_rate_token(std::int64_t now_ms, std::int64_t& retry_after_ms) {
  const double rate = limits_.frames_per_second;
  rate_tokens_ = std::min<double>(limits_.frames_burst, rate_tokens_ + (now_ms - rate_refilled_ms_) * rate / 1000.0);
  rate_refilled_ms_ = now_ms;
  if (rate_tokens_ >= 1.0) {
    rate_tokens_ -= 1.0;
    consecutive_limited_ = 0;
    return true;
  }
  if (++consecutive_limited_ > limits_.flood_close_after) fail(close_code::rate_limited, "rate limit exceeded");
  retry_after_ms = static_cast<std::int64_t>((1.0 - rate_tokens_) * 1000.0 / std::max(1.0, rate)) + 1;
  return false;
}

void WsSession::fail(std::uint16_t code, std::string_view reason) {
  if (code != close_code::rate_limited) ThreadCounters::add(thread_.counters.protocol_closes);
  spdlog::debug("ws.fail session={} code={} reason=\"{}\"", id(), code, reason);
  close(code, reason);
}

void WsSession::mark_authenticated(std::int64_t expires_at_ms) {
  authenticated_ = true;
  expires_at_ms_ = expires_at_ms;
  slot_.settle();  // no longer a pending handshake of its address
}

void WsSession::send(SharedFrame frame) {
  if (state_ != State::open) return;
  // A frame onto an empty queue always goes (one reply may be large); past that, the bytes
  // waiting for this reader are capped.
  if (queued_bytes_ > 0 && queued_bytes_ + frame->size() > static_cast<std::size_t>(limits_.max_outbound_bytes)) {
    // A reader that cannot keep up: drop what it has not started to receive and close; it
    // catches up through sync when it reconnects. Memory stays bounded by the limit.
    spdlog::info("ws.slow_consumer session={} queued_bytes={}", id(), queued_bytes_);
    ThreadCounters::add(thread_.counters.slow_consumer_closes);
    const std::size_t keep = queue_head_ + (head_offset_ > 0 ? 1 : 0);
    for (std::size_t i = keep; i < queue_.size(); ++i) queued_bytes_ -= queue_[i]->size();
    queue_.resize(keep);
    close(close_code::slow_consumer, "slow consumer: outbound queue full");
    return;
  }
  enqueue(std::move(frame));
  schedule_flush();
}

void WsSession::close(std::uint16_t code, std::string_view reason) {
  if (state_ != State::open) return;
  state_ = State::closing;
  close_deadline_ms_ = monotonic_ms() + kCloseHandshakeMs;
  enqueue(control_frame(Opcode::close, websocket::close_payload(code, reason)));
  schedule_flush();
}

void WsSession::enqueue(SharedFrame frame) {
  queued_bytes_ += frame->size();
  ThreadCounters::add(thread_.counters.frames_sent);
  ThreadCounters::add(thread_.counters.bytes_sent, frame->size());
  queue_.push_back(std::move(frame));
}

void WsSession::schedule_flush() {
  if (flush_scheduled || write_waiting_ || state_ == State::closed) return;
  flush_scheduled = true;
  thread_.schedule_flush(shared_from_this());
}

void WsSession::flush() {
  if (state_ == State::closed || write_waiting_) return;
  while (queue_head_ < queue_.size()) {
    std::array<asio::const_buffer, kMaxWriteBuffers> buffers;
    std::size_t count = 0;
    for (std::size_t i = queue_head_; i < queue_.size() && count < kMaxWriteBuffers; ++i, ++count) {
      const std::string& frame = *queue_[i];
      const std::size_t skip = i == queue_head_ ? head_offset_ : 0;
      buffers[count] = asio::buffer(frame.data() + skip, frame.size() - skip);
    }
    boost::system::error_code ec;
    std::size_t written = transport_.write_some(buffers.data(), count, ec);
    if (ec == asio::error::would_block) {
      arm_write();
      return;
    }
    if (ec) {
      terminate();
      return;
    }
    // Pop fully written frames; remember how far into the next one we got.
    while (written > 0 && queue_head_ < queue_.size()) {
      const std::size_t left = queue_[queue_head_]->size() - head_offset_;
      if (written >= left) {
        written -= left;
        queued_bytes_ -= queue_[queue_head_]->size();
        queue_[queue_head_].reset();
        ++queue_head_;
        head_offset_ = 0;
      } else {
        head_offset_ += written;
        written = 0;
      }
    }
  }
  queue_.clear();
  if (queue_.capacity() > 64) std::vector<SharedFrame>().swap(queue_);
  queue_head_ = 0;
  if (terminate_after_flush_) terminate();
}

void WsSession::arm_write() {
  write_waiting_ = true;
  write_blocked_since_ms_ = monotonic_ms();
  // (TLS may need to read before it can write again.)
  transport_.socket().async_wait(
      transport_.wants() == Transport::Wait::read ? asio::ip::tcp::socket::wait_read : asio::ip::tcp::socket::wait_write,
      [self = shared_from_this()](const boost::system::error_code& ec) {
        self->write_waiting_ = false;
        if (ec) return self->terminate();
        self->flush();
      });
}

void WsSession::sweep(std::int64_t now_ms, std::int64_t wall_ms) {
  if (state_ == State::closed) return;
  if (state_ == State::closing) {
    if (now_ms >= close_deadline_ms_) terminate();
    return;
  }
  if (write_waiting_ && now_ms - write_blocked_since_ms_ > limits_.write_timeout_ms) {
    spdlog::info("ws.write_timeout session={}", id());
    ThreadCounters::add(thread_.counters.write_timeouts);
    terminate();  // the socket does not drain: a close frame could not get through either
    return;
  }
  if (!authenticated_ && now_ms - opened_at_ms_ > limits_.auth_timeout_ms)
    return close(close_code::auth_timeout, "authentication timeout");
  if (authenticated_ && expires_at_ms_ > 0 && wall_ms >= expires_at_ms_)
    return close(close_code::token_invalid, "token expired");
  if (now_ms - last_received_ms_ > limits_.idle_timeout_ms) return close(close_code::idle_timeout, "idle timeout");
  if (now_ms - last_received_ms_ > limits_.ping_interval_ms && now_ms - last_ping_ms_ > limits_.ping_interval_ms) {
    last_ping_ms_ = now_ms;
    enqueue(control_frame(Opcode::ping, ""));
    schedule_flush();
  }
}

void WsSession::terminate() {
  if (state_ == State::closed) return;
  state_ = State::closed;
  transport_.close();
  slot_.reset();
  // Leave the sweep list (swap with the last entry).
  auto& list = thread_.sessions;
  if (sweep_index < list.size() && list[sweep_index] == this) {
    list[sweep_index] = list.back();
    list[sweep_index]->sweep_index = sweep_index;
    list.pop_back();
  }
  queue_.clear();
  queued_bytes_ = 0;
  g_live_sessions.fetch_sub(1, std::memory_order_relaxed);
  handler_.on_close(*this);
}

}  // namespace parley::gateway
