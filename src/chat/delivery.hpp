// The outcome of a committed batch, broadcast to every I/O thread in commit order. Each thread
// applies it to its Hub: subscriptions, live events, replies to its own requesters.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat/reply.hpp"
#include "gateway/websocket_codec.hpp"
#include "store/records.hpp"

namespace parley::chat {

struct SubscriptionSnapshot {
  UserId user_id = 0;
  std::vector<ConversationId> conversations;  // active memberships at `pos`
  Pos pos = 0;                                // every event after it will be delivered live
};

struct Delivery {
  ConversationId conversation_id = 0;
  gateway::SharedFrame event_frame;  // live event for subscribers; null if none
  Pos event_pos = 0;                 // the event's pos, if event_frame is set
  std::vector<UserId> subscribe;     // start live delivery of this conversation (before the event)
  std::vector<UserId> unsubscribe;   // stop it (after the event, so they still see it)
  std::optional<ReplyTarget> requester;  // gets `reply` (after the event, if any)
  Reply reply;
  // The requesting session does not get `event_frame` (send: its ack stands in for the event).
  bool skip_requester = false;
  std::optional<SubscriptionSnapshot> snapshot;  // answers a hello (requester's thread)
  std::vector<std::string> revoked_token_ids;    // close sessions authenticated with them
  // "Log out everywhere": close the user's sessions whose tokens it covers.
  std::optional<store::TokenCutoff> token_cutoff;
  // A frame for every session of these users (e.g. read state for a user's own devices).
  std::vector<UserId> to_users;
  gateway::SharedFrame user_frame;
};

// One committed batch: its events are exactly the positions in (start_pos, committed_pos]; a
// batch without events has start_pos == committed_pos (it committed after that position).
struct DeliveryBatch {
  std::vector<Delivery> items;
  Pos start_pos = 0;
  Pos committed_pos = 0;
};

using SharedDeliveryBatch = std::shared_ptr<const DeliveryBatch>;

// Presence changes gathered over one presence window, with who may see each.
struct PresenceChange {
  UserId user_id = 0;
  std::string status;              // "online", "away", "offline"
  std::int64_t last_seen_ms = 0;   // 0 if hidden or unknown
  std::vector<UserId> audience;    // peers to tell
  std::uint64_t version = 0;       // cluster mode: grows with each change of this user (0 = one node)
};
using SharedPresenceBatch = std::shared_ptr<const std::vector<PresenceChange>>;

}  // namespace parley::chat
