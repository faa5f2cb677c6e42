#include "client/client.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>

#include "client/media_json.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"

namespace parley::client {

namespace asio = boost::asio;

namespace {

// One parser per thread serves every client on it (simdjson keeps its buffers between parses).
simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}


Event parse_event(simdjson::dom::element e, bool keep_json) {
  Event event;
  event.conversation_id = int_of(e, "conversation_id");
  event.seq = int_of(e, "seq");
  event.pos = int_of(e, "pos");
  event.message_id = text_of(e, "id");
  event.sender_id = int_of(e, "sender_id");
  event.kind = text_of(e, "kind");
  event.text = text_of(e, "text");
  event.client_msg_id = text_of(e, "client_msg_id");
  event.ts = int_of(e, "ts");
  event.target_seq = int_of(e, "target_seq");
  event.reply_to = int_of(e, "reply_to");
  event.thread_root = int_of(e, "thread_root");
  event.emoji = text_of(e, "emoji");
  bool hidden = false;
  event.hidden = e["hidden"].get_bool().get(hidden) == simdjson::SUCCESS && hidden;
  event.attachments = parse_attachments(e);
  if (keep_json) event.json = simdjson::to_string(e);
  return event;
}

// The JSON of an own event rebuilt from its ack, in the shape of a pushed event.
std::string own_event_json(const Event& e) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("conversation_id", e.conversation_id).field("seq", e.seq).field("pos", e.pos);
  w.field("id", e.message_id).field("sender_id", e.sender_id).field("kind", e.kind).field("ts", e.ts);
  w.field("text", e.text).field("client_msg_id", e.client_msg_id);
  if (e.reply_to > 0) w.field("reply_to", e.reply_to);
  if (e.thread_root > 0) w.field("thread_root", e.thread_root);
  if (!e.attachments.empty()) {
    w.key("attachments").begin_array();
    for (const Media& m : e.attachments) {
      w.begin_object().field("id", m.id).field("file_name", m.file_name).field("size", m.size);
      w.field("content_type", m.content_type);
      if (m.width > 0) w.field("width", m.width).field("height", m.height);
      w.field("thumbnail", m.thumbnail);
      if (!m.preview.empty()) w.field("preview", m.preview);
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
  return out;
}

Notice parse_notice(simdjson::dom::element doc, std::string_view type, std::string_view text) {
  Notice notice;
  notice.type = std::string(type);
  notice.json = std::string(text);
  if (type == "conversation") {
    simdjson::dom::element conversation;
    if (doc["conversation"].get(conversation) == simdjson::SUCCESS) notice.conversation_id = int_of(conversation, "id");
    return notice;
  }
  notice.conversation_id = int_of(doc, "conversation_id");
  notice.user_id = int_of(doc, "user_id");
  notice.delivered_seq = int_of(doc, "delivered_seq");
  std::int64_t read_seq = 0;
  if (doc["read_seq"].get_int64().get(read_seq) == simdjson::SUCCESS) notice.read_seq = read_seq;
  notice.unread_count = int_of(doc, "unread_count");
  notice.mention_count = int_of(doc, "mention_count");
  notice.state = text_of(doc, "state");
  notice.expires_in_ms = int_of(doc, "expires_in_ms");
  notice.muted_until = int_of(doc, "muted_until");
  notice.pin_rank = int_of(doc, "pin_rank");
  notice.cleared_seq = int_of(doc, "cleared_seq");
  notice.seq = int_of(doc, "seq");
  bool flag = false;
  if (doc["archived"].get_bool().get(flag) == simdjson::SUCCESS) notice.archived = flag;
  if (doc["marked_unread"].get_bool().get(flag) == simdjson::SUCCESS) notice.marked_unread = flag;
  simdjson::dom::array users;
  if (doc["users"].get_array().get(users) == simdjson::SUCCESS)
    for (simdjson::dom::element u : users)
      notice.users.push_back(PresenceEntry{int_of(u, "user_id"), text_of(u, "status"), int_of(u, "last_seen")});
  return notice;
}

bool retryable(const std::string& code) {
  return code == "rate_limited" || code == "unavailable" || code == "disconnected" || code == "timeout" ||
         code == "internal";
}

Reply client_error(const char* code, std::string message) {
  Reply r;
  r.type = "error";
  r.code = code;
  r.message = std::move(message);
  return r;
}

}  // namespace

const char* state_name(State state) {
  switch (state) {
    case State::idle: return "idle";
    case State::connecting: return "connecting";
    case State::syncing: return "syncing";
    case State::live: return "live";
    case State::stopped: return "stopped";
  }
  return "idle";
}

std::shared_ptr<Client> Client::create(asio::io_context& io, ClientOptions options) {
  return std::shared_ptr<Client>(new Client(io, std::move(options)));
}

Client::Client(asio::io_context& io, ClientOptions options)
    : io_(io),
      options_(std::move(options)),
      random_(options_.seed ? options_.seed : std::random_device{}()),
      reconnect_timer_(io),
      tick_timer_(io),
      cursor_(options_.cursor) {}

int Client::backoff_delay_ms(int attempt, int base_ms, int cap_ms, std::mt19937_64& random) {
  const int shift = std::min(attempt, 30);
  const std::int64_t ceiling = std::min<std::int64_t>(cap_ms, static_cast<std::int64_t>(base_ms) << shift);
  return static_cast<int>(std::uniform_int_distribution<std::int64_t>(0, std::max<std::int64_t>(ceiling, 0))(random));
}

void Client::start() {
  if (state_ != State::idle) return;
  arm_tick();
  connect();
}

void Client::stop() {
  if (state_ == State::stopped) return;
  set_state(State::stopped);
  reconnect_timer_.cancel();
  tick_timer_.cancel();
  if (connection_) connection_->close(1000);
  auto requests = std::move(requests_);
  requests_.clear();
  for (auto& [id, request] : requests)
    if (!request.is_send && request.done) request.done(client_error("stopped", "the client was stopped"));
  auto sends = std::move(sends_);
  sends_.clear();
  for (auto& send : sends)
    if (send.done) send.done(client_error("stopped", "the client was stopped before the server acknowledged"));
}

void Client::set_state(State state) {
  if (state_ == state) return;
  state_ = state;
  if (on_state) on_state(state);
}

void Client::connect() {
  if (state_ == State::stopped) return;
  set_state(State::connecting);
  std::weak_ptr<Client> weak = weak_from_this();
  WsConnection::Handlers handlers;
  handlers.on_open = [weak] {
    if (auto self = weak.lock()) self->on_open();
  };
  handlers.on_text = [weak](std::string_view text) {
    if (auto self = weak.lock()) self->on_text(text);
  };
  handlers.on_close = [weak](std::uint16_t code, const std::string& reason) {
    if (auto self = weak.lock()) self->on_closed(code, reason);
  };
  connection_ = WsConnection::create(io_, options_.endpoint, std::move(handlers));
  connection_->start();
}

void Client::on_open() {
  std::string fields;
  JsonWriter w(fields);
  w.field("token", options_.token);
  if (!options_.device.empty()) w.field("device", options_.device);
  send_request("hello", fields, [this](const Reply& reply) { on_hello_reply(reply); }, false);
}

void Client::on_hello_reply(const Reply& reply) {
  if (!reply.ok) {
    // The server closes the connection (4003) right after; on_closed decides what next.
    last_refusal_ = reply;
    if (on_refused) on_refused(reply);
    return;
  }
  last_refusal_ = Reply{};
  simdjson::dom::element doc;
  if (thread_parser().parse(reply.json).get(doc) != simdjson::SUCCESS) return drop_connection();
  user_id_ = int_of(doc, "user_id");
  const Pos hello_cursor = int_of(doc, "cursor");
  simdjson::dom::element presence;
  heartbeat_ms_ = doc["presence"].get(presence) == simdjson::SUCCESS ? static_cast<int>(int_of(presence, "heartbeat_ms")) : 0;
  last_ping_ms_ = monotonic_ms();  // the hello counts as a heartbeat
  attempt_ = 0;
  if (connected_once_) ++reconnects_;
  connected_once_ = true;
  if (on_hello) on_hello(reply);
  if (!cursor_) {
    cursor_ = hello_cursor;  // a new device: everything after the hello cursor arrives live
    go_live();
    return;
  }
  set_state(State::syncing);
  sync_page();
}

void Client::sync_page() {
  std::string fields;
  JsonWriter(fields).field("cursor", cursor()).field("limit", options_.sync_page);
  send_request("sync", fields, [this](const Reply& reply) {
    if (!reply.ok) {
      if (reply.code != "disconnected" && reply.code != "stopped") drop_connection();  // retry after reconnecting
      return;
    }
    simdjson::dom::element doc;
    if (thread_parser().parse(reply.json).get(doc) != simdjson::SUCCESS) return drop_connection();
    simdjson::dom::array events;
    bool has_more = false;
    if (doc["events"].get_array().get(events) != simdjson::SUCCESS ||
        doc["has_more"].get_bool().get(has_more) != simdjson::SUCCESS)
      return drop_connection();
    std::vector<Event> page;
    for (simdjson::dom::element e : events) page.push_back(parse_event(e, options_.keep_event_json));
    for (auto& event : page) {
      surface(std::move(event));
      if (state_ != State::syncing) return;  // stopped from on_event
    }
    if (has_more) sync_page();
    else go_live();
  }, false);
}

void Client::go_live() {
  set_state(State::live);
  // Live events that arrived during the sync: those the sync already returned are dropped.
  std::sort(held_.begin(), held_.end(), [](const Event& a, const Event& b) { return a.pos < b.pos; });
  auto held = std::move(held_);
  held_.clear();
  for (auto& event : held) {
    surface(std::move(event));
    if (state_ != State::live) return;  // stopped from on_event
  }
  transmit_pending();
}

void Client::surface(Event event) {
  if (cursor_ && event.pos <= *cursor_) {
    ++duplicates_;
    return;
  }
  auto [it, inserted] = last_seq_.try_emplace(event.conversation_id, event.seq);
  if (!inserted) {
    // Joining (again) starts a new visible window; anything else must continue the sequence.
    const bool new_window = event.kind == "member.added" || event.kind == "member.joined";
    if (event.seq != it->second + 1 && !new_window) ++gaps_;
    it->second = event.seq;
  }
  cursor_ = event.pos;
  if (on_event) on_event(event);
}

void Client::on_text(std::string_view text) {
  simdjson::dom::element doc;
  if (thread_parser().parse(text.data(), text.size()).get(doc) != simdjson::SUCCESS) return;
  std::string_view type;
  if (doc["type"].get_string().get(type) != simdjson::SUCCESS) return;
  if (type == "event") {
    simdjson::dom::element e;
    if (doc["event"].get(e) != simdjson::SUCCESS) return;
    Event event = parse_event(e, options_.keep_event_json);
    if (state_ == State::syncing) held_.push_back(std::move(event));
    else if (state_ == State::live) surface(std::move(event));
    return;
  }
  if (type != "ok" && type != "ack" && type != "pong" && type != "error") {
    // Pushed only to authenticated sessions; ephemeral, so not held back during a sync.
    if ((state_ == State::syncing || state_ == State::live) && on_notice) on_notice(parse_notice(doc, type, text));
    return;
  }
  Reply reply;
  reply.type = std::string(type);
  reply.ok = type == "ok" || type == "ack" || type == "pong";
  reply.code = text_of(doc, "code");
  reply.message = text_of(doc, "message");
  reply.retry_after_ms = int_of(doc, "retry_after_ms");
  reply.json = std::string(text);
  std::string id = text_of(doc, "id");
  handle_reply(std::move(reply), id);
}

void Client::handle_reply(Reply reply, const std::string& id) {
  auto it = requests_.find(id);
  if (it == requests_.end()) return;  // an error without id (e.g. malformed) or a stale reply
  PendingRequest request = std::move(it->second);
  requests_.erase(it);
  if (request.done) request.done(reply);
}

std::string Client::send_request(const std::string& type, const std::string& fields, ReplyHandler done, bool is_send) {
  const std::string id = "c" + std::to_string(next_id_++);
  std::string frame;
  JsonWriter w(frame);
  w.begin_object().field("type", type).field("id", id);
  if (!fields.empty()) w.raw(fields);
  w.end_object();
  requests_[id] = PendingRequest{std::move(done), monotonic_ms() + options_.request_timeout_ms, is_send};
  connection_->send_text(frame);
  last_sent_ms_ = monotonic_ms();
  return id;
}

void Client::request(const std::string& type, const std::string& fields, ReplyHandler done) {
  if (state_ != State::live || !connection_) {
    if (done) done(client_error("disconnected", "not connected"));
    return;
  }
  send_request(type, fields, std::move(done), false);
}

void Client::send(ConversationId conversation, std::string text, ReplyHandler done, std::string client_msg_id) {
  SendOptions options;
  options.client_msg_id = std::move(client_msg_id);
  send(conversation, std::move(text), std::move(options), std::move(done));
}

void Client::send_to_user(UserId user, std::string text, ReplyHandler done, std::string client_msg_id) {
  SendOptions options;
  options.client_msg_id = std::move(client_msg_id);
  send_to_user(user, std::move(text), std::move(options), std::move(done));
}

void Client::send(ConversationId conversation, std::string text, SendOptions options, ReplyHandler done) {
  PendingSend send;
  send.conversation_id = conversation;
  send.text = std::move(text);
  send.reply_to_seq = options.reply_to_seq;
  send.thread_root_seq = options.thread_root_seq;
  send.attachments = std::move(options.attachments);
  send.done = std::move(done);
  send.client_msg_id = std::move(options.client_msg_id);
  enqueue(std::move(send));
}

void Client::send_to_user(UserId user, std::string text, SendOptions options, ReplyHandler done) {
  PendingSend send;
  send.to_user_id = user;
  send.text = std::move(text);
  send.reply_to_seq = options.reply_to_seq;
  send.thread_root_seq = options.thread_root_seq;
  send.attachments = std::move(options.attachments);
  send.done = std::move(done);
  send.client_msg_id = std::move(options.client_msg_id);
  enqueue(std::move(send));
}

void Client::enqueue(PendingSend send) {
  if (send.client_msg_id.empty()) send.client_msg_id = new_client_msg_id();
  sends_.push_back(std::move(send));
  if (state_ == State::live) transmit(sends_.back());
}

std::string Client::new_client_msg_id() {
  // Time-ordered (milliseconds first, like UUIDv7), then a counter and randomness: unique, and
  // cheap for the server's dedup index, which then grows at its end.
  char id[48];
  std::snprintf(id, sizeof id, "%011llx%06x%012llx", static_cast<unsigned long long>(wall_clock_ms()),
                static_cast<unsigned>(next_id_++ & 0xFFFFFF), static_cast<unsigned long long>(random_() & 0xFFFFFFFFFFFFULL));
  return id;
}

void Client::transmit(PendingSend& send) {
  std::string fields;
  JsonWriter w(fields);
  if (send.to_user_id) w.field("to_user_id", send.to_user_id);
  else w.field("conversation_id", send.conversation_id);
  w.field("client_msg_id", send.client_msg_id).field("text", send.text);
  if (send.reply_to_seq > 0) w.field("reply_to_seq", send.reply_to_seq);
  if (send.thread_root_seq > 0) w.field("thread_root_seq", send.thread_root_seq);
  if (!send.attachments.empty()) {
    w.key("attachments").begin_array();
    for (const Media& m : send.attachments) w.begin_object().field("media_id", m.id).end_object();
    w.end_array();
  }
  const std::string cmid = send.client_msg_id;
  send.in_flight_id = send_request("send", fields, [this, cmid](const Reply& reply) { on_send_reply(cmid, reply); }, true);
}

void Client::transmit_pending() {
  for (auto& send : sends_)
    if (send.in_flight_id.empty()) transmit(send);
}

void Client::on_send_reply(const std::string& client_msg_id, const Reply& reply) {
  auto it = std::find_if(sends_.begin(), sends_.end(), [&](const auto& s) { return s.client_msg_id == client_msg_id; });
  if (it == sends_.end()) return;
  it->in_flight_id.clear();
  if (!reply.ok && retryable(reply.code)) return;  // stays pending: the next tick or reconnect resends it
  PendingSend send = std::move(*it);
  sends_.erase(it);
  if (reply.ok) {
    simdjson::dom::element doc;
    if (thread_parser().parse(reply.json).get(doc) == simdjson::SUCCESS) {
      // The ack stands in for the event of our own message.
      Event own;
      own.conversation_id = int_of(doc, "conversation_id");
      own.seq = int_of(doc, "seq");
      own.pos = int_of(doc, "pos");
      own.message_id = text_of(doc, "message_id");
      own.sender_id = user_id_;
      own.kind = "text";
      own.text = send.text;
      own.client_msg_id = send.client_msg_id;
      own.ts = int_of(doc, "ts");
      own.reply_to = send.reply_to_seq;
      own.thread_root = send.thread_root_seq;
      own.attachments = std::move(send.attachments);
      if (options_.keep_event_json) own.json = own_event_json(own);
      surface(std::move(own));
    }
  }
  if (send.done) send.done(reply);
}

void Client::on_closed(std::uint16_t code, const std::string& reason) {
  connection_.reset();
  last_close_code_ = code;
  held_.clear();  // the next sync returns them again
  auto requests = std::move(requests_);
  requests_.clear();
  for (auto& send : sends_) send.in_flight_id.clear();
  for (auto& [id, request] : requests)
    if (!request.is_send && request.done) request.done(client_error("disconnected", "the connection closed"));
  if (on_disconnect) on_disconnect(code, reason);
  if (state_ == State::stopped) return;
  // Refused credentials will not get better by retrying; a busy server ("unavailable") will.
  const bool refused = code == 4003 && last_refusal_.code != "unavailable" && last_refusal_.code != "internal";
  const bool fatal = refused || code == 4004;
  if (fatal || !options_.reconnect) {
    stop();
    return;
  }
  schedule_reconnect();
}

void Client::schedule_reconnect() {
  set_state(State::connecting);
  const int delay = backoff_delay_ms(attempt_++, options_.backoff_base_ms, options_.backoff_cap_ms, random_);
  reconnect_timer_.expires_after(std::chrono::milliseconds(delay));
  reconnect_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->connect();
  });
}

void Client::drop_connection() {
  if (connection_) connection_->abort();
}

void Client::arm_tick() {
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->tick();
  });
}

void Client::tick() {
  if (state_ == State::stopped) return;
  const std::int64_t now = monotonic_ms();
  for (const auto& [id, request] : requests_) {
    if (request.deadline_ms < now) {
      drop_connection();  // a connection that stopped answering: reconnect (sends are retried)
      break;
    }
  }
  if (state_ == State::live && connection_) {
    transmit_pending();  // sends refused for a retryable reason go again
    const bool idle = now - last_sent_ms_ >= options_.ping_interval_ms;
    // Ticks come once a second: go a tick early rather than late.
    const bool heartbeat_due = heartbeat_ms_ > 0 && now - last_ping_ms_ + 1000 >= heartbeat_ms_;
    if (idle || heartbeat_due) {
      send_request("ping", "", {}, false);
      last_ping_ms_ = now;
    }
  }
  arm_tick();
}

}  // namespace parley::client
