#include "gateway/http_connection.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sstream>

#include "core/security_log.hpp"
#include "gateway/media_io.hpp"
#include "gateway/server.hpp"
#include "gateway/transport.hpp"
#include "gateway/websocket_codec.hpp"
#include "gateway/ws_session.hpp"

namespace parley::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kReadChunk = 16384;
constexpr std::size_t kMaxProxyHeaderBytes = 2048 + 16;
// Media bytes move between the socket and the file thread in pieces of this size: one piece
// per upload or download in flight, whatever the file's size.
constexpr std::size_t kFileChunk = 256 * 1024;

asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  return address;
}

std::string error_body(const char* code, const char* message) {
  return std::string(R"({"error":{"code":")") + code + R"(","message":")" + message + R"("}})";
}

// The web client's pages: Server::page_security_policy (CSP), never framed by another site
// (clickjacking), no access to devices.
void add_page_security_headers(HttpResponse& response, const std::string& policy) {
  response.headers.emplace_back("Content-Security-Policy", policy);
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  response.headers.emplace_back("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
}

constexpr const char* kFallbackPage = R"(<!doctype html><html><head><meta charset="utf-8"><title>Parley</title></head>
<body><h1>Parley is running</h1><p>The web client is not built. The API is under <code>/v1/</code>, the WebSocket
endpoint is <code>/ws</code>; see docs/protocol.md.</p></body></html>)";

class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(Server& server, ThreadContext& thread, Transport transport, bool operator_port)
      : server_(server),
        thread_(thread),
        transport_(std::move(transport)),
        operator_port_(operator_port),
        timer_(thread.io),
        // The whole header block must fit the read buffer; a little more, so that a header block
        // over the limit is reported by the parser (413) rather than by a full buffer.
        buffer_(static_cast<std::size_t>(server.config().limits.max_http_header_bytes) + 4096) {}

  ~HttpConnection() {
    if (!upgraded_) server_.connection_count().fetch_sub(1, std::memory_order_relaxed);
  }

  void start() {
    boost::system::error_code ec;
    const auto endpoint = transport_.socket().remote_endpoint(ec);
    if (ec) return close();
    peer_ = unmapped(endpoint.address());
    remote_ = peer_.to_string() + ":" + std::to_string(endpoint.port());
    client_ = peer_;
    arm_timer(server_.config().limits.http_idle_timeout_ms);
    const auto& trusted = server_.trusted_proxies();
    if (!operator_port_ && server_.config().server.proxy_protocol) {
      // Only the proxy may connect: it names the client in a PROXY header first.
      if (!trusted.contains(peer_)) {
        security_log("proxy_refused", {{"address", peer_.to_string()}, {"reason", "not a trusted proxy"}});
        return close();
      }
      phase_ = Phase::proxy_header;
      return pump();
    }
    // Behind a trusted proxy without the PROXY protocol, the client is named per request
    // (X-Forwarded-For); connections from anyone else count at once.
    if (!operator_port_ && !trusted.contains(peer_) && !admit(client_)) return refuse();
    phase_ = Phase::handshake;
    pump();
  }

 private:
  enum class Phase { proxy_header, handshake, request, upload, writing, done };

  bool admit(const asio::ip::address& client) {
    const std::string address = client.to_string();
    if (!server_.limits().admit(address)) return false;
    slot_ = AddressSlot(&server_.limits(), address);
    return true;
  }

  // A client over its per-address limits: a plain 429 (not worth a TLS handshake), then closed.
  void refuse() {
    server_.refused_per_address.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("http.refused address={} reason=per_address_limit", client_.to_string());
    if (!transport_.is_tls()) {
      static const std::string kRefusal =
          "HTTP/1.1 429 Too Many Requests\r\nServer: parley\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
          "Connection: close\r\nContent-Length: " +
          std::to_string(error_body("rate_limited", "too many connections from your address").size()) + "\r\n\r\n" +
          error_body("rate_limited", "too many connections from your address");
      boost::system::error_code ec;
      const asio::const_buffer buffer(kRefusal.data(), kRefusal.size());
      transport_.write_some(&buffer, 1, ec);  // best effort: a fresh socket takes a few hundred bytes
    }
    close();
  }

  void arm_timer(int ms) {
    timer_.expires_after(std::chrono::milliseconds(ms));
    timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->close();
    });
  }

  void wait_then_pump() {
    if (waiting_ || closed_) return;
    waiting_ = true;
    const auto type = transport_.wants() == Transport::Wait::read ? tcp::socket::wait_read : tcp::socket::wait_write;
    transport_.socket().async_wait(type, [self = shared_from_this()](boost::system::error_code ec) {
      self->waiting_ = false;
      if (ec || self->closed_) return self->close();
      self->pump();
    });
  }

  // Reads into the buffer. False when the caller must stop (waiting, or closed).
  bool read_more() {
    const std::size_t room = std::min(kReadChunk, buffer_.max_size() - buffer_.size());
    if (room == 0) {
      respond_error(413, "too_large", "request headers too large", false);
      return false;
    }
    boost::system::error_code ec;
    const std::size_t n = transport_.read_some(buffer_.prepare(room).data(), room, ec);
    if (ec == asio::error::would_block) {
      wait_then_pump();
      return false;
    }
    if (ec || n == 0) {
      close();  // EOF or reset mid-request: nothing to answer
      return false;
    }
    buffer_.commit(n);
    return true;
  }

  // Advances whatever the connection is doing as far as it goes without blocking.
  void pump() {
    while (!closed_) {
      switch (phase_) {
        case Phase::proxy_header: {
          ProxyHeader header;
          const auto* data = static_cast<const std::uint8_t*>(buffer_.data().data());
          const ProxyParse parsed = parse_proxy_header(data, buffer_.size(), header);
          if (parsed == ProxyParse::invalid || (parsed == ProxyParse::incomplete && buffer_.size() >= kMaxProxyHeaderBytes)) {
            security_log("proxy_refused", {{"address", peer_.to_string()}, {"reason", "malformed PROXY header"}});
            return close();
          }
          if (parsed == ProxyParse::incomplete) {
            if (!read_more()) return;
            continue;
          }
          buffer_.consume(header.length);
          if (header.source) client_ = unmapped(*header.source);
          // LOCAL (the proxy's own health check): counted as the proxy, never limited.
          if (header.source && !admit(client_)) return refuse();
          phase_ = Phase::handshake;
          continue;
        }
        case Phase::handshake: {
          boost::system::error_code ec;
          if (!transport_.handshake(ec)) {
            if (ec == asio::error::would_block) return wait_then_pump();
            server_.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
            return close();
          }
          start_request();
          continue;
        }
        case Phase::request: {
          if (buffer_.size() > 0) {
            beast::error_code ec;
            const std::size_t used = parser_->put(buffer_.data(), ec);
            buffer_.consume(used);
            if (ec == http::error::need_more) ec = {};
            if (ec) return on_parse_error(ec);
            if (!header_seen_ && parser_->is_header_done()) {
              header_seen_ = true;
              if (!on_header()) return;  // answered, or became an upload
              if (parser_->is_done()) return on_request();  // no body
              continue;
            }
            if (parser_->is_done()) return on_request();
            if (used > 0 && buffer_.size() > 0) continue;  // more of the same request already here
          }
          if (!read_more()) return;
          continue;
        }
        case Phase::upload:
          return pump_upload();
        case Phase::writing:
          return pump_write();
        case Phase::done:
          return;
      }
    }
  }

  void start_request() {
    phase_ = Phase::request;
    parser_.emplace();
    // The header first (on_header decides where the body goes: memory, or a media file).
    parser_->eager(false);
    parser_->header_limit(static_cast<std::uint32_t>(server_.config().limits.max_http_header_bytes));
    parser_->body_limit(boost::none);
    header_seen_ = false;
    upload_parser_.reset();
    upload_.reset();
    download_.reset();
    arm_timer(server_.config().limits.http_idle_timeout_ms);
  }

  // The request's header has arrived. A media upload (PUT to a signed local URL) streams its
  // body to a file; any other body is read into memory up to limits.max_http_body_bytes.
  // False when the request was answered (or became an upload) and pump() must stop.
  bool on_header() {
    auto& request = parser_->get();
    const MediaFileHandler* media = operator_port_ ? nullptr : server_.http().media_files();
    if (media && request.method() == http::verb::put) {
      auto url = boost::urls::parse_origin_form(request.target());
      if (url && media->is_media_path(url->path())) {
        begin_upload(*media, *url);
        return false;
      }
    }
    const auto limit = static_cast<std::uint64_t>(server_.config().limits.max_http_body_bytes);
    if (parser_->content_length() && *parser_->content_length() > limit) {
      respond_error(413, "too_large", "request body too large", false);
      return false;
    }
    parser_->body_limit(limit);  // a chunked body counts as it comes
    parser_->eager(true);
    return true;
  }

  void on_parse_error(const beast::error_code& ec) {
    if (ec == http::error::body_limit) return respond_error(413, "too_large", "request body too large", false);
    if (ec == http::error::header_limit) return respond_error(413, "too_large", "request headers too large", false);
    respond_error(400, "bad_request", "malformed HTTP request", false);
  }

  void on_request() {
    auto& request = parser_->get();
    keep_alive_ = request.keep_alive();
    origin_ = std::string(request[http::field::origin]);
    host_ = std::string(request[http::field::host]);
    // Behind a trusted proxy (X-Forwarded-For mode) each request names its client.
    const auto& trusted = server_.trusted_proxies();
    if (!operator_port_ && !server_.config().server.proxy_protocol && trusted.contains(peer_))
      client_ = unmapped(client_from_forwarded_for(peer_, request["X-Forwarded-For"], trusted));

    if (operator_port_) return serve_operator(request);
    if (beast::websocket::is_upgrade(request)) return upgrade(request);
    slot_.settle();  // a complete request: no longer a pending handshake

    HttpRequest req;
    req.method = std::string(request.method_string());
    req.remote = remote_;
    req.address = client_.to_string();
    req.user_agent = std::string(request[http::field::user_agent].substr(0, 256));
    req.thread_index = thread_.index;
    auto url = boost::urls::parse_origin_form(request.target());
    if (!url) return respond_error(400, "bad_request", "malformed request target", true);
    req.path = std::string(url->path());
    for (auto param : url->params()) req.query.emplace_back(std::string(param.key), std::string(param.value));
    auto authorization = request[http::field::authorization];
    if (authorization.size() > 7 && beast::iequals(authorization.substr(0, 7), "Bearer "))
      req.bearer_token = std::string(authorization.substr(7));
    req.body = std::move(request.body());

    if (req.method == "OPTIONS" && req.path.rfind("/v1/", 0) == 0) {
      // A CORS preflight: answered for allowed origins only.
      if (!origin_.empty() && !server_.origin_allowed(origin_, host_)) return refuse_origin("preflight");
      HttpResponse response;
      response.status = 204;
      response.content_type.clear();
      response.headers = {{"Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS"},
                          {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                          {"Access-Control-Max-Age", "86400"}};
      return write_response(std::move(response));
    }
    HttpResponder respond = [self = shared_from_this()](HttpResponse response) {
      self->write_response(std::move(response));
    };
    if (const MediaFileHandler* media = server_.http().media_files(); media && media->is_media_path(req.path))
      return serve_media(*media, req, request);
    if (server_.http().on_request(req, respond)) return;
    serve_static(req);
  }

  // The operator listener: metrics and health only, nothing a client could use.
  void serve_operator(http::request<http::string_body>& request) {
    auto url = boost::urls::parse_origin_form(request.target());
    const std::string path = url ? std::string(url->path()) : std::string();
    if (path != "/metrics" && path != "/healthz" && path != "/readyz")
      return respond_error(404, "not_found", "the operator port serves /metrics, /healthz and /readyz", true);
    HttpRequest req;
    req.method = std::string(request.method_string());
    req.path = path;
    req.remote = remote_;
    req.address = client_.to_string();
    req.thread_index = thread_.index;
    req.operator_port = true;
    HttpResponder respond = [self = shared_from_this()](HttpResponse response) {
      self->write_response(std::move(response));
    };
    if (!server_.http().on_request(req, respond)) respond_error(404, "not_found", "no such endpoint", true);
  }

  void refuse_origin(const char* what) {
    server_.refused_origin.fetch_add(1, std::memory_order_relaxed);
    security_log("origin_refused", {{"origin", origin_}, {"host", host_}, {"what", what}, {"address", client_.to_string()}});
    respond_error(403, "forbidden", "this origin may not use this server (server.allowed_origins)", false);
  }

  void serve_static(const HttpRequest& req) {
    if (req.method != "GET" && req.method != "HEAD") return respond_error(405, "bad_request", "method not allowed", true);
    const std::string& path = req.path;
    const Server::StaticFile* file = server_.static_file(path);
    // Client-side routes fall back to the app shell; real files with an extension do not.
    if (!file && path.find('.', path.rfind('/') + 1) == std::string::npos) file = server_.static_file("/index.html");
    HttpResponse response;
    if (!file) {
      if (path == "/" || path == "/index.html") {
        response.content_type = "text/html; charset=utf-8";
        response.body = kFallbackPage;
        add_page_security_headers(response, server_.page_security_policy());
        return write_response(std::move(response));
      }
      return respond_error(404, "not_found", "no such file", true);
    }
    response.content_type = file->content_type;
    response.body = req.method == "HEAD" ? std::string() : file->body;
    response.headers.emplace_back("Cache-Control", path.rfind("/assets/", 0) == 0 ? "public, max-age=31536000, immutable"
                                                                                 : "no-cache");
    add_page_security_headers(response, server_.page_security_policy());
    write_response(std::move(response));
  }

  // --- media: the local backend's PUT and GET (docs/protocol.md, "Uploading and downloading
  // with the local backend"); the file work runs on the server's FileThread, one step at a
  // time, and each step's completion comes back here to continue. ---

  void begin_upload(const MediaFileHandler& media, const boost::urls::url_view& url) {
    slot_.settle();
    HttpRequest req;
    req.method = "PUT";
    req.path = std::string(url.path());
    for (auto param : url.params()) req.query.emplace_back(std::string(param.key), std::string(param.value));
    // Nothing of the body has been read: an answer now closes the connection.
    MediaGrant grant = media.authorize(req);
    if (grant.status != 200) return respond_error(grant.status, grant.error_code, grant.error_message, false);
    const auto length = parser_->content_length();
    if (!length || parser_->chunked())
      return respond_error(411, "bad_request", "an upload needs a Content-Length equal to the declared size", false);
    if (*length > static_cast<std::uint64_t>(grant.declared_size))
      return respond_error(413, "too_large", "the body is larger than the size this URL was signed for", false);
    if (*length < static_cast<std::uint64_t>(grant.declared_size))
      return respond_error(400, "invalid_field", "the body is smaller than the size this URL was signed for", false);
    keep_alive_ = parser_->get().keep_alive();
    const bool expect_continue = beast::iequals(parser_->get()[http::field::expect], "100-continue");
    upload_parser_.emplace(std::move(*parser_));
    parser_.reset();
    upload_parser_->body_limit(static_cast<std::uint64_t>(grant.declared_size));
    upload_ = std::make_shared<UploadFile>();
    upload_->part_path = std::move(grant.part_path);
    upload_->path = std::move(grant.path);
    upload_size_ = grant.declared_size;
    chunk_.resize(kFileChunk);
    chunk_used_ = 0;
    phase_ = Phase::upload;
    file_busy_ = true;
    server_.files().post([self = shared_from_this(), upload = upload_, expect_continue] {
      const int error = open_upload(*upload);
      asio::post(self->thread_.io, [self, error, expect_continue] { self->on_upload_opened(error, expect_continue); });
    });
  }

  void on_upload_opened(int error, bool expect_continue) {
    file_busy_ = false;
    if (closed_) return;
    if (error) {
      upload_->settled = true;  // nothing of ours to remove: the part file is another upload's
      if (error == EEXIST) return respond_error(409, "conflict", "this file is being uploaded or is complete already", false);
      spdlog::error("media.upload_open path={} error={}", upload_->part_path, std::strerror(error));
      return respond_error(500, "internal", "cannot store the file", false);
    }
    if (expect_continue) {
      // Small enough for one write on a fresh connection; a client that gets no 100 sends
      // its body after a pause anyway.
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      boost::system::error_code ec;
      const asio::const_buffer buffer(kContinue.data(), kContinue.size());
      transport_.write_some(&buffer, 1, ec);
    }
    pump();
  }

  // Moves the body from the socket into chunk_, and each full chunk (or the last) to the file.
  void pump_upload() {
    while (!closed_ && !file_busy_) {
      if (upload_parser_->is_done() || chunk_used_ == chunk_.size()) {
        if (chunk_used_ > 0) return write_chunk();
        return complete_upload();
      }
      if (buffer_.size() > 0) {
        auto& body = upload_parser_->get().body();
        body.data = chunk_.data() + chunk_used_;
        body.size = chunk_.size() - chunk_used_;
        body.more = true;
        beast::error_code ec;
        const std::size_t used = upload_parser_->put(buffer_.data(), ec);
        buffer_.consume(used);
        chunk_used_ = chunk_.size() - body.size;
        if (ec == http::error::need_buffer || ec == http::error::need_more) ec = {};
        if (ec) return respond_error(400, "bad_request", "malformed HTTP request", false);
        if (used > 0) continue;
      }
      if (!read_more()) return;
    }
  }

  void write_chunk() {
    file_busy_ = true;
    server_.files().post([self = shared_from_this(), upload = upload_, size = chunk_used_] {
      const int error = write_upload(*upload, self->chunk_.data(), size);
      asio::post(self->thread_.io, [self, error] {
        self->file_busy_ = false;
        if (self->closed_) return;
        if (error) {
          spdlog::error("media.upload_write path={} error={}", self->upload_->part_path, std::strerror(error));
          return self->respond_error(error == ENOSPC ? 507 : 500, "unavailable", "cannot store the file", false);
        }
        self->chunk_used_ = 0;
        self->arm_timer(self->server_.config().limits.http_idle_timeout_ms);  // still coming: not idle
        self->pump();
      });
    });
  }

  void complete_upload() {
    file_busy_ = true;
    server_.files().post([self = shared_from_this(), upload = upload_] {
      const int error = finish_upload(*upload);
      asio::post(self->thread_.io, [self, error] {
        self->file_busy_ = false;
        if (self->closed_) return;
        if (error == EEXIST) return self->respond_error(409, "conflict", "this file is complete already", false);
        if (error) {
          spdlog::error("media.upload_finish path={} error={}", self->upload_->path, std::strerror(error));
          return self->respond_error(500, "unavailable", "cannot store the file", false);
        }
        std::vector<char>().swap(self->chunk_);
        HttpResponse response;
        response.body = R"({"size":)" + std::to_string(self->upload_size_) + "}";
        self->write_response(std::move(response));
      });
    });
  }

  // GET or HEAD of a signed local media URL: the file's bytes, with its sniffed type.
  void serve_media(const MediaFileHandler& media, const HttpRequest& req, const http::request<http::string_body>& request) {
    MediaGrant grant = media.authorize(req);
    if (grant.status != 200) return respond_error(grant.status, grant.error_code, grant.error_message, true);
    download_ = std::make_shared<DownloadFile>();
    const bool head = req.method == "HEAD";
    std::string range(request[http::field::range]);
    std::string if_none_match(request[http::field::if_none_match]);
    file_busy_ = true;
    phase_ = Phase::writing;
    server_.files().post([self = shared_from_this(), &media, file = download_, path = std::move(grant.path), head,
                          range = std::move(range), if_none_match = std::move(if_none_match)]() mutable {
      const int error = open_download(path, *file);
      std::string type = error ? std::string() : media.content_type_of(path);
      asio::post(self->thread_.io, [self, &media, error, type = std::move(type), head, range = std::move(range),
                                    if_none_match = std::move(if_none_match)] {
        self->file_busy_ = false;
        if (self->closed_) return;
        if (error) {
          self->download_.reset();
          return self->respond_error(404, "not_found", "no such media file", true);
        }
        self->start_download(media, type, head, range, if_none_match);
      });
    });
  }

  static bool etag_matches(std::string_view list, std::string_view etag) {
    while (!list.empty()) {
      const auto comma = list.find(',');
      std::string_view entry = list.substr(0, comma);
      while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
      while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
      if (entry.starts_with("W/")) entry.remove_prefix(2);  // If-None-Match compares weakly
      if (entry == "*" || entry == etag) return true;
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    return false;
  }

  void start_download(const MediaFileHandler& media, const std::string& type, bool head, const std::string& range_header,
                      const std::string& if_none_match) {
    const DownloadFile& file = *download_;
    http::response<http::empty_body> res;
    res.version(11);
    set_common_headers(res);
    // Signed URLs are short-lived and per request: a browser may keep the bytes for this
    // URL and revalidate with the ETag, a shared cache never.
    res.set(http::field::cache_control, "private, no-cache");
    res.set(http::field::etag, file.etag);
    res.set(http::field::accept_ranges, "bytes");
    res.set(http::field::content_type, type);
    res.set(http::field::content_disposition, media.is_inline_type(type) ? "inline" : "attachment");
    // Even shown inline, a file from this origin runs nothing and is framed by nobody.
    res.set("Content-Security-Policy", "default-src 'none'; media-src 'self'; img-src 'self'; sandbox");
    res.keep_alive(keep_alive_);
    std::int64_t first = 0, last = file.size - 1;
    if (!if_none_match.empty() && etag_matches(if_none_match, file.etag)) {
      res.result(http::status::not_modified);
      download_.reset();
      return write_head(res, 0);
    }
    const ByteRange range = range_header.empty() ? ByteRange{} : media.range_of(range_header, file.size);
    if (range.kind == ByteRange::Kind::unsatisfiable) {
      res.result(http::status::range_not_satisfiable);
      res.set(http::field::content_range, "bytes */" + std::to_string(file.size));
      res.erase(http::field::content_disposition);
      download_.reset();
      return write_head(res, 0);
    }
    res.result(http::status::ok);
    if (range.kind == ByteRange::Kind::partial) {
      first = range.first;
      last = range.last;
      res.result(http::status::partial_content);
      res.set(http::field::content_range,
              "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(file.size));
    }
    const std::int64_t length = last - first + 1;
    download_next_ = first;
    download_end_ = head ? first : last + 1;
    if (head || length <= 0) download_.reset();
    write_head(res, length);
  }

  // Writes a header whose body (of `length` bytes) follows from download_, if any.
  void write_head(http::response<http::empty_body>& res, std::int64_t length) {
    if (res.result() != http::status::not_modified) res.content_length(static_cast<std::uint64_t>(length));
    std::ostringstream text;
    text << res.base();
    out_ = std::move(text).str();
    out_offset_ = 0;
    phase_ = Phase::writing;
    arm_timer(server_.config().limits.write_timeout_ms);
    pump_write();
  }

  // The next piece of a download, read on the file thread; then written like any response.
  void read_download_chunk() {
    file_busy_ = true;
    const auto want = static_cast<std::size_t>(std::min<std::int64_t>(kFileChunk, download_end_ - download_next_));
    server_.files().post([self = shared_from_this(), file = download_, offset = download_next_, want] {
      std::string piece(want, '\0');
      const std::int64_t n = read_download(*file, piece.data(), want, offset);
      asio::post(self->thread_.io, [self, n, piece = std::move(piece)]() mutable {
        self->file_busy_ = false;
        if (self->closed_) return;
        if (n <= 0) return self->close();  // the file shrank or failed: the promised length cannot be kept
        piece.resize(static_cast<std::size_t>(n));
        self->download_next_ += n;
        self->out_ = std::move(piece);
        self->out_offset_ = 0;
        self->arm_timer(self->server_.config().limits.write_timeout_ms);
        self->pump_write();
      });
    });
  }

  void respond_error(int status, const std::string& code, const std::string& message, bool keep_alive) {
    respond_error(status, code.c_str(), message.c_str(), keep_alive);
  }

  void respond_error(int status, const char* code, const char* message, bool keep_alive) {
    keep_alive_ = keep_alive;
    HttpResponse response;
    response.status = status;
    response.body = error_body(code, message);
    write_response(std::move(response));
  }

  template <class Message>
  void set_common_headers(Message& res) {
    res.set(http::field::server, "parley");  // no version: it only helps an attacker pick exploits
    // API answers carry tokens and messages: never kept by a browser or proxy cache. Every
    // response: no MIME sniffing, no Referer to other sites.
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    if (!origin_.empty() && server_.origin_allowed(origin_, host_)) {
      res.set(http::field::access_control_allow_origin, origin_);
      res.set(http::field::vary, "Origin");
    }
    const int hsts = server_.config().server.hsts_max_age_s;
    if (transport_.is_tls() && hsts > 0) res.set(http::field::strict_transport_security, "max-age=" + std::to_string(hsts));
  }

  void write_response(HttpResponse response) {
    if (closed_) return;
    download_.reset();
    http::response<http::string_body> res;
    res.version(11);
    res.result(static_cast<http::status>(response.status));
    if (!response.content_type.empty()) res.set(http::field::content_type, response.content_type);
    set_common_headers(res);
    for (auto& [name, value] : response.headers) res.set(name, value);
    res.body() = std::move(response.body);
    res.keep_alive(keep_alive_);
    res.prepare_payload();
    std::ostringstream text;
    text << res;
    out_ = std::move(text).str();
    out_offset_ = 0;
    phase_ = Phase::writing;
    arm_timer(server_.config().limits.write_timeout_ms);
    pump_write();
  }

  void pump_write() {
    if (file_busy_) return;
    while (out_offset_ < out_.size()) {
      boost::system::error_code ec;
      const asio::const_buffer buffer(out_.data() + out_offset_, out_.size() - out_offset_);
      const std::size_t n = transport_.write_some(&buffer, 1, ec);
      if (ec == asio::error::would_block) return wait_then_pump();
      if (ec) return close();
      out_offset_ += n;
    }
    std::string().swap(out_);
    if (download_ && download_next_ < download_end_) return read_download_chunk();
    download_.reset();
    if (!keep_alive_) return close();
    start_request();
    pump();  // a pipelined request may be waiting in the buffer already
  }

  void upgrade(http::request<http::string_body>& request) {
    const auto key = request[http::field::sec_websocket_key];
    auto url = boost::urls::parse_origin_form(request.target());
    if (!url || url->path() != "/ws") return respond_error(404, "not_found", "the WebSocket endpoint is /ws", false);
    if (request.method() != http::verb::get || key.size() != 24)
      return respond_error(400, "bad_request", "malformed WebSocket upgrade", false);
    if (request[http::field::sec_websocket_version] != "13") {
      HttpResponse response;
      response.status = 426;
      response.headers = {{"Sec-WebSocket-Version", "13"}};
      response.body = error_body("bad_request", "WebSocket version 13 required");
      keep_alive_ = false;
      return write_response(std::move(response));
    }
    // Browsers send Origin: a page of another site may not open a session here (the CLI,
    // the C++ library and mobile apps send none).
    if (!origin_.empty() && !server_.origin_allowed(origin_, host_)) return refuse_origin("websocket");
    UpgradeInfo info;
    info.remote = remote_;
    info.address = client_.to_string();
    info.user_agent = std::string(request[http::field::user_agent].substr(0, 256));
    auto authorization = request[http::field::authorization];
    if (authorization.size() > 7 && beast::iequals(authorization.substr(0, 7), "Bearer "))
      info.token = std::string(authorization.substr(7));
    for (auto param : url->params()) {
      if (param.key != "token") continue;
      // A token in the URL ends up in proxy and server logs: off unless the operator allows it.
      if (!server_.config().server.ws_query_token)
        return respond_error(400, "bad_request",
                             "tokens in the URL are disabled (server.ws_query_token): send it in hello or in an "
                             "Authorization header",
                             false);
      info.token = std::string(param.value);
    }
    // Behind a proxy that names clients per request, the session's client counts from now on.
    if (!slot_.pending() && server_.trusted_proxies().contains(peer_) && client_ != peer_ && !admit(client_)) {
      server_.refused_per_address.fetch_add(1, std::memory_order_relaxed);
      return respond_error(429, "rate_limited", "too many connections from your address", false);
    }

    std::string response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: " + websocket::accept_key(key) + "\r\n";
    // Offer our subprotocol name back if the client asked for it.
    std::string_view protocols = request[http::field::sec_websocket_protocol];
    while (!protocols.empty()) {
      const auto comma = protocols.find(',');
      std::string_view offered = protocols.substr(0, comma);
      while (!offered.empty() && offered.front() == ' ') offered.remove_prefix(1);
      while (!offered.empty() && offered.back() == ' ') offered.remove_suffix(1);
      if (offered == "parley.v1") {
        response += "Sec-WebSocket-Protocol: parley.v1\r\n";
        break;
      }
      protocols = comma == std::string_view::npos ? std::string_view() : protocols.substr(comma + 1);
    }
    const int hsts = server_.config().server.hsts_max_age_s;
    if (transport_.is_tls() && hsts > 0) response += "Strict-Transport-Security: max-age=" + std::to_string(hsts) + "\r\n";
    response += "\r\n";

    const auto leftover = buffer_.data();
    std::string received(static_cast<const char*>(leftover.data()), leftover.size());
    upgraded_ = true;
    phase_ = Phase::done;
    timer_.cancel();
    auto session = std::make_shared<WsSession>(thread_, std::move(transport_), std::move(info),
                                               server_.config().limits, server_.sessions(), server_.next_session_id(),
                                               std::move(response), std::move(received), server_.connection_count(),
                                               std::move(slot_));
    closed_ = true;  // this object no longer owns the connection
    session->start();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (upload_ && !upload_->settled)  // after any step of it still queued
      server_.files().post([upload = upload_] { abort_upload(*upload); });
    phase_ = Phase::done;
    timer_.cancel();
    transport_.close();
  }

  Server& server_;
  ThreadContext& thread_;
  Transport transport_;
  bool operator_port_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool header_seen_ = false;
  // A media upload in progress: its parser (the body goes into chunk_, then to the file).
  std::optional<http::request_parser<http::buffer_body>> upload_parser_;
  std::shared_ptr<UploadFile> upload_;
  std::int64_t upload_size_ = 0;
  std::vector<char> chunk_;
  std::size_t chunk_used_ = 0;
  // A media download in progress: bytes [download_next_, download_end_) still to send.
  std::shared_ptr<DownloadFile> download_;
  std::int64_t download_next_ = 0;
  std::int64_t download_end_ = 0;
  bool file_busy_ = false;  // a step is on the file thread; its completion continues
  Phase phase_ = Phase::handshake;
  std::string out_;
  std::size_t out_offset_ = 0;
  AddressSlot slot_;
  asio::ip::address peer_;
  asio::ip::address client_;
  std::string remote_;
  std::string origin_;
  std::string host_;
  bool keep_alive_ = true;
  bool upgraded_ = false;
  bool waiting_ = false;
  bool closed_ = false;
};

}  // namespace

void serve_connection(Server& server, ThreadContext& thread, tcp::socket socket, bool operator_port) {
  std::optional<Transport> transport;
  if (!operator_port && server.tls()) {
    SSL* ssl = server.tls()->new_connection();
    if (!ssl) {
      server.connection_count().fetch_sub(1, std::memory_order_relaxed);
      return;  // OpenSSL out of memory: the socket closes with this scope
    }
    transport.emplace(std::move(socket), ssl);
  } else {
    transport.emplace(std::move(socket));
  }
  std::make_shared<HttpConnection>(server, thread, std::move(*transport), operator_port)->start();
}

}  // namespace parley::gateway
