#include "presence/inproc_directory.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"

namespace parley::presence {
namespace {

// What Redis keeps of a user after the last write to it (README: "Key layout").
constexpr std::int64_t kRecordRetentionMs = 24 * 3600 * 1000;
// How often (engine time) a call also drops what has expired everywhere; Redis expires keys.
constexpr std::int64_t kPurgeEveryMs = 60 * 1000;

Status check_ttl(std::int64_t ttl_ms) {
  if (ttl_ms <= 0) return make_error(ErrorCode::invalid_field, "presence: ttl_ms must be > 0");
  return Ok{};
}

struct NodeStatus {
  State state = State::offline;
  std::int64_t expires_ms = 0;  // live while now < expires_ms
};

// The user's hash in Redis (PREFIX:pres:USER).
struct UserRecord {
  std::map<unsigned, NodeStatus> nodes;
  State published = State::offline;  // the aggregate last returned as a Transition
  std::uint64_t version = 0;         // 0: no change yet
  std::int64_t last_seen_ms = 0;
  std::int64_t retained_until_ms = 0;
  std::optional<std::int64_t> live_score;  // its entry in InprocSpace::live: earliest expiry
};

}  // namespace

// The shared state of one (NAME, prefix).
class InprocSpace {
 public:
  static std::shared_ptr<InprocSpace> named(const std::string& key) {
    // Never destroyed: a Directory may outlive static destruction order in a test binary.
    static auto* registry_mutex = new std::mutex;
    static auto* registry = new std::unordered_map<std::string, std::weak_ptr<InprocSpace>>;
    std::lock_guard lock(*registry_mutex);
    std::erase_if(*registry, [](const auto& entry) { return entry.second.expired(); });
    auto& slot = (*registry)[key];
    auto space = slot.lock();
    if (!space) {
      space = std::make_shared<InprocSpace>();
      slot = space;
    }
    return space;
  }

  // The engine's time, never going back; drops expired state now and then. Under mutex.
  std::int64_t now() {
    last_now_ms_ = std::max(last_now_ms_, wall_clock_ms());
    if (last_now_ms_ >= next_purge_ms_) {
      purge(last_now_ms_);
      next_purge_ms_ = last_now_ms_ + kPurgeEveryMs;
    }
    return last_now_ms_;
  }

  // The user's record, null if it has none (or Redis would have expired it). Under mutex.
  const UserRecord* find(UserId user, std::int64_t now) const {
    const auto it = users_.find(user);
    return it == users_.end() || it->second.retained_until_ms <= now ? nullptr : &it->second;
  }

  // The settle script of redis_directory.cpp: applies `node`'s report (unless `sweeping`), drops
  // lapsed node statuses, and returns the change of the aggregate, if any. Under mutex.
  std::optional<Transition> settle(UserId user, std::int64_t now, bool sweeping, unsigned node, State state,
                                   std::int64_t ttl_ms) {
    auto it = users_.find(user);
    if (it != users_.end() && it->second.retained_until_ms <= now) {
      set_live(user, it->second, std::nullopt);
      users_.erase(it);
      it = users_.end();
    }
    if (it == users_.end()) {
      if (sweeping || state == State::offline) return std::nullopt;  // nothing to write, as in Redis
      it = users_.emplace(user, UserRecord{}).first;
    }
    UserRecord& record = it->second;
    if (!sweeping) {
      if (state == State::offline)
        record.nodes.erase(node);
      else
        record.nodes[node] = NodeStatus{state, now + ttl_ms};
    }
    State best = State::offline;
    std::optional<std::int64_t> earliest;
    std::map<State, std::int64_t> lapsed;  // the latest expiry among dropped statuses, per state
    for (auto status = record.nodes.begin(); status != record.nodes.end();) {
      const NodeStatus& value = status->second;
      if (value.expires_ms <= now) {
        lapsed[value.state] = std::max(lapsed[value.state], value.expires_ms);
        status = record.nodes.erase(status);
        continue;
      }
      best = std::max(best, value.state);
      earliest = std::min(earliest.value_or(value.expires_ms), value.expires_ms);
      ++status;
    }
    set_live(user, record, earliest);
    std::optional<Transition> change;
    if (best != record.published) {
      std::int64_t at = now;
      if (sweeping) {  // the aggregate took its new value when the last higher status lapsed
        std::int64_t higher_lapsed = 0;
        for (const auto& [lapsed_state, expires] : lapsed)
          if (lapsed_state > best) higher_lapsed = std::max(higher_lapsed, expires);
        if (higher_lapsed > 0) at = higher_lapsed;
      }
      if (record.version == 0) record.version = static_cast<std::uint64_t>(now);
      ++record.version;
      record.published = best;
      if (best == State::offline) record.last_seen_ms = at;
      change = Transition{user, best, at, record.version};
    }
    record.retained_until_ms = now + kRecordRetentionMs + (sweeping ? 0 : ttl_ms);
    return change;
  }

  // Users whose earliest node status has lapsed, earliest first. Under mutex.
  std::vector<UserId> due_users(std::int64_t now, std::size_t limit) const {
    std::vector<UserId> due;
    for (auto it = live_.begin(); it != live_.end() && due.size() < limit && it->first <= now; ++it)
      due.push_back(it->second);
    return due;
  }

  // The sessions of `user` that have not expired (expired ones dropped). Under mutex.
  std::map<std::string, std::int64_t, std::less<>>& sessions(UserId user, std::int64_t now) {
    auto& keys = sessions_[user];
    std::erase_if(keys, [&](const auto& entry) { return entry.second <= now; });
    return keys;
  }
  void forget_sessions_if_empty(UserId user) {
    if (auto it = sessions_.find(user); it != sessions_.end() && it->second.empty()) sessions_.erase(it);
  }

  // The add_requests script of redis_directory.cpp. Under mutex.
  std::int64_t add_requests(UserId user, std::int64_t added, std::int64_t window_ms, std::int64_t now) {
    auto& counts = requests_[{user, window_ms}];
    const std::int64_t index = now / window_ms;
    const std::int64_t current = counts[index] += added;
    const auto previous_it = counts.find(index - 1);
    const std::int64_t previous = previous_it == counts.end() ? 0 : previous_it->second;
    std::erase_if(counts, [&](const auto& entry) { return entry.first < index - 1; });
    const std::int64_t elapsed = now - index * window_ms;
    return current + (previous * (window_ms - elapsed) * 2 + window_ms) / (2 * window_ms);
  }

  // The sign-in scripts of redis_directory.cpp. Under mutex.
  struct Failures {
    std::int64_t count = 0;
    std::int64_t blocked_until_ms = 0;
    std::int64_t expires_ms = 0;  // forgotten at this time (forget_after past the last failure)
  };
  std::int64_t failure_wait(const std::string& key, std::int64_t now) {
    auto it = failures_.find(key);
    if (it == failures_.end()) return 0;
    if (it->second.expires_ms <= now) {
      failures_.erase(it);
      return 0;
    }
    return std::max<std::int64_t>(0, it->second.blocked_until_ms - now);
  }
  void add_failure(const std::string& key, const FailurePolicy& policy, std::int64_t now) {
    failure_wait(key, now);  // drops it if expired
    Failures& entry = failures_[key];
    const std::int64_t over = ++entry.count - policy.free_failures;
    if (over >= 0) {
      const double delay = std::min(static_cast<double>(policy.max_delay_ms),
                                    static_cast<double>(policy.base_delay_ms) * std::pow(2.0, std::min<std::int64_t>(over, 40)));
      entry.blocked_until_ms = now + static_cast<std::int64_t>(delay);
    }
    entry.expires_ms = now + std::max<std::int64_t>(policy.forget_after_ms, 1);
  }
  void forget_failures(const std::string& key) { failures_.erase(key); }
  // The account's known addresses: address -> last sign-in, and when the set expires.
  struct Known {
    std::map<std::string, std::int64_t, std::less<>> addresses;
    std::int64_t expires_ms = 0;
  };
  bool is_known(const std::string& account, std::string_view address, std::int64_t now) {
    auto it = known_.find(account);
    if (it == known_.end()) return false;
    if (it->second.expires_ms <= now) {
      known_.erase(it);
      return false;
    }
    return it->second.addresses.find(address) != it->second.addresses.end();
  }
  void remember(const std::string& account, std::string_view address, int keep, std::int64_t retention_ms,
                std::int64_t now) {
    is_known(account, address, now);  // drops it if expired
    Known& known = known_[account];
    known.addresses[std::string(address)] = now;
    // ZREMRANGEBYRANK 0 -(keep+1): the oldest go, ties by address (Redis orders equal scores so).
    while (known.addresses.size() > static_cast<std::size_t>(std::max(keep, 1))) {
      auto oldest = known.addresses.begin();
      for (auto it = known.addresses.begin(); it != known.addresses.end(); ++it)
        if (it->second < oldest->second) oldest = it;
      known.addresses.erase(oldest);
    }
    known.expires_ms = now + std::max<std::int64_t>(retention_ms, 1);
  }

  std::mutex mutex;

 private:
  void set_live(UserId user, UserRecord& record, std::optional<std::int64_t> score) {
    if (record.live_score) live_.erase({*record.live_score, user});
    record.live_score = score;
    if (score) live_.insert({*score, user});
  }

  // What Redis would have expired by now: records a day after their last write, sessions, and
  // request counters older than the previous window.
  void purge(std::int64_t now) {
    std::erase_if(users_, [&](auto& entry) {
      if (entry.second.retained_until_ms > now) return false;
      if (entry.second.live_score) live_.erase({*entry.second.live_score, entry.first});
      return true;
    });
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      std::erase_if(it->second, [&](const auto& entry) { return entry.second <= now; });
      it = it->second.empty() ? sessions_.erase(it) : std::next(it);
    }
    std::erase_if(requests_, [&](const auto& entry) {
      const auto& [user_window, counts] = entry;
      return counts.empty() || counts.rbegin()->first < now / user_window.second - 1;
    });
    std::erase_if(failures_, [&](const auto& entry) { return entry.second.expires_ms <= now; });
    std::erase_if(known_, [&](const auto& entry) { return entry.second.expires_ms <= now; });
  }

  std::int64_t last_now_ms_ = 0;
  std::int64_t next_purge_ms_ = 0;
  std::unordered_map<UserId, UserRecord> users_;
  std::set<std::pair<std::int64_t, UserId>> live_;  // PREFIX:pres:live
  std::unordered_map<UserId, std::map<std::string, std::int64_t, std::less<>>> sessions_;
  std::map<std::pair<UserId, std::int64_t>, std::map<std::int64_t, std::int64_t>> requests_;
  std::unordered_map<std::string, Failures> failures_;  // PREFIX:fail:a:NAME, PREFIX:fail:ip:ADDRESS
  std::unordered_map<std::string, Known> known_;        // PREFIX:known:NAME
};

InprocDirectory::InprocDirectory(const Options& options, std::string name)
    : name_(std::move(name)),
      prefix_(options.key_prefix),
      // The NUL cannot occur in a name, so no (name, prefix) pair aliases another.
      space_(InprocSpace::named(name_ + '\0' + prefix_)) {}

Result<std::vector<Transition>> InprocDirectory::report(unsigned node, const std::vector<Report>& reports,
                                                        std::int64_t ttl_ms) {
  if (auto valid = check_ttl(ttl_ms); !valid) return valid.take_error();
  for (const Report& report : reports)
    if (report.state > State::online) return make_error(ErrorCode::invalid_field, "presence: invalid state");
  std::vector<Transition> changes;
  std::lock_guard lock(space_->mutex);
  const std::int64_t now = space_->now();
  for (const Report& report : reports)
    if (auto change = space_->settle(report.user, now, false, node, report.state, ttl_ms)) changes.push_back(*change);
  return changes;
}

Result<std::vector<Transition>> InprocDirectory::sweep(std::size_t limit) {
  std::vector<Transition> changes;
  std::lock_guard lock(space_->mutex);
  const std::int64_t now = space_->now();
  for (UserId user : space_->due_users(now, limit))
    if (auto change = space_->settle(user, now, true, 0, State::offline, 0)) changes.push_back(*change);
  return changes;
}

Result<std::vector<View>> InprocDirectory::lookup(const std::vector<UserId>& users) {
  std::vector<View> views;
  views.reserve(users.size());
  std::lock_guard lock(space_->mutex);
  const std::int64_t now = space_->now();
  for (UserId user : users) {
    View view;
    if (const UserRecord* record = space_->find(user, now)) {
      std::int64_t lapsed = 0;
      for (const auto& [node, status] : record->nodes) {
        if (status.expires_ms > now)
          view.state = std::max(view.state, status.state);
        else
          lapsed = std::max(lapsed, status.expires_ms);
      }
      view.last_seen_ms = record->last_seen_ms;
      // Every status lapsed and no sweep has noticed yet: last seen when the last one lapsed.
      if (view.state == State::offline) view.last_seen_ms = std::max(view.last_seen_ms, lapsed);
    }
    views.push_back(view);
  }
  return views;
}

Result<std::vector<bool>> InprocDirectory::add_sessions(const std::vector<std::pair<UserId, std::string>>& sessions,
                                                        int max, std::int64_t ttl_ms) {
  if (auto valid = check_ttl(ttl_ms); !valid) return valid.take_error();
  std::lock_guard lock(space_->mutex);
  const std::int64_t now = space_->now();
  std::vector<bool> admitted;
  admitted.reserve(sessions.size());
  for (const auto& [user, key] : sessions) {
    auto& keys = space_->sessions(user, now);
    auto it = keys.find(key);
    if (it == keys.end()) {
      if (static_cast<std::int64_t>(keys.size()) >= max) {
        space_->forget_sessions_if_empty(user);
        admitted.push_back(false);
        continue;
      }
      it = keys.emplace(key, 0).first;
    }
    it->second = now + ttl_ms;
    admitted.push_back(true);
  }
  return admitted;
}

parley::Status InprocDirectory::refresh_sessions(const std::vector<std::pair<UserId, std::string>>& sessions,
                                                 std::int64_t ttl_ms) {
  if (auto valid = check_ttl(ttl_ms); !valid) return valid;
  std::lock_guard lock(space_->mutex);
  const std::int64_t now = space_->now();
  for (const auto& [user, key] : sessions) {
    auto& keys = space_->sessions(user, now);
    if (auto it = keys.find(key); it != keys.end()) it->second = now + ttl_ms;
    space_->forget_sessions_if_empty(user);
  }
  return Ok{};
}

parley::Status InprocDirectory::remove_session(UserId user, std::string_view key) {
  std::lock_guard lock(space_->mutex);
  const std::int64_t now = space_->now();
  auto& keys = space_->sessions(user, now);
  if (auto it = keys.find(key); it != keys.end()) keys.erase(it);
  space_->forget_sessions_if_empty(user);
  return Ok{};
}

Result<std::vector<std::string>> InprocDirectory::sessions(UserId user) {
  std::lock_guard lock(space_->mutex);
  const std::int64_t now = space_->now();
  std::vector<std::string> keys;
  for (const auto& [key, expires] : space_->sessions(user, now)) keys.push_back(key);
  space_->forget_sessions_if_empty(user);
  return keys;
}

Result<SignInState> InprocDirectory::sign_in_state(std::string_view account, std::string_view address) {
  std::lock_guard lock(space_->mutex);
  const std::int64_t now = space_->now();
  const std::string name(account);
  return SignInState{space_->failure_wait("a:" + name, now), space_->failure_wait("ip:" + std::string(address), now),
                     space_->is_known(name, address, now)};
}

parley::Status InprocDirectory::record_sign_in(std::string_view account, std::string_view address, bool succeeded,
                                               const SignInRules& rules) {
  std::lock_guard lock(space_->mutex);
  const std::int64_t now = space_->now();
  const std::string name(account);
  if (succeeded) {
    space_->forget_failures("a:" + name);
    space_->remember(name, address, rules.known_addresses, rules.known_retention_ms, now);
  } else {
    space_->add_failure("a:" + name, rules.account, now);
    space_->add_failure("ip:" + std::string(address), rules.address, now);
  }
  return Ok{};
}

Result<std::vector<RequestCount>> InprocDirectory::add_requests(const std::vector<RequestCount>& added,
                                                                std::int64_t window_ms) {
  if (window_ms <= 0) return make_error(ErrorCode::invalid_field, "presence: window_ms must be > 0");
  for (const RequestCount& entry : added)
    if (entry.count < 0) return make_error(ErrorCode::invalid_field, "presence: a request count must be >= 0");
  std::vector<RequestCount> totals;
  totals.reserve(added.size());
  std::lock_guard lock(space_->mutex);
  const std::int64_t now = space_->now();
  for (const RequestCount& entry : added)
    totals.push_back({entry.user, space_->add_requests(entry.user, entry.count, window_ms, now)});
  return totals;
}

}  // namespace parley::presence
