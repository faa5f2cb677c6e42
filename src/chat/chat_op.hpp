// ChatOp: a command that writes. Runs on the writer thread inside a group-commit batch; its
// outcome (events to fan out, membership changes, the reply) becomes Delivery items that every
// I/O thread applies in commit order.
#pragma once

#include <deque>
#include <vector>

#include "chat/delivery.hpp"
#include "core/config.hpp"
#include "store/committer.hpp"

namespace parley::chat {

class ChatService;

class ChatOp : public store::WriteOp {
 public:
  ChatOp(ChatService& service, UserId caller, ReplyTarget requester)
      : service_(service), caller_(caller), requester_(std::move(requester)) {}

  void apply(store::WriteTxn& txn) final;
  void abort(const Error& error) override;

  // Moves this op's deliveries out (after commit).
  std::vector<Delivery>& deliveries() { return deliveries_; }

 protected:
  // The op's logic. Must validate everything before its first write: an op that returns an
  // error must have written nothing. On success it sets reply_ (fields, type).
  virtual Status run(store::WriteTxn& txn) = 0;

  // Appends an event and queues its live delivery. Returns the stored event; the reference
  // stays valid for the rest of run().
  const store::EventRecord& emit(store::WriteTxn& txn, store::EventRecord draft);
  // Queues a subscription change for users without an event of its own (new direct chat).
  Delivery& delivery_for(ConversationId conversation);
  // Sends each of `users` (every session) the conversation as it now sees it, as a
  // {"type":"conversation"} frame placed at deliveries_[at]: ahead of the events that brought
  // them in, so clients know a conversation before its first event.
  void announce(store::WriteTxn& txn, ConversationId conversation, const std::vector<UserId>& users, std::size_t at);

  const LimitsConfig& limits() const;

  ChatService& service_;
  const UserId caller_;
  ReplyTarget requester_;
  Reply reply_;
  std::vector<Delivery> deliveries_;
  std::deque<store::EventRecord> emitted_;  // events stored by this op, in order (stable references)
};

}  // namespace parley::chat
