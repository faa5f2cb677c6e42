// What the client-library tests share: a parleyd child process, an io_context thread for the
// clients, and a polling wait.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <simdjson.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client/client.hpp"
#include "client/http_client.hpp"

namespace parley::client::testing {

inline constexpr const char* kAdminToken = "client-test-admin-token-0123456789abcdef";

// A parleyd child process on a fixed port and data directory (both kept across restarts), run
// with fast password hashing, no practical rate limit and `extra_args`.
class Server {
 public:
  explicit Server(std::vector<std::string> extra_args = {}) : extra_args_(std::move(extra_args)) {
    char dir[] = "/tmp/parley-client-test-XXXXXX";
    data_dir_ = mkdtemp(dir);
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port_ = probe.local_endpoint().port();
  }
  ~Server() {
    kill9();
    std::filesystem::remove_all(data_dir_);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start() {
    std::vector<std::string> args = {PARLEYD_PATH,
                                     "--listen", "127.0.0.1:" + std::to_string(port_),
                                     "--data-dir", data_dir_,
                                     "--auth.admin_token", kAdminToken,
                                     "--auth.argon2_opslimit", "1",
                                     "--auth.argon2_memlimit_kb", "8",
                                     "--limits.frames_per_second", "100000",
                                     "--limits.frames_burst", "100000",
                                     "--limits.user_requests_per_second", "100000",
                                     "--limits.user_requests_burst", "100000"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = data_dir_ + "/parleyd.log";
    pid_ = fork();
    if (pid_ == 0) {
      if (!freopen(log.c_str(), "a", stderr)) _exit(126);
      execv(PARLEYD_PATH, argv.data());
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      if (http_request(url(), "GET", "/readyz").status == 200) return;
      usleep(50000);
    }
    FAIL() << "parleyd did not start";
  }
  void kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Endpoint endpoint() const {
    Endpoint e;
    e.port = static_cast<std::uint16_t>(port_);
    return e;
  }
  // Creates a user through the admin API and returns {id, token}.
  std::pair<UserId, std::string> user(const std::string& name) {
    auto r = http_request(url(), "POST", "/v1/admin/users",
                          R"({"issue_tokens":true,"users":[{"username":")" + name + R"("}]})", kAdminToken);
    simdjson::dom::parser parser;
    auto doc = parser.parse(r.body);
    auto u = doc["users"].at(0);
    return {u["id"].get_int64().value(), std::string(u["token"].get_string().value())};
  }

 private:
  std::vector<std::string> extra_args_;
  std::string data_dir_;
  int port_ = 0;
  pid_t pid_ = 0;
};

// Runs an io_context on its own thread for the test's clients.
class Loop {
 public:
  Loop() : guard_(io.get_executor()), thread_([this] { io.run(); }) {}
  ~Loop() {
    guard_.reset();
    io.stop();
    thread_.join();
  }
  // Runs f on the loop thread and waits for its result.
  template <typename F>
  auto run(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto future = task.get_future();
    boost::asio::post(io, [&task] { task(); });
    return future.get();
  }
  boost::asio::io_context io;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// Polls `condition` every 20 ms until it holds or `timeout_ms` passed.
inline bool eventually(const std::function<bool()>& condition, int timeout_ms = 20000) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace parley::client::testing
