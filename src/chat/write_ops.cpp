// The commands that write: one ChatOp per command. Each runs on the writer thread inside a
// group-commit batch and validates everything before its first write.
#include <algorithm>
#include <set>

#include "chat/media_ops.hpp"
#include "chat/chat_op.hpp"
#include "chat/message_ops.hpp"
#include "chat/serialize.hpp"
#include "chat/service.hpp"
#include "core/json_writer.hpp"
#include "core/text.hpp"

namespace parley::chat {
namespace {

using protocol::Command;
using store::EventRecord;
using store::WriteTxn;

// Writes "conversation":{...} with the caller's membership (and the peer of a direct chat).
std::string conversation_fields(WriteTxn& txn, ConversationId id, UserId caller) {
  std::string fields;
  auto conversation = txn.conversation(id);
  if (!conversation) return fields;
  auto member = txn.member(id, caller);
  std::optional<store::UserRecord> peer;
  if (conversation->kind == ConversationKind::direct) {
    for (const auto& m : txn.active_members(id))
      if (m.user_id != caller) peer = txn.user(m.user_id);
    if (!peer) peer = txn.user(caller);  // a chat with oneself
  }
  JsonWriter w(fields);
  w.key("conversation");
  write_conversation(w, *conversation, member ? &*member : nullptr, peer ? &*peer : nullptr);
  return fields;
}

std::string meta_user_ids(const std::vector<UserId>& ids) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("user_ids").begin_array();
  for (UserId id : ids) w.value(id);
  w.end_array().end_object();
  return out;
}

std::string meta_user(UserId id) {
  std::string out;
  JsonWriter(out).begin_object().field("user_id", id).end_object();
  return out;
}

std::string meta_role(UserId id, Role role) {
  std::string out;
  JsonWriter(out).begin_object().field("user_id", id).field("role", role_name(role)).end_object();
  return out;
}

std::string meta_title(const std::string& title) {
  std::string out;
  JsonWriter(out).begin_object().field("title", title).end_object();
  return out;
}

EventRecord draft(ConversationId conversation, UserId sender, EventKind kind, std::string meta = {}) {
  EventRecord e;
  e.conversation_id = conversation;
  e.sender_id = sender;
  e.kind = kind;
  e.meta_json = std::move(meta);
  return e;
}

Error not_found_conversation() { return make_error(ErrorCode::not_found, "no such conversation"); }

// The caller's active membership, or the error that explains its absence.
Result<store::MemberRecord> require_member(WriteTxn& txn, ConversationId conversation, UserId caller) {
  auto member = txn.member(conversation, caller);
  if (member && member->active()) return std::move(*member);
  if (!txn.conversation(conversation)) return not_found_conversation();
  return make_error(ErrorCode::not_member, "you are not a member of this conversation");
}

// Gets or creates the direct conversation of a pair. `created` tells which.
ConversationId open_direct(WriteTxn& txn, UserId caller, UserId peer, bool& created,
                           std::vector<Delivery>& deliveries) {
  if (auto existing = txn.direct_conversation(caller, peer)) {
    created = false;
    return *existing;
  }
  created = true;
  auto conversation = txn.create_conversation(ConversationKind::direct, "", "", caller, std::make_pair(caller, peer));
  txn.add_member(conversation.id, ConversationKind::direct, caller, Role::member, 1, 0);
  if (peer != caller) txn.add_member(conversation.id, ConversationKind::direct, peer, Role::member, 1, 0);
  Delivery d;
  d.conversation_id = conversation.id;
  d.subscribe = {caller};
  if (peer != caller) d.subscribe.push_back(peer);
  deliveries.push_back(std::move(d));
  return conversation.id;
}

// The users a message mentions: "@username" of a member, or "@all" / "@everyone" (user id 0),
// which only admins and owners of groups and channels may use (elsewhere it stays plain text).
std::vector<UserId> find_mentions(WriteTxn& txn, const std::string& text, ConversationId conversation,
                                  const store::MemberRecord& sender, ConversationKind kind, std::size_t max_mentions) {
  std::vector<UserId> out;
  for (std::size_t at = text.find('@'); at != std::string::npos && out.size() < max_mentions;
       at = text.find('@', at + 1)) {
    if (at > 0 && (std::isalnum(static_cast<unsigned char>(text[at - 1])) || text[at - 1] == '_')) continue;  // e-mail
    std::size_t end = at + 1;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_' ||
                                 text[end] == '.' || text[end] == '-'))
      ++end;
    while (end > at + 1 && (text[end - 1] == '.' || text[end - 1] == '-')) --end;  // "@bob." ends a sentence
    const std::string name = ascii_lower(text.substr(at + 1, end - at - 1));
    if (name.empty()) continue;
    UserId id = -1;
    if (name == "all" || name == "everyone") {
      if (kind != ConversationKind::direct && has_role(sender.role, Role::admin)) id = 0;
    } else if (auto user = txn.user_by_username(name)) {
      auto member = txn.member(conversation, user->id);
      if (member && member->active()) id = user->id;
    }
    if (id >= 0 && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

// The detail fields of a text event: its mentions and attachments ("" if it has neither).
std::string message_meta(const std::vector<UserId>& mentions, const std::vector<store::MediaRecord>& attachments) {
  if (mentions.empty() && attachments.empty()) return {};
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  if (!mentions.empty()) {
    bool all = false;
    w.key("mentions").begin_array();
    for (UserId id : mentions) {
      if (id == 0) all = true;
      else w.value(id);
    }
    w.end_array();
    if (all) w.field("mentions_all", true);
  }
  if (!attachments.empty()) {
    w.key("attachments").begin_array();
    for (const auto& media : attachments) write_media(w, media);
    w.end_array();
  }
  w.end_object();
  return out;
}

// The media a message may carry (may_use_media): the sender's own uploads, and media carried
// by messages the sender can see (that is how an attachment is forwarded without a re-upload).
// Another user's upload the sender cannot see is as unknown as none.
Result<std::vector<store::MediaRecord>> usable_attachments(WriteTxn& txn, UserId sender,
                                                           const std::vector<std::string>& ids) {
  std::vector<store::MediaRecord> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    auto media = txn.media(id);
    if (!media || !may_use_media(txn, sender, *media))
      return field_error(ErrorCode::invalid_field, "attachments",
                         "no such media you can attach: " + id + " (complete an upload first)");
    out.push_back(std::move(*media));
  }
  return out;
}

// A message a reply quotes or a thread hangs under: a visible, undeleted message.
Status check_reference(WriteTxn& txn, ConversationId conversation, Seq seq, Seq visible_from, bool as_thread_root) {
  auto event = txn.event(conversation, seq);
  const char* what = as_thread_root ? "'thread_root_seq'" : "'reply_to_seq'";
  if (!event || event->seq < visible_from || event->kind != EventKind::text || event->deleted_at_ms > 0)
    return make_error(ErrorCode::invalid_field, std::string(what) + " names no message you can see");
  if (as_thread_root && event->thread_root > 0)
    return make_error(ErrorCode::invalid_field, "threads do not nest: reply under the thread's root");
  return Ok{};
}

class SendOp final : public ChatOp {
 public:
  SendOp(ChatService& s, UserId caller, ReplyTarget t, protocol::SendCmd c) : ChatOp(s, caller, std::move(t)), cmd_(std::move(c)) {}

  void preview(store::BatchPreview& preview) const override {
    if (!cmd_.client_msg_id.empty()) preview.client_msg_ids.emplace_back(caller_, cmd_.client_msg_id);
  }

 protected:
  Status run(WriteTxn& txn) override {
    ConversationId conversation = cmd_.conversation_id;
    if (cmd_.to_user_id != 0) {
      if (!txn.user(cmd_.to_user_id)) return make_error(ErrorCode::not_found, "no such user");
      conversation = txn.direct_conversation(caller_, cmd_.to_user_id).value_or(0);
    }
    std::vector<UserId> mentions;
    if (conversation != 0) {
      if (Status valid = validate(txn, conversation, mentions); !valid) {
        // A retry of a message that was stored gets its ack even if it would not pass now
        // (the sender was removed since, or the quoted message deleted).
        auto original = txn.event_by_client_msg_id(caller_, cmd_.client_msg_id);
        if (!original || original->conversation_id != conversation) return valid;
        write_ack(*original, true);
        return Ok{};
      }
    } else {
      // The first message of a direct chat, which it creates: nothing to reply to yet, and a
      // retry must not create anything.
      if (cmd_.reply_to_seq > 0 || cmd_.thread_root_seq > 0)
        return make_error(ErrorCode::invalid_field, "a first message cannot reply to anything");
      if (txn.event_by_client_msg_id(caller_, cmd_.client_msg_id))
        return make_error(ErrorCode::conflict, "this client_msg_id was already used for a message in another conversation");
      if (Status valid = check_attachments(txn); !valid) return valid;
      bool created = false;
      const std::size_t first = deliveries_.size();
      conversation = open_direct(txn, caller_, cmd_.to_user_id, created, deliveries_);
      announce(txn, conversation, deliveries_.back().subscribe, first);
      if (cmd_.text.find('@') != std::string::npos)
        if (auto member = txn.member(conversation, caller_))
          mentions = find_mentions(txn, cmd_.text, conversation, *member, ConversationKind::direct, max_mentions());
    }
    EventRecord e = draft(conversation, caller_, EventKind::text, message_meta(mentions, attachments_));
    e.client_msg_id = std::move(cmd_.client_msg_id);
    e.body = std::move(cmd_.text);
    e.reply_to = cmd_.reply_to_seq;
    e.thread_root = cmd_.thread_root_seq;
    store::AppendOutcome outcome = txn.append_event(std::move(e));
    if (outcome.reused_elsewhere)
      return make_error(ErrorCode::conflict, "this client_msg_id was already used for a message in another conversation");
    const EventRecord& event = outcome.event;
    if (!outcome.duplicate) {
      if (event.thread_root > 0) txn.add_thread_reply(conversation, event.thread_root, event.seq, event.created_at_ms);
      if (!mentions.empty()) txn.add_mentions(conversation, event.seq, mentions);
      if (!cmd_.attachments.empty()) txn.attach_media(conversation, event.seq, cmd_.attachments);
      // Devices without a live session hear of it by push (chat/push_dispatch.cpp decides when);
      // a channel's members only of messages that mention them.
      if (txn.queue_push(conversation, event.seq, caller_,
                         kind_ == ConversationKind::channel ? store::PushAudience::mentioned : store::PushAudience::members,
                         event.created_at_ms))
        service_.note_push_queued();
    }
    write_ack(event, outcome.duplicate);
    if (!outcome.duplicate) {
      Delivery d;
      d.conversation_id = event.conversation_id;
      d.event_frame = gateway::make_text_frame_in_place(event_frame_json(event));
      d.skip_requester = true;  // the ack tells the sending session everything the event would
      deliveries_.push_back(std::move(d));
    }
    return Ok{};
  }

 private:
  // Membership, the reply and thread targets, and the mentions of the text. The common plain
  // message (no reply, no thread, no "@") needs only the membership.
  Status validate(WriteTxn& txn, ConversationId conversation, std::vector<UserId>& mentions) {
    auto member = require_member(txn, conversation, caller_);
    if (!member) return member.take_error();
    if (cmd_.reply_to_seq > 0)
      if (auto s = check_reference(txn, conversation, cmd_.reply_to_seq, member->visible_from_seq, false); !s) return s;
    if (cmd_.thread_root_seq > 0)
      if (auto s = check_reference(txn, conversation, cmd_.thread_root_seq, member->visible_from_seq, true); !s) return s;
    if (auto c = txn.conversation(conversation)) kind_ = c->kind;
    if (cmd_.text.find('@') != std::string::npos)
      mentions = find_mentions(txn, cmd_.text, conversation, *member, kind_, max_mentions());
    return check_attachments(txn);
  }

  Status check_attachments(WriteTxn& txn) {
    if (cmd_.attachments.empty()) return Ok{};
    auto usable = usable_attachments(txn, caller_, cmd_.attachments);
    if (!usable) return usable.take_error();
    attachments_ = std::move(*usable);
    return Ok{};
  }

  std::size_t max_mentions() const { return static_cast<std::size_t>(limits().max_mentions_per_message); }

  void write_ack(const EventRecord& event, bool duplicate) {
    reply_.type = "ack";
    reply_.fields.clear();
    JsonWriter w(reply_.fields);
    w.field("conversation_id", event.conversation_id);
    w.field("client_msg_id", event.client_msg_id);
    w.key("message_id").id_string(event.id);
    w.field("seq", event.seq);
    w.field("pos", event.pos);
    w.field("ts", event.created_at_ms);
    w.field("duplicate", duplicate);
  }

  protocol::SendCmd cmd_;
  std::vector<store::MediaRecord> attachments_;  // cmd_.attachments as stored, once checked
  ConversationKind kind_ = ConversationKind::direct;
};

class DirectOpenOp final : public ChatOp {
 public:
  DirectOpenOp(ChatService& s, UserId caller, ReplyTarget t, protocol::DirectOpenCmd c) : ChatOp(s, caller, std::move(t)), cmd_(std::move(c)) {}

 protected:
  Status run(WriteTxn& txn) override {
    std::optional<store::UserRecord> peer =
        cmd_.user_id != 0 ? txn.user(cmd_.user_id) : txn.user_by_username(ascii_lower(cmd_.username));
    if (!peer) return make_error(ErrorCode::not_found, "no such user");
    bool created = false;
    const std::size_t first = deliveries_.size();
    ConversationId id = open_direct(txn, caller_, peer->id, created, deliveries_);
    if (created) announce(txn, id, deliveries_.back().subscribe, first);
    reply_.fields = conversation_fields(txn, id, caller_);
    JsonWriter(reply_.fields).field("created", created);
    return Ok{};
  }

 private:
  protocol::DirectOpenCmd cmd_;
};

class GroupCreateOp final : public ChatOp {
 public:
  GroupCreateOp(ChatService& s, UserId caller, ReplyTarget t, protocol::GroupCreateCmd c) : ChatOp(s, caller, std::move(t)), cmd_(std::move(c)) {}

 protected:
  Status run(WriteTxn& txn) override {
    std::vector<UserId> members;
    std::set<UserId> seen{caller_};
    for (UserId id : cmd_.member_ids)
      if (seen.insert(id).second) members.push_back(id);
    if (members.size() + 1 > static_cast<std::size_t>(limits().max_group_members))
      return make_error(ErrorCode::limit_reached, "a group has at most " + std::to_string(limits().max_group_members) + " members");
    for (UserId id : members)
      if (!txn.user(id)) return make_error(ErrorCode::not_found, "no such user: " + std::to_string(id));

    auto conversation = txn.create_conversation(ConversationKind::group, cmd_.title, "", caller_, std::nullopt);
    const std::size_t first = deliveries_.size();
    const EventRecord& created = emit(txn, draft(conversation.id, caller_, EventKind::conversation_created, meta_title(cmd_.title)));
    txn.add_member(conversation.id, ConversationKind::group, caller_, Role::owner, created.seq, created.pos);
    std::vector<UserId> everyone = members;
    everyone.push_back(caller_);
    // The first members belong from the creation on: they get it live and by sync.
    deliveries_.back().subscribe = everyone;
    const Pos created_pos = created.pos;
    const Seq created_seq = created.seq;
    if (!members.empty()) {
      emit(txn, draft(conversation.id, caller_, EventKind::member_added, meta_user_ids(members)));
      for (UserId id : members)
        txn.add_member(conversation.id, ConversationKind::group, id, Role::member, created_seq, created_pos);
    }
    announce(txn, conversation.id, everyone, first);
    reply_.fields = conversation_fields(txn, conversation.id, caller_);
    return Ok{};
  }

 private:
  protocol::GroupCreateCmd cmd_;
};

class ChannelCreateOp final : public ChatOp {
 public:
  ChannelCreateOp(ChatService& s, UserId caller, ReplyTarget t, protocol::ChannelCreateCmd c) : ChatOp(s, caller, std::move(t)), cmd_(std::move(c)) {}

 protected:
  Status run(WriteTxn& txn) override {
    auto conversation = txn.create_conversation(ConversationKind::channel, cmd_.title, cmd_.topic, caller_, std::nullopt);
    const std::size_t first = deliveries_.size();
    const EventRecord& created = emit(txn, draft(conversation.id, caller_, EventKind::conversation_created, meta_title(cmd_.title)));
    txn.add_member(conversation.id, ConversationKind::channel, caller_, Role::owner, 1, created.pos);
    deliveries_.back().subscribe = {caller_};
    announce(txn, conversation.id, {caller_}, first);
    reply_.fields = conversation_fields(txn, conversation.id, caller_);
    return Ok{};
  }

 private:
  protocol::ChannelCreateCmd cmd_;
};

class ChannelJoinOp final : public ChatOp {
 public:
  ChannelJoinOp(ChatService& s, UserId caller, ReplyTarget t, protocol::ChannelJoinCmd c) : ChatOp(s, caller, std::move(t)), cmd_(c) {}

 protected:
  Status run(WriteTxn& txn) override {
    auto conversation = txn.conversation(cmd_.conversation_id);
    if (!conversation) return not_found_conversation();
    if (conversation->kind != ConversationKind::channel)
      return make_error(ErrorCode::forbidden, "only channels can be joined; groups add members");
    auto member = txn.member(conversation->id, caller_);
    bool joined = false;
    if (!member || !member->active()) {
      if (conversation->member_count >= limits().max_channel_members)
        return make_error(ErrorCode::limit_reached, "the channel is full");
      const std::size_t first = deliveries_.size();
      const EventRecord& event = emit(txn, draft(conversation->id, caller_, EventKind::member_joined));
      // Joining never grants a role: a channel everyone left stays without an owner (anyone
      // could join it first and then moderate what its old members wrote).
      txn.add_member(conversation->id, ConversationKind::channel, caller_, Role::member, 1, event.pos);
      deliveries_.back().subscribe = {caller_};
      announce(txn, conversation->id, {caller_}, first);
      joined = true;
    }
    reply_.fields = conversation_fields(txn, conversation->id, caller_);
    JsonWriter(reply_.fields).field("joined", joined);
    return Ok{};
  }

 private:
  protocol::ChannelJoinCmd cmd_;
};

// Checks shared by commands that manage a group or channel: it exists, is not a direct chat,
// and the caller is an active member with at least `needed` role.
Result<store::MemberRecord> require_manager(WriteTxn& txn, ConversationId id, UserId caller, Role needed,
                                            store::ConversationRecord* out = nullptr) {
  auto conversation = txn.conversation(id);
  if (!conversation) return not_found_conversation();
  if (conversation->kind == ConversationKind::direct)
    return make_error(ErrorCode::forbidden, "direct conversations have no members to manage");
  auto member = txn.member(id, caller);
  if (!member || !member->active()) return make_error(ErrorCode::not_member, "you are not a member of this conversation");
  if (!has_role(member->role, needed))
    return make_error(ErrorCode::forbidden, std::string("this needs the ") + std::string(role_name(needed)) + " role");
  if (out) *out = std::move(*conversation);
  return std::move(*member);
}

class RenameOp final : public ChatOp {
 public:
  RenameOp(ChatService& s, UserId caller, ReplyTarget t, protocol::RenameCmd c) : ChatOp(s, caller, std::move(t)), cmd_(std::move(c)) {}

 protected:
  Status run(WriteTxn& txn) override {
    store::ConversationRecord conversation;
    auto member = require_manager(txn, cmd_.conversation_id, caller_, Role::admin, &conversation);
    if (!member) return member.take_error();
    if (conversation.title != cmd_.title) {
      emit(txn, draft(cmd_.conversation_id, caller_, EventKind::conversation_renamed, meta_title(cmd_.title)));
      txn.set_title(cmd_.conversation_id, cmd_.title);
    }
    reply_.fields = conversation_fields(txn, cmd_.conversation_id, caller_);
    return Ok{};
  }

 private:
  protocol::RenameCmd cmd_;
};

class MembersAddOp final : public ChatOp {
 public:
  MembersAddOp(ChatService& s, UserId caller, ReplyTarget t, protocol::MembersAddCmd c) : ChatOp(s, caller, std::move(t)), cmd_(std::move(c)) {}

 protected:
  Status run(WriteTxn& txn) override {
    store::ConversationRecord conversation;
    auto member = require_manager(txn, cmd_.conversation_id, caller_, Role::admin, &conversation);
    if (!member) return member.take_error();
    std::vector<UserId> added;
    std::set<UserId> seen;
    for (UserId id : cmd_.user_ids) {
      if (!seen.insert(id).second) continue;
      if (!txn.user(id)) return make_error(ErrorCode::not_found, "no such user: " + std::to_string(id));
      auto existing = txn.member(conversation.id, id);
      if (!existing || !existing->active()) added.push_back(id);
    }
    if (added.empty()) return make_error(ErrorCode::already_member, "every user given is already a member");
    const int limit = conversation.kind == ConversationKind::group ? limits().max_group_members : limits().max_channel_members;
    if (conversation.member_count + static_cast<int>(added.size()) > limit)
      return make_error(ErrorCode::limit_reached, "this would exceed the member limit of " + std::to_string(limit));
    const std::size_t first = deliveries_.size();
    const EventRecord& event = emit(txn, draft(conversation.id, caller_, EventKind::member_added, meta_user_ids(added)));
    // Groups show new members what happens from now on; channels show their whole history.
    const Seq visible_from = conversation.kind == ConversationKind::group ? event.seq : 1;
    for (UserId id : added) txn.add_member(conversation.id, conversation.kind, id, Role::member, visible_from, event.pos);
    deliveries_.back().subscribe = added;
    announce(txn, conversation.id, added, first);
    reply_.fields = conversation_fields(txn, conversation.id, caller_);
    JsonWriter w(reply_.fields);
    w.key("added").begin_array();
    for (UserId id : added) w.value(id);
    w.end_array();
    return Ok{};
  }

 private:
  protocol::MembersAddCmd cmd_;
};

class MemberRemoveOp final : public ChatOp {
 public:
  MemberRemoveOp(ChatService& s, UserId caller, ReplyTarget t, protocol::MemberRemoveCmd c) : ChatOp(s, caller, std::move(t)), cmd_(c) {}

 protected:
  Status run(WriteTxn& txn) override {
    store::ConversationRecord conversation;
    auto member = require_manager(txn, cmd_.conversation_id, caller_, Role::admin, &conversation);
    if (!member) return member.take_error();
    if (cmd_.user_id == caller_) return make_error(ErrorCode::invalid_field, "to remove yourself, use conversation.leave");
    auto target = txn.member(cmd_.conversation_id, cmd_.user_id);
    if (!target || !target->active()) return make_error(ErrorCode::not_found, "that user is not a member");
    if (has_role(target->role, member->role))
      return make_error(ErrorCode::forbidden, "you can only remove members below your role");
    const EventRecord& event = emit(txn, draft(cmd_.conversation_id, caller_, EventKind::member_removed, meta_user(cmd_.user_id)));
    txn.end_member(cmd_.conversation_id, cmd_.user_id, event.seq, event.pos, conversation.title);
    deliveries_.back().unsubscribe = {cmd_.user_id};
    reply_.fields = conversation_fields(txn, cmd_.conversation_id, caller_);
    return Ok{};
  }

 private:
  protocol::MemberRemoveCmd cmd_;
};

class MemberSetRoleOp final : public ChatOp {
 public:
  MemberSetRoleOp(ChatService& s, UserId caller, ReplyTarget t, protocol::MemberSetRoleCmd c) : ChatOp(s, caller, std::move(t)), cmd_(c) {}

 protected:
  Status run(WriteTxn& txn) override {
    auto member = require_manager(txn, cmd_.conversation_id, caller_, Role::owner);
    if (!member) return member.take_error();
    if (cmd_.user_id == caller_) return make_error(ErrorCode::invalid_field, "the owner's role changes only by leaving");
    auto target = txn.member(cmd_.conversation_id, cmd_.user_id);
    if (!target || !target->active()) return make_error(ErrorCode::not_found, "that user is not a member");
    if (target->role != cmd_.role) {
      emit(txn, draft(cmd_.conversation_id, caller_, EventKind::member_role_changed, meta_role(cmd_.user_id, cmd_.role)));
      txn.set_role(cmd_.conversation_id, cmd_.user_id, cmd_.role);
    }
    reply_.fields = conversation_fields(txn, cmd_.conversation_id, caller_);
    return Ok{};
  }

 private:
  protocol::MemberSetRoleCmd cmd_;
};

class LeaveOp final : public ChatOp {
 public:
  LeaveOp(ChatService& s, UserId caller, ReplyTarget t, protocol::LeaveCmd c) : ChatOp(s, caller, std::move(t)), cmd_(c) {}

 protected:
  Status run(WriteTxn& txn) override {
    store::ConversationRecord conversation;
    auto member = require_manager(txn, cmd_.conversation_id, caller_, Role::member, &conversation);
    if (!member) return member.take_error();
    const EventRecord& event = emit(txn, draft(cmd_.conversation_id, caller_, EventKind::member_left));
    txn.end_member(cmd_.conversation_id, caller_, event.seq, event.pos, conversation.title);
    deliveries_.back().unsubscribe = {caller_};
    if (member->role == Role::owner) {
      // Hand ownership to the longest-standing admin. In a group (whose members were all
      // brought in by its managers) else to the longest-standing member; a channel (anyone may
      // join) without an admin is left without an owner rather than handed to a stranger.
      auto remaining = txn.active_members(cmd_.conversation_id);
      auto heir = std::find_if(remaining.begin(), remaining.end(), [](const auto& m) { return m.role == Role::admin; });
      if (heir == remaining.end() && conversation.kind == ConversationKind::group) heir = remaining.begin();
      if (heir != remaining.end()) {
        emit(txn, draft(cmd_.conversation_id, caller_, EventKind::member_role_changed, meta_role(heir->user_id, Role::owner)));
        txn.set_role(cmd_.conversation_id, heir->user_id, Role::owner);
      }
    }
    reply_.fields = conversation_fields(txn, cmd_.conversation_id, caller_);
    return Ok{};
  }

 private:
  protocol::LeaveCmd cmd_;
};

}  // namespace

std::unique_ptr<ChatOp> ChatService::make_write_op(const Identity& caller, protocol::Command&& command,
                                                   ReplyTarget& target) {
  const UserId user = caller.user_id;
  if (auto op = make_message_op(*this, user, command, target)) return op;
  return std::visit(
      [&](auto&& c) -> std::unique_ptr<ChatOp> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, protocol::SendCmd>) return std::make_unique<SendOp>(*this, user, target, std::move(c));
        else if constexpr (std::is_same_v<T, protocol::DirectOpenCmd>) return std::make_unique<DirectOpenOp>(*this, user, target, std::move(c));
        else if constexpr (std::is_same_v<T, protocol::GroupCreateCmd>) return std::make_unique<GroupCreateOp>(*this, user, target, std::move(c));
        else if constexpr (std::is_same_v<T, protocol::ChannelCreateCmd>) return std::make_unique<ChannelCreateOp>(*this, user, target, std::move(c));
        else if constexpr (std::is_same_v<T, protocol::ChannelJoinCmd>) return std::make_unique<ChannelJoinOp>(*this, user, target, c);
        else if constexpr (std::is_same_v<T, protocol::RenameCmd>) return std::make_unique<RenameOp>(*this, user, target, std::move(c));
        else if constexpr (std::is_same_v<T, protocol::MembersAddCmd>) return std::make_unique<MembersAddOp>(*this, user, target, std::move(c));
        else if constexpr (std::is_same_v<T, protocol::MemberRemoveCmd>) return std::make_unique<MemberRemoveOp>(*this, user, target, c);
        else if constexpr (std::is_same_v<T, protocol::MemberSetRoleCmd>) return std::make_unique<MemberSetRoleOp>(*this, user, target, c);
        else if constexpr (std::is_same_v<T, protocol::LeaveCmd>) return std::make_unique<LeaveOp>(*this, user, target, c);
        else if constexpr (std::is_same_v<T, protocol::MediaUploadCmd>) return make_media_upload_op(*this, user, target, std::move(c));
        else return nullptr;
      },
      std::move(command));
}

}  // namespace parley::chat
