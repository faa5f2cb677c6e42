// ClusterPresence: what makes presence, the per-user session cap and the per-user request rate
// hold across the nodes of a cluster, through the shared presence::Directory (Redis) and the
// bus.
//
// Presence: each node's PresenceTracker still follows its own sessions (heartbeats, away); what
// it reports is the node's status of each user. The node writes those into the directory, which
// keeps the status across nodes (the best of every node's) and hands each change of it to exactly
// one node. That node finds who may see the change (peers, privacy: a store read) and publishes
// it on PREFIX.presence; every node tells its own sessions. A node re-reports all its users every
// presence.ttl_ms / 3, so its entries expire when it dies and a sweep (every node, every
// presence.batch_ms) turns them offline. Changes carry a per-user version: one that arrives after
// a newer one is dropped. A node withdraws a user (its last session here ended) one
// presence.batch_ms later than it reports a user online, so a device that moves from one node
// to another does not show its user offline in between.
//
// Session cap: every authenticated session is registered in the directory under "NODE:SESSION";
// a hello beyond limits.max_sessions_per_user across the cluster is refused. Rate: each node
// counts its users' commands and every directory.sync_ms adds them to the directory and reads
// the cluster's totals; a user past limits.user_requests_per_second (plus the burst) over the
// last second is refused on every node until its total falls back.
//
// The directory is reached from one worker thread of this class (never an I/O thread), except
// lookup(), which presence.get calls on a reader thread. While the directory is unreachable a
// node falls back to what it knows alone: local presence, local caps, local rates (each node's
// own limits still hold); it catches up at its next full report.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bus/bus.hpp"
#include "chat/delivery.hpp"
#include "chat/presence.hpp"
#include "core/config.hpp"
#include "presence/directory.hpp"
#include "store/store.hpp"

namespace parley::chat {

// The tracker's status and the directory's state name the same three values.
presence::State to_state(PresenceStatus status);
PresenceStatus to_status(presence::State state);

class ClusterPresence {
 public:
  struct Hooks {
    std::function<bool(std::function<void(store::ReadTxn*)>)> read;  // on the reader pool
    std::function<void(int delay_ms, std::function<void()>)> after;  // a timer
    std::function<void(SharedPresenceBatch)> deliver;                // to every I/O thread's sessions
    std::function<void(std::vector<std::pair<UserId, std::int64_t>>)> store_last_seen;
    std::function<std::vector<presence::Report>()> local_states;     // this node's status of each of its users
    std::function<presence::State(UserId)> local_state;               // this node's status of one user
  };

  ClusterPresence(presence::Directory& directory, bus::Bus& bus, const Config& config, Hooks hooks);
  ~ClusterPresence();

  void start();
  // Finishes what is queued (at most a few directory round trips), then stops the worker.
  void stop();

  // This node's status changes from its PresenceTracker (one presence window's worth).
  void local_changes(const std::vector<PresenceTracker::Change>& changes);
  // The status across nodes (presence.get, on a reader thread); nullopt if the directory is down.
  std::optional<std::vector<presence::View>> lookup(const std::vector<UserId>& users);

  // Registers a session (signed in with token `token_id`) against the cluster-wide cap;
  // `done(admitted)` runs on the worker thread. Admits when the directory is unreachable (the
  // node's own cap still applies).
  void add_session(UserId user, SessionId session, const std::string& token_id,
                   std::function<void(bool admitted)> done);
  void remove_session(UserId user, SessionId session);
  // The user's live sessions on every node, counted per token id (account.sessions' online
  // count). Blocks on the directory: call it on a reader thread. nullopt if it is unreachable.
  std::optional<std::unordered_map<std::string, int>> sessions_by_token(UserId user);

  // Sign-in throttling across nodes. sign_in_state() blocks (a reader thread); nullopt if the
  // directory is unreachable (the node's own throttles still hold). record_sign_in() blocks for
  // a failure (a hashing thread: it is counted before the failure is answered) and queues a
  // success for the worker thread (any thread).
  std::optional<presence::SignInState> sign_in_state(const std::string& username, const std::string& address);
  void record_sign_in(const std::string& username, const std::string& address, bool succeeded,
                      const presence::SignInRules& rules);

  // Called for each command a user sends (any thread): false while the user is over its rate
  // across the cluster, with the wait in `retry_after_ms`.
  bool admit_request(UserId user, std::int64_t now_ms, std::int64_t& retry_after_ms);

  std::string metrics_text() const;

 private:
  void post(std::function<void()> task);
  void run_worker();
  void report(std::vector<presence::Report> reports);
  void announce(std::vector<presence::Transition> transitions);
  void receive(std::vector<PresenceChange> changes);
  void on_presence_message(const bus::Message& message);
  void full_report();
  void sweep();
  void sync_requests();
  void refresh_sessions();
  void every(int period_ms, void (ClusterPresence::*task)());
  void admit_sessions();
  void note_failure(const char* what, const Error& error);
  std::string session_key(SessionId session, const std::string& token_id) const;

  presence::Directory& directory_;
  bus::Bus& bus_;
  const unsigned node_id_;
  const PresenceConfig presence_config_;
  const DirectoryConfig directory_config_;
  const int max_sessions_;
  const double requests_per_second_;
  const double requests_burst_;
  Hooks hooks_;
  const std::string presence_subject_;
  bus::SubscriptionId subscription_ = 0;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::atomic<bool> running_{false};
  std::thread worker_;

  std::unordered_map<UserId, presence::State> unreported_;  // worker thread only: reports that failed

  struct SessionClaim {
    UserId user;
    SessionId session;
    std::string token_id;
    std::function<void(bool admitted)> done;
  };
  static constexpr std::size_t kClaimsPerRoundTrip = 1000;
  std::mutex claims_mutex_;
  std::vector<SessionClaim> claims_;  // add_session() calls the worker has not taken yet

  std::mutex sessions_mutex_;
  // Registered in the directory: session -> its token id, per user.
  std::unordered_map<UserId, std::unordered_map<SessionId, std::string>> sessions_;

  std::mutex requests_mutex_;
  std::unordered_map<UserId, std::int64_t> request_counts_;  // since the last sync
  std::unordered_map<UserId, std::int64_t> blocked_until_;   // monotonic ms

  std::mutex versions_mutex_;
  struct Seen {
    std::uint64_t version = 0;
    std::int64_t at_ms = 0;
  };
  std::unordered_map<UserId, Seen> versions_;  // the newest change delivered per user
  std::int64_t versions_pruned_ms_ = 0;

  std::atomic<bool> directory_up_{true};
  std::atomic<std::uint64_t> transitions_{0}, received_{0}, stale_{0}, failures_{0}, refused_sessions_{0},
      refused_requests_{0}, swept_{0};
};

}  // namespace parley::chat
