// "Delete for me" and "clear chat" (docs/protocol.md message.hide and 5.11): what one user took
// out of its own view of a conversation — single messages it hid, and everything up to its
// cleared_seq (a conversation setting, conversation_settings.cpp). The write op stores hides and
// announces them to every session of the user on every node; HiddenView tells the reads what
// to show emptied.
#pragma once

#include <algorithm>
#include <limits>
#include <memory>
#include <vector>

#include "chat/chat_op.hpp"
#include "protocol/commands.hpp"
#include "store/store.hpp"

namespace parley::chat {

// The op of a message.hide command.
std::unique_ptr<ChatOp> make_message_hide_op(ChatService& service, UserId caller, ReplyTarget target,
                                             const protocol::MessageHideCmd& command);

// What one reader hid in one conversation, for the events one read returns. Reader threads
// (or the writer, through its WriteTxn); cheap to copy.
class HiddenView {
 public:
  static constexpr Seq kMaxSeq = std::numeric_limits<Seq>::max();
  HiddenView() = default;  // hides nothing: a reader without a membership
  // The seqs a read shows: each event's own, and the message a message.edited event names.
  struct Range {
    Seq from = kMaxSeq;
    Seq to = 0;
    void add(const store::EventRecord& event);
    void add(Seq seq) { from = std::min(from, seq), to = std::max(to, seq); }
  };
  // Loads the caller's hides among the seqs of `range` (one read). `cleared_seq` is its
  // membership's: everything up to it counts as hidden.
  static HiddenView load(store::ReadTxn& txn, UserId caller, ConversationId conversation, Seq cleared_seq,
                         const Range& range);
  // The same, for the seqs `events` show.
  static HiddenView load_for(store::ReadTxn& txn, UserId caller, ConversationId conversation, Seq cleared_seq,
                             const std::vector<store::EventRecord>& events);

  // The message at `seq` is hidden for the reader (hidden, or at or below cleared_seq).
  bool hides(Seq seq) const;
  // The event is shown without its content: a hidden text event, or an edit of a hidden message.
  bool hides_event(const store::EventRecord& event) const;

 private:
  Seq cleared_seq_ = 0;
  std::vector<Seq> hidden_;  // ascending
};

}  // namespace parley::chat
