// A real redis-server for tests: started as a child process on a free loopback port without
// persistence (a restart loses everything, as a crash of a cache would), checked to answer PING,
// killed and restartable on the same port, always killed at the end (and by the kernel if the
// test binary dies: PR_SET_PDEATHSIG). Its output goes to a log file in a scratch directory,
// printed when it fails to start. Modelled on test_nats.hpp, whose free_tcp_port() it shares.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "scratch_dir.hpp"
#include "test_nats.hpp"

namespace parley::testing_support {

// The redis-server binary: $PARLEY_REDIS_SERVER, else Debian's; empty if it is not installed.
inline std::string redis_server_binary() {
  const char* configured = std::getenv("PARLEY_REDIS_SERVER");
  const std::string path = configured && *configured ? configured : "/usr/bin/redis-server";
  return ::access(path.c_str(), X_OK) == 0 ? path : std::string();
}

#define PARLEY_SKIP_WITHOUT_REDIS_SERVER()                                                              \
  if (::parley::testing_support::redis_server_binary().empty())                                         \
  GTEST_SKIP() << "redis-server is not installed (/usr/bin/redis-server, or set PARLEY_REDIS_SERVER); " \
                  "scripts/install-deps.sh installs it"

// Sends one command (RESP) to 127.0.0.1:`port` and returns the first line of the reply ("+OK",
// "-ERR ...", ":1", "$5" ...), or "" if nothing answered within `timeout`.
inline std::string redis_command(int port, const std::vector<std::string>& args,
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string line;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    std::string request = "*" + std::to_string(args.size()) + "\r\n";
    for (const std::string& arg : args) request += "$" + std::to_string(arg.size()) + "\r\n" + arg + "\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      char c = 0;
      while (line.empty() || line.back() != '\n') {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd readable{fd, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) != 1 || ::recv(fd, &c, 1, 0) != 1) {
          line.clear();
          break;
        }
        line.push_back(c);
      }
    }
  }
  ::close(fd);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

class RedisServer {
 public:
  // `port` 0: a free port, chosen at the first start() and kept across restarts. `extra_args`
  // go to redis-server as they are (e.g. {"--requirepass", "s3cret"}).
  explicit RedisServer(int port = 0, std::vector<std::string> extra_args = {})
      : port_(port), extra_args_(std::move(extra_args)), dir_("parley_redis") {}
  ~RedisServer() { kill(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts the server and returns once it answers PING; throws (with its log) if it does not
  // within 10 s. With a port of its own choosing it retries on another port if the first was
  // taken.
  void start() {
    const bool chosen_here = port_ == 0;
    for (int attempt = 0;; ++attempt) {
      if (chosen_here && attempt > 0) port_ = 0;
      if (port_ == 0) port_ = free_tcp_port();
      if (try_start()) return;
      if (!chosen_here || attempt == 2)
        throw std::runtime_error("redis-server did not start on port " + std::to_string(port_) + ":\n" + log());
    }
  }

  // SIGKILL (a crash, no goodbye to clients), then reaps the process. Does nothing if stopped.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  std::string log() const {
    std::ifstream in(dir_.path() + "/redis-server.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  bool try_start() {
    const std::string binary = redis_server_binary();
    if (binary.empty()) throw std::runtime_error("redis-server is not installed");
    const std::string port = std::to_string(port_);
    const std::string log_path = dir_.path() + "/redis-server.log";
    std::vector<std::string> args = {binary,   "--port",       port,        "--bind",     "127.0.0.1",
                                     "--save", "",             "--appendonly", "no",      "--dir",
                                     dir_.path(), "--daemonize", "no"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<const char*> argv;
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {  // only async-signal-safe calls until exec
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      const int null_fd = ::open("/dev/null", O_RDONLY);
      if (log_fd >= 0) {
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
      }
      if (null_fd >= 0) ::dup2(null_fd, 0);
      ::execv(argv[0], const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: the port was taken, or worse
        pid_ = -1;
        return false;
      }
      // "+PONG", or "-NOAUTH ..." with --requirepass: either way it answers.
      if (!redis_command(port_, {"PING"}, std::chrono::milliseconds(1000)).empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill();
    return false;
  }

  int port_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  ScratchDir dir_;
};

}  // namespace parley::testing_support
