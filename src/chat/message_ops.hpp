// Write commands of the live features (message_ops.cpp): edits, deletes, reactions, pins,
// coalesced receipts, privacy settings and (conversation_settings.cpp) conversation settings,
// (hidden_messages.cpp) message.hide.
#pragma once

#include <memory>
#include <vector>

#include "chat/chat_op.hpp"
#include "protocol/commands.hpp"
#include "store/store.hpp"

namespace parley::chat {

// A message a command acts on, with the conversation and the caller's membership.
struct TargetMessage {
  store::ConversationRecord conversation;
  store::MemberRecord member;
  store::EventRecord message;
};
// The caller must be an active member; the message must be a visible, undeleted text event.
Result<TargetMessage> require_target(store::WriteTxn& txn, const protocol::MessageRef& ref, UserId caller);

// One user's receipt pointers for one conversation, as coalesced on an I/O thread.
struct PendingReceipt {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  Seq delivered_seq = 0;
  Seq read_seq = 0;
};

std::unique_ptr<ChatOp> make_receipts_op(ChatService& service, std::vector<PendingReceipt> receipts);
// The op for an edit/delete/reaction/pin/settings command (moving the command into it);
// nullptr, leaving `command` untouched, for any other command.
std::unique_ptr<ChatOp> make_message_op(ChatService& service, UserId caller, protocol::Command& command,
                                        ReplyTarget& target);

}  // namespace parley::chat
