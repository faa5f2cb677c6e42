// Server: the listener (one port for HTTP and WebSocket), HTTP/1.1 connections (Boost.Beast),
// the upgrade to WebSocket sessions, static files for the web client, and the per-thread
// timeout sweep. Beast stays in server.cpp only (it is slow to compile).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/config.hpp"
#include "gateway/io_threads.hpp"
#include "gateway/session.hpp"

namespace parley::gateway {

class Server {
 public:
  Server(IoThreads& threads, const Config& config, SessionHandler& sessions, HttpHandler& http);
  ~Server();

  // Binds and starts accepting (on I/O thread 0). Throws std::runtime_error if it cannot bind.
  void start();
  // Stops accepting new connections (returns once the listener is closed); open ones continue.
  void stop_accepting();
  // Stops the timeout sweep on every thread (last step of shutdown).
  void stop_sweeping();

  // "HOST:PORT" actually bound (the port is resolved when 0 was asked for).
  std::string bound_address() const { return bound_address_; }
  int open_connections() const { return connections_.load(); }

 private:
  struct Listener;
  void accept_next();
  void arm_sweep(ThreadContext& context);
  void load_static_files();

  IoThreads& threads_;
  const Config& config_;
  SessionHandler& sessions_;
  HttpHandler& http_;
  std::unique_ptr<Listener> listener_;
  std::string bound_address_;
  std::atomic<int> connections_{0};
  std::atomic<SessionId> next_session_id_{1};
  unsigned next_thread_ = 0;

  struct StaticFile {
    std::string content_type;
    std::string body;
  };
  std::unordered_map<std::string, StaticFile> static_files_;

  friend class HttpConnection;
};

}  // namespace parley::gateway
