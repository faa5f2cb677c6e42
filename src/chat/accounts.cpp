// Accounts and authentication: register, login, logout, token verification (Parley's own
// tokens and a host application's JWTs), and the password-hashing threads.
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <thread>

#include "auth/passwords.hpp"
#include "chat/chat_op.hpp"
#include "chat/serialize.hpp"
#include "chat/service.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "core/text.hpp"

namespace parley::chat {

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

namespace {

// A hash to run a failed lookup through, so that "no such user" and "wrong password" take
// the same time and usernames cannot be probed by timing.
const std::string& dummy_hash(const AuthConfig& config) {
  static const std::string hash =
      auth::hash_password("parley-dummy-password", static_cast<unsigned long long>(config.argon2_opslimit),
                          static_cast<std::size_t>(config.argon2_memlimit_kb) * 1024);
  return hash;
}

// Creates a user, or maps a host application's subject to a user (found or created).
class CreateUserOp final : public ChatOp {
 public:
  struct Outcome {
    std::optional<store::UserRecord> user;
  };
  CreateUserOp(ChatService& s, ReplyTarget t, std::string username, std::string display_name, std::string hash,
               std::string external_id, std::shared_ptr<Outcome> outcome)
      : ChatOp(s, 0, std::move(t)),
        username_(std::move(username)),
        display_name_(std::move(display_name)),
        hash_(std::move(hash)),
        external_id_(std::move(external_id)),
        outcome_(std::move(outcome)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    if (!external_id_.empty()) {
      if (auto existing = txn.user_by_external_id(external_id_)) {
        outcome_->user = std::move(existing);
        return Ok{};
      }
      // Try the host's preferred name, then variants, so a clash never blocks a login.
      for (const std::string& candidate : candidates()) {
        if (auto user = txn.create_user(candidate, display_name_.empty() ? candidate : display_name_, "", external_id_)) {
          outcome_->user = std::move(user);
          return Ok{};
        }
      }
      return make_error(ErrorCode::conflict, "could not allocate a username for this subject");
    }
    auto user = txn.create_user(username_, display_name_.empty() ? username_ : display_name_, hash_, "");
    if (!user) return make_error(ErrorCode::conflict, "that username is taken");
    outcome_->user = std::move(user);
    return Ok{};
  }

 private:
  std::vector<std::string> candidates() const {
    // FNV-1a of the subject: stable, short, only needs to make clashes unlikely.
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : external_id_) h = (h ^ c) * 1099511628211ULL;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    std::vector<std::string> out;
    if (!username_.empty()) {
      out.push_back(username_);
      out.push_back(username_.substr(0, 20) + "-" + std::string(hex, 6));
    }
    out.push_back("user-" + std::string(hex, 10));
    out.push_back("user-" + std::string(hex, 16));
    return out;
  }

  std::string username_, display_name_, hash_, external_id_;
  std::shared_ptr<Outcome> outcome_;
};

class RevokeTokenOp final : public ChatOp {
 public:
  RevokeTokenOp(ChatService& s, UserId caller, ReplyTarget t, Identity identity)
      : ChatOp(s, caller, std::move(t)), identity_(std::move(identity)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    txn.revoke_token(identity_.token_id, identity_.user_id, identity_.expires_at_s);
    // After the commit the token joins the in-memory revocation list (on_batch_committed) and
    // its live sessions close when this batch is delivered.
    Delivery d;
    d.revoked_token_id = identity_.token_id;
    deliveries_.push_back(std::move(d));
    JsonWriter(reply_.fields).field("revoked", true);
    return Ok{};
  }

 private:
  Identity identity_;
};

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

}  // namespace

Result<Identity> ChatService::verify_own_token(const std::string& token) const {
  auto claims = signer_.verify(token, wall_clock_ms() / 1000);
  if (!claims) return claims.take_error();
  if (revoked_.contains(claims->token_id)) return make_error(ErrorCode::token_revoked, "this token was revoked");
  return Identity{claims->user_id, claims->token_id, claims->expires_at};
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
  {
    std::shared_lock lock(external_mutex_);
    if (auto it = external_users_.find(claims->subject); it != external_users_.end()) {
      done(Identity{it->second, std::string(), claims->expires_at + auth::ExternalJwtVerifier::kClockLeewaySeconds});
      return;
    }
  }
  // First sight of this subject since start-up: find or create its user on the writer.
  auto outcome = std::make_shared<CreateUserOp::Outcome>();
  ReplyTarget target;
  target.thread = thread;
  const std::string subject = claims->subject;
  // The verifier tolerates clock skew past "exp"; the session lives as long as that.
  const std::int64_t expires_at = claims->expires_at + auth::ExternalJwtVerifier::kClockLeewaySeconds;
  target.http = [this, outcome, subject, expires_at, done](const Reply& reply) {
    if (reply.error || !outcome->user) {
      done(reply.error ? *reply.error : make_error(ErrorCode::internal, "user mapping failed"));
      return;
    }
    {
      std::unique_lock lock(external_mutex_);
      external_users_[subject] = outcome->user->id;
    }
    done(Identity{outcome->user->id, std::string(), expires_at});
  };
  std::string display_name = utf8_prefix(claims->username_hint, static_cast<std::size_t>(config_.limits.max_title_bytes));
  auto op = std::make_unique<CreateUserOp>(*this, target, sanitize_username(claims->username_hint, config_.limits.max_username_bytes),
                                           std::move(display_name), "", claims->subject, outcome);
  if (!submit_write(std::move(op))) done(make_error(ErrorCode::unavailable, "the write queue is full; retry"));
}

std::string ChatService::issue_token_fields(const store::UserRecord& user) {
  const std::int64_t now = wall_clock_ms() / 1000;
  const std::int64_t expires_at = now + config_.auth.token_ttl_s;
  std::string fields;
  JsonWriter w(fields);
  w.field("token", signer_.issue(user.id, auth::random_token_id(), now, expires_at));
  w.field("expires_at", expires_at);
  w.key("user");
  write_user(w, user);
  return fields;
}

void ChatService::register_account(const gateway::HttpRequest& request, gateway::HttpResponder respond) {
  auto respond_error = [respond](Error e) { respond(reply_http(Reply::failure(std::move(e)))); };
  if (!config_.auth.allow_registration) return respond_error(make_error(ErrorCode::forbidden, "registration is disabled"));
  auto parsed = parser(request.thread_index).parse_rest("auth.register", request.body, {});
  if (!parsed) return respond_error(parsed.take_error());
  auto cmd = std::get<protocol::RegisterCmd>(std::move(*parsed));
  if (!protocol::is_valid_username(cmd.username, config_.limits.max_username_bytes))
    return respond_error(make_error(ErrorCode::invalid_field,
                                    "'username' must be 3.." + std::to_string(config_.limits.max_username_bytes) +
                                        " characters of a-z 0-9 _ . - starting with a letter or digit"));
  if (cmd.password.size() < 8) return respond_error(make_error(ErrorCode::invalid_field, "'password' must be at least 8 bytes"));
  const unsigned thread = request.thread_index;
  auto task = [this, cmd = std::move(cmd), thread, respond]() mutable {
    std::string hash;
    try {
      hash = auth::hash_password(cmd.password, static_cast<unsigned long long>(config_.auth.argon2_opslimit),
                                 static_cast<std::size_t>(config_.auth.argon2_memlimit_kb) * 1024);
    } catch (const std::exception& e) {
      spdlog::error("auth.hash_failed error=\"{}\"", e.what());
      ReplyTarget target;
      target.thread = thread;
      target.http = [respond](const Reply& reply) { respond(reply_http(reply)); };
      return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "could not hash the password; retry"));
    }
    auto outcome = std::make_shared<CreateUserOp::Outcome>();
    ReplyTarget target;
    target.thread = thread;
    target.http = [this, outcome, respond](const Reply& reply) {
      if (reply.error || !outcome->user) return respond(reply_http(reply));
      Reply ok;
      ok.fields = issue_token_fields(*outcome->user);
      auto response = reply_http(ok);
      response.status = 201;
      respond(std::move(response));
    };
    const std::string username = ascii_lower(cmd.username);
    auto op = std::make_unique<CreateUserOp>(*this, target, username, cmd.display_name, std::move(hash), "", outcome);
    if (!submit_write(std::move(op)))
      reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the write queue is full; retry"));
  };
  if (!run_hash_task(std::move(task))) respond_error(make_error(ErrorCode::unavailable, "too many sign-ups in progress; retry"));
}

void ChatService::login(const gateway::HttpRequest& request, gateway::HttpResponder respond) {
  auto respond_error = [respond](Error e) { respond(reply_http(Reply::failure(std::move(e)))); };
  auto parsed = parser(request.thread_index).parse_rest("auth.login", request.body, {});
  if (!parsed) return respond_error(parsed.take_error());
  auto cmd = std::get<protocol::LoginCmd>(std::move(*parsed));
  const unsigned thread = request.thread_index;
  auto read = [this, cmd = std::move(cmd), thread, respond](store::ReadTxn* txn) mutable {
    ReplyTarget target;
    target.thread = thread;
    target.http = [respond](const Reply& reply) { respond(reply_http(reply)); };
    if (!txn) return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the store could not be read; retry"));
    const std::string username = ascii_lower(cmd.username);
    auto credentials = txn->credentials(username);
    std::optional<store::UserRecord> user;
    if (credentials) user = txn->user(credentials->id);
    auto verify = [this, password = std::move(cmd.password), credentials, user, target]() {
      const bool known = credentials && !credentials->password_hash.empty() && user;
      const bool match = auth::verify_password(password, known ? credentials->password_hash : dummy_hash(config_.auth));
      if (!known || !match) return reply_on_thread(target, Reply::failure(ErrorCode::unauthorized, "wrong username or password"));
      Reply ok;
      ok.fields = issue_token_fields(*user);
      reply_on_thread(target, std::move(ok));
    };
    if (!run_hash_task(std::move(verify)))
      reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "too many logins in progress; retry"));
  };
  if (!readers_->submit(std::move(read))) respond_error(make_error(ErrorCode::unavailable, "the read queue is full; retry"));
}

void ChatService::logout(const Identity& caller, gateway::HttpResponder respond, unsigned thread) {
  ReplyTarget target;
  target.thread = thread;
  target.http = [respond](const Reply& reply) { respond(reply_http(reply)); };
  if (caller.token_id.empty()) {
    // A host application's token: the host ends it (it expires); nothing to revoke here.
    Reply ok;
    JsonWriter(ok.fields).field("revoked", false);
    return respond(reply_http(ok));
  }
  if (!submit_write(std::make_unique<RevokeTokenOp>(*this, caller.user_id, target, caller)))
    respond(reply_http(Reply::failure(ErrorCode::unavailable, "the write queue is full; retry")));
}

}  // namespace parley::chat
