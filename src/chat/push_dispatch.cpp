#include "chat/push_dispatch.hpp"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <unordered_map>

#include "chat/notification_settings.hpp"
#include "chat/service.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "core/base64.hpp"
#include "core/metrics_text.hpp"
#include "core/text.hpp"
#include "push/http_sender.hpp"
#include "push/providers.hpp"
#include "push/vapid.hpp"
#include "push/web_push_encrypt.hpp"

namespace parley::chat {
namespace {

constexpr std::size_t kMaxTextBytes = 1000;  // of a message's text in a notification
constexpr std::size_t kMaxAlertBytes = 200;  // of the text in an alert the platform shows
const std::string kFull = "full", kNone = "none";  // push.content values

// A string member of a small JSON object (a reaction's meta, a subscription's options); "" if
// there is none.
std::string string_field(const std::string& json, const char* key) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view value;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS || doc[key].get_string().get(value) != simdjson::SUCCESS)
    return {};
  return std::string(value);
}

// A message's text as it reads now (after its last edit).
const std::string& current_text(const store::EventRecord& e) { return e.edited_body.empty() ? e.body : e.edited_body; }

// Claims due jobs and reads what deciding them needs, in one writer batch.
class ClaimPushOp final : public ChatOp {
 public:
  using Done = std::function<void(std::vector<PushContext>, bool full)>;
  ClaimPushOp(ChatService& s, int limit, Done done) : ChatOp(s, 0, ReplyTarget{}), limit_(limit), done_(std::move(done)) {
    requester_.http = [claimed = claimed_, limit, done = done_](const Reply& reply) {
      const bool full = static_cast<int>(claimed->size()) >= limit;
      done(reply.error ? std::vector<PushContext>{} : std::move(*claimed), !reply.error && full);
    };
  }
  void abort(const Error&) override { done_({}, false); }

 protected:
  Status run(store::WriteTxn& txn) override {
    const std::int64_t now = wall_clock_ms();
    std::unordered_map<UserId, store::NotificationSettings> do_not_disturb;  // one read per user
    for (auto& job : txn.claim_push_jobs(now, now + service_.config().push.lease_ms, limit_)) {
      PushContext c;
      c.member = txn.member(job.key.conversation_id, job.user_id);
      c.conversation = txn.conversation(job.key.conversation_id);
      c.event = txn.event(job.key.conversation_id, job.seq);
      if (c.event && c.event->kind == EventKind::reaction_added)
        c.target = txn.event(job.key.conversation_id, c.event->target_seq);
      if (c.event)
        if (auto sender = txn.user(c.event->sender_id)) c.sender_name = sender->display_name;
      auto known = do_not_disturb.find(job.user_id);
      if (known == do_not_disturb.end())
        known = do_not_disturb.emplace(job.user_id, txn.notification_settings(job.user_id)).first;
      c.do_not_disturb = known->second;
      c.job = std::move(job);
      claimed_->push_back(std::move(c));
    }
    return Ok{};
  }

 private:
  int limit_;
  Done done_;
  std::shared_ptr<std::vector<PushContext>> claimed_ = std::make_shared<std::vector<PushContext>>();
};

}  // namespace

namespace {

// Writes the outcomes of one round.
class PushOutcomesOp final : public ChatOp {
 public:
  using Outcome = PushDispatch::Outcome;
  PushOutcomesOp(ChatService& s, std::vector<Outcome> outcomes)
      : ChatOp(s, 0, ReplyTarget{}), outcomes_(std::move(outcomes)) {}
  void abort(const Error&) override {}  // the jobs come back when their lease ends

 protected:
  Status run(store::WriteTxn& txn) override {
    const std::int64_t now = wall_clock_ms();
    for (const auto& o : outcomes_) {
      switch (o.kind) {
        case Outcome::Kind::finish: txn.finish_push_job(o.key, o.seq, o.count, now); break;
        case Outcome::Kind::retry: txn.defer_push_job(o.key, o.due_at_ms, o.attempts); break;
        case Outcome::Kind::gone: txn.delete_push_subscription(o.user_id, o.key.subscription_id); break;
      }
    }
    return Ok{};
  }

 private:
  std::vector<Outcome> outcomes_;
};

}  // namespace

const char* const kPushSkipReasons[kPushSkipReasonCount] = {"not_member", "read",    "muted",   "do_not_disturb",
                                                           "no_event",   "level",   "deleted", "delivered"};

PushDecision decide_push(const PushContext& c, bool attentive, std::int64_t now_ms, int grace_ms) {
  const auto& job = c.job;
  if (!c.member || !c.member->active()) return {PushVerdict::drop, 0, "not_member"};
  if (c.member->read_seq >= job.seq) return {PushVerdict::drop, 0, "read"};
  const std::int64_t muted = c.member->settings.muted_until;
  if (muted == -1 || muted > now_ms) return {PushVerdict::drop, 0, "muted"};
  if (quiet_now(c.do_not_disturb, now_ms)) return {PushVerdict::drop, 0, "do_not_disturb"};
  if (!c.event) return {PushVerdict::drop, 0, "no_event"};
  store::NotifyLevel level = c.member->settings.notify;
  if (level == store::NotifyLevel::kind_default)
    level = c.conversation && c.conversation->kind == ConversationKind::channel ? store::NotifyLevel::mentions
                                                                                : store::NotifyLevel::all;
  if (level == store::NotifyLevel::none) return {PushVerdict::drop, 0, "level"};
  // A reaction to the user's own message is about them, as a mention is.
  if (level == store::NotifyLevel::mentions && !c.job.mention && c.event->kind != EventKind::reaction_added)
    return {PushVerdict::drop, 0, "level"};
  if (c.event->deleted_at_ms != 0 || (c.target && c.target->deleted_at_ms != 0)) return {PushVerdict::drop, 0, "deleted"};
  if (attentive) {
    // Someone is at a screen: their live session shows it, unless it never arrived there (the
    // connection dropped right after the send): then the phone still hears of it.
    const std::int64_t until = job.first_at_ms + grace_ms;
    if (now_ms < until) return {PushVerdict::wait, until, ""};
    if (c.member->delivered_seq >= job.seq) return {PushVerdict::drop, 0, "delivered"};
  }
  return {PushVerdict::send, 0, ""};
}

std::string push_payload(const PushContext& c, const std::string& content) {
  std::string out;
  JsonWriter w(out);
  const bool reaction = c.event && c.event->kind == EventKind::reaction_added;
  w.begin_object();
  w.field("type", reaction ? "reaction" : "message");
  w.field("conversation_id", c.job.key.conversation_id);
  w.field("seq", c.job.seq);
  w.field("count", c.job.count);
  w.field("mention", c.job.mention);
  if (c.event) w.field("ts", c.event->created_at_ms);
  if (content != "none" && c.event && c.conversation) {
    w.key("sender").begin_object().field("id", c.event->sender_id).field("name", c.sender_name).end_object();
    w.key("conversation").begin_object();
    w.field("kind", conversation_kind_name(c.conversation->kind));
    if (c.conversation->kind != ConversationKind::direct) w.field("title", c.conversation->title);
    w.end_object();
    if (content == "full") {
      if (reaction) {
        w.field("emoji", string_field(c.event->meta_json, "emoji"));
        if (c.target) w.field("text", utf8_prefix(current_text(*c.target), kMaxTextBytes));
      } else {
        w.field("text", utf8_prefix(current_text(*c.event), kMaxTextBytes));
      }
    }
  }
  w.end_object();
  return out;
}

std::pair<std::string, std::string> push_alert(const PushContext& c, const std::string& content) {
  if (content == "none" || !c.event || !c.conversation) return {"New message", ""};
  const bool direct = c.conversation->kind == ConversationKind::direct;
  std::string title = direct || c.conversation->title.empty() ? c.sender_name : c.conversation->title;
  std::string body;
  const bool reaction = c.event->kind == EventKind::reaction_added;
  if (content == "full") {
    const store::EventRecord* shown = reaction ? (c.target ? &*c.target : nullptr) : &*c.event;
    const std::string text = shown ? utf8_prefix(current_text(*shown), kMaxAlertBytes) : std::string();
    body = reaction ? "reacted " + string_field(c.event->meta_json, "emoji") + " to: " + text : text;
  } else {
    body = reaction ? "reacted to your message" : "New message";
  }
  if (!direct && !reaction) body = c.sender_name + ": " + body;
  if (c.job.count > 1) body += " (+" + std::to_string(c.job.count - 1) + " more)";
  return {title, body};
}

std::int64_t push_retry_delay_ms(const PushConfig& config, int attempts, std::int64_t retry_after_s) {
  std::int64_t delay = config.retry_min_ms;
  for (int i = 1; i < attempts && delay < config.retry_max_ms; ++i) delay *= 2;
  delay = std::min<std::int64_t>(delay, config.retry_max_ms);
  if (retry_after_s > 0) delay = std::max(delay, std::min<std::int64_t>(retry_after_s * 1000, 24LL * 3600 * 1000));
  return delay;
}

PushDispatch::PushDispatch(ChatService& service) : service_(service), config_(service.config().push) {
  push::HttpSenderOptions options;
  options.timeout_ms = config_.timeout_ms;
  options.max_in_flight = config_.max_in_flight;
  options.max_in_flight_per_host = config_.max_in_flight_per_host;
  options.allow_private_networks = config_.allow_private_networks;
  sender_ = std::make_unique<push::HttpSender>(options);
}

PushDispatch::~PushDispatch() { stop(); }

void PushDispatch::start() {
  const Config& config = service_.config();
  auto key = !config_.vapid_private_key.empty()
                 ? (config_.vapid_private_key.find("-----BEGIN") != std::string::npos
                        ? push::VapidKey::from_pem(config_.vapid_private_key)
                        : push::VapidKey::from_base64url_scalar(config_.vapid_private_key))
                 : push::VapidKey::load_or_create(std::filesystem::path(config.server.data_dir) / "vapid.pem");
  if (!key) throw std::runtime_error("push.vapid_private_key: " + key.error().message);
  vapid_ = std::make_unique<push::VapidKey>(std::move(*key));
  if (!config_.fcm.credentials_file.empty()) {
    auto fcm = push::FcmAuth::from_file(config_.fcm.credentials_file);
    if (!fcm) throw std::runtime_error(fcm.error().message);
    fcm_ = std::make_unique<push::FcmAuth>(std::move(*fcm));
  }
  if (!config_.apns.key_file.empty()) {
    auto apns = push::ApnsAuth::from_file(config_.apns.key_file, config_.apns.key_id, config_.apns.team_id);
    if (!apns) throw std::runtime_error(apns.error().message);
    apns_ = std::make_unique<push::ApnsAuth>(std::move(*apns));
  }
  thread_ = std::thread([this] {
    name_this_thread("push");
    run();
  });
}

const std::string& PushDispatch::vapid_public_key() const {
  static const std::string none;
  return vapid_ ? vapid_->public_key_base64url() : none;
}

std::optional<std::string> PushDispatch::seal(const PushContext& c, std::string_view plaintext) const {
  const auto& sub = c.job.subscription;
  const auto p256dh = base64url_decode(sub.p256dh);
  const auto auth = base64url_decode(sub.auth);
  if (!p256dh || !auth) return std::nullopt;
  auto body = push::web_push_encrypt(plaintext, *p256dh, *auth);
  if (!body) {
    spdlog::warn("push.encrypt_failed subscription={} error=\"{}\"", sub.id, body.error().message);
    return std::nullopt;
  }
  return std::move(*body);
}

PushDispatch::Made PushDispatch::make_request(const PushContext& c, push::HttpRequest& request) {
  const auto& sub = c.job.subscription;
  // push.content = encrypted: the full notification travels only sealed to the key the device
  // registered (RFC 8291); what the push service itself reads is the `none` object.
  const bool sealing = config_.content == "encrypted";
  const bool has_keys = !sub.p256dh.empty();
  const bool web_push_shape = sub.kind == "webpush" || (sub.kind == "webhook" && sealing && has_keys);
  const std::string& content = !sealing ? config_.content : web_push_shape ? kFull : kNone;
  const std::string payload = push_payload(c, content);
  std::string sealed;  // fcm and apns: base64url of the sealed full notification
  if (sealing && has_keys && !web_push_shape) {
    auto bytes = seal(c, push_payload(c, kFull));
    if (!bytes) return Made::not_sendable;
    sealed = base64url_encode(*bytes);
  }
  request.url = sub.endpoint;
  const bool urgent = c.job.mention || (c.conversation && c.conversation->kind == ConversationKind::direct);
  const std::string collapse = "c" + std::to_string(c.job.key.conversation_id);
  if (web_push_shape) {
    // RFC 8030 delivery of an RFC 8291 message, signed with VAPID (RFC 8292). One Topic per
    // conversation: a device that was off gets the newest notification of each, not a pile.
    // A webhook with keys under push.content = encrypted gets the same request (UnifiedPush
    // distributors relay it as such).
    const auto origin = push::origin_of(sub.endpoint);
    if (!origin) return Made::not_sendable;
    auto body = seal(c, payload);
    if (!body) return Made::not_sendable;
    const std::int64_t expires = wall_clock_ms() / 1000 + 12 * 3600;
    auto authorization = vapid_->authorization_header(*origin, config_.vapid_subject, expires);
    if (!authorization) {
      spdlog::warn("push.vapid_failed error=\"{}\"", authorization.error().message);
      return Made::not_sendable;
    }
    request.body = std::move(*body);
    request.headers = {"Content-Type: application/octet-stream",
                       "Content-Encoding: aes128gcm",
                       "TTL: " + std::to_string(config_.ttl_s),
                       std::string("Urgency: ") + (urgent ? "high" : "normal"),
                       "Topic: " + collapse,
                       "Authorization: " + *authorization};
    return Made::request;
  }
  if (sub.kind == "webhook") {
    request.body = payload;
    request.headers = {"Content-Type: application/json"};
    return Made::request;
  }
  if (sub.kind == "fcm") {
    if (!fcm_) return Made::not_sendable;
    auto token = fcm_->token(wall_clock_ms() / 1000, config_.timeout_ms);
    if (!token) {
      spdlog::warn("push.fcm_auth_failed error=\"{}\"", token.error().message);
      return Made::not_now;
    }
    request = push::fcm_request(config_.fcm.base_url, fcm_->project_id(), *token, sub.endpoint, payload, collapse, urgent,
                                config_.ttl_s, sealed);
    return Made::request;
  }
  if (sub.kind == "apns") {
    if (!apns_) return Made::not_sendable;
    auto token = apns_->token(wall_clock_ms() / 1000);
    if (!token) return Made::not_sendable;
    const bool sandbox = string_field(sub.options, "environment") == "sandbox";
    const auto [title, body] = push_alert(c, content);
    request = push::apns_request(sandbox ? config_.apns.sandbox_url : config_.apns.base_url, *token, sub.endpoint,
                                 string_field(sub.options, "topic"), title, body, payload, collapse, urgent,
                                 wall_clock_ms() / 1000 + config_.ttl_s, sealed);
    return Made::request;
  }
  return Made::not_sendable;
}

void PushDispatch::stop() {
  stopping_.store(true);
  sender_->wakeup();
  if (thread_.joinable()) thread_.join();
}

void PushDispatch::wake() {
  if (!woken_.exchange(true, std::memory_order_acq_rel)) sender_->wakeup();
}

void PushDispatch::claim() {
  {
    std::lock_guard lock(inbox_mutex_);
    if (claim_outstanding_) return;
    claim_outstanding_ = true;
  }
  const int room = std::max<int>(1, config_.max_in_flight * 2 - static_cast<int>(sender_->pending()));
  auto done = [this](std::vector<PushContext> claimed, bool full) {
    {
      std::lock_guard lock(inbox_mutex_);
      for (auto& c : claimed) inbox_.push_back(std::move(c));
      claim_outstanding_ = false;
      claim_full_ = full;
    }
    sender_->wakeup();
  };
  if (!service_.submit_write(std::make_unique<ClaimPushOp>(service_, room, std::move(done)))) {
    std::lock_guard lock(inbox_mutex_);
    claim_outstanding_ = false;
    return;
  }
  counters_.claims.fetch_add(1, std::memory_order_relaxed);
}

void PushDispatch::run() {
  auto last_claim = std::chrono::steady_clock::now() - std::chrono::hours(1);
  while (!stopping_.load()) {
    const auto now = std::chrono::steady_clock::now();
    bool full = false;
    {
      std::lock_guard lock(inbox_mutex_);
      full = claim_full_;
    }
    const bool room = sender_->pending() < static_cast<std::size_t>(config_.max_in_flight);
    if (room && (woken_.exchange(false) || full || now - last_claim >= std::chrono::milliseconds(config_.poll_ms))) {
      last_claim = now;
      claim();
    }
    std::vector<Outcome> outcomes;
    std::vector<PushContext> claimed;
    {
      std::lock_guard lock(inbox_mutex_);
      claimed.swap(inbox_);
    }
    if (!claimed.empty()) handle_claimed(std::move(claimed), outcomes);
    for (auto& r : sender_->run(std::min(config_.poll_ms, 1000))) {
      PushContext c = std::move(in_flight_[r.tag - 1]);
      free_tags_.push_back(r.tag);
      outcomes.push_back(answered(c, r));
    }
    if (!outcomes.empty()) write_outcomes(std::move(outcomes));
  }
}

void PushDispatch::handle_claimed(std::vector<PushContext> claimed, std::vector<Outcome>& outcomes) {
  // Whether each user is at a screen: one presence lookup for the round (the cluster's
  // directory when there is one).
  std::vector<UserId> users;
  for (const auto& c : claimed) users.push_back(c.job.user_id);
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  const auto views = service_.presence_views(users);
  auto attentive = [&](UserId user) {
    const auto at = std::lower_bound(users.begin(), users.end(), user) - users.begin();
    return static_cast<std::size_t>(at) < views.size() && views[at].status == PresenceStatus::online;
  };
  const std::int64_t now = wall_clock_ms();
  for (auto& c : claimed) {
    const PushDecision d = decide_push(c, attentive(c.job.user_id), now, config_.grace_ms);
    if (d.verdict == PushVerdict::wait) {
      Outcome wait = finished(c);
      wait.kind = Outcome::Kind::retry;
      wait.due_at_ms = d.wait_until_ms;
      wait.attempts = c.job.attempts;
      outcomes.push_back(wait);
      continue;
    }
    if (d.verdict == PushVerdict::drop) {
      for (std::size_t i = 0; i < kPushSkipReasonCount; ++i)
        if (std::string_view(d.reason) == kPushSkipReasons[i]) counters_.skipped[i].fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("push.skipped subscription={} conversation={} seq={} reason={}", c.job.subscription.id,
                    c.job.key.conversation_id, c.job.seq, d.reason);
      outcomes.push_back(finished(c));
      continue;
    }
    push::HttpRequest request;
    const Made made = make_request(c, request);
    if (made == Made::not_now) {
      outcomes.push_back(failed(c, -1, 0, "no credentials for the push service now"));
      continue;
    }
    if (made == Made::not_sendable) {
      counters_.dropped.fetch_add(1, std::memory_order_relaxed);
      // fcm or apns without credentials, or keys that do not work (push.encrypt_failed said why).
      spdlog::debug("push.not_sendable kind={} subscription={}", c.job.subscription.kind, c.job.subscription.id);
      outcomes.push_back(finished(c));
      continue;
    }
    if (free_tags_.empty()) {
      in_flight_.emplace_back();
      free_tags_.push_back(in_flight_.size());
    }
    request.tag = free_tags_.back();
    free_tags_.pop_back();
    in_flight_[request.tag - 1] = std::move(c);
    sender_->add(std::move(request));
  }
}

void PushDispatch::write_outcomes(std::vector<Outcome> outcomes) {
  const std::size_t count = outcomes.size();
  // A full write queue: the jobs come back after their lease, nothing is lost.
  if (!service_.submit_write(std::make_unique<PushOutcomesOp>(service_, std::move(outcomes))))
    spdlog::warn("push.outcomes_not_written count={} reason=write_queue_full", count);
}

PushDispatch::Outcome PushDispatch::finished(const PushContext& c) {
  return Outcome{Outcome::Kind::finish, c.job.key, c.job.user_id, c.job.seq, c.job.count, 0, 0};
}

PushDispatch::Outcome PushDispatch::failed(const PushContext& c, std::int64_t retry_after_s, int status,
                                           const std::string& error) {
  const auto& sub = c.job.subscription;
  counters_.failed.fetch_add(1, std::memory_order_relaxed);
  const int attempts = c.job.attempts + 1;
  if (attempts >= config_.max_attempts) {
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("push.given_up kind={} subscription={} attempts={} status={} error=\"{}\"", sub.kind, sub.id, attempts,
                 status, error);
    return finished(c);
  }
  counters_.retried.fetch_add(1, std::memory_order_relaxed);
  Outcome o = finished(c);
  o.kind = Outcome::Kind::retry;
  o.attempts = attempts;
  const std::int64_t delay = push_retry_delay_ms(config_, attempts, retry_after_s);
  o.due_at_ms = wall_clock_ms() + delay;
  spdlog::info("push.retry kind={} subscription={} attempts={} status={} retry_in_ms={} error=\"{}\"", sub.kind, sub.id,
               attempts, status, delay, error);
  return o;
}

PushDispatch::Outcome PushDispatch::answered(const PushContext& c, const push::HttpResponse& r) {
  const auto& sub = c.job.subscription;
  // Not sent because the address is private: as good as gone (it may never be used).
  const push::Verdict verdict = r.refused            ? push::Verdict::gone
                                : sub.kind == "fcm"  ? push::fcm_verdict(r.status, r.body)
                                : sub.kind == "apns" ? push::apns_verdict(r.status, r.body)
                                                     : push::web_push_verdict(r.status);
  switch (verdict) {
    case push::Verdict::delivered: {
      counters_.sent.fetch_add(1, std::memory_order_relaxed);
      const std::int64_t latency = std::max<std::int64_t>(0, wall_clock_ms() - c.job.first_at_ms);
      counters_.latency_ms_sum.fetch_add(static_cast<std::uint64_t>(latency), std::memory_order_relaxed);
      counters_.latency_count.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("push.sent kind={} subscription={} conversation={} seq={} status={} latency_ms={}", sub.kind, sub.id,
                    c.job.key.conversation_id, c.job.seq, r.status, latency);
      return finished(c);
    }
    case push::Verdict::gone: {
      // Unsubscribed, expired, uninstalled.
      counters_.gone.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("push.subscription_gone kind={} subscription={} user={} status={} error=\"{}\"", sub.kind, sub.id,
                   sub.user_id, r.status, r.error);
      Outcome o = finished(c);
      o.kind = Outcome::Kind::gone;
      return o;
    }
    case push::Verdict::renew_auth:
      // The service refused our token (expired, revoked): a new one for the next attempt.
      if (sub.kind == "fcm" && fcm_) fcm_->forget_token();
      if (sub.kind == "apns" && apns_) apns_->forget_token();
      return failed(c, r.retry_after_s, r.status, r.error);
    case push::Verdict::retry:
      return failed(c, r.retry_after_s, r.status, r.error);
    case push::Verdict::refused:
      break;
  }
  // Any other answer (400, 403, 413 ...) will not change by sending it again.
  counters_.failed.fetch_add(1, std::memory_order_relaxed);
  counters_.dropped.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn("push.refused kind={} subscription={} status={} body=\"{}\"", sub.kind, sub.id, r.status, r.body);
  return finished(c);
}

std::string PushDispatch::metrics_text() const {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    append_metric(out, name, type, help, value);
  };
  metric("parley_push_sent_total", "counter", "notifications a push service or webhook accepted (2xx)",
         counters_.sent.load());
  metric("parley_push_failed_total", "counter", "deliveries that failed (no answer, or an error status)",
         counters_.failed.load());
  metric("parley_push_retried_total", "counter", "failed deliveries scheduled again", counters_.retried.load());
  metric("parley_push_dropped_total", "counter",
         "notifications given up (push.max_attempts, a permanent error, no provider for the kind)",
         counters_.dropped.load());
  metric("parley_push_subscriptions_gone_total", "counter", "subscriptions deleted on 404/410 or a private address",
         counters_.gone.load());
  out += "# HELP parley_push_skipped_total notifications not sent because the rule says so, by reason\n"
         "# TYPE parley_push_skipped_total counter\n";
  for (std::size_t i = 0; i < kPushSkipReasonCount; ++i)
    out += std::string("parley_push_skipped_total{reason=\"") + kPushSkipReasons[i] + "\"} " +
           std::to_string(counters_.skipped[i].load()) + "\n";
  metric("parley_push_claims_total", "counter",
         "rounds that looked for due notifications (a write each: after a commit that queued some, or every push.poll_ms)",
         counters_.claims.load());
  metric("parley_push_latency_ms_sum", "counter", "sum over sent notifications of event-to-accepted time, ms",
         counters_.latency_ms_sum.load());
  metric("parley_push_latency_count", "counter", "sent notifications counted in parley_push_latency_ms_sum",
         counters_.latency_count.load());
  return out;
}

}  // namespace parley::chat
