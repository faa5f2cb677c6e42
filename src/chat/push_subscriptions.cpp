// push.subscribe, push.subscriptions, push.unsubscribe (docs/protocol.md, "Push
// notifications"; issue 15): where to notify a user's device while it has no live session.
// A subscription belongs to the sign-in (token) that registered it and goes with it (logout,
// revocation, expiry: the store deletes it with the token). Checks that need no store run
// here, on the I/O thread; the per-user limit is checked on the writer thread, in the batch
// that stores the subscription, so two requests at once cannot both pass it.
#include <simdjson.h>

#include "chat/service.hpp"
#include "core/base64.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"

namespace parley::chat {
namespace {

bool by_token(std::string_view kind) { return kind == "fcm" || kind == "apns"; }

// An absolute http(s) URL with a host, no spaces or control characters: what a push service
// or webhook endpoint can be. http:// only with push.allow_http_endpoints.
Status check_endpoint_url(std::string_view url, bool allow_http) {
  const bool https = url.rfind("https://", 0) == 0;
  const bool http = url.rfind("http://", 0) == 0;
  if (!https && !(http && allow_http))
    return field_error(ErrorCode::invalid_field, "endpoint",
                       allow_http ? "'endpoint' must be an http:// or https:// URL" : "'endpoint' must be an https:// URL");
  const std::string_view rest = url.substr(https ? 8 : 7);
  const std::string_view host = rest.substr(0, rest.find_first_of("/?#"));
  if (host.empty() || host.find('@') != std::string_view::npos)
    return field_error(ErrorCode::invalid_field, "endpoint", "'endpoint' must name a host (and no user name)");
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7F || c >= 0x80)
      return field_error(ErrorCode::invalid_field, "endpoint", "'endpoint' must be a URL without spaces or controls");
  return Ok{};
}

// FCM registration tokens are printable ASCII; APNs device tokens are hexadecimal.
Status check_device_token(std::string_view kind, std::string_view token) {
  for (unsigned char c : token) {
    const bool ok = kind == "apns" ? std::isxdigit(c) != 0 : (c > 0x20 && c < 0x7F);
    if (!ok)
      return field_error(ErrorCode::invalid_field, "token",
                         kind == "apns" ? "'token' must be hexadecimal" : "'token' must be printable ASCII without spaces");
  }
  return Ok{};
}

// keys.p256dh: an uncompressed P-256 point (65 bytes, 0x04 first); keys.auth: 16 bytes; both
// base64url (RFC 8291). Required for Web Push; for the others they are the key the payload
// is sealed to (push.content = encrypted).
Status check_keys(const protocol::PushSubscribeCmd& c) {
  if (c.p256dh.empty() != c.auth.empty())
    return field_error(ErrorCode::missing_field, c.p256dh.empty() ? "keys.p256dh" : "keys.auth",
                       "'keys' needs both p256dh and auth");
  if (c.p256dh.empty()) {
    if (c.kind == "webpush") return field_error(ErrorCode::missing_field, "keys.p256dh", "'keys' is required for webpush");
    return Ok{};
  }
  const auto point = base64url_decode(c.p256dh);
  if (!point || point->size() != 65 || (*point)[0] != '\x04')
    return field_error(ErrorCode::invalid_field, "keys.p256dh",
                       "'keys.p256dh' must be an uncompressed P-256 public key (65 bytes), base64url");
  const auto auth = base64url_decode(c.auth);
  if (!auth || auth->size() != 16)
    return field_error(ErrorCode::invalid_field, "keys.auth", "'keys.auth' must be 16 bytes, base64url");
  return Ok{};
}

std::string apns_options(const protocol::PushSubscribeCmd& c) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("topic", c.topic).field("environment", c.environment).end_object();
  return out;
}

void write_subscription(JsonWriter& w, const store::PushSubscriptionRecord& p, const std::string& caller_token_id) {
  w.begin_object().field("id", p.id).field("kind", p.kind);
  w.field(by_token(p.kind) ? "token" : "endpoint", p.endpoint);
  if (p.kind == "apns" && !p.options.empty()) {
    simdjson::dom::parser parser;
    simdjson::dom::element options;
    if (parser.parse(p.options).get(options) == simdjson::SUCCESS) {
      std::string_view text;
      if (options["topic"].get_string().get(text) == simdjson::SUCCESS) w.field("topic", text);
      if (options["environment"].get_string().get(text) == simdjson::SUCCESS) w.field("environment", text);
    }
  }
  w.field("encrypted", !p.p256dh.empty());
  w.field("created_at", p.created_at_ms);
  w.field("this_device", p.token_id == caller_token_id);
  w.end_object();
}

class PushSubscribeOp final : public ChatOp {
 public:
  PushSubscribeOp(ChatService& s, const Identity& caller, ReplyTarget t, protocol::PushSubscribeCmd&& c)
      : ChatOp(s, caller.user_id, std::move(t)) {
    record_.user_id = caller.user_id;
    record_.token_id = caller.token_id;
    record_.kind = std::move(c.kind);
    record_.endpoint = std::move(c.endpoint);
    record_.p256dh = std::move(c.p256dh);
    record_.auth = std::move(c.auth);
    if (record_.kind == "apns") record_.options = apns_options(c);
    record_.created_at_ms = wall_clock_ms();
  }

 protected:
  Status run(store::WriteTxn& txn) override {
    const int limit = service_.config().push.max_subscriptions_per_user;
    int others = 0;
    std::int64_t created_at = record_.created_at_ms;
    for (const auto& existing : txn.push_subscriptions(caller_)) {
      if (existing.kind == record_.kind && existing.endpoint == record_.endpoint) created_at = existing.created_at_ms;
      else ++others;
    }
    if (others >= limit)  // replacing one's own subscription never counts against the limit
      return make_error(ErrorCode::limit_reached,
                        "too many push subscriptions (push.max_subscriptions_per_user = " + std::to_string(limit) + ")");
    record_.id = txn.save_push_subscription(record_);
    record_.created_at_ms = created_at;
    JsonWriter w(reply_.fields);
    w.key("subscription");
    write_subscription(w, record_, record_.token_id);
    return Ok{};
  }

 private:
  store::PushSubscriptionRecord record_;
};

class PushUnsubscribeOp final : public ChatOp {
 public:
  PushUnsubscribeOp(ChatService& s, UserId caller, ReplyTarget t, std::int64_t id)
      : ChatOp(s, caller, std::move(t)), id_(id) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    // Another user's id is as unknown as none: ids are not to be probed.
    if (!txn.delete_push_subscription(caller_, id_))
      return field_error(ErrorCode::not_found, "subscription_id", "no such push subscription");
    return Ok{};
  }

 private:
  std::int64_t id_;
};

}  // namespace

bool ChatService::handle_push_subscriptions(const Identity& caller, protocol::Command& command,
                                            const ReplyTarget& target) {
  std::unique_ptr<ChatOp> op;
  if (auto* subscribe = std::get_if<protocol::PushSubscribeCmd>(&command)) {
    Status checked = by_token(subscribe->kind) ? check_device_token(subscribe->kind, subscribe->endpoint)
                                               : check_endpoint_url(subscribe->endpoint, config_.push.allow_http_endpoints);
    if (checked) checked = check_keys(*subscribe);
    if (!checked) {
      reply_on_thread(target, Reply::failure(checked.take_error()));
      return true;
    }
    op = std::make_unique<PushSubscribeOp>(*this, caller, target, std::move(*subscribe));
  } else if (auto* unsubscribe = std::get_if<protocol::PushUnsubscribeCmd>(&command)) {
    op = std::make_unique<PushUnsubscribeOp>(*this, caller.user_id, target, unsubscribe->subscription_id);
  } else if (std::holds_alternative<protocol::PushSubscriptionsCmd>(command)) {
    auto read = [this, user = caller.user_id, token_id = caller.token_id, target](store::ReadTxn* txn) {
      if (!txn)
        return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the store could not be read; retry"));
      Reply reply;
      JsonWriter w(reply.fields);
      w.key("subscriptions").begin_array();
      for (const auto& p : txn->push_subscriptions(user)) write_subscription(w, p, token_id);
      w.end_array();
      reply_on_thread(target, std::move(reply));
    };
    if (!readers_->submit(std::move(read)))
      reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the read queue is full; retry"));
    return true;
  } else {
    return false;
  }
  if (!submit_write(std::move(op)))
    reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the write queue is full; retry"));
  return true;
}

}  // namespace parley::chat
