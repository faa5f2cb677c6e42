// A real redis-server for tests (a ServerProcess: test_server_process.hpp) without persistence
// (a restart loses everything, as a crash of a cache would), checked to answer PING.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "test_server_process.hpp"

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

class RedisServer : public ServerProcess {
 public:
  // `port` 0: a free port, chosen at the first start() and kept across restarts. `extra_args`
  // go to redis-server as they are (e.g. {"--requirepass", "s3cret"}).
  explicit RedisServer(int port = 0, std::vector<std::string> extra_args = {})
      : ServerProcess("redis-server", port), extra_args_(std::move(extra_args)) {}

  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port()); }

 private:
  std::vector<std::string> command() const override {
    const std::string binary = redis_server_binary();
    if (binary.empty()) throw std::runtime_error("redis-server is not installed");
    std::vector<std::string> args = {binary, "--port", std::to_string(port()), "--bind", "127.0.0.1",
                                     "--save", "", "--appendonly", "no", "--dir", dir(), "--daemonize", "no"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    return args;
  }
  // "+PONG", or "-NOAUTH ..." with --requirepass: either way it answers.
  bool answers() const override { return !redis_command(port(), {"PING"}, std::chrono::milliseconds(1000)).empty(); }

  std::vector<std::string> extra_args_;
};

}  // namespace parley::testing_support
