// The commands that only read. Each runs as one task on the reader pool, in one snapshot
// transaction, and replies on the requester's I/O thread.
#include <algorithm>
#include <unordered_map>

#include "chat/reads.hpp"
#include "chat/serialize.hpp"
#include "chat/service.hpp"
#include "core/json_writer.hpp"
#include "core/text.hpp"

namespace parley::chat {

using store::ReadTxn;

Result<store::MemberRecord> require_membership(ReadTxn& txn, ConversationId conversation, UserId caller) {
  if (auto member = txn.member(conversation, caller)) return std::move(*member);
  if (!txn.conversation(conversation)) return make_error(ErrorCode::not_found, "no such conversation");
  return make_error(ErrorCode::not_member, "you are not a member of this conversation");
}

Result<ReadWindow> read_window(ReadTxn& txn, ConversationId conversation, UserId caller) {
  auto record = txn.conversation(conversation);
  if (!record) return make_error(ErrorCode::not_found, "no such conversation");
  auto member = txn.member(conversation, caller);
  ReadWindow window;
  if (member) {
    window.has_membership = true;
    window.cleared_seq = member->settings.cleared_seq;
  }
  if (record->kind == ConversationKind::channel) {
    window.high = record->last_seq;
    return window;
  }
  if (!member) return make_error(ErrorCode::not_member, "you are not a member of this conversation");
  // A member reads from where its membership began to where it ended (or the latest event).
  window.low = member->visible_from_seq;
  window.high = member->left_seq.value_or(record->last_seq);
  return window;
}

std::optional<store::UserRecord> direct_peer(ReadTxn& txn, const store::ConversationRecord& c, UserId caller) {
  if (c.kind != ConversationKind::direct) return std::nullopt;
  for (const auto& m : txn.active_members(c.id))
    if (m.user_id != caller) return txn.user(m.user_id);
  return txn.user(caller);
}

// Roughly the bytes an event takes in a reply.
static std::size_t approximate_size(const store::EventRecord& e) {
  return 160 + e.body.size() + e.edited_body.size() + e.meta_json.size() + e.client_msg_id.size();
}

std::size_t events_fitting(const std::vector<store::EventRecord>& events, std::size_t budget, bool from_back) {
  std::size_t total = 0, count = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    total += approximate_size(events[from_back ? events.size() - 1 - i : i]);
    if (count > 0 && total > budget) break;
    ++count;
  }
  return count;
}

namespace {

Result<Reply> history(ReadTxn& txn, UserId caller, const protocol::HistoryCmd& cmd, std::size_t page_bytes) {
  auto window = read_window(txn, cmd.conversation_id, caller);
  if (!window) return window.take_error();
  const Seq low = window->low;
  const Seq high = window->high;
  // After a "clear chat" history ends above cleared_seq.
  auto page = page_of_events(
      [&](Seq from, Seq to, int count, bool newest_first) {
        return txn.events(cmd.conversation_id, from, to, count, newest_first);
      },
      std::max(low, window->cleared_seq + 1), high, cmd.before_seq, cmd.after_seq, cmd.limit, page_bytes);
  const HiddenView hidden = window->has_membership
                                ? HiddenView::load_for(txn, caller, cmd.conversation_id, window->cleared_seq, page.events)
                                : HiddenView();
  Reply reply;
  JsonWriter w(reply.fields);
  w.field("conversation_id", cmd.conversation_id);
  write_events_with_state(w, txn, cmd.conversation_id, page.events, hidden);
  w.field("has_more", page.has_more);
  w.field("visible_from_seq", low);
  w.field("last_seq", high);
  return reply;
}

// Everything visible to the caller after `cursor`, across all its conversations, in pos
// order. Cost grows with the conversations that changed, not with history or membership.
Result<Reply> sync(ReadTxn& txn, UserId caller, const protocol::SyncCmd& cmd, std::size_t page_bytes) {
  struct Candidate {
    store::ChangedConversation changed;
    store::ReadTxn::EventPosition first;
    Seq high = 0;
  };
  std::vector<Candidate> candidates;
  for (auto& changed : txn.changed_conversations(caller, cmd.cursor)) {
    // A member's window, above what it cleared.
    const Seq low = std::max(changed.member.visible_from_seq, changed.member.settings.cleared_seq + 1);
    const Seq high = changed.member.left_seq.value_or(changed.conversation.last_seq);
    if (auto first = txn.first_event_after(changed.conversation.id, low, high, cmd.cursor))
      candidates.push_back({std::move(changed), *first, high});
  }
  // Read conversations in the order of their first new event; once limit+1 events are in hand,
  // a conversation whose first new event comes after all of them cannot enter this page.
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) { return a.first.pos < b.first.pos; });
  const auto wanted = static_cast<std::size_t>(cmd.limit) + 1;
  std::vector<store::EventRecord> events;
  for (const auto& candidate : candidates) {
    if (events.size() >= wanted) {
      std::nth_element(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(wanted - 1), events.end(),
                       [](const auto& a, const auto& b) { return a.pos < b.pos; });
      events.resize(wanted);
      const Pos threshold = std::max_element(events.begin(), events.end(), [](const auto& a, const auto& b) {
                              return a.pos < b.pos;
                            })->pos;
      if (candidate.first.pos > threshold) break;
    }
    auto batch = txn.events(candidate.changed.conversation.id, candidate.first.seq, candidate.high, cmd.limit + 1, false);
    events.insert(events.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
  }
  std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.pos < b.pos; });
  // More than `limit` events found means at least one more page. Otherwise every conversation
  // read returned fewer than limit+1 (it was read to its end) and none was skipped.
  bool has_more = events.size() > static_cast<std::size_t>(cmd.limit);
  if (has_more) events.resize(static_cast<std::size_t>(cmd.limit));
  if (std::size_t keep = events_fitting(events, page_bytes, false); keep < events.size()) {
    has_more = true;
    events.resize(keep);
  }
  const Pos next_cursor = events.empty() ? cmd.cursor : events.back().pos;
  // What the caller hid, per conversation of the page: one read each.
  std::unordered_map<ConversationId, HiddenView::Range> ranges;
  for (const auto& e : events) ranges[e.conversation_id].add(e);
  std::unordered_map<ConversationId, HiddenView> hidden;
  for (const auto& candidate : candidates) {
    const ConversationId id = candidate.changed.conversation.id;
    if (auto range = ranges.find(id); range != ranges.end())
      hidden.emplace(id, HiddenView::load(txn, caller, id, candidate.changed.member.settings.cleared_seq, range->second));
  }

  Reply reply;
  JsonWriter w(reply.fields);
  w.key("events").begin_array();
  for (const auto& e : events) {
    EventExtras extras;
    extras.hidden = hidden[e.conversation_id].hides_event(e);
    write_event(w, e, &extras);
  }
  w.end_array();
  w.key("conversations").begin_array();
  for (const auto& candidate : candidates) {
    if (!ranges.count(candidate.changed.conversation.id)) continue;
    auto peer = direct_peer(txn, candidate.changed.conversation, caller);
    write_conversation(w, candidate.changed.conversation, &candidate.changed.member, peer ? &*peer : nullptr);
  }
  w.end_array();
  w.field("cursor", next_cursor);
  w.field("has_more", has_more);
  return reply;
}

Result<Reply> conversations_list(ReadTxn& txn, UserId caller, int max_unread) {
  Reply reply;
  JsonWriter w(reply.fields);
  w.key("conversations").begin_array();
  for (const auto& entry : txn.user_conversations(caller))
    write_member_conversation(w, txn, entry.conversation, entry.member, caller, max_unread);
  w.end_array();
  return reply;
}

Result<Reply> conversation_get(ReadTxn& txn, UserId caller, ConversationId id, int max_unread) {
  auto conversation = txn.conversation(id);
  if (!conversation) return make_error(ErrorCode::not_found, "no such conversation");
  auto member = txn.member(id, caller);
  // Channels are public: anyone may look at one before joining.
  if (!member && conversation->kind != ConversationKind::channel)
    return make_error(ErrorCode::not_member, "you are not a member of this conversation");
  Reply reply;
  JsonWriter w(reply.fields);
  w.key("conversation");
  if (member) write_member_conversation(w, txn, *conversation, *member, caller, max_unread);
  else write_conversation(w, *conversation);
  return reply;
}

Result<Reply> channel_list(ReadTxn& txn, UserId caller, const protocol::ChannelListCmd& cmd) {
  auto channels = txn.channels(cmd.query, cmd.after_id, cmd.limit + 1);
  const bool has_more = static_cast<int>(channels.size()) > cmd.limit;
  if (has_more) channels.pop_back();
  Reply reply;
  JsonWriter w(reply.fields);
  w.key("channels").begin_array();
  for (const auto& c : channels) {
    auto member = txn.member(c.id, caller);
    const bool active = member && member->active();
    write_conversation(w, c, active ? &*member : nullptr);
  }
  w.end_array();
  w.field("has_more", has_more);
  return reply;
}

Result<Reply> members_list(ReadTxn& txn, UserId caller, const protocol::MembersListCmd& cmd) {
  const ConversationId id = cmd.conversation_id;
  auto member = require_membership(txn, id, caller);
  if (!member) return member.take_error();
  if (!member->active()) return make_error(ErrorCode::not_member, "you are no longer a member of this conversation");
  auto members = txn.active_members_page(id, cmd.after_user_id, cmd.limit + 1);
  const bool has_more = static_cast<int>(members.size()) > cmd.limit;
  if (has_more) members.pop_back();
  Reply reply;
  JsonWriter w(reply.fields);
  w.field("conversation_id", id);
  w.key("members").begin_array();
  for (const auto& m : members) {
    auto user = txn.user(m.user_id);
    w.begin_object();
    w.field("user_id", m.user_id);
    w.field("role", role_name(m.role));
    w.field("joined_at", m.joined_at_ms);
    if (user) w.field("username", user->username).field("display_name", user->display_name);
    w.end_object();
  }
  w.end_array();
  w.field("has_more", has_more);
  return reply;
}

Result<Reply> user_get(ReadTxn& txn, const protocol::UserGetCmd& cmd) {
  auto user = cmd.user_id != 0 ? txn.user(cmd.user_id) : txn.user_by_username(ascii_lower(cmd.username));
  if (!user) return make_error(ErrorCode::not_found, "no such user");
  Reply reply;
  JsonWriter w(reply.fields);
  w.key("user");
  write_user(w, *user);
  return reply;
}

Result<Reply> users_get(ReadTxn& txn, const protocol::UsersGetCmd& cmd) {
  Reply reply;
  JsonWriter w(reply.fields);
  w.key("users").begin_array();
  for (UserId id : cmd.user_ids)
    if (auto user = txn.user(id)) write_user(w, *user);
  w.end_array();
  return reply;
}

}  // namespace

void ChatService::run_read(const Identity& caller, protocol::Command&& command, ReplyTarget target) {
  const UserId user = caller.user_id;
  const auto page_bytes = static_cast<std::size_t>(config_.limits.max_page_bytes);
  auto task = [this, user, page_bytes, command = std::move(command), target](ReadTxn* txn) {
    if (!txn) {
      reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the store could not be read; retry"));
      return;
    }
    Result<Reply> result = std::visit(
        [&](const auto& c) -> Result<Reply> {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, protocol::HistoryCmd>) return history(*txn, user, c, page_bytes);
          else if constexpr (std::is_same_v<T, protocol::SyncCmd>) return sync(*txn, user, c, page_bytes);
          else if constexpr (std::is_same_v<T, protocol::ConversationsListCmd>) return conversations_list(*txn, user, config_.limits.max_unread_count);
          else if constexpr (std::is_same_v<T, protocol::ConversationGetCmd>) return conversation_get(*txn, user, c.conversation_id, config_.limits.max_unread_count);
          else if constexpr (std::is_same_v<T, protocol::ChannelListCmd>) return channel_list(*txn, user, c);
          else if constexpr (std::is_same_v<T, protocol::MembersListCmd>) return members_list(*txn, user, c);
          else if constexpr (std::is_same_v<T, protocol::UserGetCmd>) return user_get(*txn, c);
          else if constexpr (std::is_same_v<T, protocol::UsersGetCmd>) return users_get(*txn, c);
          else if constexpr (std::is_same_v<T, protocol::UsersSearchCmd>) return users_search(*txn, user, c);
          else {
            if (auto result = run_message_read(*txn, user, command, presence_lookup_, page_bytes)) return std::move(*result);
            return make_error(ErrorCode::internal, "command has no handler");
          }
        },
        command);
    reply_on_thread(target, result ? std::move(result.value()) : Reply::failure(result.take_error()));
  };
  if (!readers_->submit(std::move(task)))
    reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the read queue is full; retry"));
}

}  // namespace parley::chat
