// Write commands of the live features: edits, deletes, reactions, pins, receipts, privacy
// settings. Each is a ChatOp run by the store's writer; each validates before writing.
#include "chat/message_ops.hpp"

#include <algorithm>

#include "chat/conversation_settings.hpp"
#include "chat/hidden_messages.hpp"
#include "chat/notification_settings.hpp"
#include "chat/serialize.hpp"
#include "chat/service.hpp"
#include "core/json_writer.hpp"

namespace parley::chat {
namespace {

using store::EventRecord;
using store::WriteTxn;

std::string meta_text(const std::string& text) {
  std::string out;
  JsonWriter(out).begin_object().field("text", text).end_object();
  return out;
}

std::string meta_emoji(const std::string& emoji) {
  std::string out;
  JsonWriter(out).begin_object().field("emoji", emoji).end_object();
  return out;
}

EventRecord draft(ConversationId conversation, UserId sender, EventKind kind, Seq target, std::string meta = {}) {
  EventRecord e;
  e.conversation_id = conversation;
  e.sender_id = sender;
  e.kind = kind;
  e.target_seq = target;
  e.meta_json = std::move(meta);
  return e;
}

void write_ref(JsonWriter& w, const protocol::MessageRef& ref) {
  w.field("conversation_id", ref.conversation_id).field("seq", ref.seq);
}

}  // namespace

Result<TargetMessage> require_target(WriteTxn& txn, const protocol::MessageRef& ref, UserId caller) {
  auto member = txn.member(ref.conversation_id, caller);
  if (!member || !member->active()) {
    if (!txn.conversation(ref.conversation_id)) return make_error(ErrorCode::not_found, "no such conversation");
    return make_error(ErrorCode::not_member, "you are not a member of this conversation");
  }
  auto event = txn.event(ref.conversation_id, ref.seq);
  if (!event || event->seq < member->visible_from_seq) return make_error(ErrorCode::not_found, "no such message");
  if (event->kind != EventKind::text) return make_error(ErrorCode::invalid_field, "that event is not a message");
  if (event->deleted_at_ms > 0) return make_error(ErrorCode::not_found, "that message was deleted");
  auto conversation = txn.conversation(ref.conversation_id);
  return TargetMessage{std::move(*conversation), std::move(*member), std::move(*event)};
}

namespace {

class EditOp final : public ChatOp {
 public:
  EditOp(ChatService& s, UserId caller, ReplyTarget t, protocol::MessageEditCmd c)
      : ChatOp(s, caller, std::move(t)), cmd_(std::move(c)) {}

 protected:
  Status run(WriteTxn& txn) override {
    auto target = require_target(txn, cmd_.message, caller_);
    if (!target) return target.take_error();
    if (target->message.sender_id != caller_) return make_error(ErrorCode::forbidden, "only the author can edit a message");
    const EventRecord& event = emit(txn, draft(cmd_.message.conversation_id, caller_, EventKind::message_edited,
                                               cmd_.message.seq, meta_text(cmd_.text)));
    txn.set_edited(cmd_.message.conversation_id, cmd_.message.seq, cmd_.text, event.created_at_ms);
    JsonWriter w(reply_.fields);
    write_ref(w, cmd_.message);
    w.field("edit_seq", event.seq);
    return Ok{};
  }

 private:
  protocol::MessageEditCmd cmd_;
};

class DeleteOp final : public ChatOp {
 public:
  DeleteOp(ChatService& s, UserId caller, ReplyTarget t, protocol::MessageDeleteCmd c)
      : ChatOp(s, caller, std::move(t)), cmd_(c) {}

 protected:
  Status run(WriteTxn& txn) override {
    auto target = require_target(txn, cmd_.message, caller_);
    if (!target) return target.take_error();
    // The author, or an admin of a group or channel, deletes for everyone.
    const bool author = target->message.sender_id == caller_;
    const bool moderator =
        target->conversation.kind != ConversationKind::direct && has_role(target->member.role, Role::admin);
    if (!author && !moderator)
      return make_error(ErrorCode::forbidden, "only the author or an admin can delete this message");
    const EventRecord& event =
        emit(txn, draft(cmd_.message.conversation_id, caller_, EventKind::message_deleted, cmd_.message.seq));
    txn.erase_message(cmd_.message.conversation_id, cmd_.message.seq, event.created_at_ms);
    JsonWriter w(reply_.fields);
    write_ref(w, cmd_.message);
    w.field("delete_seq", event.seq);
    return Ok{};
  }

 private:
  protocol::MessageDeleteCmd cmd_;
};

class ReactionOp final : public ChatOp {
 public:
  ReactionOp(ChatService& s, UserId caller, ReplyTarget t, protocol::ReactionCmd c)
      : ChatOp(s, caller, std::move(t)), cmd_(std::move(c)) {}

 protected:
  Status run(WriteTxn& txn) override {
    auto target = require_target(txn, cmd_.message, caller_);
    if (!target) return target.take_error();
    const ConversationId conversation = cmd_.message.conversation_id;
    const Seq seq = cmd_.message.seq;
    bool changed = false;
    if (cmd_.add) {
      // Adding one the user already has is a no-op, also at the limit (the limit is on
      // distinct emoji, and this one is counted already).
      if (!has_own_reaction(txn)) {
        if (txn.reaction_count(conversation, seq, caller_) >= limits().max_reactions_per_message)
          return make_error(ErrorCode::limit_reached, "too many reactions from you on this message");
        // The event's pos orders the reaction among the others (commit order, not a clock).
        const EventRecord& event =
            emit(txn, draft(conversation, caller_, EventKind::reaction_added, seq, meta_emoji(cmd_.emoji)));
        txn.add_reaction(conversation, seq, caller_, cmd_.emoji, event.pos);
        if (target->message.sender_id != caller_) {  // the author hears of it by push when away
          if (txn.queue_push_to(target->message.sender_id, conversation, event.seq, event.created_at_ms))
            service_.note_push_queued();
        }
        changed = true;
      }
    } else {
      changed = txn.remove_reaction(conversation, seq, caller_, cmd_.emoji);
      if (changed) emit(txn, draft(conversation, caller_, EventKind::reaction_removed, seq, meta_emoji(cmd_.emoji)));
    }
    JsonWriter w(reply_.fields);
    write_ref(w, cmd_.message);
    w.field("emoji", cmd_.emoji).field("changed", changed);
    return Ok{};
  }

 private:
  bool has_own_reaction(WriteTxn& txn) const {
    for (const auto& r : txn.reactions(cmd_.message.conversation_id, cmd_.message.seq, cmd_.message.seq))
      if (r.user_id == caller_ && r.emoji == cmd_.emoji) return true;
    return false;
  }

  protocol::ReactionCmd cmd_;
};

class PinOp final : public ChatOp {
 public:
  PinOp(ChatService& s, UserId caller, ReplyTarget t, protocol::PinCmd c) : ChatOp(s, caller, std::move(t)), cmd_(c) {}

 protected:
  Status run(WriteTxn& txn) override {
    auto target = require_target(txn, cmd_.message, caller_);
    if (!target) return target.take_error();
    // Anyone pins in direct chats and groups; in channels, admins.
    if (target->conversation.kind == ConversationKind::channel && !has_role(target->member.role, Role::admin))
      return make_error(ErrorCode::forbidden, "only admins pin messages in a channel");
    const ConversationId conversation = cmd_.message.conversation_id;
    const Seq seq = cmd_.message.seq;
    bool changed = false;
    if (cmd_.add) {
      const auto pins = txn.pins(conversation);
      const bool pinned = std::any_of(pins.begin(), pins.end(), [&](const auto& p) { return p.seq == seq; });
      if (!pinned && static_cast<int>(pins.size()) >= limits().max_pins)
        return make_error(ErrorCode::limit_reached, "this conversation has the most pins allowed");
      changed = txn.add_pin(conversation, seq, caller_);
    } else {
      changed = txn.remove_pin(conversation, seq);
    }
    if (changed)
      emit(txn, draft(conversation, caller_, cmd_.add ? EventKind::message_pinned : EventKind::message_unpinned, seq));
    JsonWriter w(reply_.fields);
    write_ref(w, cmd_.message);
    w.field("changed", changed);
    return Ok{};
  }

 private:
  protocol::PinCmd cmd_;
};

class SettingsOp final : public ChatOp {
 public:
  SettingsOp(ChatService& s, UserId caller, ReplyTarget t, protocol::SettingsUpdateCmd c)
      : ChatOp(s, caller, std::move(t)), cmd_(c) {}

 protected:
  Status run(WriteTxn& txn) override {
    auto user = txn.user(caller_);
    if (!user) return make_error(ErrorCode::not_found, "no such user");
    const bool read_receipts = cmd_.read_receipts.value_or(user->share_read_receipts);
    const bool last_seen = cmd_.last_seen.value_or(user->share_last_seen);
    const bool discoverable = cmd_.discoverable.value_or(user->discoverable);
    txn.set_privacy(caller_, read_receipts, last_seen, discoverable);
    service_.presence().set_privacy(caller_, last_seen);
    JsonWriter w(reply_.fields);
    w.key("settings").begin_object().field("read_receipts", read_receipts).field("last_seen", last_seen);
    w.field("discoverable", discoverable).end_object();
    return Ok{};
  }

 private:
  protocol::SettingsUpdateCmd cmd_;
};

}  // namespace

// Receipts gathered on one I/O thread during a coalescing window, applied together. For each
// (conversation, user) only the furthest pointers count, and each change produces one frame
// for the conversation (what others may see) and one for the user's own devices.
class ReceiptsOp final : public ChatOp {
 public:
  ReceiptsOp(ChatService& s, std::vector<PendingReceipt> receipts)
      : ChatOp(s, 0, ReplyTarget{}), receipts_(std::move(receipts)) {}

  void abort(const Error&) override {}  // nobody waits for a reply: the receipts are lost

 protected:
  Status run(WriteTxn& txn) override {
    for (const PendingReceipt& r : receipts_) {
      auto member = txn.member(r.conversation_id, r.user_id);
      if (!member || !member->active()) continue;
      auto conversation = txn.conversation(r.conversation_id);
      if (!conversation) continue;
      const Seq delivered = std::min(r.delivered_seq, conversation->last_seq);
      const Seq read = std::min(r.read_seq, conversation->last_seq);
      if (delivered <= member->delivered_seq && read <= member->read_seq) continue;
      auto after = txn.advance_receipts(r.conversation_id, r.user_id, delivered, read);
      if (!after) continue;
      auto user = txn.user(r.user_id);
      const bool share_read = user && user->share_read_receipts;
      const bool delivered_moved = after->delivered_seq > member->delivered_seq;
      Delivery d;
      d.conversation_id = r.conversation_id;
      // Others hear of it in direct chats and groups, unless all that moved is a read pointer
      // the user keeps to itself (even the timing would tell).
      if (conversation->kind != ConversationKind::channel && (share_read || delivered_moved)) {
        std::string json;
        JsonWriter w(json);
        w.begin_object().field("type", "receipt").field("conversation_id", r.conversation_id);
        w.field("user_id", r.user_id).field("delivered_seq", after->delivered_seq);
        if (share_read) w.field("read_seq", after->read_seq);
        w.end_object();
        d.event_frame = gateway::make_text_frame(json);
      }
      // The user's own devices: where it has read to, and what is left unread.
      std::string own;
      JsonWriter w(own);
      w.begin_object().field("type", "read_state").field("conversation_id", r.conversation_id);
      w.field("delivered_seq", after->delivered_seq).field("read_seq", after->read_seq);
      w.field("unread_count", txn.unread_count(r.conversation_id, r.user_id, after->unread_after(), after->unread_up_to(),
                                                    limits().max_unread_count));
      w.field("mention_count", txn.mention_count(r.conversation_id, r.user_id, after->unread_after(), after->unread_up_to()));
      w.end_object();
      d.to_users = {r.user_id};
      d.user_frame = gateway::make_text_frame(own);
      deliveries_.push_back(std::move(d));
      // Reading on clears "mark as unread", and every device of the user hears of it.
      if (after->read_seq > member->read_seq && after->settings.marked_unread) {
        store::ConversationSettings settings = after->settings;
        settings.marked_unread = false;
        txn.set_conversation_settings(r.conversation_id, r.user_id, settings);
        deliveries_.push_back(settings_delivery(r.conversation_id, r.user_id, settings));
      }
    }
    return Ok{};
  }

 private:
  std::vector<PendingReceipt> receipts_;
};

std::unique_ptr<ChatOp> make_receipts_op(ChatService& service, std::vector<PendingReceipt> receipts) {
  return std::make_unique<ReceiptsOp>(service, std::move(receipts));
}

std::unique_ptr<ChatOp> make_message_op(ChatService& service, UserId caller, protocol::Command& command,
                                        ReplyTarget& target) {
  return std::visit(
      [&](auto& c) -> std::unique_ptr<ChatOp> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, protocol::MessageEditCmd>) return std::make_unique<EditOp>(service, caller, target, std::move(c));
        else if constexpr (std::is_same_v<T, protocol::MessageDeleteCmd>) return std::make_unique<DeleteOp>(service, caller, target, c);
        else if constexpr (std::is_same_v<T, protocol::ReactionCmd>) return std::make_unique<ReactionOp>(service, caller, target, std::move(c));
        else if constexpr (std::is_same_v<T, protocol::PinCmd>) return std::make_unique<PinOp>(service, caller, target, c);
        else if constexpr (std::is_same_v<T, protocol::SettingsUpdateCmd>) return std::make_unique<SettingsOp>(service, caller, target, c);
        else if constexpr (std::is_same_v<T, protocol::ConversationSettingsCmd>) return make_conversation_settings_op(service, caller, target, c);
        else if constexpr (std::is_same_v<T, protocol::AccountNotificationsCmd>) return make_account_notifications_op(service, caller, target, c);
        else if constexpr (std::is_same_v<T, protocol::MessageHideCmd>) return make_message_hide_op(service, caller, target, c);
        else return nullptr;
      },
      command);
}

}  // namespace parley::chat
