// Reads of the live features: message state (reactions, edits, threads, pins), receipts,
// presence; and the per-member view of a conversation (unread, mentions, last message).
#include <algorithm>
#include <map>

#include "chat/reads.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"

namespace parley::chat {

using store::ReadTxn;

void write_member_conversation(JsonWriter& w, ReadTxn& txn, const store::ConversationRecord& c,
                               const store::MemberRecord& member, UserId caller, int max_unread) {
  ConversationExtras extras;
  const Seq visible_to = member.left_seq.value_or(c.last_seq);
  extras.unread_count = txn.unread_count(c.id, caller, member.unread_after(), member.unread_up_to(), max_unread);
  extras.mention_count = txn.mention_count(c.id, caller, member.unread_after(), member.unread_up_to());
  // The newest message the member may read and still sees: not cleared, not hidden.
  const Seq after = std::max(member.visible_from_seq - 1, member.settings.cleared_seq);
  auto last = txn.last_text_event(c.id, after, visible_to, caller);
  if (last) extras.last_message = &*last;
  std::optional<store::UserRecord> peer;
  if (c.kind == ConversationKind::direct) {
    peer = direct_peer(txn, c, caller);
    if (peer && peer->id != caller) {
      if (auto peer_member = txn.member(c.id, peer->id)) {
        extras.peer_delivered_seq = peer_member->delivered_seq;
        if (peer->share_read_receipts) extras.peer_read_seq = peer_member->read_seq;
      }
    }
  }
  write_conversation(w, c, &member, peer ? &*peer : nullptr, &extras);
}

void write_events_with_state(JsonWriter& w, ReadTxn& txn, ConversationId conversation,
                             const std::vector<store::EventRecord>& events, const HiddenView& hidden) {
  std::vector<store::ReactionRecord> reactions;
  std::vector<store::ThreadRecord> threads;
  if (!events.empty()) {
    reactions = txn.reactions(conversation, events.front().seq, events.back().seq);
    threads = txn.threads(conversation, events.front().seq, events.back().seq);
  }
  w.key("events").begin_array();
  for (const auto& e : events) {
    EventExtras extras;
    if (hidden.hides_event(e)) {
      extras.hidden = true;
      write_event(w, e, &extras);
      continue;
    }
    for (const auto& r : reactions)
      if (r.seq == e.seq) extras.reactions.push_back(r);
    for (const auto& t : threads)
      if (t.root_seq == e.seq) extras.thread = &t;
    write_event(w, e, &extras);
  }
  w.end_array();
}

namespace {

// The message `ref` names, if the caller may see it: inside the caller's read window (a
// member's window; a channel's whole history for anyone) and a text message.
Result<store::EventRecord> visible_message(ReadTxn& txn, UserId caller, const protocol::MessageRef& ref,
                                           ReadWindow* window_out = nullptr) {
  auto window = read_window(txn, ref.conversation_id, caller);
  if (!window) return window.take_error();
  auto event = txn.event(ref.conversation_id, ref.seq);
  if (!event || event->seq < window->low || event->seq > window->high)
    return make_error(ErrorCode::not_found, "no such message");
  if (event->kind != EventKind::text) return make_error(ErrorCode::invalid_field, "that event is not a message");
  if (window_out) *window_out = *window;
  return std::move(*event);
}

Result<Reply> receipts_get(ReadTxn& txn, UserId caller, const protocol::ReceiptsGetCmd& cmd) {
  auto message = visible_message(txn, caller, {cmd.conversation_id, cmd.seq});
  if (!message) return message.take_error();
  auto conversation = txn.conversation(cmd.conversation_id);
  if (conversation->kind == ConversationKind::channel)
    return make_error(ErrorCode::forbidden, "channels keep no per-message receipt lists");
  Reply reply;
  JsonWriter w(reply.fields);
  w.field("conversation_id", cmd.conversation_id).field("seq", cmd.seq);
  std::vector<std::pair<UserId, Seq>> read_by, delivered_to;
  for (const auto& m : txn.active_members(cmd.conversation_id)) {
    if (m.user_id == message->sender_id) continue;
    if (m.delivered_seq >= cmd.seq) delivered_to.emplace_back(m.user_id, m.delivered_seq);
    if (m.read_seq >= cmd.seq) {
      auto user = txn.user(m.user_id);
      if (user && user->share_read_receipts) read_by.emplace_back(m.user_id, m.read_seq);
    }
  }
  w.key("read_by").begin_array();
  for (const auto& [user, seq] : read_by) w.begin_object().field("user_id", user).field("read_seq", seq).end_object();
  w.end_array();
  w.key("delivered_to").begin_array();
  for (const auto& [user, seq] : delivered_to)
    w.begin_object().field("user_id", user).field("delivered_seq", seq).end_object();
  w.end_array();
  return reply;
}

// Whether the caller hid the message at `seq` (or cleared the chat past it).
bool caller_hid(ReadTxn& txn, UserId caller, ConversationId conversation, const ReadWindow& window, Seq seq) {
  if (!window.has_membership) return false;
  HiddenView::Range range;
  range.add(seq);
  return HiddenView::load(txn, caller, conversation, window.cleared_seq, range).hides(seq);
}

Result<Reply> message_edits(ReadTxn& txn, UserId caller, const protocol::MessageEditsCmd& cmd) {
  ReadWindow window;
  auto message = visible_message(txn, caller, cmd.message, &window);
  if (!message) return message.take_error();
  if (caller_hid(txn, caller, cmd.message.conversation_id, window, cmd.message.seq))
    return make_error(ErrorCode::not_found, "you hid that message");
  if (message->deleted_at_ms > 0) return make_error(ErrorCode::not_found, "that message was deleted");
  Reply reply;
  JsonWriter w(reply.fields);
  w.field("conversation_id", cmd.message.conversation_id).field("seq", cmd.message.seq);
  w.key("versions").begin_array();
  w.begin_object().field("text", message->body).field("ts", message->created_at_ms).end_object();
  for (const auto& edit : txn.edits_of(cmd.message.conversation_id, cmd.message.seq)) {
    w.begin_object().field("edit_seq", edit.seq).field("ts", edit.created_at_ms);
    if (edit.meta_json.size() > 2) w.raw(std::string_view(edit.meta_json).substr(1, edit.meta_json.size() - 2));
    w.end_object();
  }
  w.end_array();
  return reply;
}

Result<Reply> reactions_get(ReadTxn& txn, UserId caller, const protocol::ReactionsGetCmd& cmd) {
  ReadWindow window;
  auto message = visible_message(txn, caller, cmd.message, &window);
  if (!message) return message.take_error();
  Reply reply;
  JsonWriter w(reply.fields);
  w.field("conversation_id", cmd.message.conversation_id).field("seq", cmd.message.seq);
  // A message the caller hid shows no reactions, as in its reads.
  if (caller_hid(txn, caller, cmd.message.conversation_id, window, cmd.message.seq)) write_reactions(w, {});
  else write_reactions(w, txn.reactions(cmd.message.conversation_id, cmd.message.seq, cmd.message.seq));
  return reply;
}

Result<Reply> pins_list(ReadTxn& txn, UserId caller, ConversationId conversation) {
  auto window = read_window(txn, conversation, caller);
  if (!window) return window.take_error();
  Reply reply;
  JsonWriter w(reply.fields);
  w.field("conversation_id", conversation);
  std::vector<store::PinRecord> pins;
  std::vector<Seq> seqs;
  HiddenView::Range range;
  for (const auto& pin : txn.pins(conversation)) {
    if (pin.seq < window->low || pin.seq > window->high) continue;
    pins.push_back(pin);
    seqs.push_back(pin.seq);
    range.add(pin.seq);
  }
  const auto events = txn.events_at(conversation, seqs);  // one read, ascending by seq
  const HiddenView hidden =
      window->has_membership ? HiddenView::load(txn, caller, conversation, window->cleared_seq, range) : HiddenView();
  w.key("pins").begin_array();
  for (const auto& pin : pins) {
    auto event = std::lower_bound(events.begin(), events.end(), pin.seq,
                                  [](const store::EventRecord& e, Seq seq) { return e.seq < seq; });
    if (event == events.end() || event->seq != pin.seq) continue;
    w.begin_object().field("seq", pin.seq).field("pinned_by", pin.pinned_by).field("pinned_at", pin.pinned_at_ms);
    w.key("message");
    EventExtras extras;
    extras.hidden = hidden.hides(pin.seq);
    write_event(w, *event, &extras);
    w.end_object();
  }
  w.end_array();
  return reply;
}

Result<Reply> thread_history(ReadTxn& txn, UserId caller, const protocol::ThreadHistoryCmd& cmd, std::size_t page_bytes) {
  ReadWindow window;
  auto root = visible_message(txn, caller, {cmd.conversation_id, cmd.root_seq}, &window);
  if (!root) return root.take_error();
  // Replies above what the caller cleared.
  const Seq low = std::max({window.low, cmd.root_seq + 1, window.cleared_seq + 1});
  const Seq high = window.high;
  auto page = page_of_events(
      [&](Seq from, Seq to, int count, bool newest_first) {
        return txn.thread_events(cmd.conversation_id, cmd.root_seq, from, to, count, newest_first);
      },
      low, high, cmd.before_seq, cmd.after_seq, cmd.limit, page_bytes);
  HiddenView hidden;
  if (window.has_membership) {
    HiddenView::Range range;
    range.add(cmd.root_seq);
    for (const auto& e : page.events) range.add(e);
    hidden = HiddenView::load(txn, caller, cmd.conversation_id, window.cleared_seq, range);
  }
  Reply reply;
  JsonWriter w(reply.fields);
  w.field("conversation_id", cmd.conversation_id).field("root_seq", cmd.root_seq);
  w.key("root");
  std::vector<store::ThreadRecord> threads;
  EventExtras root_extras;
  if (hidden.hides(cmd.root_seq)) {
    root_extras.hidden = true;
  } else {
    root_extras.reactions = txn.reactions(cmd.conversation_id, cmd.root_seq, cmd.root_seq);
    threads = txn.threads(cmd.conversation_id, cmd.root_seq, cmd.root_seq);
    if (!threads.empty()) root_extras.thread = &threads.front();
  }
  write_event(w, *root, &root_extras);
  write_events_with_state(w, txn, cmd.conversation_id, page.events, hidden);
  w.field("has_more", page.has_more);
  return reply;
}

Result<Reply> presence_get(ReadTxn& txn, UserId caller, const protocol::PresenceGetCmd& cmd,
                           const PresenceLookup& presence) {
  // Presence is visible to the people one shares a direct chat or a group with.
  auto peers = txn.peers(caller);
  std::sort(peers.begin(), peers.end());
  std::vector<std::optional<store::UserRecord>> users;
  std::vector<UserId> visible_ids;
  for (UserId id : cmd.user_ids) {
    const bool visible = id == caller || std::binary_search(peers.begin(), peers.end(), id);
    users.push_back(visible ? txn.user(id) : std::nullopt);
    if (users.back()) visible_ids.push_back(id);
  }
  const std::vector<PresenceView> views = presence(visible_ids);  // one lookup for all
  std::size_t next_view = 0;
  Reply reply;
  JsonWriter w(reply.fields);
  w.key("users").begin_array();
  for (std::size_t i = 0; i < cmd.user_ids.size(); ++i) {
    const UserId id = cmd.user_ids[i];
    w.begin_object().field("user_id", id);
    const auto& user = users[i];
    if (!user) {
      w.field("status", "unknown").end_object();
      continue;
    }
    const PresenceView view = views[next_view++];
    w.field("status", to_string(view.status));
    const std::int64_t last_seen = view.last_seen_ms > 0 ? view.last_seen_ms : user->last_seen_at_ms;
    const bool online = view.status != PresenceStatus::offline;
    if (!online && last_seen > 0 && (user->share_last_seen || id == caller)) w.field("last_seen", last_seen);
    w.end_object();
  }
  w.end_array();
  return reply;
}

}  // namespace

std::optional<Result<Reply>> run_message_read(ReadTxn& txn, UserId caller, const protocol::Command& command,
                                              const PresenceLookup& presence, std::size_t page_bytes) {
  return std::visit(
      [&](const auto& c) -> std::optional<Result<Reply>> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, protocol::ReceiptsGetCmd>) return receipts_get(txn, caller, c);
        else if constexpr (std::is_same_v<T, protocol::MessageEditsCmd>) return message_edits(txn, caller, c);
        else if constexpr (std::is_same_v<T, protocol::ReactionsGetCmd>) return reactions_get(txn, caller, c);
        else if constexpr (std::is_same_v<T, protocol::PinsListCmd>) return pins_list(txn, caller, c.conversation_id);
        else if constexpr (std::is_same_v<T, protocol::ThreadHistoryCmd>) return thread_history(txn, caller, c, page_bytes);
        else if constexpr (std::is_same_v<T, protocol::PresenceGetCmd>) return presence_get(txn, caller, c, presence);
        else return std::nullopt;
      },
      command);
}

}  // namespace parley::chat
