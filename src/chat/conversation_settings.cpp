#include "chat/conversation_settings.hpp"

#include <algorithm>

#include "chat/service.hpp"

namespace parley::chat {

void write_settings_fields(JsonWriter& w, const store::ConversationSettings& settings) {
  w.field("muted_until", settings.muted_until);
  w.field("archived", settings.archived);
  w.field("pin_rank", settings.pin_rank);
  w.field("marked_unread", settings.marked_unread);
  w.field("cleared_seq", settings.cleared_seq);
  w.field("notify", notify_level_name(settings.notify));
}

std::string_view notify_level_name(store::NotifyLevel level) {
  return protocol::kNotifyLevelNames[static_cast<std::size_t>(level)];
}

Delivery settings_delivery(ConversationId conversation, UserId user, const store::ConversationSettings& settings) {
  std::string json;
  JsonWriter w(json);
  w.begin_object().field("type", "conversation_settings").field("conversation_id", conversation);
  write_settings_fields(w, settings);
  w.end_object();
  Delivery d;
  d.conversation_id = conversation;
  d.to_users = {user};
  d.user_frame = gateway::make_text_frame(json);
  return d;
}

namespace {

// Reads (no fields) or changes the caller's settings of one conversation it is an active
// member of. Pinning takes the caller's highest pin rank + 1: a counter, so the order of pinned
// conversations is the order they were pinned in, whatever the clocks say.
class ConversationSettingsOp final : public ChatOp {
 public:
  ConversationSettingsOp(ChatService& s, UserId caller, ReplyTarget t, const protocol::ConversationSettingsCmd& c)
      : ChatOp(s, caller, std::move(t)), cmd_(c) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    const ConversationId conversation = cmd_.conversation_id;
    auto member = txn.member(conversation, caller_);
    if (!member || !member->active()) {
      if (!txn.conversation(conversation)) return make_error(ErrorCode::not_found, "no such conversation");
      return make_error(ErrorCode::not_member, "you are not a member of this conversation");
    }
    store::ConversationSettings settings = member->settings;
    if (cmd_.muted_until) settings.muted_until = *cmd_.muted_until;
    if (cmd_.archived) settings.archived = *cmd_.archived;
    if (cmd_.marked_unread) settings.marked_unread = *cmd_.marked_unread;
    if (cmd_.notify) settings.notify = static_cast<store::NotifyLevel>(*cmd_.notify);
    if (cmd_.cleared_seq) {
      // "Clear chat" only moves forward, and no further than the conversation goes.
      const Seq last_seq = txn.conversation(conversation)->last_seq;
      settings.cleared_seq = std::max(settings.cleared_seq, std::min(*cmd_.cleared_seq, last_seq));
    }
    if (cmd_.pinned) {
      if (!*cmd_.pinned) {
        settings.pin_rank = 0;
      } else if (settings.pin_rank == 0) {  // re-pinning keeps the rank
        const store::PinnedConversations pinned = txn.pinned_conversations(caller_);
        if (pinned.count >= limits().max_pinned_conversations)
          return field_error(ErrorCode::limit_reached, "pinned",
                             "you have pinned the most conversations allowed (limits.max_pinned_conversations)");
        settings.pin_rank = pinned.max_rank + 1;
      }
    }
    if (settings != member->settings) {
      txn.set_conversation_settings(conversation, caller_, settings);
      deliveries_.push_back(settings_delivery(conversation, caller_, settings));
    }
    JsonWriter w(reply_.fields);
    w.field("conversation_id", conversation);
    w.key("settings").begin_object();
    write_settings_fields(w, settings);
    w.end_object();
    return Ok{};
  }

 private:
  protocol::ConversationSettingsCmd cmd_;
};

}  // namespace

std::unique_ptr<ChatOp> make_conversation_settings_op(ChatService& service, UserId caller, ReplyTarget target,
                                                      const protocol::ConversationSettingsCmd& command) {
  return std::make_unique<ConversationSettingsOp>(service, caller, std::move(target), command);
}

}  // namespace parley::chat
