// Directory: what the parleyd nodes of a cluster share about users who are connected — their
// presence aggregated over every node, their sessions (for the per-user session cap) and their
// recent request counts (for the per-user rate limit). Engines: `inproc:NAME` (nodes in one
// process sharing NAME; the behavioural suite and tests) and `redis://[:password@]host[:port][/db]`
// (a Redis server, through hiredis). Nothing in chat/ knows which engine runs. src/presence/README.md
// has the Redis key layout and the cost of each call.
//
// Times come from the engine's clock (the Redis server's TIME), never from the calling node, so
// nodes with skewed clocks still agree on what expired. Every entry a node writes carries an
// expiry: a node that dies stops refreshing and its users go offline once their entries lapse
// (sweep()), its sessions stop counting against the cap.
//
// All calls block the calling thread (at most `Options::timeout_ms` per call) and are
// thread-safe; callers keep them off latency-sensitive threads. A call fails with
// ErrorCode::unavailable while the engine is unreachable; the engine reconnects by itself at the
// next call (at most one attempt per `Options::reconnect_wait_ms`). A call that fails may still
// have applied part of its writes (the connection broke after Redis ran them): a change such a
// write caused is returned to nobody, and the next report of that user does not repeat it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ids.hpp"
#include "core/result.hpp"
#include "core/throttle.hpp"

namespace parley::presence {

// Ordered: a user's state across nodes is the highest of its nodes' states.
enum class State : std::uint8_t { offline = 0, away = 1, online = 2 };

// One node's status of a user: the best status of the user's sessions on that node.
struct Report {
  UserId user = 0;
  State state = State::offline;
};

// A change of a user's status across all nodes. Each change is returned to exactly one caller
// (the one whose report() or sweep() caused it), which tells the interested users. `version`
// grows by one with every change of that user, so receivers can drop a change that arrives
// after a newer one; a user's first version is the engine's time in ms, so versions keep growing
// after the engine forgot the user (a Redis restart, a day without changes). `at_ms`: the
// engine's time of the change (for offline: the user's last seen; from sweep(): when the
// status lapsed, not when the sweep noticed).
struct Transition {
  UserId user = 0;
  State state = State::offline;
  std::int64_t at_ms = 0;
  std::uint64_t version = 0;
};

struct View {
  State state = State::offline;
  std::int64_t last_seen_ms = 0;  // when the user last went offline across all nodes; 0 = unknown
};

// A user's requests across the cluster, for a sliding window of `window_ms`.
struct RequestCount {
  UserId user = 0;
  std::int64_t count = 0;
};

// What the nodes know together about sign-ins to one account from one address.
struct SignInState {
  std::int64_t account_wait_ms = 0;  // the account's failures make attempts wait this long (0: none)
  std::int64_t address_wait_ms = 0;  // the same for the address's failures, on any account
  bool known_address = false;        // the account signed in successfully from this address lately
};

// The sign-in throttles (auth.login_*): FailureThrottle's rules (core/throttle.hpp), kept by
// the engine for every node.
struct SignInRules {
  FailurePolicy account;
  FailurePolicy address;
  int known_addresses = 8;                               // remembered per account, newest first
  std::int64_t known_retention_ms = 90LL * 24 * 3600 * 1000;  // forgotten after this without a sign-in
};

struct Options {
  std::string url;                 // "inproc:NAME" or "redis://[[user]:password@]host[:port][/db]" (6379, db 0)
  std::string key_prefix = "parley";  // Redis keys start with "PREFIX:" (several clusters, one Redis;
                                      // inproc directories see each other only with the same prefix)
  int timeout_ms = 1000;           // per call (connect, and each round trip)
  int reconnect_wait_ms = 500;     // at most one reconnect attempt per this
};

class Directory {
 public:
  virtual ~Directory() = default;

  // Sets `node`'s status of each user; `offline` withdraws it. A status other than offline
  // expires `ttl_ms` (> 0) after the call unless reported again (nodes report all their users
  // every ttl/3 to stay alive). Returns the users whose status across nodes changed by this call,
  // including changes from other nodes' statuses that lapsed meanwhile.
  virtual Result<std::vector<Transition>> report(unsigned node, const std::vector<Report>& reports,
                                                 std::int64_t ttl_ms) = 0;
  // Drops node statuses whose expiry has passed (nodes that stopped reporting), at most `limit`
  // users per call, and returns the changes this caused. Any node may call it; each change is
  // returned once.
  virtual Result<std::vector<Transition>> sweep(std::size_t limit) = 0;
  // The status across nodes of each user, in the order asked (expired node statuses are ignored
  // even before a sweep; a user whose statuses all lapsed was last seen when the last one did).
  // Reads only.
  virtual Result<std::vector<View>> lookup(const std::vector<UserId>& users) = 0;

  // Registers session `key` (unique across the cluster, e.g. "NODE:SESSION") of `user` if the
  // user has fewer than `max` live sessions; an already registered key is refreshed and
  // counts as admitted. A session expires `ttl_ms` (> 0) after its last add/refresh.
  Result<bool> add_session(UserId user, std::string_view key, int max, std::int64_t ttl_ms) {
    auto admitted = add_sessions({{user, std::string(key)}}, max, ttl_ms);
    if (!admitted) return admitted.take_error();
    return static_cast<bool>(admitted->front());
  }
  // The same for many sessions in one round trip (a reconnect storm's hellos), in order (two
  // sessions of one user count against the cap one after the other); answers in the same order.
  virtual Result<std::vector<bool>> add_sessions(const std::vector<std::pair<UserId, std::string>>& sessions, int max,
                                                 std::int64_t ttl_ms) = 0;
  // Extends the expiry of registered sessions (unknown ones are not added back).
  virtual parley::Status refresh_sessions(const std::vector<std::pair<UserId, std::string>>& sessions,
                                  std::int64_t ttl_ms) = 0;
  virtual parley::Status remove_session(UserId user, std::string_view key) = 0;
  // The keys of `user`'s live sessions on every node, in no particular order. Reads only.
  virtual Result<std::vector<std::string>> sessions(UserId user) = 0;

  // Adds this node's new requests (>= 0) per user and returns, in the same order, each user's
  // requests across all nodes over the last `window_ms` (> 0; a sliding-window estimate: the
  // current window plus the previous one weighted by how much of it still overlaps, rounded).
  virtual Result<std::vector<RequestCount>> add_requests(const std::vector<RequestCount>& added,
                                                         std::int64_t window_ms) = 0;

  // Sign-in throttling across nodes: `account` and `address` name the failure counters (a
  // username, a client address). Reads only.
  virtual Result<SignInState> sign_in_state(std::string_view account, std::string_view address) = 0;
  // A failed sign-in counts against both the account and the address, each under its rules (the
  // waits grow as FailureThrottle's do); a successful one forgets the account's failures and
  // remembers the address as the account's.
  virtual parley::Status record_sign_in(std::string_view account, std::string_view address, bool succeeded,
                                        const SignInRules& rules) = 0;

  // For logs: the engine and where it points, without passwords.
  virtual std::string describe() const = 0;
};

// Opens the engine `options.url` names. Fails (ErrorCode::invalid_field, "directory.url: ...", never
// showing the password) on an unknown scheme or a malformed URL; a Redis that cannot be reached
// yet is not an error (calls fail with unavailable until it can). Does not block.
Result<std::unique_ptr<Directory>> open_directory(const Options& options);

// "online" / "away" / "offline".
const char* to_string(State state);

}  // namespace parley::presence
