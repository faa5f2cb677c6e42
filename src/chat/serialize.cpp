#include "chat/serialize.hpp"

#include "chat/conversation_settings.hpp"
#include "core/domain.hpp"

namespace parley::chat {

void write_event(JsonWriter& w, const store::EventRecord& e, const EventExtras* extras) {
  w.begin_object();
  w.field("conversation_id", e.conversation_id);
  w.field("seq", e.seq);
  w.field("pos", e.pos);
  w.key("id").id_string(e.id);
  w.field("sender_id", e.sender_id);
  w.field("kind", event_kind_name(e.kind));
  w.field("ts", e.created_at_ms);
  if (extras && extras->hidden) {
    // Hidden from this reader ("delete for me", "clear chat"): where it sits, not what it says.
    if (!e.client_msg_id.empty()) w.field("client_msg_id", e.client_msg_id);
    if (e.thread_root > 0) w.field("thread_root", e.thread_root);
    if (e.target_seq > 0) w.field("target_seq", e.target_seq);
    w.field("hidden", true);
    w.end_object();
    return;
  }
  if (e.kind == EventKind::text) {
    if (e.deleted_at_ms > 0) {
      w.field("deleted", true).field("deleted_at", e.deleted_at_ms);
    } else if (e.edited_at_ms > 0) {
      w.field("text", e.edited_body).field("edited", true).field("edited_at", e.edited_at_ms);
    } else {
      w.field("text", e.body);
    }
  }
  if (!e.client_msg_id.empty()) w.field("client_msg_id", e.client_msg_id);
  if (e.reply_to > 0) w.field("reply_to", e.reply_to);
  if (e.thread_root > 0) w.field("thread_root", e.thread_root);
  if (e.target_seq > 0) w.field("target_seq", e.target_seq);
  // Detail fields are stored as a JSON object; they are spliced into the event object.
  if (e.meta_json.size() > 2 && e.meta_json.front() == '{' && e.meta_json.back() == '}')
    w.raw(std::string_view(e.meta_json).substr(1, e.meta_json.size() - 2));
  if (extras && !extras->reactions.empty()) write_reactions(w, extras->reactions);
  if (extras && extras->thread) {
    w.key("thread").begin_object();
    w.field("reply_count", static_cast<std::int64_t>(extras->thread->reply_count));
    w.field("last_reply_seq", extras->thread->last_reply_seq);
    w.field("last_reply_at", extras->thread->last_reply_at_ms);
    w.end_object();
  }
  w.end_object();
}

void write_reactions(JsonWriter& w, const std::vector<store::ReactionRecord>& reactions) {
  w.key("reactions").begin_array();
  std::vector<bool> done(reactions.size(), false);
  for (std::size_t i = 0; i < reactions.size(); ++i) {
    if (done[i]) continue;
    const std::string& emoji = reactions[i].emoji;
    std::vector<UserId> users;
    for (std::size_t j = i; j < reactions.size(); ++j)
      if (!done[j] && reactions[j].emoji == emoji) {
        users.push_back(reactions[j].user_id);
        done[j] = true;
      }
    w.begin_object().field("emoji", emoji).field("count", static_cast<std::int64_t>(users.size()));
    w.key("user_ids").begin_array();
    for (UserId u : users) w.value(u);
    w.end_array().end_object();
  }
  w.end_array();
}

void write_media(JsonWriter& w, const store::MediaRecord& m) {
  w.begin_object();
  w.field("id", m.id).field("file_name", m.file_name).field("size", m.size);
  w.field("content_type", m.content_type);
  if (m.width > 0) w.field("width", m.width).field("height", m.height);
  w.field("thumbnail", m.has_thumbnail);
  if (!m.preview.empty()) w.field("preview", m.preview);
  w.end_object();
}

void write_conversation(JsonWriter& w, const store::ConversationRecord& c, const store::MemberRecord* member,
                        const store::UserRecord* peer, const ConversationExtras* extras) {
  w.begin_object();
  w.field("id", c.id);
  w.field("kind", conversation_kind_name(c.kind));
  w.field("created_by", c.created_by);
  w.field("created_at", c.created_at_ms);
  if (member && !member->active()) {
    // A former member sees the conversation as it was when it left, nothing later.
    w.field("title", member->left_title);
    w.field("last_seq", *member->left_seq);
    w.field("last_pos", member->last_pos);
  } else {
    w.field("title", c.title);
    w.field("topic", c.topic);
    w.field("last_seq", c.last_seq);
    w.field("last_pos", c.last_pos);
    w.field("last_event_at", c.last_event_at_ms);
    w.field("member_count", static_cast<std::int64_t>(c.member_count));
  }
  if (member) {
    w.field("role", role_name(member->role));
    w.field("visible_from_seq", member->visible_from_seq);
    if (member->left_seq) w.field("left_seq", *member->left_seq);
    w.field("delivered_seq", member->delivered_seq);
    w.field("read_seq", member->read_seq);
    // "Clear chat" shapes what the member reads, also after it left.
    w.field("cleared_seq", member->settings.cleared_seq);
    // The member's other settings: an active membership's only (they end with it).
    if (member->active()) {
      w.field("muted_until", member->settings.muted_until);
      w.field("archived", member->settings.archived);
      w.field("pin_rank", member->settings.pin_rank);
      w.field("marked_unread", member->settings.marked_unread);
      w.field("notify", notify_level_name(member->settings.notify));
    }
  }
  if (extras) {
    w.field("unread_count", static_cast<std::int64_t>(extras->unread_count));
    w.field("mention_count", static_cast<std::int64_t>(extras->mention_count));
    if (extras->peer_delivered_seq) w.field("peer_delivered_seq", *extras->peer_delivered_seq);
    if (extras->peer_read_seq) w.field("peer_read_seq", *extras->peer_read_seq);
    if (extras->last_message) {
      w.key("last_message");
      write_event(w, *extras->last_message);
    }
  }
  if (peer) {
    w.key("peer");
    write_user(w, *peer);
  }
  w.end_object();
}

void write_user(JsonWriter& w, const store::UserRecord& u) {
  w.begin_object();
  w.field("id", u.id);
  w.field("username", u.username);
  w.field("display_name", u.display_name);
  w.field("created_at", u.created_at_ms);
  w.end_object();
}

void write_member(JsonWriter& w, const store::MemberRecord& m) {
  w.begin_object();
  w.field("user_id", m.user_id);
  w.field("role", role_name(m.role));
  w.field("joined_at", m.joined_at_ms);
  w.end_object();
}

std::string event_frame_json(const store::EventRecord& event) {
  std::string out;
  // Room for the WebSocket header the frame will get in front (make_text_frame).
  out.reserve(192 + event.body.size() + event.meta_json.size());
  JsonWriter w(out);
  w.begin_object().field("type", "event").key("event");
  write_event(w, event);
  w.end_object();
  return out;
}

}  // namespace parley::chat
