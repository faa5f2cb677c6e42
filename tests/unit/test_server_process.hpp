// A server program run by a test as a child process on a loopback port: started on a free port
// (kept across restarts), checked to answer, killed and restartable, always killed at the end
// (and by the kernel if the test binary dies: PR_SET_PDEATHSIG). Its output goes to a log file
// in a scratch directory, printed when it fails to start. test_nats.hpp and test_redis.hpp say
// how to start and probe their server; this does the rest once.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "scratch_dir.hpp"

namespace parley::testing_support {

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

class ServerProcess {
 public:
  virtual ~ServerProcess() { kill(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server and returns once it answers; throws (with its log) if it does not within
  // 10 s. With a port of its own choosing it retries on another port if the first was taken.
  void start() {
    const bool chosen_here = port_ == 0;
    for (int attempt = 0;; ++attempt) {
      if (chosen_here && attempt > 0) port_ = 0;
      if (port_ == 0) port_ = free_tcp_port();
      if (try_start()) return;
      if (!chosen_here || attempt == 2)
        throw std::runtime_error(name_ + " did not start on port " + std::to_string(port_) + ":\n" + log());
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
  std::string log() const {
    std::ifstream in(log_path());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 protected:
  // `name`: the program ("redis-server"), for messages and the log file; `port` 0: a free one.
  ServerProcess(std::string name, int port) : name_(std::move(name)), port_(port), dir_("parley_" + name_) {}

  // The program and its arguments for port(); throws if the program is not installed.
  virtual std::vector<std::string> command() const = 0;
  // True once the server on port() answers (one probe, at most about a second).
  virtual bool answers() const = 0;
  const std::string& dir() const { return dir_.path(); }

 private:
  std::string log_path() const { return dir_.path() + "/" + name_ + ".log"; }

  bool try_start() {
    const std::vector<std::string> args = command();
    std::vector<const char*> argv;
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    argv.push_back(nullptr);
    const std::string log_file = log_path();
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {  // only async-signal-safe calls until exec
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(1);
      const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
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
      if (answers()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill();
    return false;
  }

  std::string name_;
  int port_;
  pid_t pid_ = -1;
  ScratchDir dir_;
};

// One Server (a ServerProcess) shared by the cases of a test program: started on first use by
// get(), killed at the end of the program. Register it once per program:
// ::testing::AddGlobalTestEnvironment(new SharedServer<NatsServer>).
template <typename Server>
class SharedServer : public ::testing::Environment {
 public:
  static Server& get() {
    auto& server = slot();
    if (!server) {
      server = std::make_unique<Server>();
      server->start();
    }
    return *server;
  }
  void TearDown() override { slot().reset(); }

 private:
  static std::unique_ptr<Server>& slot() {
    static std::unique_ptr<Server> server;
    return server;
  }
};

}  // namespace parley::testing_support
