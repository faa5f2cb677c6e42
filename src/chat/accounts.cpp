// Accounts and authentication: register, login, logout, password strength checks, token
// issue and verification (Parley's own tokens and a host application's JWTs), the sign-in and
// sign-up guards, and the password-hashing threads. The writes are ChatOps in account_ops.cpp;
// the account.* commands of a signed-in user are in account_commands.cpp.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <thread>

#include "auth/display_names.hpp"
#include "auth/password_policy.hpp"
#include "auth/passwords.hpp"
#include "chat/account_ops.hpp"
#include "chat/cluster_presence.hpp"
#include "chat/serialize.hpp"
#include "chat/service.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "core/security_log.hpp"
#include "core/text.hpp"

namespace parley::chat {
namespace {

constexpr std::size_t kMaxThrottledKeys = 100000;  // per throttle (fixed limit, protocol.md)
constexpr std::size_t kKnownAddressesPerAccount = 8;
constexpr std::int64_t kTokenTouchIntervalMs = 5 * 60 * 1000;

FailurePolicy failure_policy(const AuthConfig& config, int free_failures) {
  FailurePolicy policy;
  policy.free_failures = free_failures;
  policy.base_delay_ms = 1000;
  policy.max_delay_ms = static_cast<std::int64_t>(config.login_max_delay_s) * 1000;
  policy.forget_after_ms = static_cast<std::int64_t>(config.login_failure_window_s) * 1000;
  return policy;
}

presence::SignInRules sign_in_rules(const AuthConfig& config) {
  presence::SignInRules rules;
  rules.account = failure_policy(config, config.login_free_failures);
  rules.address = failure_policy(config, config.login_address_free_failures);
  rules.known_addresses = static_cast<int>(kKnownAddressesPerAccount);
  return rules;
}

// A hash to run a failed lookup through, so that "no such user" and "wrong password" take
// the same time and usernames cannot be probed by timing.
const std::string& dummy_hash(const AuthConfig& config) {
  static const std::string hash =
      auth::hash_password("parley-dummy-password", static_cast<unsigned long long>(config.argon2_opslimit),
                          static_cast<std::size_t>(config.argon2_memlimit_kb) * 1024);
  return hash;
}

// Keeps only what a username may contain, for names proposed by a host application.
std::string sanitize_username(const std::string& hint, int max_bytes) {
  std::string out;
  for (char c : ascii_lower(hint)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (ok) out.push_back(c);
  }
  while (!out.empty() && !((out[0] >= 'a' && out[0] <= 'z') || (out[0] >= '0' && out[0] <= '9'))) out.erase(0, 1);
  if (out.size() > static_cast<std::size_t>(std::min(max_bytes, 24))) out.resize(static_cast<std::size_t>(std::min(max_bytes, 24)));
  return protocol::is_valid_username(out, max_bytes) ? out : std::string();
}

gateway::HttpResponse http_error(Error error) { return reply_http(Reply::failure(std::move(error))); }

gateway::HttpResponse too_many(std::string message, std::int64_t retry_after_ms) {
  return reply_http(Reply::rate_limited(std::move(message), retry_after_ms));
}

auth::PasswordPolicy password_policy(const AuthConfig& config) {
  return auth::PasswordPolicy{static_cast<std::size_t>(config.min_password_bytes),
                              static_cast<double>(config.min_password_entropy_bits)};
}

}  // namespace

ChatService::AccountGuards::AccountGuards(const AuthConfig& config)
    : accounts(failure_policy(config, config.login_free_failures), kMaxThrottledKeys),
      addresses(failure_policy(config, config.login_address_free_failures), kMaxThrottledKeys),
      signups(config.signups_per_address_per_hour / 3600.0, config.signups_per_address_per_hour, kMaxThrottledKeys),
      password_checks(config.password_checks_per_address_per_minute / 60.0, config.password_checks_per_address_per_minute,
                      kMaxThrottledKeys),
      hashes(config.max_pending_hashes_per_address) {}

// --- password hashing threads ---

void ChatService::start_hash_pool() {
  hash_pool_ = std::make_unique<HashPool>();
  for (int i = 0; i < std::max(1, config_.auth.hash_threads); ++i) {
    hash_pool_->threads.emplace_back([pool = hash_pool_.get(), i] {
      name_this_thread("hash-" + std::to_string(i));
      for (;;) {
        std::function<void()> task;
        {
          std::unique_lock lock(pool->mutex);
          pool->wake.wait(lock, [&] { return pool->stopping || !pool->queue.empty(); });
          if (pool->queue.empty()) return;
          task = std::move(pool->queue.front());
          pool->queue.pop_front();
        }
        task();
      }
    });
  }
}

void ChatService::stop_hash_pool() {
  if (!hash_pool_) return;
  {
    std::lock_guard lock(hash_pool_->mutex);
    hash_pool_->stopping = true;
  }
  hash_pool_->wake.notify_all();
  for (auto& t : hash_pool_->threads) t.join();
  hash_pool_.reset();
}

bool ChatService::run_hash_task(std::function<void()> task) {
  {
    std::lock_guard lock(hash_pool_->mutex);
    if (hash_pool_->stopping || hash_pool_->queue.size() >= HashPool::kMaxQueue) return false;
    hash_pool_->queue.push_back(std::move(task));
  }
  hash_pool_->wake.notify_one();
  return true;
}

bool ChatService::run_hash_task_for(const std::string& address, std::function<void()> task) {
  // One address cannot fill the shared queue: real sign-ins from elsewhere still get a slot.
  if (!guards_->hashes.acquire(address)) return false;
  auto release = [this, address] { guards_->hashes.release(address); };
  if (run_hash_task([task = std::move(task), release] {
        task();
        release();
      }))
    return true;
  release();
  return false;
}

// --- sign-in guards ---

std::int64_t ChatService::login_wait_ms(const std::string& username, const std::string& address) {
  const std::int64_t now = monotonic_ms();
  std::int64_t wait = guards_->addresses.wait_ms(address, now);
  bool known = false;
  {
    std::lock_guard lock(guards_->known_mutex);
    auto it = guards_->known_addresses.find(username);
    known = it != guards_->known_addresses.end() &&
            std::find(it->second.begin(), it->second.end(), address) != it->second.end();
  }
  // Guessing from elsewhere slows down the account, but not for the addresses its owner
  // signed in from before.
  if (!known) wait = std::max(wait, guards_->accounts.wait_ms("a:" + username, now));
  return wait;
}

std::int64_t ChatService::cluster_login_wait_ms(const std::string& username, const std::string& address) {
  if (!cluster_presence_) return 0;
  const auto state = cluster_presence_->sign_in_state(username, address);
  if (!state) return 0;  // the directory is unreachable: this node's own throttles hold
  return state->known_address ? state->address_wait_ms : std::max(state->address_wait_ms, state->account_wait_ms);
}

void ChatService::login_failed(const std::string& username, const std::string& address, std::string_view reason) {
  const std::int64_t now = monotonic_ms();
  guards_->accounts.record_failure("a:" + username, now);
  guards_->addresses.record_failure(address, now);
  if (cluster_presence_) cluster_presence_->record_sign_in(username, address, false, sign_in_rules(config_.auth));
  security_log("login_failed", {{"username", username}, {"address", address}, {"reason", reason}});
}

void ChatService::login_succeeded(const std::string& username, const std::string& address) {
  guards_->accounts.record_success("a:" + username);
  if (cluster_presence_) cluster_presence_->record_sign_in(username, address, true, sign_in_rules(config_.auth));
  std::lock_guard lock(guards_->known_mutex);
  if (guards_->known_addresses.size() >= kMaxThrottledKeys) guards_->known_addresses.clear();
  auto& known = guards_->known_addresses[username];
  known.erase(std::remove(known.begin(), known.end(), address), known.end());
  known.insert(known.begin(), address);
  if (known.size() > kKnownAddressesPerAccount) known.resize(kKnownAddressesPerAccount);
}

// --- tokens ---

TokenGrant ChatService::grant_token(UserId user, const ClientInfo& client) const {
  const std::int64_t now_ms = wall_clock_ms();
  const std::int64_t now_s = now_ms / 1000;
  TokenGrant grant;
  grant.record.token_id = auth::random_token_id();
  grant.record.user_id = user;
  grant.record.created_at_ms = now_ms;
  grant.record.expires_at_s = now_s + config_.auth.token_ttl_s;
  grant.record.device = utf8_prefix(client.device, 128);
  grant.record.address = client.address;
  grant.record.last_active_at_ms = now_ms;
  grant.token = signer_.issue(user, grant.record.token_id, now_s, grant.record.expires_at_s);
  return grant;
}

std::string ChatService::token_fields(const TokenGrant& grant, const store::UserRecord& user) {
  std::string fields;
  JsonWriter w(fields);
  w.field("token", grant.token);
  w.field("token_id", grant.record.token_id);
  w.field("expires_at", grant.record.expires_at_s);
  w.key("user");
  write_user(w, user);
  return fields;
}

Result<Identity> ChatService::verify_own_token(const std::string& token) const {
  auto claims = signer_.verify(token, wall_clock_ms() / 1000);
  if (!claims) return claims.take_error();
  if (tokens_.is_revoked(claims->token_id) || tokens_.is_cut_off(claims->user_id, claims->issued_at, claims->token_id))
    return make_error(ErrorCode::token_revoked, "this token was revoked");
  return Identity{claims->user_id, claims->token_id, claims->issued_at, claims->expires_at};
}

void ChatService::authenticate(const std::string& token, unsigned thread, std::function<void(Result<Identity>)> done) {
  const auto issuer = auth::peek_issuer(token);
  if (!external_verifier_.enabled() || (issuer && *issuer == auth::kParleyIssuer)) {
    done(verify_own_token(token));
    return;
  }
  auto claims = external_verifier_.verify(token, wall_clock_ms() / 1000);
  if (!claims) {
    done(claims.take_error());
    return;
  }
  if (tokens_.is_revoked(claims->token_id)) {
    done(make_error(ErrorCode::token_revoked, "this token was revoked"));
    return;
  }
  // The verifier tolerates clock skew past "exp"; the session lives as long as that.
  const std::int64_t expires_at = claims->expires_at + auth::ExternalJwtVerifier::kClockLeewaySeconds;
  auto finish = [this, issued_at = claims->issued_at, token_id = claims->token_id, expires_at](UserId user) -> Result<Identity> {
    if (tokens_.is_cut_off(user, issued_at, token_id)) return make_error(ErrorCode::token_revoked, "this token was revoked");
    return Identity{user, token_id, issued_at, expires_at};
  };
  {
    std::shared_lock lock(external_mutex_);
    if (auto it = external_users_.find(claims->subject); it != external_users_.end()) {
      const UserId user = it->second;
      lock.unlock();
      done(finish(user));
      return;
    }
  }
  // First sight of this subject since start-up: find or create its user on the writer.
  auto created = std::make_shared<CreatedAccount>();
  ReplyTarget target;
  target.thread = thread;
  const std::string subject = claims->subject;
  target.http = [this, created, subject, finish, done](const Reply& reply) {
    if (reply.error || !created->user) {
      done(reply.error ? *reply.error : make_error(ErrorCode::internal, "user mapping failed"));
      return;
    }
    {
      std::unique_lock lock(external_mutex_);
      external_users_[subject] = created->user->id;
    }
    done(finish(created->user->id));
  };
  NewAccount account;
  account.username = sanitize_username(claims->username_hint, config_.limits.max_username_bytes);
  account.display_name =
      auth::sanitize_display_name(claims->username_hint, static_cast<std::size_t>(config_.limits.max_display_name_bytes));
  account.external_id = claims->subject;
  if (!submit_write(make_create_user_op(*this, target, std::move(account), created)))
    done(make_error(ErrorCode::unavailable, "the write queue is full; retry"));
}

void ChatService::touch_token(const Identity& identity) {
  if (identity.host_token() || identity.token_id.empty()) return;  // not listed, nothing to update
  const std::int64_t now = wall_clock_ms();
  {
    std::lock_guard lock(touched_mutex_);
    std::int64_t& last = touched_tokens_[identity.token_id];
    if (last != 0 && now - last < kTokenTouchIntervalMs) return;
    last = now;
    if (touched_tokens_.size() > kMaxThrottledKeys) touched_tokens_.clear();
  }
  submit_write(make_touch_token_op(*this, identity.token_id, now));  // best effort: a full queue skips it
}

// --- REST: register, login, logout ---

void ChatService::register_account(const gateway::HttpRequest& request, gateway::HttpResponder respond) {
  const std::string& mode = config_.auth.registration;
  const std::string address = request.address;
  if (mode == "closed") {
    security_log("signup_refused", {{"address", address}, {"reason", "closed"}});
    return respond(http_error(make_error(ErrorCode::forbidden, "registration is closed")));
  }
  auto parsed = parser(request.thread_index).parse_rest("auth.register", request.body, {});
  if (!parsed) return respond(http_error(parsed.take_error()));
  auto cmd = std::get<protocol::RegisterCmd>(std::move(*parsed));
  if (!protocol::is_valid_username(cmd.username, config_.limits.max_username_bytes))
    return respond(http_error(field_error(ErrorCode::invalid_field, "username",
                                          "'username' must be 3.." + std::to_string(config_.limits.max_username_bytes) +
                                              " characters of a-z 0-9 _ . - starting with a letter or digit")));
  const std::string username = ascii_lower(cmd.username);
  auto display_name =
      auth::normalize_display_name(cmd.display_name, static_cast<std::size_t>(config_.limits.max_display_name_bytes));
  if (!display_name) return respond(http_error(display_name.take_error()));
  if (mode == "invite" && cmd.invite.empty())
    return respond(http_error(field_error(ErrorCode::forbidden, "invite", "an invite code is required to register here")));
  const auto strength = auth::assess_password(cmd.password, password_policy(config_.auth), {username, *display_name});
  if (!strength.acceptable)
    return respond(http_error(field_error(ErrorCode::invalid_field, "password", "'password' " + strength.problem)));
  std::int64_t retry_after_ms = 0;
  if (!guards_->signups.take(address, monotonic_ms(), retry_after_ms)) {
    security_log("signup_refused", {{"address", address}, {"reason", "throttled"}});
    return respond(too_many("too many sign-ups from your address; retry later", retry_after_ms));
  }

  NewAccount account;
  account.username = username;
  account.display_name = std::move(*display_name);
  if (mode == "invite") account.invite_hash = invite_code_hash(cmd.invite);
  account.token_for = ClientInfo{address, cmd.device.empty() ? request.user_agent : cmd.device};
  const unsigned thread = request.thread_index;
  auto task = [this, password = std::move(cmd.password), account = std::move(account), thread, respond,
               address]() mutable {
    ReplyTarget target;
    target.thread = thread;
    auto created = std::make_shared<CreatedAccount>();
    target.http = [this, created, respond, address](const Reply& reply) {
      if (reply.error || !created->user) {
        security_log("signup_refused", {{"address", address}, {"reason", reply.error ? reply.error->message : "?"}});
        return respond(reply_http(reply));
      }
      security_log("signup", {{"user_id", std::to_string(created->user->id)}, {"username", created->user->username},
                              {"address", address}});
      // The address that created the account is one its owner uses: guessing from elsewhere
      // must not slow the owner down there.
      login_succeeded(created->user->username, address);
      Reply ok;
      ok.fields = created->token_fields;
      auto response = reply_http(ok);
      response.status = 201;
      respond(std::move(response));
    };
    try {
      account.password_hash =
          auth::hash_password(password, static_cast<unsigned long long>(config_.auth.argon2_opslimit),
                              static_cast<std::size_t>(config_.auth.argon2_memlimit_kb) * 1024);
    } catch (const std::exception& e) {
      spdlog::error("auth.hash_failed error=\"{}\"", e.what());
      return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "could not hash the password; retry"));
    }
    if (!submit_write(make_create_user_op(*this, target, std::move(account), created)))
      reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the write queue is full; retry"));
  };
  if (!run_hash_task_for(address, std::move(task)))
    respond(too_many("too many sign-ins in progress from your address; retry", 1000));
}

void ChatService::login(const gateway::HttpRequest& request, gateway::HttpResponder respond) {
  auto parsed = parser(request.thread_index).parse_rest("auth.login", request.body, {});
  if (!parsed) return respond(http_error(parsed.take_error()));
  auto cmd = std::get<protocol::LoginCmd>(std::move(*parsed));
  const std::string username = ascii_lower(cmd.username);
  const std::string address = request.address;
  // Throttled attempts cost no hashing and do not say whether the account exists.
  if (const std::int64_t wait = login_wait_ms(username, address); wait > 0) {
    security_log("login_throttled", {{"username", username}, {"address", address}});
    return respond(too_many("too many failed sign-ins; retry later", wait));
  }
  const ClientInfo client{address, cmd.device.empty() ? request.user_agent : cmd.device};
  const unsigned thread = request.thread_index;
  auto read = [this, password = std::move(cmd.password), username, client, thread, respond](store::ReadTxn* txn) mutable {
    ReplyTarget target;
    target.thread = thread;
    target.http = [respond](const Reply& reply) { respond(reply_http(reply)); };
    if (!txn) return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the store could not be read; retry"));
    // The failures counted by the other nodes of a cluster (this node's were checked above).
    if (const std::int64_t wait = cluster_login_wait_ms(username, client.address); wait > 0) {
      security_log("login_throttled", {{"username", username}, {"address", client.address}});
      return reply_on_thread(target, Reply::rate_limited("too many failed sign-ins; retry later", wait));
    }
    auto credentials = txn->credentials(username);
    auto verify = [this, password = std::move(password), credentials, username, client, target]() {
      const bool known = credentials && !credentials->password_hash.empty();
      const bool match = auth::verify_password(password, known ? credentials->password_hash : dummy_hash(config_.auth));
      if (!known || !match) {
        login_failed(username, client.address, known ? "wrong_password" : "unknown_user");
        return reply_on_thread(target, Reply::failure(ErrorCode::unauthorized, "wrong username or password"));
      }
      login_succeeded(username, client.address);
      ReplyTarget issued = target;
      issued.http = [respond = target.http, user = credentials->id, address = client.address](const Reply& reply) {
        if (!reply.error) security_log("login", {{"user_id", std::to_string(user)}, {"address", address}});
        respond(reply);
      };
      if (!submit_write(make_issue_token_op(*this, issued, credentials->id, client)))
        reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the write queue is full; retry"));
    };
    if (!run_hash_task_for(client.address, std::move(verify)))
      reply_on_thread(target, Reply::rate_limited("too many sign-ins in progress from your address; retry", 1000));
  };
  if (!readers_->submit(std::move(read))) respond(http_error(make_error(ErrorCode::unavailable, "the read queue is full; retry")));
}

void ChatService::logout(const Identity& caller, gateway::HttpResponder respond, unsigned thread) {
  ReplyTarget target;
  target.thread = thread;
  target.http = [respond, caller](const Reply& reply) {
    if (!reply.error)
      security_log("token_revoked", {{"user_id", std::to_string(caller.user_id)}, {"token_id", caller.token_id},
                                     {"by", "logout"}});
    respond(reply_http(reply));
  };
  if (!submit_write(make_logout_op(*this, target, caller)))
    respond(http_error(make_error(ErrorCode::unavailable, "the write queue is full; retry")));
}

void ChatService::password_check(const gateway::HttpRequest& request, gateway::HttpResponder respond) {
  std::int64_t retry_after_ms = 0;
  if (!guards_->password_checks.take(request.address, monotonic_ms(), retry_after_ms))
    return respond(too_many("too many password checks from your address; retry later", retry_after_ms));
  auto parsed = parser(request.thread_index).parse_rest("auth.password_check", request.body, {});
  if (!parsed) return respond(http_error(parsed.take_error()));
  const auto& cmd = std::get<protocol::PasswordCheckCmd>(*parsed);
  const auto strength =
      auth::assess_password(cmd.password, password_policy(config_.auth), {ascii_lower(cmd.username), cmd.display_name});
  Reply reply;
  JsonWriter w(reply.fields);
  w.field("acceptable", strength.acceptable);
  w.field("entropy_bits", static_cast<std::int64_t>(std::floor(strength.entropy_bits)));
  if (!strength.acceptable) w.field("problem", "'password' " + strength.problem);
  w.field("min_password_bytes", config_.auth.min_password_bytes);
  w.field("min_password_entropy_bits", config_.auth.min_password_entropy_bits);
  respond(reply_http(reply));
}

void ChatService::auth_config(gateway::HttpResponder respond) {
  Reply reply;
  JsonWriter w(reply.fields);
  w.field("registration", config_.auth.registration);
  w.field("min_password_bytes", config_.auth.min_password_bytes);
  w.field("min_password_entropy_bits", config_.auth.min_password_entropy_bits);
  w.field("max_username_bytes", config_.limits.max_username_bytes);
  w.field("max_display_name_bytes", config_.limits.max_display_name_bytes);
  w.field("host_tokens", external_verifier_.enabled());
  respond(reply_http(reply));
}

}  // namespace parley::chat
