// Transport: one client connection's byte stream, plain TCP or TLS, driven the same way by
// HTTP connections and WebSocket sessions: non-blocking reads and writes that say "would
// block" and which readiness to wait for. TLS is OpenSSL directly on the socket (no BIO pair,
// no extra copy on the read side); the WebSocket code keeps its readiness-driven loop and
// its gathered writes over plain TCP.
//
// One transport belongs to one I/O thread; none of its methods may be called from another.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <memory>
#include <string>

namespace parley::gateway {

class Transport {
 public:
  enum class Wait { read, write };

  // A plain TCP connection.
  explicit Transport(boost::asio::ip::tcp::socket socket);
  // A TLS connection whose handshake has not run yet; takes ownership of `ssl`.
  Transport(boost::asio::ip::tcp::socket socket, SSL* ssl);
  ~Transport();
  Transport(Transport&&) noexcept;
  Transport& operator=(Transport&&) = delete;

  bool is_tls() const { return ssl_ != nullptr; }
  boost::asio::ip::tcp::socket& socket() { return socket_; }

  // Runs the TLS handshake as far as it goes without blocking. True once it is complete
  // (always for plain TCP). On would_block, wait for `wants()`; any other error ends the
  // connection.
  bool handshake(boost::system::error_code& ec);

  // Reads up to `size` bytes. 0 with `ec` = eof when the peer closed; would_block when there
  // is nothing to read yet (then wait for `wants()`).
  std::size_t read_some(void* data, std::size_t size, boost::system::error_code& ec);

  // Writes from the first `count` buffers; returns how many of their bytes are consumed (the
  // caller drops exactly those). Plain TCP: one gathered write. TLS: the leading bytes, up to
  // one record, are copied into a record that is retried until it is out; until then 0 is
  // returned with would_block, and the caller must offer the same leading bytes again.
  std::size_t write_some(const boost::asio::const_buffer* buffers, std::size_t count, boost::system::error_code& ec);

  // What a would_block from the last call waits for.
  Wait wants() const { return wants_; }

  // TLS: decrypted bytes (or a whole record) already inside OpenSSL: read again before
  // waiting, the socket will not signal them.
  bool has_buffered_input() const;

  // Sends a TLS close_notify (best effort), shuts the socket down and closes it.
  void close();

  // The negotiated TLS version ("TLSv1.3") or empty for plain TCP.
  std::string tls_version() const;

 private:
  std::size_t tls_result(int ok, std::size_t done, boost::system::error_code& ec);

  boost::asio::ip::tcp::socket socket_;
  SSL* ssl_ = nullptr;
  Wait wants_ = Wait::read;
  // TLS only: the record being written (kept until SSL_write reports it out), and how many
  // of the caller's bytes it holds.
  std::string record_;
};

}  // namespace parley::gateway
