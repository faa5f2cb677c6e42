// RedisDirectory: the directory engine for a Redis server (`redis://...`), through hiredis's
// synchronous API. The key layout, and why, is in src/presence/README.md.
//
// One connection, guarded by a mutex: calls from several threads take turns. Each per-user update
// is one Lua script, so it is atomic and uses the Redis server's clock (TIME); a call pipelines
// one script per user and costs one round trip (two for sweep()). Any I/O error or timeout frees
// the connection and fails the call with ErrorCode::unavailable; the next call reconnects (AUTH,
// SELECT, SCRIPT LOAD), at most once per Options::reconnect_wait_ms.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "presence/directory.hpp"

struct redisContext;
struct redisReply;

namespace parley::presence {

// Where a redis:// URL points (checked by open_directory).
struct RedisAddress {
  std::string host;      // a name, an IPv4 or an IPv6 address (without brackets)
  int port = 6379;
  int database = 0;      // SELECTed after connecting unless 0
  std::string username;  // AUTH username password (Redis 6 ACL) when set; AUTH password otherwise
  std::string password;  // empty: no AUTH
};

class RedisDirectory final : public Directory {
 public:
  // Does not connect: the first call does.
  RedisDirectory(const Options& options, RedisAddress address);
  ~RedisDirectory() override;
  RedisDirectory(const RedisDirectory&) = delete;
  RedisDirectory& operator=(const RedisDirectory&) = delete;

  Result<std::vector<Transition>> report(unsigned node, const std::vector<Report>& reports,
                                         std::int64_t ttl_ms) override;
  Result<std::vector<Transition>> sweep(std::size_t limit) override;
  Result<std::vector<View>> lookup(const std::vector<UserId>& users) override;
  Result<std::vector<bool>> add_sessions(const std::vector<std::pair<UserId, std::string>>& sessions, int max,
                                         std::int64_t ttl_ms) override;
  parley::Status refresh_sessions(const std::vector<std::pair<UserId, std::string>>& sessions,
                                  std::int64_t ttl_ms) override;
  parley::Status remove_session(UserId user, std::string_view key) override;
  Result<std::vector<std::string>> sessions(UserId user) override;
  Result<SignInState> sign_in_state(std::string_view account, std::string_view address) override;
  parley::Status record_sign_in(std::string_view account, std::string_view address, bool succeeded,
                                const SignInRules& rules) override;
  Result<std::vector<RequestCount>> add_requests(const std::vector<RequestCount>& added,
                                                 std::int64_t window_ms) override;
  std::string describe() const override { return shown_url_ + " prefix=" + prefix_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct ReplyDeleter {
    void operator()(redisReply* reply) const;
  };
  using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

  // The Lua scripts of redis_directory.cpp, by index into kScripts there.
  enum class Script {
    settle,
    due_users,
    add_session,
    refresh_sessions,
    add_requests,
    live_sessions,
    sign_in_state,
    add_failure,
    remember_address,
    count
  };

  // One command of a pipeline: a script call (EVALSHA, or EVAL when Redis lost the script) with
  // `args` after the script, or, for Script::count, a plain command that is all in `args`.
  struct Command {
    Script script = Script::count;
    std::vector<std::string> args;
  };

  // Runs `commands` as one pipeline and returns one reply per command, in order. Fails with
  // unavailable if Redis cannot be reached, the call takes longer than timeout_ms, or any
  // reply is an error (the connection stays when only the reply was one).
  Result<std::vector<Reply>> run(const std::vector<Command>& commands);
  // Connects (and authenticates, selects, loads the scripts) unless connected. Under mutex_.
  Status connect(Clock::time_point deadline);
  // Sends `argvs` and reads as many replies; on an I/O error or timeout drops the connection.
  // Under mutex_, connected.
  Result<std::vector<Reply>> exchange(const std::vector<std::vector<std::string>>& argvs, Clock::time_point deadline);
  // Frees the connection after an I/O error (`what`), logs the outage once, and returns the
  // error for the caller.
  Error drop_connection(const std::string& what);
  // The error of a call while Redis is unreachable; `when` says when the next attempt is.
  Error unreachable(std::string_view when) const;
  // "next attempt in N ms" or "reconnecting at the next call", for errors.
  std::string next_attempt(Clock::time_point now) const;

  std::string user_key(const char* kind, UserId user) const;
  std::string sign_in_key(const char* kind, std::string_view name) const;

  Options options_;
  RedisAddress address_;
  std::string shown_url_;  // without the password
  std::string prefix_;
  std::string live_key_;   // PREFIX:pres:live

  std::mutex mutex_;  // guards everything below, and the connection during a call
  redisContext* context_ = nullptr;
  std::optional<Clock::time_point> last_attempt_;  // of a connect
  std::string last_error_;                         // why the last attempt or connection failed
  bool outage_logged_ = false;
  std::array<std::string, static_cast<std::size_t>(Script::count)> script_shas_;
};

}  // namespace parley::presence
