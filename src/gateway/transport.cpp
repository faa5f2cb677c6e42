#include "gateway/transport.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <utility>

namespace parley::gateway {

namespace asio = boost::asio;

namespace {

// One TLS record's worth of plaintext: the most a record carries, and enough to coalesce the
// small frames of one flush into one record and one system call.
constexpr std::size_t kRecordBytes = 16384;

// A view of the first `count` buffers of an array, as an Asio buffer sequence (one writev).
struct BufferRange {
  const asio::const_buffer* first;
  const asio::const_buffer* last;
  const asio::const_buffer* begin() const { return first; }
  const asio::const_buffer* end() const { return last; }
};

}  // namespace

Transport::Transport(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
}

Transport::Transport(asio::ip::tcp::socket socket, SSL* ssl) : socket_(std::move(socket)), ssl_(ssl) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle()));
  SSL_set_accept_state(ssl_);
}

Transport::Transport(Transport&& other) noexcept
    : socket_(std::move(other.socket_)),
      ssl_(std::exchange(other.ssl_, nullptr)),
      wants_(other.wants_),
      record_(std::move(other.record_)) {}

Transport::~Transport() {
  if (ssl_) SSL_free(ssl_);
}

std::size_t Transport::tls_result(int ok, std::size_t done, boost::system::error_code& ec) {
  if (ok == 1) {
    ec.clear();
    return done;
  }
  const int error = SSL_get_error(ssl_, ok);
  switch (error) {
    case SSL_ERROR_WANT_READ:
      wants_ = Wait::read;
      ec = asio::error::would_block;
      break;
    case SSL_ERROR_WANT_WRITE:
      wants_ = Wait::write;
      ec = asio::error::would_block;
      break;
    case SSL_ERROR_ZERO_RETURN:
      ec = asio::error::eof;
      break;
    default:
      // A protocol error, a bad handshake or a dead socket: the connection is over. The queue
      // of this thread is cleared so the next connection's errors are its own.
      ERR_clear_error();
      ec = asio::error::connection_aborted;
      break;
  }
  return 0;
}

bool Transport::handshake(boost::system::error_code& ec) {
  ec.clear();
  if (!ssl_ || SSL_is_init_finished(ssl_)) return true;
  const int ok = SSL_do_handshake(ssl_);
  tls_result(ok, 0, ec);
  return ok == 1;
}

std::size_t Transport::read_some(void* data, std::size_t size, boost::system::error_code& ec) {
  if (!ssl_) {
    const std::size_t n = socket_.read_some(asio::buffer(data, size), ec);
    if (ec == asio::error::would_block) wants_ = Wait::read;
    return n;
  }
  std::size_t n = 0;
  const int ok = SSL_read_ex(ssl_, data, size, &n);
  return tls_result(ok, n, ec);
}

std::size_t Transport::write_some(const asio::const_buffer* buffers, std::size_t count, boost::system::error_code& ec) {
  if (!ssl_) {
    const std::size_t n = socket_.write_some(BufferRange{buffers, buffers + count}, ec);
    if (ec == asio::error::would_block) wants_ = Wait::write;
    return n;
  }
  if (record_.empty()) {
    // The leading bytes, up to one record. SSL_write then either sends all of them or asks to
    // be retried with the very same bytes: the record stays here until it is out.
    for (std::size_t i = 0; i < count && record_.size() < kRecordBytes; ++i) {
      const std::size_t take = std::min(buffers[i].size(), kRecordBytes - record_.size());
      record_.append(static_cast<const char*>(buffers[i].data()), take);
    }
    if (record_.empty()) {
      ec.clear();
      return 0;
    }
  }
  std::size_t written = 0;
  const int ok = SSL_write_ex(ssl_, record_.data(), record_.size(), &written);
  if (ok != 1) return tls_result(ok, 0, ec);
  const std::size_t consumed = record_.size();
  std::string().swap(record_);  // an idle connection keeps no record buffer
  ec.clear();
  return consumed;
}

bool Transport::has_buffered_input() const { return ssl_ && SSL_has_pending(ssl_) == 1; }

void Transport::close() {
  boost::system::error_code ec;
  if (ssl_ && SSL_is_init_finished(ssl_)) {
    SSL_shutdown(ssl_);  // one non-blocking try: a close_notify if the socket takes it
    ERR_clear_error();
  }
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

std::string Transport::tls_version() const { return ssl_ ? SSL_get_version(ssl_) : std::string(); }

}  // namespace parley::gateway
