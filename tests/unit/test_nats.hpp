// A real nats-server for tests (a ServerProcess: test_server_process.hpp), checked to answer by
// its INFO greeting.
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

class NatsServer : public ServerProcess {
 public:
  // `port` 0: a free port, chosen at the first start() and kept across restarts.
  explicit NatsServer(int port = 0) : ServerProcess("nats-server", port) {}

  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port()); }

 private:
  std::vector<std::string> command() const override {
    const std::string binary = nats_server_binary();
    if (binary.empty()) throw std::runtime_error("nats-server is not installed");
    return {binary, "-a", "127.0.0.1", "-p", std::to_string(port())};
  }
  bool answers() const override { return nats_answers(port(), std::chrono::milliseconds(1000)); }
};

}  // namespace parley::testing_support
