#include "chat/hidden_messages.hpp"

#include <algorithm>
#include <iterator>
#include <string>

#include "chat/reads.hpp"
#include "chat/service.hpp"
#include "core/json_writer.hpp"

namespace parley::chat {

void HiddenView::Range::add(const store::EventRecord& event) {
  from = std::min(from, event.seq);
  to = std::max(to, event.seq);
  if (event.kind == EventKind::message_edited && event.target_seq > 0) {
    from = std::min(from, event.target_seq);
    to = std::max(to, event.target_seq);
  }
}

HiddenView HiddenView::load(store::ReadTxn& txn, UserId caller, ConversationId conversation, Seq cleared_seq,
                            const Range& range) {
  HiddenView view;
  view.cleared_seq_ = cleared_seq;
  const Seq from = std::max(range.from, cleared_seq + 1);  // what is cleared is hidden anyway
  if (from <= range.to) view.hidden_ = txn.hidden_seqs(caller, conversation, from, range.to);
  return view;
}

HiddenView HiddenView::load_for(store::ReadTxn& txn, UserId caller, ConversationId conversation, Seq cleared_seq,
                                const std::vector<store::EventRecord>& events) {
  Range range;
  for (const auto& e : events) range.add(e);
  return load(txn, caller, conversation, cleared_seq, range);
}

bool HiddenView::hides(Seq seq) const {
  return seq <= cleared_seq_ || std::binary_search(hidden_.begin(), hidden_.end(), seq);
}

bool HiddenView::hides_event(const store::EventRecord& event) const {
  if (event.kind == EventKind::text) return hides(event.seq);
  // An edit carries the message's new text: it goes with the message.
  if (event.kind == EventKind::message_edited) return hides(event.target_seq);
  return false;
}

namespace {

// {"type":"message_hidden","conversation_id","seq"} for every session of the user who hid it.
Delivery hidden_delivery(ConversationId conversation, UserId user, Seq seq) {
  std::string json;
  JsonWriter(json).begin_object().field("type", "message_hidden").field("conversation_id", conversation)
      .field("seq", seq).end_object();
  Delivery d;
  d.conversation_id = conversation;
  d.to_users = {user};
  d.user_frame = gateway::make_text_frame(json);
  return d;
}

// Hides messages for the caller only: any member, active or former, inside the window its reads
// use (a channel's whole history for its members); all of the request or nothing. Messages it
// had hidden already are left as they are and announced again to nobody.
class MessageHideOp final : public ChatOp {
 public:
  MessageHideOp(ChatService& s, UserId caller, ReplyTarget t, protocol::MessageHideCmd c)
      : ChatOp(s, caller, std::move(t)), cmd_(std::move(c)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    const ConversationId conversation = cmd_.conversation_id;
    auto window = read_window(txn, conversation, caller_);
    if (!window) return window.take_error();
    // Hides belong to a membership: previewing a channel is not enough.
    if (!window->has_membership) return make_error(ErrorCode::not_member, "you are not a member of this conversation");
    const auto events = txn.events_at(conversation, cmd_.seqs);  // ascending, as cmd_.seqs
    auto event = events.begin();
    for (Seq seq : cmd_.seqs) {
      while (event != events.end() && event->seq < seq) ++event;
      if (event == events.end() || event->seq != seq || seq < window->low || seq > window->high)
        return make_error(ErrorCode::not_found, "no such message" + which(seq));
      if (event->kind != EventKind::text)
        return make_error(ErrorCode::invalid_field, "that event is not a message" + which(seq));
    }
    const auto already = txn.hidden_seqs(caller_, conversation, cmd_.seqs.front(), cmd_.seqs.back());
    std::vector<Seq> fresh;
    std::set_difference(cmd_.seqs.begin(), cmd_.seqs.end(), already.begin(), already.end(),
                        std::back_inserter(fresh));
    if (!fresh.empty()) txn.hide_messages(caller_, conversation, fresh);
    for (Seq seq : fresh) deliveries_.push_back(hidden_delivery(conversation, caller_, seq));
    JsonWriter w(reply_.fields);
    w.field("conversation_id", conversation);
    if (cmd_.several) {
      w.key("seqs").begin_array();
      for (Seq seq : cmd_.seqs) w.value(seq);
      w.end_array();
    } else {
      w.field("seq", cmd_.seqs.front());
    }
    w.field("changed", !fresh.empty());
    return Ok{};
  }

 private:
  // Names the entry at fault when the request named several.
  std::string which(Seq seq) const { return cmd_.several ? " (seq " + std::to_string(seq) + ")" : std::string(); }

  protocol::MessageHideCmd cmd_;
};

}  // namespace

std::unique_ptr<ChatOp> make_message_hide_op(ChatService& service, UserId caller, ReplyTarget target,
                                             const protocol::MessageHideCmd& command) {
  return std::make_unique<MessageHideOp>(service, caller, std::move(target), command);
}

}  // namespace parley::chat
