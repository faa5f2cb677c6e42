// PresenceTracker: who is online, away or offline, from their sessions' heartbeats. Ephemeral:
// only "last seen" is stored (when a user goes offline). Thread-safe; every I/O thread reports
// into it, and the presence flush (ChatService) takes the changes once per presence window so
// that a storm of logins becomes one batch of updates, not one broadcast per login.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/config.hpp"
#include "core/ids.hpp"

namespace parley::chat {

enum class PresenceStatus { offline, away, online };
inline const char* to_string(PresenceStatus status) {
  switch (status) {
    case PresenceStatus::online: return "online";
    case PresenceStatus::away: return "away";
    case PresenceStatus::offline: break;
  }
  return "offline";
}

// What presence.get asks: the status of each user, in the order given (one node: the tracker;
// a cluster: the directory shared by the nodes).
class PresenceTracker;
struct PresenceView {
  PresenceStatus status = PresenceStatus::offline;
  std::int64_t last_seen_ms = 0;  // 0 = not known here (the stored last seen applies)
};
using PresenceLookup = std::function<std::vector<PresenceView>(const std::vector<UserId>& users)>;

class PresenceTracker {
 public:
  explicit PresenceTracker(const PresenceConfig& config) : config_(config) {}

  struct View {
    PresenceStatus status = PresenceStatus::offline;
    std::int64_t last_seen_ms = 0;   // when it went offline (0 = not seen since start-up)
  };
  struct Change {
    UserId user_id = 0;
    View view;
    bool went_offline = false;
  };

  void session_started(UserId user, SessionId session, std::int64_t now_ms);
  void session_ended(UserId user, SessionId session, std::int64_t now_ms);
  void heartbeat(UserId user, SessionId session, std::int64_t now_ms);
  void set_away(UserId user, SessionId session, bool away, std::int64_t now_ms);
  // A request other than ping came from the session: someone is using it (presence.auto_away_ms).
  void activity(UserId user, SessionId session, std::int64_t now_ms);
  // Whether others may see this user's last-seen time (its privacy setting).
  void set_privacy(UserId user, bool share_last_seen);
  bool shares_last_seen(UserId user) const;

  View view(UserId user, std::int64_t now_ms) const;
  // This node's status of every user with a session here (cluster mode reports it).
  std::vector<std::pair<UserId, PresenceStatus>> snapshot(std::int64_t now_ms) const;
  // The users whose visible status changed since the last call (heartbeats that lapsed count).
  std::vector<Change> take_changes(std::int64_t now_ms);

 private:
  struct SessionState {
    std::int64_t heartbeat_ms = 0;
    std::int64_t active_ms = 0;  // last request but ping (or presence.set online, or the hello)
    bool away = false;           // presence.set away
  };
  struct UserState {
    std::unordered_map<SessionId, SessionState> sessions;
    PresenceStatus published = PresenceStatus::offline;  // the status last handed out by take_changes
    std::int64_t last_seen_ms = 0;
  };

  PresenceStatus status_of(const UserState& state, std::int64_t now_ms) const;
  void touch(UserId user) { dirty_.push_back(user); }

  const PresenceConfig& config_;
  mutable std::mutex mutex_;
  std::unordered_map<UserId, UserState> users_;
  std::unordered_map<UserId, bool> hides_last_seen_;
  std::vector<UserId> dirty_;  // users to re-examine at the next take_changes
};

}  // namespace parley::chat
