#include "chat/presence.hpp"

#include <algorithm>

namespace parley::chat {

PresenceStatus PresenceTracker::status_of(const UserState& state, std::int64_t now_ms) const {
  bool fresh = false, active = false;
  for (const auto& [id, session] : state.sessions) {
    if (now_ms - session.heartbeat_ms > config_.ttl_ms) continue;  // heartbeats stopped
    fresh = true;
    const bool idle = config_.auto_away_ms > 0 && now_ms - session.active_ms > config_.auto_away_ms;
    active = active || (!session.away && !idle);
  }
  if (active) return PresenceStatus::online;
  return fresh ? PresenceStatus::away : PresenceStatus::offline;
}

void PresenceTracker::session_started(UserId user, SessionId session, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  users_[user].sessions[session] = SessionState{now_ms, now_ms, false};
  touch(user);
}

void PresenceTracker::session_ended(UserId user, SessionId session, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = users_.find(user);
  if (it == users_.end()) return;
  it->second.sessions.erase(session);
  touch(user);
}

void PresenceTracker::heartbeat(UserId user, SessionId session, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = users_.find(user);
  if (it == users_.end()) return;
  auto s = it->second.sessions.find(session);
  if (s == it->second.sessions.end()) return;
  const bool was_stale = now_ms - s->second.heartbeat_ms > config_.ttl_ms;
  s->second.heartbeat_ms = now_ms;
  if (was_stale) touch(user);
}

void PresenceTracker::set_away(UserId user, SessionId session, bool away, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = users_.find(user);
  if (it == users_.end()) return;
  auto s = it->second.sessions.find(session);
  if (s == it->second.sessions.end()) return;
  s->second.away = away;
  s->second.heartbeat_ms = now_ms;
  if (!away) s->second.active_ms = now_ms;
  touch(user);
}

void PresenceTracker::activity(UserId user, SessionId session, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  auto it = users_.find(user);
  if (it == users_.end()) return;
  auto s = it->second.sessions.find(session);
  if (s == it->second.sessions.end()) return;
  const bool was_idle = config_.auto_away_ms > 0 && now_ms - s->second.active_ms > config_.auto_away_ms;
  s->second.active_ms = now_ms;
  if (was_idle) touch(user);
}

void PresenceTracker::set_privacy(UserId user, bool share_last_seen) {
  std::lock_guard lock(mutex_);
  if (share_last_seen) hides_last_seen_.erase(user);
  else hides_last_seen_[user] = true;
}

bool PresenceTracker::shares_last_seen(UserId user) const {
  std::lock_guard lock(mutex_);
  return !hides_last_seen_.count(user);
}

PresenceTracker::View PresenceTracker::view(UserId user, std::int64_t now_ms) const {
  std::lock_guard lock(mutex_);
  auto it = users_.find(user);
  if (it == users_.end()) return View{};
  return View{status_of(it->second, now_ms), it->second.last_seen_ms};
}

std::vector<std::pair<UserId, PresenceStatus>> PresenceTracker::snapshot(std::int64_t now_ms) const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<UserId, PresenceStatus>> out;
  out.reserve(users_.size());
  for (const auto& [user, state] : users_)
    if (!state.sessions.empty()) out.emplace_back(user, status_of(state, now_ms));
  return out;
}

std::vector<PresenceTracker::Change> PresenceTracker::take_changes(std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  // Lapsed heartbeats change a status without any event: look at everyone online or away.
  for (const auto& [user, state] : users_)
    if (state.published != PresenceStatus::offline && status_of(state, now_ms) != state.published)
      dirty_.push_back(user);
  std::sort(dirty_.begin(), dirty_.end());
  dirty_.erase(std::unique(dirty_.begin(), dirty_.end()), dirty_.end());
  std::vector<Change> changes;
  for (UserId user : dirty_) {
    auto it = users_.find(user);
    if (it == users_.end()) continue;
    UserState& state = it->second;
    const PresenceStatus status = status_of(state, now_ms);
    if (status == state.published) continue;
    Change change;
    change.user_id = user;
    change.went_offline = status == PresenceStatus::offline;
    if (change.went_offline) state.last_seen_ms = now_ms;
    state.published = status;
    change.view = View{status, state.last_seen_ms};
    changes.push_back(change);
    // Gone for good: its last seen is stored (ChatService) and read from the store from now on.
    if (state.sessions.empty() && change.went_offline) users_.erase(it);
  }
  dirty_.clear();
  return changes;
}

}  // namespace parley::chat
