// Helpers shared by the read commands (read_ops.cpp, message_reads.cpp). Reader threads only.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "chat/presence.hpp"
#include "chat/reply.hpp"
#include "chat/serialize.hpp"
#include "protocol/commands.hpp"
#include "store/store.hpp"

namespace parley::chat {

// The caller's membership record (active or former), or why there is none.
Result<store::MemberRecord> require_membership(store::ReadTxn& txn, ConversationId conversation, UserId caller);

// The other member of a direct conversation (the caller itself in a chat with oneself).
std::optional<store::UserRecord> direct_peer(store::ReadTxn& txn, const store::ConversationRecord& c, UserId caller);

// Writes a conversation for its member `caller`, with unread and mention counts, the last
// message and, for direct chats, the peer and how far it received and (if it shares) read.
void write_member_conversation(JsonWriter& w, store::ReadTxn& txn, const store::ConversationRecord& c,
                               const store::MemberRecord& member, UserId caller);

// Writes "events":[...] with each message's current state (reactions, thread summary).
void write_events_with_state(JsonWriter& w, store::ReadTxn& txn, ConversationId conversation,
                             const std::vector<store::EventRecord>& events);

// Runs the per-message and live-feature reads (receipts.get, message.edits, reactions.get,
// pins.list, thread.history, presence.get); nullopt if `command` is not one of them.
std::optional<Result<Reply>> run_message_read(store::ReadTxn& txn, UserId caller, const protocol::Command& command,
                                              const PresenceTracker& presence, std::size_t page_bytes);

// How many events, taken from the front (or the back), fit in `budget` bytes; at least one.
std::size_t events_fitting(const std::vector<store::EventRecord>& events, std::size_t budget, bool from_back);

}  // namespace parley::chat
