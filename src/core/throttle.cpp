#include "core/throttle.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace parley {

// --- RateLimiter ---

RateLimiter::RateLimiter(double per_second, double burst, std::size_t max_keys)
    : per_ms_(per_second / 1000.0), burst_(std::max(1.0, burst)), max_keys_(std::max<std::size_t>(1, max_keys)) {}

bool RateLimiter::take(const std::string& key, std::int64_t now_ms, std::int64_t& retry_after_ms) {
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) make_room(now_ms);
    it = buckets_.emplace(key, Bucket{burst_, now_ms}).first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = std::min(burst_, bucket.tokens + static_cast<double>(now_ms - bucket.refilled_ms) * per_ms_);
  bucket.refilled_ms = now_ms;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return true;
  }
  // (The epsilon keeps float noise from adding a millisecond.)
  retry_after_ms = per_ms_ > 0 ? static_cast<std::int64_t>(std::ceil((1.0 - bucket.tokens) / per_ms_ - 1e-6)) : INT32_MAX;
  return false;
}

void RateLimiter::make_room(std::int64_t now_ms) {
  // A bucket that has refilled completely is the same as no bucket.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double tokens = it->second.tokens + static_cast<double>(now_ms - it->second.refilled_ms) * per_ms_;
    it = tokens >= burst_ ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() < max_keys_) return;
  // Still full: drop the least recently used half.
  std::vector<std::pair<std::int64_t, std::string>> by_age;
  for (const auto& [key, bucket] : buckets_) by_age.emplace_back(bucket.refilled_ms, key);
  std::sort(by_age.begin(), by_age.end());
  for (std::size_t i = 0; i < by_age.size() / 2; ++i) buckets_.erase(by_age[i].second);
}

// --- IdRateLimiter ---

IdRateLimiter::IdRateLimiter(double per_second, double burst, std::size_t max_keys_per_shard)
    : per_ms_(per_second / 1000.0), burst_(std::max(1.0, burst)), max_keys_(std::max<std::size_t>(1, max_keys_per_shard)) {}

bool IdRateLimiter::take(std::uint64_t id, std::int64_t now_ms, std::int64_t& retry_after_ms) {
  Shard& shard = shards_[(id * 0x9E3779B97F4A7C15ULL) >> 60];
  std::lock_guard lock(shard.mutex);
  auto it = shard.buckets.find(id);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_keys_) {
      for (auto b = shard.buckets.begin(); b != shard.buckets.end();) {
        const double tokens = b->second.tokens + static_cast<double>(now_ms - b->second.refilled_ms) * per_ms_;
        b = tokens >= burst_ ? shard.buckets.erase(b) : std::next(b);
      }
      if (shard.buckets.size() >= max_keys_) shard.buckets.clear();  // all busy: start over rather than grow
    }
    it = shard.buckets.emplace(id, Bucket{burst_, now_ms}).first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = std::min(burst_, bucket.tokens + static_cast<double>(now_ms - bucket.refilled_ms) * per_ms_);
  bucket.refilled_ms = now_ms;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return true;
  }
  retry_after_ms = static_cast<std::int64_t>(std::ceil((1.0 - bucket.tokens) / per_ms_ - 1e-6));
  return false;
}

// --- FailureThrottle ---

FailureThrottle::FailureThrottle(FailurePolicy policy, std::size_t max_keys)
    : policy_(policy), max_keys_(std::max<std::size_t>(1, max_keys)) {}

std::int64_t FailureThrottle::wait_ms(const std::string& key, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = states_.find(key);
  if (it == states_.end()) return 0;
  if (now_ms - it->second.last_failure_ms > policy_.forget_after_ms) {
    states_.erase(it);
    return 0;
  }
  return std::max<std::int64_t>(0, it->second.blocked_until_ms - now_ms);
}

void FailureThrottle::record_failure(const std::string& key, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = states_.find(key);
  if (it == states_.end()) {
    if (states_.size() >= max_keys_) make_room(now_ms);
    it = states_.emplace(key, State{}).first;
  }
  State& state = it->second;
  if (now_ms - state.last_failure_ms > policy_.forget_after_ms) state = State{};
  ++state.failures;
  state.last_failure_ms = now_ms;
  // The free failures are used up: every further attempt waits, twice as long each time.
  const int over = state.failures - policy_.free_failures;
  if (over >= 0) {
    const int doublings = std::min(over, 40);
    const std::int64_t delay = std::min(policy_.max_delay_ms, policy_.base_delay_ms << doublings);
    state.blocked_until_ms = now_ms + delay;
  }
}

void FailureThrottle::record_success(const std::string& key) {
  std::lock_guard lock(mutex_);
  states_.erase(key);
}

int FailureThrottle::failures(const std::string& key, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = states_.find(key);
  if (it == states_.end() || now_ms - it->second.last_failure_ms > policy_.forget_after_ms) return 0;
  return it->second.failures;
}

void FailureThrottle::make_room(std::int64_t now_ms) {
  for (auto it = states_.begin(); it != states_.end();)
    it = now_ms - it->second.last_failure_ms > policy_.forget_after_ms ? states_.erase(it) : std::next(it);
  if (states_.size() < max_keys_) return;
  // Still full: keep the keys with the most failures (those are the ones being attacked).
  std::vector<std::pair<int, std::string>> by_failures;
  for (const auto& [key, state] : states_) by_failures.emplace_back(state.failures, key);
  std::sort(by_failures.begin(), by_failures.end());
  for (std::size_t i = 0; i < by_failures.size() / 2; ++i) states_.erase(by_failures[i].second);
}

// --- ConcurrencyLimiter ---

bool ConcurrencyLimiter::acquire(const std::string& key) {
  std::lock_guard lock(mutex_);
  int& count = in_flight_[key];
  if (count >= limit_) return false;
  ++count;
  return true;
}

void ConcurrencyLimiter::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = in_flight_.find(key);
  if (it == in_flight_.end()) return;
  if (--it->second <= 0) in_flight_.erase(it);
}

}  // namespace parley
