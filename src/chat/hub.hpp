// Hub: the live state of one I/O thread. Which sessions are open here, which users they
// belong to, and which conversations those users are subscribed to. Applies committed
// batches: live events to subscribed sessions, replies to requesters on this thread.
// Shared nothing: every method runs on the hub's own thread.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/delivery.hpp"
#include "core/hash.hpp"
#include "gateway/session.hpp"

namespace parley::chat {

// What the chat layer keeps on each session.
struct ChatSession final : gateway::SessionContext {
  UserId user_id = 0;            // 0 until hello succeeds
  std::string token_id;          // jti of the token it authenticated with ("h:..." for host tokens)
  std::int64_t token_issued_at_s = 0;
  bool counted = false;          // holds one of its user's limits.max_sessions_per_user
  std::string device;
  std::int64_t connected_at_ms = 0;
  bool hello_in_progress = false;
  std::int64_t activity_reported_ms = 0;  // when a request last told presence this session is used
};

inline ChatSession& chat_session(gateway::Session& session) {
  return static_cast<ChatSession&>(*session.context);
}

class Hub {
 public:
  // Called with the sync cursor once the session's user is subscribed on this thread.
  using ReadyCallback = std::function<void(Pos cursor)>;

  explicit Hub(unsigned thread_index) : thread_index_(thread_index) {}

  void add_session(gateway::Session& session);
  // Forgets the session; unsubscribes its user here if it was the user's last session here.
  void remove_session(gateway::Session& session);
  gateway::Session* find_session(SessionId id);

  // Attaches an authenticated session to its user. If the user's conversations are already
  // subscribed on this thread, calls `ready` now and returns true. Otherwise `ready` waits
  // for a subscription snapshot; returns false if the caller must request one (the first
  // session of this user here), true-ish waiting otherwise — see needs_snapshot.
  struct Attach {
    bool ready_now = false;       // `ready` already called
    bool needs_snapshot = false;  // caller must request a SubscriptionSnapshot
  };
  Attach attach_user(gateway::Session& session, UserId user, ReadyCallback ready);

  // Applies a committed batch (every thread gets every batch, in commit order).
  void apply(const DeliveryBatch& batch);

  // Sends a reply to a requester on this thread (WebSocket frame or HTTP callback).
  void deliver_reply(const ReplyTarget& target, const Reply& reply);

  // True if `user` has a session here subscribed to `conversation` (so it is a member).
  bool is_subscribed(UserId user, ConversationId conversation) const;

  // Typing: tells this thread's other subscribers of `conversation` that `user` started or
  // stopped typing; a start expires by itself after `ttl_ms` without a refresh.
  void typing(ConversationId conversation, UserId user, bool started, int ttl_ms, std::int64_t now_ms);
  // Sends "stop" for typing indicators past their deadline. Returns whether any remain.
  bool expire_typing(std::int64_t now_ms);
  // Sends each local recipient one presence frame with the changes it may see.
  void deliver_presence(const std::vector<PresenceChange>& changes);

  // Closes every session authenticated with `token_id` (4004).
  void close_token_sessions(const std::string& token_id);
  // Closes the sessions of `cutoff.user_id` whose tokens the cut-off takes back (4004).
  void close_cut_off_sessions(const store::TokenCutoff& cutoff);
  // Adds, per token id, the number of this user's sessions here to `counts`.
  void count_user_sessions(UserId user, std::unordered_map<std::string, int>& counts) const;
  // Closes every session (shutdown).
  void close_all(std::uint16_t code, std::string_view reason);

  // Appends a JSON object per authenticated session on this thread to `out` (admin listing).
  // One JSON object per authenticated session of this thread (admin sessions), `node_id` in each.
  void describe_sessions(std::vector<std::string>& out, unsigned node_id) const;

  Pos delivered_pos() const { return delivered_pos_; }
  std::size_t session_count() const { return sessions_.size(); }
  std::size_t user_count() const { return users_.size(); }
  std::size_t subscription_count() const { return subscribers_.size(); }

 private:
  struct LocalUser {
    std::vector<gateway::Session*> sessions;
    std::vector<ConversationId> conversations;  // subscribed here
    bool subscribed = false;                    // a snapshot has been applied
    std::vector<ReadyCallback> waiting;         // sessions waiting for that snapshot
  };

  void subscribe(UserId user, LocalUser& local, ConversationId conversation);
  void unsubscribe(UserId user, LocalUser& local, ConversationId conversation);
  void apply_snapshot(const SubscriptionSnapshot& snapshot);
  void deliver_event(const Delivery& item);

  void send_to_user(UserId user, const gateway::SharedFrame& frame, UserId except = 0);
  void send_to_subscribers(ConversationId conversation, const gateway::SharedFrame& frame, UserId except_user);

  struct TypingKey {
    ConversationId conversation;
    UserId user;
    bool operator==(const TypingKey&) const = default;
  };
  using TypingKeyHash = IdPairHash<TypingKey, &TypingKey::conversation, &TypingKey::user>;

  unsigned thread_index_;
  Pos delivered_pos_ = 0;
  std::unordered_map<TypingKey, std::int64_t, TypingKeyHash> typing_deadlines_;  // active typers seen here
  std::unordered_map<SessionId, gateway::Session*> sessions_;
  std::unordered_map<UserId, LocalUser> users_;
  std::unordered_map<ConversationId, std::vector<UserId>> subscribers_;
};

}  // namespace parley::chat
