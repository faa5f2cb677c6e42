// The bytes nodes exchange on the bus (cluster mode): a committed batch's deliveries for other
// nodes' sessions, typing indicators and presence changes. A compact binary layout (little-endian integers,
// length-prefixed bytes); event frames travel as complete WebSocket frames, so a receiving node
// queues the very bytes the committing node built. Decoding checks every length: a malformed
// message is refused whole.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "chat/delivery.hpp"

namespace parley::chat::wire {

// Version byte first: a node refuses messages of a layout it does not know (rolling upgrades
// change it only together with a compatibility note in docs/operations.md).
inline constexpr std::uint8_t kVersion = 1;

struct RemoteBatch {
  unsigned node_id = 0;  // the committing node
  DeliveryBatch batch;   // items for other nodes' sessions (no replies, no snapshots)
};

// True if other nodes need anything of `item` (an event, subscription changes, user frames,
// revocations); replies and hello snapshots stay on the requester's node.
bool is_relayed(const Delivery& item);
// Encodes the relayed items of `batch`.
std::string encode_batch(unsigned node_id, const DeliveryBatch& batch);
std::optional<RemoteBatch> decode_batch(std::string_view bytes);

struct Typing {
  unsigned node_id = 0;
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  bool started = false;
};
std::string encode_typing(const Typing& typing);
std::optional<Typing> decode_typing(std::string_view bytes);

// Presence changes across nodes, with their audience (large audiences are split over several
// messages by the sender; each part carries the same version).
struct Presence {
  unsigned node_id = 0;
  std::vector<PresenceChange> changes;
};
std::string encode_presence(const Presence& presence);
std::optional<Presence> decode_presence(std::string_view bytes);

}  // namespace parley::chat::wire
