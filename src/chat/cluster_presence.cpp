#include "chat/cluster_presence.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "chat/cluster_wire.hpp"
#include "core/clock.hpp"
#include "core/metrics_text.hpp"

namespace parley::chat {
namespace {

// Sweep at most this many users per round; a dead node's users take a few rounds.
constexpr std::size_t kSweepLimit = 1000;
// A presence message carries at most this many audience ids (8 bytes each): far below the bus's
// 1 MiB message limit.
constexpr std::size_t kAudiencePerMessage = 50000;
// Versions of changes delivered are remembered this long: long enough for any reordering on
// the bus, short enough that a user's entry does not stay forever.
constexpr std::int64_t kVersionMemory_ms = 60000;
// The window of the cross-node request rate.
constexpr std::int64_t kRateWindow_ms = 1000;

}  // namespace

presence::State to_state(PresenceStatus status) {
  switch (status) {
    case PresenceStatus::online: return presence::State::online;
    case PresenceStatus::away: return presence::State::away;
    case PresenceStatus::offline: break;
  }
  return presence::State::offline;
}

PresenceStatus to_status(presence::State state) {
  switch (state) {
    case presence::State::online: return PresenceStatus::online;
    case presence::State::away: return PresenceStatus::away;
    case presence::State::offline: break;
  }
  return PresenceStatus::offline;
}

ClusterPresence::ClusterPresence(presence::Directory& directory, bus::Bus& bus, const Config& config, Hooks hooks)
    : directory_(directory),
      bus_(bus),
      node_id_(static_cast<unsigned>(config.server.node_id)),
      presence_config_(config.presence),
      directory_config_(config.directory),
      max_sessions_(config.limits.max_sessions_per_user),
      requests_per_second_(config.limits.user_requests_per_second),
      requests_burst_(config.limits.user_requests_burst),
      hooks_(std::move(hooks)),
      presence_subject_(config.bus.subject_prefix + ".presence") {}

ClusterPresence::~ClusterPresence() { stop(); }

void ClusterPresence::start() {
  subscription_ = bus_.subscribe(presence_subject_, [this](const bus::Message& m) { on_presence_message(m); });
  running_.store(true);
  worker_ = std::thread([this] {
    name_this_thread("presence");
    run_worker();
  });
  // Entries of this node from before a restart (same node id) are replaced by the first report.
  post([this] { full_report(); });
  every(std::max(presence_config_.ttl_ms / 3, 10), &ClusterPresence::full_report);
  every(std::max(presence_config_.ttl_ms / 3, 10), &ClusterPresence::refresh_sessions);
  every(presence_config_.batch_ms, &ClusterPresence::sweep);
  every(directory_config_.sync_ms, &ClusterPresence::sync_requests);
}

void ClusterPresence::stop() {
  if (!running_.exchange(false)) return;
  if (subscription_) bus_.unsubscribe(subscription_);
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  worker_.join();
}

void ClusterPresence::every(int period_ms, void (ClusterPresence::*task)()) {
  hooks_.after(period_ms, [this, period_ms, task] {
    if (!running_.load()) return;
    post([this, task] { (this->*task)(); });
    every(period_ms, task);
  });
}

void ClusterPresence::post(std::function<void()> task) {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) return;
    queue_.push_back(std::move(task));
  }
  queue_cv_.notify_one();
}

void ClusterPresence::run_worker() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued before it ran
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ClusterPresence::note_failure(const char* what, const Error& error) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  if (directory_up_.exchange(false)) spdlog::warn("directory.down {}: {}", what, error.message);
}

// --- presence ---

void ClusterPresence::local_changes(const std::vector<PresenceTracker::Change>& changes) {
  std::vector<presence::Report> reports;
  std::vector<UserId> leaving;
  for (const auto& change : changes) {
    if (change.went_offline) leaving.push_back(change.user_id);
    else reports.push_back({change.user_id, to_state(change.view.status)});
  }
  if (!reports.empty()) post([this, reports = std::move(reports)]() mutable { report(std::move(reports)); });
  if (leaving.empty()) return;
  // Withdrawn one window later, with whatever this node knows of them by then (a user who came
  // back here meanwhile is reported as it is now): a session that opened on another node just
  // before this one closed has been reported there first.
  hooks_.after(presence_config_.batch_ms, [this, leaving = std::move(leaving)] {
    post([this, leaving] {
      std::vector<presence::Report> withdrawn;
      withdrawn.reserve(leaving.size());
      for (UserId user : leaving) withdrawn.push_back({user, hooks_.local_state(user)});
      report(std::move(withdrawn));
    });
  });
}

void ClusterPresence::report(std::vector<presence::Report> reports) {
  // Reports that failed earlier go first (a user who left while Redis was unreachable is
  // withdrawn once it is back, not only when its entry expires); newer ones override them.
  if (!unreported_.empty()) {
    std::unordered_map<UserId, presence::State> latest = std::move(unreported_);
    unreported_.clear();
    for (const auto& r : reports) latest[r.user] = r.state;
    reports.clear();
    for (const auto& [user, state] : latest) reports.push_back({user, state});
  }
  if (reports.empty()) return;
  auto transitions = directory_.report(node_id_, reports, presence_config_.ttl_ms);
  if (!transitions) {
    for (const auto& r : reports) unreported_[r.user] = r.state;
    return note_failure("report", transitions.error());
  }
  if (!directory_up_.exchange(true)) spdlog::info("directory.up {}", directory_.describe());
  announce(std::move(*transitions));
}

void ClusterPresence::full_report() {
  // Every user with a session here, also those whose status did not change: keeps this node's
  // entries from expiring, and puts them back after the directory lost them (a Redis restart).
  report(hooks_.local_states());
}

void ClusterPresence::sweep() {
  auto transitions = directory_.sweep(kSweepLimit);
  if (!transitions) return note_failure("sweep", transitions.error());
  swept_.fetch_add(transitions->size(), std::memory_order_relaxed);
  announce(std::move(*transitions));
}

void ClusterPresence::announce(std::vector<presence::Transition> transitions) {
  if (transitions.empty()) return;
  transitions_.fetch_add(transitions.size(), std::memory_order_relaxed);
  // Who may see each change and whether the user shares its last seen: one store read for the
  // batch, on the reader pool; then published to every node and delivered here.
  auto read = [this, transitions = std::move(transitions)](store::ReadTxn* txn) {
    if (!txn) return;
    std::vector<PresenceChange> changes;
    std::vector<std::pair<UserId, std::int64_t>> offline;
    std::vector<UserId> users;
    for (const auto& t : transitions) users.push_back(t.user);
    const auto audiences = txn->presence_audiences(users);  // ascending by user
    for (const auto& t : transitions) {
      PresenceChange change;
      change.user_id = t.user;
      change.status = presence::to_string(t.state);
      change.version = t.version;
      const store::PresenceAudience* found = store::find_audience(audiences, t.user);
      if (t.state == presence::State::offline) {
        offline.emplace_back(t.user, t.at_ms);
        if (found && found->share_last_seen) change.last_seen_ms = t.at_ms;
      }
      if (found) change.audience = found->peers;
      // Large audiences go out in parts, each a complete change for its part of the audience.
      while (change.audience.size() > kAudiencePerMessage) {
        PresenceChange part = change;
        part.audience.assign(change.audience.end() - kAudiencePerMessage, change.audience.end());
        change.audience.resize(change.audience.size() - kAudiencePerMessage);
        changes.push_back(std::move(part));
      }
      changes.push_back(std::move(change));
    }
    // Messages of up to kAudiencePerMessage ids.
    wire::Presence message{node_id_, {}};
    std::size_t ids = 0;
    for (const PresenceChange& change : changes) {
      if (ids + change.audience.size() > kAudiencePerMessage && !message.changes.empty()) {
        bus_.publish(presence_subject_, wire::encode_presence(message));
        message.changes.clear();
        ids = 0;
      }
      message.changes.push_back(change);
      ids += change.audience.size();
    }
    if (!message.changes.empty()) bus_.publish(presence_subject_, wire::encode_presence(message));
    if (!offline.empty()) hooks_.store_last_seen(std::move(offline));
    receive(std::move(changes));
  };
  if (!hooks_.read(std::move(read))) spdlog::warn("presence.dropped (read queue full)");
}

void ClusterPresence::on_presence_message(const bus::Message& message) {
  auto presence = wire::decode_presence(message.payload);
  if (!presence) {
    spdlog::warn("presence.refused malformed bus message ({} bytes)", message.payload.size());
    return;
  }
  if (presence->node_id == node_id_) return;  // delivered here already
  received_.fetch_add(1, std::memory_order_relaxed);
  receive(std::move(presence->changes));
}

void ClusterPresence::receive(std::vector<PresenceChange> changes) {
  const std::int64_t now = monotonic_ms();
  {
    std::lock_guard lock(versions_mutex_);
    // A change older than one already delivered for its user (two nodes' messages crossed on
    // the bus) is dropped; parts of one change share a version and all pass.
    auto stale = [&](const PresenceChange& change) {
      Seen& seen = versions_[change.user_id];
      if (change.version < seen.version) {
        stale_.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
      seen = Seen{change.version, now};
      return false;
    };
    changes.erase(std::remove_if(changes.begin(), changes.end(), stale), changes.end());
    if (now - versions_pruned_ms_ > kVersionMemory_ms) {
      versions_pruned_ms_ = now;
      std::erase_if(versions_, [now](const auto& entry) { return now - entry.second.at_ms > kVersionMemory_ms; });
    }
  }
  if (changes.empty()) return;
  hooks_.deliver(std::make_shared<const std::vector<PresenceChange>>(std::move(changes)));
}

std::optional<std::vector<presence::View>> ClusterPresence::lookup(const std::vector<UserId>& users) {
  auto views = directory_.lookup(users);
  if (!views) {
    note_failure("lookup", views.error());
    return std::nullopt;
  }
  return std::move(*views);
}

// --- sessions ---

// "NODE:SESSION:TOKEN_ID": unique across the cluster, and it names the session's token (the
// token id is the rest after the second colon, whatever it contains).
std::string ClusterPresence::session_key(SessionId session, const std::string& token_id) const {
  return std::to_string(node_id_) + ":" + std::to_string(session) + ":" + token_id;
}

void ClusterPresence::add_session(UserId user, SessionId session, const std::string& token_id,
                                  std::function<void(bool admitted)> done) {
  bool first = false;
  {
    std::lock_guard lock(claims_mutex_);
    first = claims_.empty();
    claims_.push_back(SessionClaim{user, session, token_id, std::move(done)});
  }
  if (first) post([this] { admit_sessions(); });
}

// The hellos waiting for the directory, in one round trip per kClaimsPerRoundTrip: in a
// reconnect storm a node admits its share of thousands of sessions, and one round trip each
// through the one worker thread would queue them for seconds.
void ClusterPresence::admit_sessions() {
  std::vector<SessionClaim> claims;
  {
    std::lock_guard lock(claims_mutex_);
    claims.swap(claims_);
  }
  for (std::size_t from = 0; from < claims.size(); from += kClaimsPerRoundTrip) {
    const std::size_t to = std::min(claims.size(), from + kClaimsPerRoundTrip);
    std::vector<std::pair<UserId, std::string>> keys;
    keys.reserve(to - from);
    for (std::size_t i = from; i < to; ++i)
      keys.emplace_back(claims[i].user, session_key(claims[i].session, claims[i].token_id));
    auto admitted = directory_.add_sessions(keys, max_sessions_, presence_config_.ttl_ms);
    if (!admitted) note_failure("add_session", admitted.error());
    for (std::size_t i = from; i < to; ++i) {
      SessionClaim& claim = claims[i];
      const bool ok = !admitted || (*admitted)[i - from];  // unreachable: the node's own cap is what holds
      if (ok) {
        std::lock_guard lock(sessions_mutex_);
        sessions_[claim.user][claim.session] = claim.token_id;
      } else {
        refused_sessions_.fetch_add(1, std::memory_order_relaxed);
      }
      claim.done(ok);
    }
  }
}

void ClusterPresence::remove_session(UserId user, SessionId session) {
  std::string token_id;
  {
    std::lock_guard lock(sessions_mutex_);
    auto it = sessions_.find(user);
    if (it == sessions_.end()) return;
    auto found = it->second.find(session);
    if (found == it->second.end()) return;
    token_id = std::move(found->second);
    it->second.erase(found);
    if (it->second.empty()) sessions_.erase(it);
  }
  post([this, user, session, token_id] {
    if (auto removed = directory_.remove_session(user, session_key(session, token_id)); !removed)
      note_failure("remove_session", removed.error());  // it expires after presence.ttl_ms
  });
}

void ClusterPresence::refresh_sessions() {
  std::vector<std::pair<UserId, std::string>> keys;
  {
    std::lock_guard lock(sessions_mutex_);
    for (const auto& [user, sessions] : sessions_)
      for (const auto& [session, token_id] : sessions) keys.emplace_back(user, session_key(session, token_id));
  }
  if (keys.empty()) return;
  if (auto refreshed = directory_.refresh_sessions(keys, presence_config_.ttl_ms); !refreshed)
    note_failure("refresh_sessions", refreshed.error());
}

std::optional<std::unordered_map<std::string, int>> ClusterPresence::sessions_by_token(UserId user) {
  auto keys = directory_.sessions(user);
  if (!keys) {
    note_failure("sessions", keys.error());
    return std::nullopt;
  }
  std::unordered_map<std::string, int> counts;
  for (const std::string& key : *keys) {
    const auto first = key.find(':');
    const auto second = first == std::string::npos ? first : key.find(':', first + 1);
    if (second != std::string::npos) ++counts[key.substr(second + 1)];  // older keys without a token: skipped
  }
  return counts;
}

// --- sign-in throttles ---

std::optional<presence::SignInState> ClusterPresence::sign_in_state(const std::string& username,
                                                                    const std::string& address) {
  auto state = directory_.sign_in_state(username, address);
  if (!state) {
    note_failure("sign_in_state", state.error());
    return std::nullopt;
  }
  return *state;
}

void ClusterPresence::record_sign_in(const std::string& username, const std::string& address, bool succeeded,
                                     const presence::SignInRules& rules) {
  auto record = [this, username, address, succeeded, rules] {
    if (auto recorded = directory_.record_sign_in(username, address, succeeded, rules); !recorded)
      note_failure("record_sign_in", recorded.error());
  };
  if (succeeded)
    post(std::move(record));
  else
    record();  // counted before the failure is answered: the next attempt, on any node, sees it
}

// --- request rate ---

bool ClusterPresence::admit_request(UserId user, std::int64_t now_ms, std::int64_t& retry_after_ms) {
  std::lock_guard lock(requests_mutex_);
  if (auto it = blocked_until_.find(user); it != blocked_until_.end()) {
    if (now_ms < it->second) {
      retry_after_ms = it->second - now_ms;
      refused_requests_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    blocked_until_.erase(it);
  }
  ++request_counts_[user];
  return true;
}

void ClusterPresence::sync_requests() {
  std::vector<presence::RequestCount> added;
  {
    std::lock_guard lock(requests_mutex_);
    if (request_counts_.empty()) return;
    added.reserve(request_counts_.size());
    for (const auto& [user, count] : request_counts_) added.push_back({user, count});
    request_counts_.clear();
  }
  auto totals = directory_.add_requests(added, kRateWindow_ms);
  if (!totals) return note_failure("add_requests", totals.error());
  // Over one window the cluster admits at most the burst plus a second's rate; past it, the user
  // waits on every node until the excess has drained at the sustained rate.
  const double allowed = requests_per_second_ * static_cast<double>(kRateWindow_ms) / 1000.0 + requests_burst_;
  const std::int64_t now = monotonic_ms();
  std::lock_guard lock(requests_mutex_);
  std::erase_if(blocked_until_, [now](const auto& entry) { return entry.second <= now; });
  for (const auto& total : *totals) {
    const double excess = static_cast<double>(total.count) - allowed;
    if (excess <= 0) continue;
    const auto wait_ms = static_cast<std::int64_t>(std::ceil(excess / requests_per_second_ * 1000.0));
    std::int64_t& until = blocked_until_[total.user];
    until = std::max(until, now + std::min<std::int64_t>(wait_ms, kRateWindow_ms));
  }
}

// --- metrics ---

std::string ClusterPresence::metrics_text() const {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    append_metric(out, name, type, help, value);
  };
  metric("parley_directory_up", "gauge", "1 if the last call to the directory (Redis) succeeded",
         directory_up_.load() ? 1 : 0);
  metric("parley_directory_failures_total", "counter", "directory calls that failed (Redis unreachable or slow)",
         failures_.load(std::memory_order_relaxed));
  metric("parley_presence_transitions_total", "counter", "changes of a user's status across nodes this node announced",
         transitions_.load(std::memory_order_relaxed));
  metric("parley_presence_swept_total", "counter", "users turned offline because their node stopped reporting",
         swept_.load(std::memory_order_relaxed));
  metric("parley_presence_messages_received_total", "counter", "presence messages received from other nodes",
         received_.load(std::memory_order_relaxed));
  metric("parley_presence_stale_total", "counter", "presence changes dropped because a newer one was delivered",
         stale_.load(std::memory_order_relaxed));
  metric("parley_cluster_sessions_refused_total", "counter", "hellos refused by the cluster-wide session cap",
         refused_sessions_.load(std::memory_order_relaxed));
  metric("parley_cluster_requests_refused_total", "counter", "commands refused by the cluster-wide request rate",
         refused_requests_.load(std::memory_order_relaxed));
  return out;
}

}  // namespace parley::chat
