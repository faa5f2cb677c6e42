#include "client/ws_connection.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "core/base64.hpp"
#include "gateway/websocket_codec.hpp"

namespace parley::client {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace ws = gateway::websocket;

namespace {

// True if the response head has the header `name` (compared case-insensitively: RFC 9110 names
// are, and proxies such as HAProxy send them in lower case) with exactly `value`.
bool has_header(std::string_view head, std::string_view name, std::string_view value) {
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  for (std::size_t start = head.find("\r\n"); start != std::string_view::npos;) {
    start += 2;
    const std::size_t end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, end == std::string_view::npos ? end : end - start);
    const std::size_t colon = line.find(':');
    if (colon == name.size() &&
        std::equal(name.begin(), name.end(), line.begin(), [&](char a, char b) { return lower(a) == lower(b); })) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
      if (v == value) return true;
    }
    start = end;
  }
  return false;
}

}  // namespace

std::shared_ptr<WsConnection> WsConnection::create(asio::io_context& io, Endpoint endpoint, Handlers handlers) {
  return std::shared_ptr<WsConnection>(new WsConnection(io, std::move(endpoint), std::move(handlers)));
}

WsConnection::WsConnection(asio::io_context& io, Endpoint endpoint, Handlers handlers)
    : io_(io), socket_(io), endpoint_(std::move(endpoint)), handlers_(std::move(handlers)),
      mask_random_(std::random_device{}()) {}

void WsConnection::start() {
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(endpoint_.host, ec);
  if (ec) {
    // A host name: resolve it and try each address in turn.
    auto resolver = std::make_shared<tcp::resolver>(io_);
    resolver->async_resolve(endpoint_.host, std::to_string(endpoint_.port),
                            [self = shared_from_this(), resolver](const boost::system::error_code& e,
                                                                  tcp::resolver::results_type results) {
                              if (self->state_ == State::closed) return;
                              if (e || results.empty()) return self->finish(0, "cannot resolve " + self->endpoint_.host);
                              asio::async_connect(self->socket_, results,
                                                  [self](const boost::system::error_code& e2, const tcp::endpoint&) {
                                                    self->on_connected(e2);
                                                  });
                            });
    return;
  }
  const tcp::endpoint remote(address, endpoint_.port);
  socket_.open(remote.protocol(), ec);
  if (!endpoint_.bind_address.empty() && !ec) socket_.bind(tcp::endpoint(asio::ip::make_address(endpoint_.bind_address, ec), 0), ec);
  if (ec) return finish(0, "socket: " + ec.message());
  socket_.async_connect(remote, [self = shared_from_this()](const boost::system::error_code& e) { self->on_connected(e); });
}

void WsConnection::on_connected(const boost::system::error_code& ec) {
  if (state_ == State::closed) return;
  if (ec) return finish(0, "connect: " + ec.message());
  boost::system::error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  state_ = State::handshaking;
  const bool ipv6 = endpoint_.host.find(':') != std::string::npos;
  const std::string host = ipv6 ? "[" + endpoint_.host + "]" : endpoint_.host;
  std::string nonce(16, '\0');
  for (auto& c : nonce) c = static_cast<char>(mask_random_());
  key_ = base64_encode(nonce);
  auto request = std::make_shared<std::string>(
      "GET " + endpoint_.path + " HTTP/1.1\r\nHost: " + host + ":" + std::to_string(endpoint_.port) +
      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key_ +
      "\r\nSec-WebSocket-Version: 13\r\n\r\n");
  asio::async_write(socket_, asio::buffer(*request),
                    [self = shared_from_this(), request](const boost::system::error_code& e, std::size_t) {
                      if (e) return self->finish(0, "handshake write: " + e.message());
                      self->read_handshake();
                    });
}

void WsConnection::read_handshake() {
  asio::async_read_until(
      socket_, asio::dynamic_buffer(inbound_), "\r\n\r\n",
      [self = shared_from_this()](const boost::system::error_code& e, std::size_t header_size) {
        if (self->state_ == State::closed) return;
        if (e) return self->finish(0, "handshake read: " + e.message());
        const std::string head = self->inbound_.substr(0, header_size);
        self->inbound_.erase(0, header_size);
        if (head.rfind("HTTP/1.1 101", 0) != 0 ||
            !has_header(head, "Sec-WebSocket-Accept", ws::accept_key(self->key_)))
          return self->finish(0, "upgrade refused: " + head.substr(0, head.find("\r\n")));
        self->state_ = State::open;
        boost::system::error_code ignored;
        self->socket_.non_blocking(true, ignored);  // reads: readiness wait, then non-blocking read_some
        if (self->handlers_.on_open) self->handlers_.on_open();
        if (self->state_ != State::open) return;
        self->process();
        self->read_frames();
      });
}

void WsConnection::read_frames() {
  if (state_ == State::closed) return;
  // Wait for readability, then read into one buffer per thread: an idle connection holds no
  // receive buffer (a load generator keeps tens of thousands of them).
  socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& e) {
    if (self->state_ == State::closed) return;
    if (e) return self->finish(1006, e.message());
    thread_local std::vector<char> buffer(64 * 1024);
    boost::system::error_code read_error;
    for (int round = 0; round < 4; ++round) {
      const std::size_t n = self->socket_.read_some(asio::buffer(buffer), read_error);
      if (read_error == asio::error::would_block) break;
      if (read_error || n == 0) return self->finish(1006, read_error ? read_error.message() : "connection closed");
      self->inbound_.append(buffer.data(), n);
      if (n < buffer.size()) break;
    }
    self->process();
    if (self->inbound_.empty() && self->inbound_.capacity() > 4096) std::string().swap(self->inbound_);
    self->read_frames();
  });
}

void WsConnection::process() {
  std::size_t at = 0;
  while (state_ == State::open || state_ == State::closing) {
    ws::FrameHeader header;
    const auto* data = reinterpret_cast<const std::uint8_t*>(inbound_.data()) + at;
    const auto status = ws::decode_server_header(data, inbound_.size() - at, header);
    if (status == ws::HeaderStatus::incomplete) break;
    if (status == ws::HeaderStatus::invalid) return finish(1002, "malformed frame from server");
    if (inbound_.size() - at < header.header_length + header.payload_length) break;
    const std::string_view payload(inbound_.data() + at + header.header_length, header.payload_length);
    at += header.header_length + header.payload_length;
    switch (header.opcode) {
      case ws::Opcode::text:
      case ws::Opcode::continuation:
        if (header.fin && message_.empty() && header.opcode == ws::Opcode::text) {
          if (handlers_.on_text) handlers_.on_text(payload);
        } else {
          message_.append(payload);
          if (header.fin) {
            std::string complete = std::move(message_);
            message_.clear();
            if (handlers_.on_text) handlers_.on_text(complete);
          }
        }
        break;
      case ws::Opcode::ping:
        queue_frame(ws::make_client_frame(ws::Opcode::pong, payload, {1, 2, 3, 4}));
        break;
      case ws::Opcode::close: {
        const std::uint16_t code = payload.size() >= 2 ? static_cast<std::uint16_t>(
                                                             (static_cast<unsigned char>(payload[0]) << 8) |
                                                             static_cast<unsigned char>(payload[1]))
                                                       : 1005;
        const std::string reason(payload.size() > 2 ? payload.substr(2) : std::string_view());
        if (state_ == State::open) {
          // Echo the close before going (best effort: a few bytes onto an open socket).
          const std::string echo = ws::make_client_frame(ws::Opcode::close, payload.substr(0, 2), {1, 2, 3, 4});
          boost::system::error_code ignored;
          asio::write(socket_, asio::buffer(echo), ignored);
        }
        inbound_.clear();
        return finish(code, reason);
      }
      default:
        break;
    }
  }
  inbound_.erase(0, at);
}

void WsConnection::send_text(std::string_view text) {
  if (state_ != State::open) return;
  const std::uint32_t r = static_cast<std::uint32_t>(mask_random_());
  queue_frame(ws::make_client_frame(ws::Opcode::text, text,
                                    {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(r >> 8),
                                     static_cast<std::uint8_t>(r >> 16), static_cast<std::uint8_t>(r >> 24)}));
}

void WsConnection::queue_frame(std::string frame) {
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  if (writing_now_ || flush_posted_) return;
  // Everything sent during this turn leaves in one write.
  flush_posted_ = true;
  asio::post(io_, [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void WsConnection::flush() {
  if (writing_now_ || queue_.empty() || state_ == State::closed) return;
  writing_now_ = true;
  writing_.swap(queue_);
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(writing_.size());
  for (const auto& frame : writing_) buffers.emplace_back(asio::buffer(frame));
  asio::async_write(socket_, buffers, [self = shared_from_this()](const boost::system::error_code& e, std::size_t n) {
    self->writing_now_ = false;
    self->queued_bytes_ -= n;
    self->writing_.clear();
    if (e) return self->finish(1006, e.message());
    self->flush();
  });
}

void WsConnection::close(std::uint16_t code) {
  if (state_ != State::open) {
    if (state_ != State::closed) finish(code, "closed by client");
    return;
  }
  state_ = State::closing;
  const std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  queue_frame(ws::make_client_frame(ws::Opcode::close, payload, {1, 2, 3, 4}));
}

void WsConnection::abort() { finish(1006, "aborted by client"); }

void WsConnection::finish(std::uint16_t code, const std::string& reason) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  auto on_close = std::move(handlers_.on_close);
  handlers_ = Handlers{};
  if (on_close) on_close(code, reason);
}

}  // namespace parley::client
