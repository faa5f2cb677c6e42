// Per-key limits shared by every thread: token buckets (rates), failure throttles with
// growing delays (password guessing), and concurrency caps (work in flight per key). Keys are
// user ids, client addresses or account names. Each class is thread-safe (one mutex; the
// callers are rare events or cheap enough) and bounded in memory: past `max_keys`, entries
// that hold no state beyond a fresh one are dropped first, then the oldest.
// Times are milliseconds of any monotonic clock, passed in (tests drive them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace parley {

// A token bucket per key: `burst` requests at once, refilled at `per_second`.
class RateLimiter {
 public:
  RateLimiter(double per_second, double burst, std::size_t max_keys);

  // Takes one token for `key`. If none is left, returns false and sets `retry_after_ms` to the
  // wait until one is.
  bool take(const std::string& key, std::int64_t now_ms, std::int64_t& retry_after_ms);

 private:
  struct Bucket {
    double tokens;
    std::int64_t refilled_ms;
  };
  void make_room(std::int64_t now_ms);

  double per_ms_;
  double burst_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// Token buckets keyed by a numeric id (a user), sharded so that the I/O threads rarely contend:
// one lock per call, no allocation once a key is known. Memory: one small entry per key seen
// recently (idle full buckets are dropped past `max_keys` per shard).
class IdRateLimiter {
 public:
  IdRateLimiter(double per_second, double burst, std::size_t max_keys_per_shard = 65536);
  bool take(std::uint64_t id, std::int64_t now_ms, std::int64_t& retry_after_ms);

 private:
  struct Bucket {
    double tokens;
    std::int64_t refilled_ms;
  };
  struct alignas(64) Shard {
    std::mutex mutex;
    std::unordered_map<std::uint64_t, Bucket> buckets;
  };
  static constexpr std::size_t kShards = 16;
  double per_ms_;
  double burst_;
  std::size_t max_keys_;
  Shard shards_[kShards];
};

struct FailurePolicy {
  int free_failures = 5;                  // failures before any delay
  std::int64_t base_delay_ms = 1000;      // the first delay; it doubles with each failure
  std::int64_t max_delay_ms = 15 * 60 * 1000;
  std::int64_t forget_after_ms = 60 * 60 * 1000;  // a key with no failure for this long starts over
};

// Growing delays after repeated failures of one key (an account, an address): once
// `free_failures` failures are counted, each failure makes the next attempt wait base,
// 2 x base, 4 x base, ... capped at `max_delay_ms`, so nobody is locked out for longer.
class FailureThrottle {
 public:
  FailureThrottle(FailurePolicy policy, std::size_t max_keys);

  // 0 if an attempt for `key` may go ahead at `now_ms`, else the milliseconds to wait.
  std::int64_t wait_ms(const std::string& key, std::int64_t now_ms);
  void record_failure(const std::string& key, std::int64_t now_ms);
  // Forgets the key's failures.
  void record_success(const std::string& key);
  // Failures counted for `key` (0 once forgotten).
  int failures(const std::string& key, std::int64_t now_ms);

 private:
  struct State {
    int failures = 0;
    std::int64_t last_failure_ms = 0;
    std::int64_t blocked_until_ms = 0;
  };
  void make_room(std::int64_t now_ms);

  FailurePolicy policy_;
  std::size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, State> states_;
};

// At most `limit` pieces of work in flight per key.
class ConcurrencyLimiter {
 public:
  explicit ConcurrencyLimiter(int limit) : limit_(limit) {}
  // False if `key` already has `limit` in flight; otherwise counts one more.
  bool acquire(const std::string& key);
  void release(const std::string& key);

 private:
  int limit_;
  std::mutex mutex_;
  std::unordered_map<std::string, int> in_flight_;
};

}  // namespace parley
