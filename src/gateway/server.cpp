#include "gateway/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "core/clock.hpp"
#include "gateway/ws_session.hpp"

namespace parley::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Server::Listener {
  explicit Listener(asio::io_context& io) : acceptor(io), retry_timer(io) {}
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
};

namespace {

std::pair<std::string, std::string> split_host_port(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("server.listen must be HOST:PORT, got '" + listen + "'");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return {host, listen.substr(colon + 1)};
}

std::string content_type_for(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".woff") return "font/woff";
  if (ext == ".webp") return "image/webp";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".gif") return "image/gif";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  if (ext == ".wasm") return "application/wasm";
  if (ext == ".webmanifest") return "application/manifest+json";
  return "application/octet-stream";
}

// The web client's pages: scripts, styles and fonts only from this server (no inline script,
// no eval), connections only back to it (REST and the WebSocket), never framed by another site
// (clickjacking), no plugins, no <base> tricks, forms only to itself.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
    "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

void add_page_security_headers(HttpResponse& response) {
  response.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  response.headers.emplace_back("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
}

constexpr const char* kFallbackPage = R"(<!doctype html><html><head><meta charset="utf-8"><title>Parley</title></head>
<body><h1>Parley is running</h1><p>The web client is not built. The API is under <code>/v1/</code>, the WebSocket
endpoint is <code>/ws</code>; see docs/protocol.md.</p></body></html>)";

}  // namespace

// One HTTP/1.1 connection: reads requests one at a time, answers them (REST through the
// HttpHandler, else static files), and turns itself into a WsSession on a WebSocket upgrade.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(Server& server, ThreadContext& thread, tcp::socket socket)
      : server_(server),
        thread_(thread),
        stream_(std::move(socket)),
        // The whole header block must fit the read buffer; a little more, so that a header block
        // over the limit is reported by the parser (413) rather than by a full buffer (400).
        buffer_(static_cast<std::size_t>(server.config_.limits.max_http_header_bytes) + 4096) {}
  ~HttpConnection() {
    if (!upgraded_) server_.connections_.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() { read_request(); }

 private:
  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.config_.limits.max_http_header_bytes));
    parser_->body_limit(static_cast<std::uint64_t>(server_.config_.limits.max_http_body_bytes));
    stream_.expires_after(std::chrono::milliseconds(server_.config_.limits.http_idle_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) return respond_error(413, "too_large", "request body too large", false);
    if (ec == http::error::header_limit) return respond_error(413, "too_large", "request headers too large", false);
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset) return close();
    if (ec) return respond_error(400, "bad_request", "malformed HTTP request", false);
    auto& request = parser_->get();
    if (beast::websocket::is_upgrade(request)) return upgrade(request);

    HttpRequest req;
    req.method = std::string(request.method_string());
    req.remote = remote();
    req.address = peer_address();
    req.user_agent = std::string(request[http::field::user_agent].substr(0, 256));
    req.thread_index = thread_.index;
    const std::string_view target = request.target();
    auto url = boost::urls::parse_origin_form(target);
    if (!url) return respond_error(400, "bad_request", "malformed request target", true);
    req.path = std::string(url->path());
    for (auto param : url->params()) req.query.emplace_back(std::string(param.key), std::string(param.value));
    auto authorization = request[http::field::authorization];
    if (authorization.size() > 7 && beast::iequals(authorization.substr(0, 7), "Bearer "))
      req.bearer_token = std::string(authorization.substr(7));
    req.body = std::move(request.body());
    keep_alive_ = request.keep_alive();

    if (req.method == "OPTIONS" && req.path.rfind("/v1/", 0) == 0) {
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
    if (server_.http_.on_request(req, respond)) return;
    serve_static(req);
  }

  void serve_static(const HttpRequest& req) {
    if (req.method != "GET" && req.method != "HEAD") return respond_error(405, "bad_request", "method not allowed", true);
    std::string path = req.path;
    auto it = server_.static_files_.find(path);
    // Client-side routes fall back to the app shell; real files with an extension do not.
    if (it == server_.static_files_.end() && std::filesystem::path(path).extension().empty())
      it = server_.static_files_.find("/index.html");
    HttpResponse response;
    if (it == server_.static_files_.end()) {
      if (path == "/" || path == "/index.html") {
        response.content_type = "text/html; charset=utf-8";
        response.body = kFallbackPage;
        add_page_security_headers(response);
        return write_response(std::move(response));
      }
      return respond_error(404, "not_found", "no such file", true);
    }
    response.content_type = it->second.content_type;
    response.body = it->second.body;
    response.headers.emplace_back("Cache-Control", path.rfind("/assets/", 0) == 0 ? "public, max-age=31536000, immutable"
                                                                                 : "no-cache");
    add_page_security_headers(response);
    write_response(std::move(response));
  }

  void respond_error(int status, const char* code, const char* message, bool keep_alive) {
    keep_alive_ = keep_alive;
    HttpResponse response;
    response.status = status;
    response.body = std::string(R"({"error":{"code":")") + code + R"(","message":")" + message + R"("}})";
    write_response(std::move(response));
  }

  void write_response(HttpResponse response) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<http::status>(response.status));
    res->set(http::field::server, "parley");  // no version: it only helps an attacker pick exploits
    if (!response.content_type.empty()) res->set(http::field::content_type, response.content_type);
    res->set(http::field::access_control_allow_origin, "*");
    // Every response: no MIME sniffing (a JSON body is never run as a script or page), and no
    // URL leaks to other sites through the Referer header.
    res->set("X-Content-Type-Options", "nosniff");
    res->set("Referrer-Policy", "no-referrer");
    // API answers carry tokens and messages: never kept by a browser or proxy cache.
    res->set(http::field::cache_control, "no-store");
    for (auto& [name, value] : response.headers) res->set(name, value);
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !self->keep_alive_) return self->close();
      self->read_request();
    });
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
      response.body = R"({"error":{"code":"bad_request","message":"WebSocket version 13 required"}})";
      keep_alive_ = false;
      return write_response(std::move(response));
    }
    UpgradeInfo info;
    info.remote = remote();
    info.address = peer_address();
    info.user_agent = std::string(request[http::field::user_agent].substr(0, 256));
    auto authorization = request[http::field::authorization];
    if (authorization.size() > 7 && beast::iequals(authorization.substr(0, 7), "Bearer "))
      info.token = std::string(authorization.substr(7));
    for (auto param : url->params())
      if (param.key == "token") info.token = std::string(param.value);

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
    response += "\r\n";

    const auto leftover = buffer_.data();
    std::string received(static_cast<const char*>(leftover.data()), leftover.size());
    upgraded_ = true;
    stream_.expires_never();
    auto session = std::make_shared<WsSession>(thread_, stream_.release_socket(), std::move(info),
                                               server_.config_.limits, server_.sessions_,
                                               server_.next_session_id_.fetch_add(1), std::move(response),
                                               std::move(received), server_.connections_);
    session->start();
  }

  std::string peer_address() {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    return ec ? std::string() : endpoint.address().to_string();
  }

  std::string remote() {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    return ec ? std::string() : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  Server& server_;
  ThreadContext& thread_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool upgraded_ = false;
};

Server::Server(IoThreads& threads, const Config& config, SessionHandler& sessions, HttpHandler& http)
    : threads_(threads), config_(config), sessions_(sessions), http_(http) {}

Server::~Server() = default;

void Server::load_static_files() {
  namespace fs = std::filesystem;
  std::vector<fs::path> roots;
  if (!config_.server.web_root.empty()) roots.emplace_back(config_.server.web_root);
  else roots = {fs::path("web/dist"), fs::path(PARLEY_SOURCE_DIR) / "web/dist"};
  for (const auto& root : roots) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) continue;
    std::size_t total = 0;
    // Only regular files inside the root: symbolic links (to files or directories) are never
    // followed, so nothing outside web_root can be served.
    for (auto& entry : fs::recursive_directory_iterator(root, ec)) {
      std::error_code status_error;
      if (!fs::is_regular_file(entry.symlink_status(status_error)) || status_error) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream content;
      content << in.rdbuf();
      std::string url = "/" + fs::relative(entry.path(), root).generic_string();
      total += content.str().size();
      static_files_[url] = StaticFile{content_type_for(entry.path()), content.str()};
    }
    spdlog::info("web.static root={} files={} bytes={}", root.string(), static_files_.size(), total);
    return;
  }
  spdlog::info("web.static none (the web client is not built); serving a placeholder page at /");
}

void Server::start() {
  load_static_files();
  auto [host, port] = split_host_port(config_.server.listen);
  auto& io = threads_.context(0).io;
  listener_ = std::make_unique<Listener>(io);
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty()) throw std::runtime_error("cannot resolve " + config_.server.listen + ": " + ec.message());
  const tcp::endpoint endpoint = results.begin()->endpoint();
  auto& acceptor = listener_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(endpoint, ec);
  if (ec) throw std::runtime_error("cannot listen on " + config_.server.listen + ": " + ec.message());
  acceptor.listen(asio::socket_base::max_listen_connections);
  const auto bound = acceptor.local_endpoint();
  bound_address_ = bound.address().to_string() + ":" + std::to_string(bound.port());
  accept_next();
  for (unsigned i = 0; i < threads_.thread_count(); ++i) arm_sweep(threads_.context(i));
}

void Server::accept_next() {
  if (!listener_) return;  // stop_accepting() ran
  ThreadContext& target = threads_.context(next_thread_);
  next_thread_ = (next_thread_ + 1) % threads_.thread_count();
  listener_->acceptor.async_accept(target.io, [this, &target](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !listener_ || !listener_->acceptor.is_open()) return;
    if (ec) {
      // Usually out of file descriptors: back off instead of spinning.
      spdlog::warn("accept.failed error=\"{}\" open_connections={}", ec.message(), connections_.load());
      listener_->retry_timer.expires_after(std::chrono::milliseconds(100));
      listener_->retry_timer.async_wait([this](boost::system::error_code e) {
        if (!e) accept_next();
      });
      return;
    }
    if (connections_.load(std::memory_order_relaxed) >= config_.limits.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);  // over limits.max_connections
    } else {
      connections_.fetch_add(1, std::memory_order_relaxed);
      asio::post(target.io, [this, &target, s = std::make_shared<tcp::socket>(std::move(socket))]() mutable {
        std::make_shared<HttpConnection>(*this, target, std::move(*s))->start();
      });
    }
    accept_next();
  });
}

void Server::stop_sweeping() {
  for (unsigned i = 0; i < threads_.thread_count(); ++i)
    asio::post(threads_.context(i).io, [&context = threads_.context(i)] { context.sweep_timer.cancel(); });
}

void Server::stop_accepting() {
  // Waits for the listener's own thread to close and destroy it: if the io_context were stopped
  // first, the handler would never run and the listener would outlive its io_context.
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  asio::post(threads_.context(0).io, [this, closed] {
    boost::system::error_code ec;
    if (listener_) {
      listener_->acceptor.close(ec);
      listener_->retry_timer.cancel();
    }
    // Destroyed here, on its own thread, so that it never outlives the io_context it uses.
    listener_.reset();
    closed->set_value();
  });
  if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
    spdlog::error("server.stop_accepting_timeout (io thread 0 did not run)");
}

void Server::arm_sweep(ThreadContext& context) {
  context.sweep_timer.expires_after(std::chrono::seconds(1));
  context.sweep_timer.async_wait([this, &context](boost::system::error_code ec) {
    if (ec) return;
    const std::int64_t now = monotonic_ms(), wall = wall_clock_ms();
    // Backwards: a session that terminates swaps the last entry into its slot.
    for (std::size_t i = context.sessions.size(); i-- > 0;)
      if (i < context.sessions.size()) context.sessions[i]->sweep(now, wall);
    arm_sweep(context);
  });
}

}  // namespace parley::gateway
