// WsSession: one WebSocket connection after the HTTP upgrade. Reads with readiness waits into
// its thread's shared buffer (an idle session holds no buffer), queues outbound frames bounded
// in bytes, writes them with one gathered non-blocking write per event-loop turn, enforces
// the per-session rate limit, and runs the close handshake and timeouts.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "gateway/io_threads.hpp"
#include "gateway/connection_limits.hpp"
#include "gateway/session.hpp"
#include "gateway/transport.hpp"

namespace parley::gateway {

class WsSession final : public Session, public std::enable_shared_from_this<WsSession> {
 public:
  // `first_bytes` is queued before anything else (the 101 response); `received` holds bytes
  // that arrived after the upgrade request.
  WsSession(ThreadContext& thread, Transport transport, UpgradeInfo upgrade, const LimitsConfig& limits,
            SessionHandler& handler, SessionId id, std::string first_bytes, std::string received,
            std::atomic<int>& connection_count, AddressSlot slot);
  ~WsSession() override;

  void start();

  // WebSocket sessions open in this process (any thread).
  static int live_count();

  void send(SharedFrame frame) override;
  void close(std::uint16_t code, std::string_view reason) override;
  bool is_open() const override { return state_ == State::open; }
  void mark_authenticated(std::int64_t expires_at_ms) override;

  // Called by the thread's sweep timer once a second.
  void sweep(std::int64_t now_ms, std::int64_t wall_ms);
  // Writes what is queued (thread flush task).
  void flush();

  std::size_t sweep_index = 0;  // position in ThreadContext::sessions
  bool flush_scheduled = false;

 private:
  enum class State { open, closing, closed };

  void arm_read();
  void on_readable(const boost::system::error_code& ec);
  // Parses and handles complete frames in data[0, size); returns the bytes consumed.
  std::size_t process(std::uint8_t* data, std::size_t size);
  void handle_frame(websocket::Opcode opcode, bool fin, std::uint8_t* payload, std::size_t size);
  void deliver_message(std::uint8_t* data, std::size_t size);
  // Takes one frame from the rate budget. If none is left, returns false and sets
  // `retry_after_ms` (or closes the session after limits.flood_close_after refusals in a row).
  bool take_rate_token(std::int64_t now_ms, std::int64_t& retry_after_ms);
  void fail(std::uint16_t code, std::string_view reason);
  void enqueue(SharedFrame frame);
  void schedule_flush();
  void arm_write();
  // Closes the socket and tells the handler; idempotent.
  void terminate();

  ThreadContext& thread_;
  std::atomic<int>& connection_count_;  // decremented when this session is destroyed
  Transport transport_;
  AddressSlot slot_;  // its client address's count (pending until authenticated)
  const LimitsConfig& limits_;
  SessionHandler& handler_;

  State state_ = State::open;
  bool reading_ = false;
  bool write_waiting_ = false;
  bool terminate_after_flush_ = false;
  bool authenticated_ = false;
  bool in_fragmented_message_ = false;

  std::string pending_;  // bytes of an incomplete frame
  std::string message_;  // a fragmented message being reassembled

  std::vector<SharedFrame> queue_;  // outbound frames; [queue_head_, end) not yet fully written
  std::size_t queue_head_ = 0;
  std::size_t head_offset_ = 0;  // bytes of queue_[queue_head_] already written
  std::size_t queued_bytes_ = 0;

  std::int64_t opened_at_ms_;
  std::int64_t last_received_ms_;
  std::int64_t last_ping_ms_ = 0;
  std::int64_t write_blocked_since_ms_ = 0;
  std::int64_t close_deadline_ms_ = 0;
  std::int64_t expires_at_ms_ = 0;

  double rate_tokens_;
  std::int64_t rate_refilled_ms_;
  int consecutive_limited_ = 0;
};

}  // namespace parley::gateway
