// Server: the listeners (the client port for HTTP and WebSocket, plain or TLS; optionally an
// operator port for /metrics and health checks), the connection limits (total and per client
// address), the trusted proxies that name the real client, the allowed browser origins, the
// TLS context (reloaded on SIGHUP), static files for the web client, and the per-thread
// timeout sweep. HTTP itself is in http_connection.cpp (Beast, slow to compile: kept there).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.hpp"
#include "gateway/client_address.hpp"
#include "gateway/connection_limits.hpp"
#include "gateway/file_thread.hpp"
#include "gateway/io_threads.hpp"
#include "gateway/session.hpp"
#include "gateway/tls_context.hpp"

namespace parley::gateway {

class Server {
 public:
  // Throws std::runtime_error on a bad TLS certificate or key, or a bad trusted proxy list.
  Server(IoThreads& threads, const Config& config, SessionHandler& sessions, HttpHandler& http);
  ~Server();

  // Binds and starts accepting (on I/O thread 0). Throws std::runtime_error if it cannot bind.
  void start();
  // Stops accepting new connections (returns once the listeners are closed); open ones continue.
  void stop_accepting();
  // Stops the timeout sweep on every thread (last step of shutdown).
  void stop_sweeping();
  // Reloads the TLS certificate and key from their files (SIGHUP). Open connections keep
  // theirs; new ones get the new ones. Returns an error message, or empty on success (or when
  // TLS is off). Any thread.
  std::string reload_tls();

  // "HOST:PORT" actually bound (the port is resolved when 0 was asked for).
  std::string bound_address() const { return bound_address_; }
  std::string operator_address() const { return operator_address_; }
  int open_connections() const { return connections_.load(); }
  std::string metrics_text() const;

  // What an HTTP connection needs from its server (http_connection.cpp).
  const Config& config() const { return config_; }
  SessionHandler& sessions() { return sessions_; }
  HttpHandler& http() { return http_; }
  const TrustedProxies& trusted_proxies() const { return trusted_; }
  ConnectionLimits& limits() { return limits_; }
  TlsContextHolder* tls() { return tls_.get(); }
  std::atomic<int>& connection_count() { return connections_; }
  SessionId next_session_id() { return next_session_id_.fetch_add(1); }
  // Blocking file work of media uploads and downloads.
  FileThread& files() { return files_; }
  // True if a browser page from `origin` may use the API and the WebSocket, given the
  // request's Host header (server.allowed_origins; default: the same host only).
  bool origin_allowed(std::string_view origin, std::string_view host) const;

  struct StaticFile {
    std::string content_type;
    std::string body;
  };
  const StaticFile* static_file(const std::string& path) const;
  // The Content-Security-Policy of the web client's pages (built once from the config).
  const std::string& page_security_policy() const { return page_security_policy_; }

  // Counters of refusals, for /metrics.
  std::atomic<std::uint64_t> refused_per_address{0};
  std::atomic<std::uint64_t> refused_origin{0};
  std::atomic<std::uint64_t> tls_handshake_failures{0};

 private:
  struct Listener;
  void accept_next(Listener& listener);
  void arm_sweep(ThreadContext& context);
  void load_static_files();
  std::unique_ptr<Listener> bind(const std::string& address, bool operator_port);

  IoThreads& threads_;
  const Config& config_;
  SessionHandler& sessions_;
  HttpHandler& http_;
  TrustedProxies trusted_;
  std::vector<std::string> allowed_origins_;  // lower case; "*" = any; empty = same host
  ConnectionLimits limits_;
  std::unique_ptr<TlsContextHolder> tls_;
  std::string page_security_policy_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::string bound_address_;
  std::string operator_address_;
  std::atomic<int> connections_{0};
  std::atomic<SessionId> next_session_id_{1};
  unsigned next_thread_ = 0;
  std::unordered_map<std::string, StaticFile> static_files_;
  FileThread files_;  // last: joined first, while the rest is still there
};

}  // namespace parley::gateway
