// Helpers shared by the read commands (read_ops.cpp, message_reads.cpp). Reader threads only.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "chat/hidden_messages.hpp"
#include "chat/presence.hpp"
#include "chat/reply.hpp"
#include "chat/serialize.hpp"
#include "protocol/commands.hpp"
#include "store/store.hpp"

namespace parley::chat {

// The caller's membership record (active or former), or why there is none.
Result<store::MemberRecord> require_membership(store::ReadTxn& txn, ConversationId conversation, UserId caller);

// The seqs `caller` may read in a conversation (protocol section 6.4). For a direct conversation
// or a group: its membership's window (`visible_from_seq` to `left_seq`, or to the latest event
// while active); not_member without a membership. For a channel: the whole history, 1..last_seq,
// for anyone — a member, a former member or a non-member previewing it — since anyone may join a
// channel and read it all. not_found for an unknown conversation. Also used by the writer's
// message.hide (a WriteTxn is a ReadTxn).
struct ReadWindow {
  Seq low = 1;
  Seq high = 0;
  bool has_membership = false;  // the caller has a membership (active or former)
  Seq cleared_seq = 0;          // ... and cleared the chat up to this seq (its reads start above it)
};
Result<ReadWindow> read_window(store::ReadTxn& txn, ConversationId conversation, UserId caller);

// The other member of a direct conversation (the caller itself in a chat with oneself).
std::optional<store::UserRecord> direct_peer(store::ReadTxn& txn, const store::ConversationRecord& c, UserId caller);

// Writes a conversation for its member `caller`, with unread (counted up to `max_unread`) and
// mention counts, the last message and, for direct chats, the peer and how far it received and
// (if it shares) read.
void write_member_conversation(JsonWriter& w, store::ReadTxn& txn, const store::ConversationRecord& c,
                               const store::MemberRecord& member, UserId caller, int max_unread);

// Writes "events":[...] with each message's current state (reactions, thread summary), and
// what the caller hid emptied (`hidden`).
void write_events_with_state(JsonWriter& w, store::ReadTxn& txn, ConversationId conversation,
                             const std::vector<store::EventRecord>& events, const HiddenView& hidden);

// Runs the per-message and live-feature reads (receipts.get, message.edits, reactions.get,
// pins.list, thread.history, presence.get); nullopt if `command` is not one of them.
std::optional<Result<Reply>> run_message_read(store::ReadTxn& txn, UserId caller, const protocol::Command& command,
                                              const PresenceLookup& presence, std::size_t page_bytes);

// users.search: contacts first, then the discoverable rest (user_search.cpp).
Result<Reply> users_search(store::ReadTxn& txn, UserId caller, const protocol::UsersSearchCmd& cmd);

// How many events, taken from the front (or the back), fit in `budget` bytes; at least one.
std::size_t events_fitting(const std::vector<store::EventRecord>& events, std::size_t budget, bool from_back);

// One page of events with seq in [low, high]: forward from `after_seq`, else backward from
// `before_seq` (or from the end), at most `limit` and about `page_bytes`. `fetch(from, to,
// count, newest_first)` reads the events. has_more: another page lies in the same direction.
struct EventPage {
  std::vector<store::EventRecord> events;
  bool has_more = false;
};
template <typename Fetch>
EventPage page_of_events(Fetch fetch, Seq low, Seq high, std::optional<Seq> before_seq, std::optional<Seq> after_seq,
                         int limit, std::size_t page_bytes) {
  EventPage page;
  const bool forward = after_seq.has_value();
  if (forward) page.events = fetch(std::max(low, *after_seq + 1), high, limit + 1, false);
  else page.events = fetch(low, before_seq ? std::min(high, *before_seq - 1) : high, limit + 1, true);
  auto& events = page.events;
  // One event beyond the limit was read to learn whether there is more.
  if (static_cast<int>(events.size()) > limit) {
    page.has_more = true;
    if (forward) events.pop_back();
    else events.erase(events.begin());
  }
  if (std::size_t keep = events_fitting(events, page_bytes, !forward); keep < events.size()) {
    page.has_more = true;
    if (forward) events.resize(keep);
    else events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(keep));
  }
  return page;
}

}  // namespace parley::chat
