// WsConnection: the client side of one WebSocket connection to parleyd: TCP connect (optionally
// from a chosen local address), the HTTP upgrade, RFC 6455 framing (masked client frames), a
// write queue flushed with one gathered write per event-loop turn. Single-threaded: every call
// and callback happens on the io_context the connection was created with.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace parley::client {

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::string path = "/ws";
  std::string bind_address;  // local source address (e.g. 127.0.0.2) to spread connections; empty = any
};

class WsConnection : public std::enable_shared_from_this<WsConnection> {
 public:
  struct Handlers {
    std::function<void()> on_open;
    std::function<void(std::string_view text)> on_text;
    // The connection is over: `code` is the server's close code, or 1006 if it vanished, or 0 if
    // the connection never opened. Called exactly once.
    std::function<void(std::uint16_t code, const std::string& reason)> on_close;
  };

  static std::shared_ptr<WsConnection> create(boost::asio::io_context& io, Endpoint endpoint, Handlers handlers);

  void start();
  void send_text(std::string_view text);
  void close(std::uint16_t code = 1000);
  // Drops the TCP connection at once (no close handshake), as a crashed client would.
  void abort();
  bool is_open() const { return state_ == State::open; }
  std::size_t queued_bytes() const { return queued_bytes_; }

 private:
  enum class State { connecting, handshaking, open, closing, closed };

  WsConnection(boost::asio::io_context& io, Endpoint endpoint, Handlers handlers);
  void on_connected(const boost::system::error_code& ec);
  void read_handshake();
  void read_frames();
  void process();
  void queue_frame(std::string frame);
  void flush();
  void finish(std::uint16_t code, const std::string& reason);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::socket socket_;
  Endpoint endpoint_;
  Handlers handlers_;
  State state_ = State::connecting;
  std::string key_;
  std::string inbound_;        // received, not yet processed
  std::string message_;        // fragmented message being reassembled
  std::vector<std::string> queue_, writing_;
  std::size_t queued_bytes_ = 0;
  bool writing_now_ = false;
  bool flush_posted_ = false;
  std::minstd_rand mask_random_;
};

}  // namespace parley::client
