#include "chat/hub.hpp"

#include "chat/token_registry.hpp"

#include <algorithm>

#include "core/json_writer.hpp"

namespace parley::chat {
namespace {

template <typename T>
bool erase_value(std::vector<T>& values, const T& value) {
  auto it = std::find(values.begin(), values.end(), value);
  if (it == values.end()) return false;
  *it = values.back();
  values.pop_back();
  return true;
}

}  // namespace

void Hub::add_session(gateway::Session& session) { sessions_[session.id()] = &session; }

gateway::Session* Hub::find_session(SessionId id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

void Hub::remove_session(gateway::Session& session) {
  sessions_.erase(session.id());
  const UserId user = session.context ? chat_session(session).user_id : 0;
  if (user == 0) return;
  auto it = users_.find(user);
  if (it == users_.end()) return;
  LocalUser& local = it->second;
  erase_value(local.sessions, &session);
  if (!local.sessions.empty()) return;
  for (ConversationId conversation : local.conversations) {
    auto sub = subscribers_.find(conversation);
    if (sub == subscribers_.end()) continue;
    erase_value(sub->second, user);
    if (sub->second.empty()) subscribers_.erase(sub);
  }
  users_.erase(it);
}

Hub::Attach Hub::attach_user(gateway::Session& session, UserId user, ReadyCallback ready) {
  auto [it, inserted] = users_.try_emplace(user);
  LocalUser& local = it->second;
  local.sessions.push_back(&session);
  if (local.subscribed) {
    ready(delivered_pos_);
    return {true, false};
  }
  local.waiting.push_back(std::move(ready));
  return {false, local.waiting.size() == 1};
}

void Hub::subscribe(UserId user, LocalUser& local, ConversationId conversation) {
  if (std::find(local.conversations.begin(), local.conversations.end(), conversation) != local.conversations.end())
    return;
  local.conversations.push_back(conversation);
  subscribers_[conversation].push_back(user);
}

void Hub::unsubscribe(UserId user, LocalUser& local, ConversationId conversation) {
  if (!erase_value(local.conversations, conversation)) return;
  auto sub = subscribers_.find(conversation);
  if (sub == subscribers_.end()) return;
  erase_value(sub->second, user);
  if (sub->second.empty()) subscribers_.erase(sub);
}

void Hub::apply_snapshot(const SubscriptionSnapshot& snapshot) {
  auto it = users_.find(snapshot.user_id);
  if (it == users_.end()) return;  // every session of the user closed meanwhile
  LocalUser& local = it->second;
  // The snapshot is exact at its pos and arrives in commit order: it replaces whatever
  // subscriptions the user had here.
  for (ConversationId conversation : std::vector<ConversationId>(local.conversations))
    unsubscribe(snapshot.user_id, local, conversation);
  for (ConversationId conversation : snapshot.conversations) subscribe(snapshot.user_id, local, conversation);
  local.subscribed = true;
  auto waiting = std::move(local.waiting);
  local.waiting.clear();
  for (auto& ready : waiting) ready(snapshot.pos);
}

void Hub::deliver_event(const Delivery& item) {
  auto sub = subscribers_.find(item.conversation_id);
  if (sub == subscribers_.end()) return;
  const SessionId skip = item.skip_requester && item.requester && item.requester->thread == thread_index_
                             ? item.requester->session_id
                             : 0;
  for (UserId user : sub->second) {
    auto it = users_.find(user);
    if (it == users_.end()) continue;
    for (gateway::Session* session : it->second.sessions)
      if (session->id() != skip) session->send(item.event_frame);
  }
}

void Hub::apply(const DeliveryBatch& batch) {
  for (const Delivery& item : batch.items) {
    if (item.snapshot && item.requester && item.requester->thread == thread_index_) apply_snapshot(*item.snapshot);
    for (UserId user : item.subscribe) {
      auto it = users_.find(user);
      if (it != users_.end() && it->second.subscribed) subscribe(user, it->second, item.conversation_id);
    }
    // Per-user frames first: a conversation announcement must precede its first event.
    if (item.user_frame)
      for (UserId user : item.to_users) send_to_user(user, item.user_frame);
    if (item.event_frame) deliver_event(item);
    if (item.requester && item.requester->thread == thread_index_ && !item.snapshot)
      deliver_reply(*item.requester, item.reply);
    for (UserId user : item.unsubscribe) {
      auto it = users_.find(user);
      if (it != users_.end()) unsubscribe(user, it->second, item.conversation_id);
    }
    for (const std::string& token_id : item.revoked_token_ids) close_token_sessions(token_id);
    if (item.token_cutoff) close_cut_off_sessions(*item.token_cutoff);
  }
  delivered_pos_ = std::max(delivered_pos_, batch.committed_pos);
}

void Hub::send_to_user(UserId user, const gateway::SharedFrame& frame, UserId except) {
  if (user == except) return;
  auto it = users_.find(user);
  if (it == users_.end()) return;
  for (gateway::Session* session : it->second.sessions) session->send(frame);
}

void Hub::send_to_subscribers(ConversationId conversation, const gateway::SharedFrame& frame, UserId except_user) {
  auto sub = subscribers_.find(conversation);
  if (sub == subscribers_.end()) return;
  for (UserId user : sub->second) send_to_user(user, frame, except_user);
}

bool Hub::is_subscribed(UserId user, ConversationId conversation) const {
  auto it = users_.find(user);
  if (it == users_.end() || !it->second.subscribed) return false;
  const auto& list = it->second.conversations;
  return std::find(list.begin(), list.end(), conversation) != list.end();
}

namespace {

gateway::SharedFrame typing_frame(ConversationId conversation, UserId user, bool started, int ttl_ms) {
  std::string json;
  JsonWriter w(json);
  w.begin_object().field("type", "typing").field("conversation_id", conversation).field("user_id", user);
  w.field("state", started ? "start" : "stop");
  if (started) w.field("expires_in_ms", ttl_ms);
  w.end_object();
  return gateway::make_text_frame(json);
}

}  // namespace

void Hub::typing(ConversationId conversation, UserId user, bool started, int ttl_ms, std::int64_t now_ms) {
  const TypingKey key{conversation, user};
  if (started) {
    typing_deadlines_[key] = now_ms + ttl_ms;
  } else if (typing_deadlines_.erase(key) == 0) {
    return;  // nobody here saw it start
  }
  send_to_subscribers(conversation, typing_frame(conversation, user, started, ttl_ms), user);
}

bool Hub::expire_typing(std::int64_t now_ms) {
  for (auto it = typing_deadlines_.begin(); it != typing_deadlines_.end();) {
    if (it->second > now_ms) {
      ++it;
      continue;
    }
    const TypingKey key = it->first;
    it = typing_deadlines_.erase(it);
    send_to_subscribers(key.conversation, typing_frame(key.conversation, key.user, false, 0), key.user);
  }
  return !typing_deadlines_.empty();
}

void Hub::deliver_presence(const std::vector<PresenceChange>& changes) {
  // One frame per local recipient, listing every change it may see.
  std::unordered_map<UserId, std::vector<const PresenceChange*>> per_recipient;
  for (const auto& change : changes)
    for (UserId peer : change.audience)
      if (users_.count(peer)) per_recipient[peer].push_back(&change);
  for (const auto& [recipient, list] : per_recipient) {
    std::string json;
    JsonWriter w(json);
    w.begin_object().field("type", "presence").key("users").begin_array();
    for (const PresenceChange* change : list) {
      w.begin_object().field("user_id", change->user_id).field("status", change->status);
      if (change->last_seen_ms > 0) w.field("last_seen", change->last_seen_ms);
      w.end_object();
    }
    w.end_array().end_object();
    send_to_user(recipient, gateway::make_text_frame(json));
  }
}

void Hub::deliver_reply(const ReplyTarget& target, const Reply& reply) {
  if (target.is_session()) {
    if (gateway::Session* session = find_session(target.session_id))
      session->send_text(reply_frame_json(reply, target.request_id));
  } else if (target.http) {
    target.http(reply);
  }
}

void Hub::close_token_sessions(const std::string& token_id) {
  std::vector<gateway::Session*> matching;
  for (auto& [id, session] : sessions_)
    if (session->context && chat_session(*session).token_id == token_id) matching.push_back(session);
  for (gateway::Session* session : matching) session->close(gateway::close_code::token_invalid, "token revoked");
}

void Hub::close_cut_off_sessions(const store::TokenCutoff& cutoff) {
  auto it = users_.find(cutoff.user_id);
  if (it == users_.end()) return;
  std::vector<gateway::Session*> matching;
  for (gateway::Session* session : it->second.sessions) {
    const ChatSession& state = chat_session(*session);
    if (cutoff_covers(cutoff, state.token_issued_at_s, state.token_id)) matching.push_back(session);
  }
  for (gateway::Session* session : matching) session->close(gateway::close_code::token_invalid, "token revoked");
}

void Hub::count_user_sessions(UserId user, std::unordered_map<std::string, int>& counts) const {
  auto it = users_.find(user);
  if (it == users_.end()) return;
  for (gateway::Session* session : it->second.sessions) ++counts[chat_session(*session).token_id];
}

void Hub::describe_sessions(std::vector<std::string>& out, unsigned node_id) const {
  for (const auto& [id, session] : sessions_) {
    const ChatSession& state = static_cast<const ChatSession&>(*session->context);
    if (state.user_id == 0) continue;
    JsonWriter w(out.emplace_back());
    w.begin_object();
    w.field("session_id", id).field("user_id", state.user_id).field("device", state.device);
    w.field("node_id", static_cast<std::int64_t>(node_id));
    w.field("remote", session->upgrade().remote).field("thread", static_cast<std::int64_t>(thread_index_));
    w.field("connected_at", state.connected_at_ms);
    w.end_object();
  }
}

void Hub::close_all(std::uint16_t code, std::string_view reason) {
  std::vector<gateway::Session*> all;
  all.reserve(sessions_.size());
  for (auto& [id, session] : sessions_) all.push_back(session);
  for (gateway::Session* session : all) session->close(code, reason);
}

}  // namespace parley::chat
