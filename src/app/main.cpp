// parleyd: wires the gateway (connections), the chat service (commands, fan-out) and the
// store together, and runs until SIGTERM/SIGINT, then shuts down without losing acked work.
#include <signal.h>
#include <sys/stat.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <spdlog/spdlog.h>
#include <thread>

#include "auth/passwords.hpp"
#include "chat/service.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "gateway/io_threads.hpp"
#include "gateway/server.hpp"
#include "gateway/ws_session.hpp"

namespace {

// Lets the process use as many descriptors as the hard limit allows (one per connection).
void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// Everything parleyd writes holds messages, password hashes or keys: nobody else on the
// machine may read it. The umask makes every new file and directory private from its first
// byte; files left readable by an older version are tightened (and logged).
void make_data_dir_private(const std::string& data_dir) {
  namespace fs = std::filesystem;
  ::umask(077);
  fs::create_directories(data_dir);
  const fs::perms group_or_others = fs::perms::group_all | fs::perms::others_all;
  auto tighten = [&](const fs::path& path) {
    std::error_code ec;
    const auto status = fs::symlink_status(path, ec);
    if (ec || !fs::exists(status) || fs::is_symlink(status) || (status.permissions() & group_or_others) == fs::perms::none) return;
    fs::permissions(path, group_or_others, fs::perm_options::remove, ec);
    spdlog::warn("security.permissions_tightened path={} result=\"{}\"", path.string(), ec ? ec.message() : "ok");
  };
  tighten(data_dir);
  for (const char* name : {"parley.db", "parley.db-wal", "parley.db-shm", "token.key", "media.key"}) tighten(fs::path(data_dir) / name);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace parley;
  LoadResult loaded;
  try {
    loaded = load_config(argc, argv);
    if (loaded.exit_now) return loaded.exit_code;
    init_logging(loaded.config.server.log_level, loaded.config.server.log_format);
  } catch (const std::exception& e) {
    std::cerr << "parleyd: " << e.what() << "\n";
    return 2;
  }
  const Config& config = loaded.config;
  signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit();

  try {
    auth::init_crypto();
    make_data_dir_private(config.server.data_dir);
    unsigned io_threads = config.server.io_threads > 0 ? static_cast<unsigned>(config.server.io_threads)
                                                       : std::max(1u, std::thread::hardware_concurrency());
    gateway::IoThreads threads(io_threads);
    chat::ChatService chat(config, threads);
    gateway::Server server(threads, config, chat, chat);
    chat.set_metrics_source([&threads, &server] {
      std::string text = threads.metrics_text();
      text += "# HELP parley_connections_open open client connections (HTTP and WebSocket)\n"
              "# TYPE parley_connections_open gauge\nparley_connections_open " +
              std::to_string(server.open_connections()) + "\n";
      text += "# HELP parley_ws_sessions_open open WebSocket sessions\n# TYPE parley_ws_sessions_open gauge\n"
              "parley_ws_sessions_open " + std::to_string(gateway::WsSession::live_count()) + "\n";
      text += server.metrics_text();
      return text;
    });
    chat.start();
    server.start();
    threads.start();
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    const char* scheme = config.server.tls_cert.empty() ? "http" : "https";
    spdlog::info("parleyd.listening address={} url={}://{}/ tls={} operator_port={} io_threads={} store={} max_open_files={}",
                 server.bound_address(), scheme, server.bound_address(), config.server.tls_cert.empty() ? "off" : "on",
                 server.operator_address().empty() ? "off" : server.operator_address(), io_threads, config.store_url(),
                 static_cast<long long>(files.rlim_cur));

    // SIGHUP reloads the TLS certificate and key (renewals without a restart); SIGTERM and
    // SIGINT stop.
    boost::asio::io_context signals_io;
    boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM, SIGHUP);
    int received = 0;
    std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                              int signal_number) {
      if (ec) return;
      if (signal_number != SIGHUP) {
        received = signal_number;
        return;
      }
      const std::string problem = server.reload_tls();
      if (problem.empty()) spdlog::info("tls.reloaded cert={}", config.server.tls_cert);
      else spdlog::error("tls.reload_failed error=\"{}\" (the previous certificate stays in use)", problem);
      signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);
    signals_io.run();

    // Shutdown: first /readyz fails for server.drain_ms while everything keeps serving (a load
    // balancer stops sending new clients here); then no new connections; commit and
    // acknowledge everything already queued; close sessions with 1001 "going away" (clients
    // reconnect, through the balancer to another node) and give them a grace period to flush.
    if (config.server.drain_ms > 0) {
      spdlog::info("parleyd.draining signal={} drain_ms={} open_connections={}", received, config.server.drain_ms,
                   server.open_connections());
      chat.begin_drain();
      std::this_thread::sleep_for(std::chrono::milliseconds(config.server.drain_ms));
    }
    spdlog::info("parleyd.stopping signal={} open_connections={}", received, server.open_connections());
    server.stop_accepting();
    chat.stop();
    chat.close_all_sessions(gateway::close_code::going_away, "server shutting down");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config.server.shutdown_grace_ms);
    while (gateway::WsSession::live_count() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    server.stop_sweeping();
    for (unsigned i = 0; i < threads.thread_count(); ++i) threads.context(i).io.stop();
    threads.stop();  // also destroys pending handlers while server and chat still exist
    spdlog::info("parleyd.stopped remaining_sessions={}", gateway::WsSession::live_count());
  } catch (const std::exception& e) {
    spdlog::critical("parleyd.failed error=\"{}\"", e.what());
    return 1;
  }
  return 0;
}
