#include "client/http_transfer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <type_traits>

namespace parley::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::optional<TransferUrl> parse_transfer_url(std::string_view url) {
  TransferUrl parsed;
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    parsed.tls = true;
    parsed.port = 443;
    rest = url.substr(8);
  } else {
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  parsed.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  parsed.authority = std::string(authority);
  std::string_view port_text;
  if (authority.front() == '[') {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    parsed.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      port_text = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (parsed.host.empty()) return std::nullopt;
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return std::nullopt;
    parsed.port = static_cast<std::uint16_t>(port);
  }
  return parsed;
}

namespace {

constexpr std::size_t kPieceBytes = 64 * 1024;
constexpr std::uint64_t kErrorBodyBytes = 64 * 1024;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// An open file descriptor, closed when it goes.
struct FileHandle {
  int fd = -1;
  ~FileHandle() {
    if (fd >= 0) ::close(fd);
  }
};

// One exchange on a fresh connection: resolve, connect, (TLS handshake,) send the request,
// read the response. `Stream` is PlainStream or TlsStream; the steps are the same. Owned by
// the handlers in flight (shared_from_this), so it lives until `done` ran.
template <class Stream>
class Exchange : public std::enable_shared_from_this<Exchange<Stream>> {
 public:
  Exchange(asio::io_context& io, TransferUrl url, TransferOptions options, TransferDone done,
           std::shared_ptr<ssl::context> tls)
      : tls_(std::move(tls)),
        resolver_(io),
        stream_(make_stream(io, tls_.get())),
        url_(std::move(url)),
        options_(std::move(options)),
        done_(std::move(done)) {
    // Reads take what fits in the buffer's capacity (at least 512 bytes): without room, a
    // download goes 512 bytes per system call, ten times slower.
    buffer_.reserve(kPieceBytes);
  }

  // PUT: the body comes from the file at `path`, which must be `size` bytes.
  void start_put(const std::string& path, std::uint64_t size) {
    file_.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat info {};
    if (file_.fd < 0 || ::fstat(file_.fd, &info) != 0)
      return fail_soon("cannot read " + path + ": " + std::strerror(errno));
    if (static_cast<std::uint64_t>(info.st_size) != size)
      return fail_soon(path + " is " + std::to_string(info.st_size) + " bytes now, not " + std::to_string(size) +
                       " (it changed)");
    put_ = true;
    size_ = size;
    resolve();
  }

  void start_get(BodySink sink) {
    sink_ = std::move(sink);
    resolve();
  }

 private:
  static Stream make_stream(asio::io_context& io, ssl::context* tls) {
    if constexpr (std::is_same_v<Stream, TlsStream>) return Stream(io, *tls);
    else return Stream(io);
  }

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }
  void arm() { tcp().expires_after(std::chrono::milliseconds(options_.step_timeout_ms)); }

  void fail(std::string error) {
    result_.error = std::move(error);
    finish();
  }
  // From a start function: `done` never runs before put_file / get_to_sink returned.
  void fail_soon(std::string error) {
    asio::post(tcp().get_executor(), [self = this->shared_from_this(), error = std::move(error)]() mutable {
      self->fail(std::move(error));
    });
  }
  void fail(const char* stage, const beast::error_code& ec) {
    const std::string reason = ec == beast::error::timeout ? "timed out" : ec.message();
    fail(std::string(stage) + " " + url_.host + ": " + reason);
  }
  void finish() {
    if (!done_) return;
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(result_));
  }

  void resolve() {
    resolver_.async_resolve(url_.host, std::to_string(url_.port),
                            [self = this->shared_from_this()](const beast::error_code& ec, tcp::resolver::results_type results) {
                              if (ec) return self->fail("resolve", ec);
                              self->connect(results);
                            });
  }

  void connect(const tcp::resolver::results_type& results) {
    arm();
    tcp().async_connect(results, [self = this->shared_from_this()](const beast::error_code& ec, const tcp::endpoint&) {
      if (ec) return self->fail("connect to", ec);
      self->handshake();
    });
  }

  void handshake() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      // SNI, and the certificate must name the host (verify_peer is set on the context).
      if (!SSL_set_tlsext_host_name(stream_.native_handle(), url_.host.c_str()))
        return fail("TLS with " + url_.host + ": cannot set the server name");
      stream_.set_verify_callback(ssl::host_name_verification(url_.host));
      arm();
      stream_.async_handshake(ssl::stream_base::client, [self = this->shared_from_this()](const beast::error_code& ec) {
        if (ec) return self->fail("TLS handshake with", ec);
        self->send();
      });
    } else {
      send();
    }
  }

  template <class Message>
  void set_common_headers(Message& message) {
    message.version(11);
    message.target(url_.target);
    message.set(http::field::host, url_.authority);
    message.set(http::field::user_agent, options_.user_agent);
    for (const auto& [name, value] : options_.headers) {
      if (beast::iequals(name, "content-length") || beast::iequals(name, "host")) continue;
      message.set(name, value);
    }
  }

  void send() {
    if (!put_) {
      get_request_.method(http::verb::get);
      set_common_headers(get_request_);
      arm();
      http::async_write(stream_, get_request_, [self = this->shared_from_this()](const beast::error_code& ec, std::size_t) {
        if (ec) return self->fail("send to", ec);
        self->read_get_header();
      });
      return;
    }
    put_request_.method(http::verb::put);
    set_common_headers(put_request_);
    put_request_.content_length(size_);
    put_request_.body().data = nullptr;
    put_request_.body().more = true;
    serializer_.emplace(put_request_);
    arm();
    http::async_write_header(stream_, *serializer_, [self = this->shared_from_this()](const beast::error_code& ec, std::size_t) {
      if (ec) return self->put_write_failed(ec);
      self->write_piece();
    });
  }

  // Reads the next piece of the file and writes it; the last one ends the body.
  void write_piece() {
    const std::size_t wanted = static_cast<std::size_t>(std::min<std::uint64_t>(kPieceBytes, size_ - sent_));
    piece_.resize(kPieceBytes);
    std::size_t got = 0;
    while (got < wanted) {
      const ssize_t n = ::read(file_.fd, piece_.data() + got, wanted - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(std::string("cannot read the file: ") + std::strerror(errno));
      if (n == 0) return fail("the file got shorter while it was being sent");
      got += static_cast<std::size_t>(n);
    }
    sent_ += got;
    put_request_.body().data = got ? piece_.data() : nullptr;
    put_request_.body().size = got;
    put_request_.body().more = sent_ < size_;
    arm();
    http::async_write(stream_, *serializer_, [self = this->shared_from_this(), got](beast::error_code ec, std::size_t) {
      if (ec == http::error::need_buffer) ec = {};  // the piece went out; the body wants more
      if (ec) return self->put_write_failed(ec);
      self->result_.body_bytes += got;
      if (self->options_.progress) self->options_.progress(self->result_.body_bytes, self->size_);
      if (self->serializer_->is_done()) return self->read_put_response();
      self->write_piece();
    });
  }

  // A server refusing a URL answers at once and closes: read what it said, if it got here.
  void put_write_failed(const beast::error_code& ec) {
    write_error_ = (ec == beast::error::timeout ? std::string("timed out") : ec.message());
    read_put_response();
  }

  void read_put_response() {
    put_response_.body_limit(kErrorBodyBytes);
    arm();
    http::async_read(stream_, buffer_, put_response_, [self = this->shared_from_this()](const beast::error_code& ec, std::size_t) {
      if (ec) {
        if (!self->write_error_.empty()) return self->fail("send to " + self->url_.host + ": " + self->write_error_);
        return self->fail("read from", ec);
      }
      self->result_.status = static_cast<int>(self->put_response_.get().result_int());
      if (!self->write_error_.empty() && self->result_.status / 100 == 2)  // cannot be: it did not get the body
        return self->fail("send to " + self->url_.host + ": " + self->write_error_);
      if (self->result_.status / 100 != 2) self->result_.error_body = std::move(self->put_response_.get().body());
      self->finish();
    });
  }

  void read_get_header() {
    get_response_.body_limit(boost::none);  // the caller checks the size it expected
    arm();
    http::async_read_header(stream_, buffer_, get_response_, [self = this->shared_from_this()](const beast::error_code& ec, std::size_t) {
      if (ec) return self->fail("read from", ec);
      auto& response = self->get_response_.get();
      self->result_.status = static_cast<int>(response.result_int());
      self->result_.content_type = std::string(response[http::field::content_type]);
      self->total_ = self->get_response_.content_length().value_or(0);
      self->read_get_body();
    });
  }

  void read_get_body() {
    if (get_response_.is_done()) return finish();
    piece_.resize(kPieceBytes);
    get_response_.get().body().data = piece_.data();
    get_response_.get().body().size = piece_.size();
    arm();
    http::async_read_some(stream_, buffer_, get_response_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return self->fail("read from", ec);
      const std::size_t got = self->piece_.size() - self->get_response_.get().body().size;
      const std::string_view piece(self->piece_.data(), got);
      if (self->result_.status / 100 != 2) {
        const std::uint64_t room = kErrorBodyBytes - std::min<std::uint64_t>(kErrorBodyBytes, self->result_.error_body.size());
        self->result_.error_body.append(piece.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(room, got))));
      } else if (got > 0) {
        if (!self->sink_(piece)) return self->fail("the download was stopped by its receiver");
        self->result_.body_bytes += got;
        if (self->options_.progress) self->options_.progress(self->result_.body_bytes, self->total_);
      }
      self->read_get_body();
    });
  }

  std::shared_ptr<ssl::context> tls_;  // before stream_, which refers to it
  tcp::resolver resolver_;
  Stream stream_;
  TransferUrl url_;
  TransferOptions options_;
  TransferDone done_;
  TransferResult result_;
  beast::flat_buffer buffer_;
  std::vector<char> piece_;

  bool put_ = false;
  FileHandle file_;
  std::uint64_t size_ = 0, sent_ = 0;
  http::request<http::buffer_body> put_request_;
  std::optional<http::request_serializer<http::buffer_body>> serializer_;
  http::response_parser<http::string_body> put_response_;
  std::string write_error_;

  BodySink sink_;
  std::uint64_t total_ = 0;
  http::request<http::empty_body> get_request_;
  http::response_parser<http::buffer_body> get_response_;
};

// Verifies peers against the system's certificate authorities.
std::shared_ptr<ssl::context> tls_context(std::string& error) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  beast::error_code ec;
  context->set_default_verify_paths(ec);
  if (ec) {
    error = "cannot load the system's certificate authorities: " + ec.message();
    return nullptr;
  }
  context->set_verify_mode(ssl::verify_peer);
  return context;
}

template <class Start>
void run_exchange(asio::io_context& io, const TransferUrl& url, TransferOptions options, TransferDone done, Start start) {
  if (!url.tls) {
    start(std::make_shared<Exchange<PlainStream>>(io, url, std::move(options), std::move(done), nullptr));
    return;
  }
  std::string error;
  auto context = tls_context(error);
  if (!context) {
    asio::post(io, [done = std::move(done), error] {
      TransferResult result;
      result.error = error;
      done(std::move(result));
    });
    return;
  }
  start(std::make_shared<Exchange<TlsStream>>(io, url, std::move(options), std::move(done), std::move(context)));
}

}  // namespace

void put_file(asio::io_context& io, const TransferUrl& url, const std::string& path, std::uint64_t size,
              TransferOptions options, TransferDone done) {
  run_exchange(io, url, std::move(options), std::move(done), [&](auto exchange) { exchange->start_put(path, size); });
}

void get_to_sink(asio::io_context& io, const TransferUrl& url, BodySink sink, TransferOptions options,
                 TransferDone done) {
  run_exchange(io, url, std::move(options), std::move(done),
               [&](auto exchange) { exchange->start_get(std::move(sink)); });
}

}  // namespace parley::client
