// A real nats-server for tests: started as a child process on a free loopback port, checked to
// answer (it greets with INFO), killed and restartable on the same port, always killed at the
// end (and by the kernel if the test binary dies: PR_SET_PDEATHSIG). Its output goes to a log
// file in a scratch directory, printed when it fails to start.
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

#include "scratch_dir.hpp"

namespace parley::testing_support {

// The nats-server binary: $PARLEY_NATS_SERVER, else Debian's; empty if it is not installed.
inline std::string nats_server_binary() {
  const char* configured = std::getenv("PARLEY_NATS_SERVER");
  const std::string path = configured && *configured ? configured : "/usr/sbin/nats-server";
  return ::access(path.c_str(), X_OK) == 0 ? path : std::string();
}

#define PARLEY_SKIP_WITHOUT_NATS_SERVER()                                                             \
  if (::parley::testing_support::nats_server_binary().empty())                                        \
  GTEST_SKIP() << "nats-server is not installed (/usr/sbin/nats-server, or set PARLEY_NATS_SERVER); " \
                  "scripts/install-deps.sh installs it"

// A loopback port nobody listened on a moment ago (the kernel's pick).
inline int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("free_tcp_port: cannot bind a loopback socket");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// True if something on 127.0.0.1:`port` accepts a connection and greets with "INFO" within
// `timeout`.
inline bool nats_answers(int port, std::chrono::milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    pollfd readable{fd, POLLIN, 0};
    char greeting[4];
    ok = ::poll(&readable, 1, static_cast<int>(timeout.count())) == 1 &&
         ::recv(fd, greeting, sizeof greeting, MSG_WAITALL) == 4 && std::string(greeting, 4) == "INFO";
  }
  ::close(fd);
  return ok;
}

class NatsServer {
 public:
  // `port` 0: a free port, chosen at the first start() and kept across restarts.
  explicit NatsServer(int port = 0) : port_(port), dir_("parley_nats") {}
  ~NatsServer() { kill(); }
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // Starts the server and returns once it answers; throws (with its log) if it does not within
  // 10 s. With a port of its own choosing it retries on another port if the first was taken.
  void start() {
    const bool chosen_here = port_ == 0;
    for (int attempt = 0;; ++attempt) {
      if (chosen_here && attempt > 0) port_ = 0;
      if (port_ == 0) port_ = free_tcp_port();
      if (try_start()) return;
      if (!chosen_here || attempt == 2)
        throw std::runtime_error("nats-server did not start on port " + std::to_string(port_) + ":\n" + log());
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
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  std::string log() const {
    std::ifstream in(dir_.path() + "/nats-server.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  bool try_start() {
    const std::string binary = nats_server_binary();
    if (binary.empty()) throw std::runtime_error("nats-server is not installed");
    const std::string port = std::to_string(port_);
    const std::string log_path = dir_.path() + "/nats-server.log";
    const char* argv[] = {binary.c_str(), "-a", "127.0.0.1", "-p", port.c_str(), nullptr};
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
      ::execv(argv[0], const_cast<char* const*>(argv));
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
      if (nats_answers(port_, std::chrono::milliseconds(1000))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill();
    return false;
  }

  int port_;
  pid_t pid_ = -1;
  ScratchDir dir_;
};

}  // namespace parley::testing_support
