#include "media/s3_client.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <type_traits>

#include "core/clock.hpp"

namespace parley::media {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// How long the pre-signed URL of one of the server's own requests is valid. The store checks
// it when the request starts, so it only has to outlast the connect and the handshake.
constexpr std::int64_t kRequestUrlTtlSeconds = 300;

// Where a pre-signed URL points: "http(s)://AUTHORITY/PATH?QUERY".
struct UrlParts {
  bool tls = false;
  std::string host;  // to resolve (an IPv6 address without brackets)
  std::string port;
  std::string authority;  // the Host header: exactly what was signed
  std::string target;     // "/PATH?QUERY"
};

Result<UrlParts> split_url(const std::string& url) {
  UrlParts out;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return make_error(ErrorCode::internal, "not an http(s) URL");
  }
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return make_error(ErrorCode::internal, "URL without a path");
  out.authority = std::string(rest.substr(0, slash));
  out.target = std::string(rest.substr(slash));
  std::string_view authority = out.authority;
  out.port = out.tls ? "443" : "80";
  if (authority.starts_with('[')) {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error(ErrorCode::internal, "bad IPv6 host");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      out.port = std::string(authority.substr(close + 2));
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
  } else {
    out.host = std::string(authority);
  }
  return out;
}

template <typename Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, beast::tcp_stream>;

struct Outcome {
  beast::error_code ec;
  const char* stage = "connect to";
};

// One request and its response on `stream`, every step under `timeout`. `want_body` is called
// once the response's header is in: false stops there (an error status; the connection is
// closed, not drained).
template <typename Stream, typename RequestBody, typename Body>
asio::awaitable<void> exchange(Stream& stream, const UrlParts& url, tcp::resolver::results_type addresses,
                               http::request<RequestBody>& request, http::response_parser<Body>& parser,
                               std::function<bool(http::response_parser<Body>&)> want_body,
                               std::chrono::milliseconds timeout, Outcome& out) {
  auto& socket = beast::get_lowest_layer(stream);
  auto token = asio::redirect_error(asio::use_awaitable, out.ec);
  out.stage = "connect to";
  socket.expires_after(timeout);
  co_await socket.async_connect(addresses, token);
  if (out.ec) co_return;
  if constexpr (kIsTls<Stream>) {
    out.stage = "TLS handshake with";
    // SNI, and the certificate must name the host (checked by the verify callback).
    if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
      out.ec = beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
      co_return;
    }
    stream.set_verify_callback(ssl::host_name_verification(url.host));
    socket.expires_after(timeout);
    co_await stream.async_handshake(ssl::stream_base::client, token);
    if (out.ec) co_return;
  }
  out.stage = "send to";
  // Piece by piece, each bounded on its own: a file body goes on as long as the store takes it.
  http::request_serializer<RequestBody> serializer(request);
  while (!serializer.is_done()) {
    socket.expires_after(timeout);
    co_await http::async_write_some(stream, serializer, token);
    if (out.ec) co_return;
  }
  out.stage = "read from";
  beast::flat_buffer buffer;
  socket.expires_after(timeout);
  co_await http::async_read_header(stream, buffer, parser, token);
  if (out.ec || !want_body(parser)) co_return;
  // Each read is bounded on its own: a large object keeps coming as long as the store sends.
  while (!parser.is_done()) {
    socket.expires_after(timeout);
    co_await http::async_read_some(stream, buffer, parser, token);
    if (out.ec) co_return;
  }
}

// Runs exchange() on a fresh connection to `presigned` and turns what failed into an Error
// naming the request (`what`, e.g. "GET media/ID") and the step. `request` has its method,
// and for a PUT its body, Content-Type and Content-Length; the target and the Host header
// come from the URL.
template <typename RequestBody, typename Body>
Status run(const std::string& what, const std::string& presigned, http::request<RequestBody>& request,
           http::response_parser<Body>& parser, std::function<bool(http::response_parser<Body>&)> want_body,
           int timeout_ms) {
  auto url = split_url(presigned);
  if (!url) return make_error(ErrorCode::internal, "s3 " + what + ": " + url.error().message);
  asio::io_context io;
  beast::error_code ec;
  tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(url->host, url->port, ec);
  if (ec) return make_error(ErrorCode::unavailable, "s3 " + what + ": resolve " + url->host + ": " + ec.message());

  request.target(url->target);
  request.set(http::field::host, url->authority);
  request.set(http::field::user_agent, "parleyd");
  request.set(http::field::connection, "close");

  Outcome outcome;
  std::exception_ptr failure;
  const std::chrono::milliseconds timeout(timeout_ms);
  auto done = [&failure](std::exception_ptr e) { failure = e; };
  if (url->tls) {
    ssl::context context(ssl::context::tls_client);
    context.set_default_verify_paths();
    context.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, context);
    asio::co_spawn(io, exchange(stream, *url, addresses, request, parser, std::move(want_body), timeout, outcome),
                   done);
    io.run();
  } else {
    beast::tcp_stream stream(io);
    asio::co_spawn(io, exchange(stream, *url, addresses, request, parser, std::move(want_body), timeout, outcome),
                   done);
    io.run();
  }
  if (failure) return make_error(ErrorCode::internal, "s3 " + what + ": failed unexpectedly");
  if (outcome.ec == http::error::body_limit)
    return make_error(ErrorCode::too_large, "s3 " + what + ": the object is larger than allowed");
  if (outcome.ec) {
    const std::string reason = outcome.ec == beast::error::timeout ? "timed out" : outcome.ec.message();
    return make_error(ErrorCode::unavailable, "s3 " + what + ": " + outcome.stage + " " + url->host + ": " + reason);
  }
  return Ok{};
}

Error status_error(const std::string& what, unsigned status) {
  if (status == 404) return Error{ErrorCode::not_found, "s3 " + what + ": no such object", {}};
  return Error{ErrorCode::unavailable, "s3 " + what + ": the store answered HTTP " + std::to_string(status), {}};
}

}  // namespace

S3Client::S3Client(S3Location location, int timeout_ms) : location_(std::move(location)), timeout_ms_(timeout_ms) {}

std::string S3Client::presign(S3Method method, const std::string& key, std::int64_t content_length) const {
  S3PresignRequest request{method, key, kRequestUrlTtlSeconds, wall_clock_ms() / 1000, content_length};
  return presign_s3_url(location_, request).value();  // the location was checked at start-up; keys are ours
}

Result<std::int64_t> S3Client::size_of(const std::string& key) const {
  const std::string what = "HEAD " + key;
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // a HEAD response's Content-Length announces no body
  http::request<http::empty_body> request(http::verb::head, "/", 11);
  auto sent = run<http::empty_body, http::empty_body>(
      what, presign(S3Method::head, key, 0), request, parser, [](auto&) { return false; }, timeout_ms_);
  if (!sent) return sent.error();
  const unsigned status = parser.get().result_int();
  if (status != 200) return status_error(what, status);
  const auto length = parser.get()[http::field::content_length];
  std::int64_t size = -1;
  auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), size);
  if (ec != std::errc() || end != length.data() + length.size() || size < 0)
    return make_error(ErrorCode::unavailable, "s3 " + what + ": no Content-Length in the answer");
  return size;
}

Status S3Client::download(const std::string& key, const std::string& path, std::int64_t max_bytes) const {
  const std::string what = "GET " + key;
  http::response_parser<http::file_body> parser;
  // The limit applies to the object, not to an error's body (which is never read): it is set
  // once the status is known.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::error_code open_error;
  bool too_large = false;
  auto open_file = [&](http::response_parser<http::file_body>& p) {
    if (p.get().result_int() != 200) return false;
    const auto announced = p.content_length();
    if (announced && *announced > static_cast<std::uint64_t>(max_bytes)) {
      too_large = true;
      return false;
    }
    p.body_limit(static_cast<std::uint64_t>(max_bytes));  // a chunked body, counted as it arrives
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      open_error = beast::error_code(errno, beast::system_category());
      return false;
    }
    beast::file file;
    file.native_handle(fd);  // the file owns (and closes) the descriptor from here
    p.get().body().reset(std::move(file), open_error);
    return !open_error;
  };
  http::request<http::empty_body> request(http::verb::get, "/", 11);
  auto sent = run<http::empty_body, http::file_body>(what, presign(S3Method::get, key, 0), request, parser, open_file,
                                                     timeout_ms_);
  if (!sent) return sent;
  if (too_large) return make_error(ErrorCode::too_large, "s3 " + what + ": the object is larger than allowed");
  if (open_error)
    return make_error(ErrorCode::internal, "s3 " + what + ": cannot write " + path + ": " + open_error.message());
  const unsigned status = parser.get().result_int();
  if (status != 200) return status_error(what, status);
  return Ok{};
}

Status S3Client::upload(const std::string& key, std::string_view body, std::string_view content_type) const {
  const std::string what = "PUT " + key;
  http::response_parser<http::empty_body> parser;
  http::request<http::string_body> request(http::verb::put, "/", 11);
  request.set(http::field::content_type, content_type);
  request.body() = std::string(body);
  request.prepare_payload();  // Content-Length, which the URL signs
  auto sent = run<http::string_body, http::empty_body>(
      what, presign(S3Method::put, key, static_cast<std::int64_t>(body.size())), request, parser,
      [](auto&) { return false; }, timeout_ms_);
  if (!sent) return sent;
  const unsigned status = parser.get().result_int();
  if (status != 200) return status_error(what, status);
  return Ok{};
}

Status S3Client::upload_file(const std::string& key, const std::string& path, std::string_view content_type,
                             std::string_view content_disposition) const {
  const std::string what = "PUT " + key;
  http::request<http::file_body> request(http::verb::put, "/", 11);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return make_error(ErrorCode::internal, "s3 " + what + ": cannot read " + path + ": " + std::strerror(errno));
  beast::file file;
  file.native_handle(fd);  // the file owns (and closes) the descriptor from here
  beast::error_code ec;
  request.body().reset(std::move(file), ec);
  if (ec) return make_error(ErrorCode::internal, "s3 " + what + ": cannot read " + path + ": " + ec.message());
  request.set(http::field::content_type, content_type);
  if (!content_disposition.empty()) request.set(http::field::content_disposition, content_disposition);
  request.prepare_payload();  // Content-Length: the file's size, which the URL signs
  const auto size = static_cast<std::int64_t>(request.body().size());
  http::response_parser<http::empty_body> parser;
  auto sent = run<http::file_body, http::empty_body>(
      what, presign(S3Method::put, key, size), request, parser, [](auto&) { return false; }, timeout_ms_);
  if (!sent) return sent;
  const unsigned status = parser.get().result_int();
  if (status != 200) return status_error(what, status);
  return Ok{};
}

Status S3Client::remove(const std::string& key) const {
  const std::string what = "DELETE " + key;
  http::response_parser<http::empty_body> parser;
  http::request<http::empty_body> request(http::verb::delete_, "/", 11);
  auto sent = run<http::empty_body, http::empty_body>(
      what, presign(S3Method::del, key, 0), request, parser, [](auto&) { return false; }, timeout_ms_);
  if (!sent) return sent;
  const unsigned status = parser.get().result_int();
  if (status != 200 && status != 204 && status != 404) return status_error(what, status);
  return Ok{};
}

TemporaryFile::~TemporaryFile() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

TemporaryFile& TemporaryFile::operator=(TemporaryFile&& other) noexcept {
  if (this != &other) {
    if (!path_.empty()) ::unlink(path_.c_str());
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

}  // namespace parley::media
