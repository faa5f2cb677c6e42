#include "gateway/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "core/clock.hpp"
#include "gateway/http_connection.hpp"
#include "gateway/ws_session.hpp"

namespace parley::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Server::Listener {
  Listener(asio::io_context& io, bool operator_port) : acceptor(io), retry_timer(io), operator_port(operator_port) {}
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  bool operator_port;
};

namespace {

std::pair<std::string, std::string> split_host_port(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("listen address must be HOST:PORT, got '" + listen + "'");
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

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// "https://Chat.Example.com:8443/" -> "chat.example.com:8443"; the host part of an origin.
std::string origin_host(std::string_view origin) {
  const auto scheme_end = origin.find("://");
  if (scheme_end != std::string_view::npos) origin.remove_prefix(scheme_end + 3);
  while (!origin.empty() && origin.back() == '/') origin.remove_suffix(1);
  return lower(origin);
}

std::string media_store_origin(const Config& config) {
  if (config.media.backend != "s3") return {};
  std::string_view endpoint = config.media.s3.endpoint;  // checked at start-up: http(s)://HOST[:PORT][/...]
  const auto scheme_end = endpoint.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const std::string_view scheme = endpoint.substr(0, scheme_end + 3);
  std::string_view authority = endpoint.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find('/'));
  if (config.media.s3.path_style) return lower(std::string(scheme) + std::string(authority));
  return lower(std::string(scheme) + config.media.s3.bucket + "." + std::string(authority));
}

std::string build_page_security_policy(const Config& config) {
  // Scripts, styles and fonts only from this server (no inline script, no eval), connections
  // only back to it (REST and the WebSocket), no plugins, no <base> tricks, forms only to
  // itself. With media.backend = s3 the browser also PUTs uploads to the store and shows
  // pictures and video from it: its origin (and only that) joins connect-src, img-src and
  // media-src.
  std::string store = media_store_origin(config);
  if (!store.empty()) store.insert(0, " ");
  return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:" + store +
         "; font-src 'self'; connect-src 'self'" + store + "; media-src 'self' blob:" + store +
         "; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
}

}  // namespace

Server::Server(IoThreads& threads, const Config& config, SessionHandler& sessions, HttpHandler& http)
    : threads_(threads),
      config_(config),
      sessions_(sessions),
      http_(http),
      trusted_(TrustedProxies::parse(config.server.trusted_proxies)),
      limits_(config.limits.max_connections_per_address, config.limits.max_pending_per_address),
      page_security_policy_(build_page_security_policy(config)) {
  if (!config.server.tls_cert.empty())
    tls_ = std::make_unique<TlsContextHolder>(config.server.tls_cert, config.server.tls_key);
  std::string_view list = config.server.allowed_origins;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string entry = lower(list.substr(0, comma));
    entry.erase(std::remove(entry.begin(), entry.end(), ' '), entry.end());
    while (!entry.empty() && entry.back() == '/') entry.pop_back();
    if (!entry.empty()) allowed_origins_.push_back(std::move(entry));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
}

Server::~Server() = default;


bool Server::origin_allowed(std::string_view origin, std::string_view host) const {
  if (allowed_origins_.empty()) return !host.empty() && origin_host(origin) == lower(host);
  std::string wanted = lower(origin);
  while (!wanted.empty() && wanted.back() == '/') wanted.pop_back();
  for (const std::string& allowed : allowed_origins_)
    if (allowed == "*" || allowed == wanted) return true;
  return false;
}

const Server::StaticFile* Server::static_file(const std::string& path) const {
  auto it = static_files_.find(path);
  return it == static_files_.end() ? nullptr : &it->second;
}

std::string Server::reload_tls() {
  if (!tls_) return {};
  return tls_->reload();
}

std::string Server::metrics_text() const {
  std::string out;
  auto counter = [&out](const char* name, const char* help, std::uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
           std::to_string(value) + "\n";
  };
  counter("parley_connections_refused_per_address_total", "connections refused by the per-address limits",
          refused_per_address.load(std::memory_order_relaxed));
  counter("parley_origin_refused_total", "WebSocket upgrades and CORS preflights refused for their Origin",
          refused_origin.load(std::memory_order_relaxed));
  counter("parley_tls_handshake_failures_total", "TLS handshakes that failed",
          tls_handshake_failures.load(std::memory_order_relaxed));
  return out;
}

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

std::unique_ptr<Server::Listener> Server::bind(const std::string& address, bool operator_port) {
  auto [host, port] = split_host_port(address);
  auto& io = threads_.context(0).io;
  auto listener = std::make_unique<Listener>(io, operator_port);
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, port, ec);
  if (ec || results.empty()) throw std::runtime_error("cannot resolve " + address + ": " + ec.message());
  const tcp::endpoint endpoint = results.begin()->endpoint();
  auto& acceptor = listener->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(endpoint, ec);
  if (ec) throw std::runtime_error("cannot listen on " + address + ": " + ec.message());
  acceptor.listen(asio::socket_base::max_listen_connections);
  return listener;
}

void Server::start() {
  load_static_files();
  listeners_.push_back(bind(config_.server.listen, false));
  const auto bound = listeners_.back()->acceptor.local_endpoint();
  bound_address_ = bound.address().to_string() + ":" + std::to_string(bound.port());
  if (!config_.server.metrics_listen.empty()) {
    listeners_.push_back(bind(config_.server.metrics_listen, true));
    const auto op = listeners_.back()->acceptor.local_endpoint();
    operator_address_ = op.address().to_string() + ":" + std::to_string(op.port());
  }
  for (auto& listener : listeners_) accept_next(*listener);
  for (unsigned i = 0; i < threads_.thread_count(); ++i) arm_sweep(threads_.context(i));
}

void Server::accept_next(Listener& listener) {
  ThreadContext& target = threads_.context(next_thread_);
  next_thread_ = (next_thread_ + 1) % threads_.thread_count();
  listener.acceptor.async_accept(target.io, [this, &listener, &target](boost::system::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !listener.acceptor.is_open()) return;
    if (ec) {
      // Usually out of file descriptors: back off instead of spinning.
      spdlog::warn("accept.failed error=\"{}\" open_connections={}", ec.message(), connections_.load());
      listener.retry_timer.expires_after(std::chrono::milliseconds(100));
      listener.retry_timer.async_wait([this, &listener](boost::system::error_code e) {
        if (!e) accept_next(listener);
      });
      return;
    }
    if (!listener.operator_port && connections_.load(std::memory_order_relaxed) >= config_.limits.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);  // over limits.max_connections
    } else {
      connections_.fetch_add(1, std::memory_order_relaxed);
      const bool operator_port = listener.operator_port;
      asio::post(target.io, [this, &target, operator_port, s = std::make_shared<tcp::socket>(std::move(socket))]() mutable {
        serve_connection(*this, target, std::move(*s), operator_port);
      });
    }
    accept_next(listener);
  });
}

void Server::stop_sweeping() {
  for (unsigned i = 0; i < threads_.thread_count(); ++i)
    asio::post(threads_.context(i).io, [&context = threads_.context(i)] { context.sweep_timer.cancel(); });
}

void Server::stop_accepting() {
  // Waits for the listeners' own thread to close and destroy them: if the io_context were
  // stopped first, the handlers would never run and the listeners would outlive it.
  auto closed = std::make_shared<std::promise<void>>();
  auto done = closed->get_future();
  asio::post(threads_.context(0).io, [this, closed] {
    boost::system::error_code ec;
    for (auto& listener : listeners_) {
      listener->acceptor.close(ec);
      listener->retry_timer.cancel();
    }
    // Destroyed here, on their own thread, so that they never outlive the io_context they use.
    listeners_.clear();
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
