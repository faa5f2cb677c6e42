// The account.* commands of a signed-in user (WebSocket and REST): the devices signed in to
// the account (its tokens) and revoking them, "log out everywhere", changing the password.
// And the periodic account upkeep.
#include "auth/display_names.hpp"
#include "auth/password_policy.hpp"
#include "auth/passwords.hpp"
#include "chat/account_ops.hpp"
#include "chat/cluster_presence.hpp"
#include "chat/service.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "core/security_log.hpp"

namespace parley::chat {
namespace {

constexpr int kUpkeepIntervalMs = 60 * 60 * 1000;

void write_session(JsonWriter& w, const store::TokenRecord& token, bool current, int online) {
  w.begin_object();
  w.field("token_id", token.token_id);
  w.field("device", token.device);
  w.field("address", token.address);
  w.field("created_at", token.created_at_ms);
  w.field("last_active_at", token.last_active_at_ms);
  w.field("expires_at", token.expires_at_s);
  w.field("current", current);
  w.field("online_sessions", online);
  w.end_object();
}

// account.sessions' reply: each stored token with its live sessions (`online`: per token id).
Reply sessions_reply(const std::vector<store::TokenRecord>& tokens, const std::string& current_token,
                     const std::unordered_map<std::string, int>& online) {
  Reply reply;
  JsonWriter w(reply.fields);
  w.key("sessions").begin_array();
  for (const auto& token : tokens) {
    auto it = online.find(token.token_id);
    write_session(w, token, token.token_id == current_token, it == online.end() ? 0 : it->second);
  }
  w.end_array();
  return reply;
}

}  // namespace

void ChatService::schedule_upkeep(int delay_ms) {
  poster_.post_after(0, delay_ms, [this] {
    if (!accepting_.load()) return;
    auto done = [this](std::size_t missing) {
      // A full run of skeletons means more may be missing: go on at once.
      schedule_upkeep(missing >= 2000 ? 0 : kUpkeepIntervalMs);
    };
    if (!submit_write(make_upkeep_op(*this, std::move(done)))) schedule_upkeep(kUpkeepIntervalMs);
  });
}

bool ChatService::handle_account(const Identity& caller, const ClientInfo& client, protocol::Command& command,
                                 const ReplyTarget& target) {
  if (std::holds_alternative<protocol::AccountSessionsCmd>(command)) {
    // The stored tokens, then how many live sessions each has on every I/O thread.
    auto read = [this, caller, target](store::ReadTxn* txn) {
      if (!txn) return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the store could not be read; retry"));
      auto tokens = std::make_shared<std::vector<store::TokenRecord>>(txn->tokens_of(caller.user_id, wall_clock_ms() / 1000));
      // In a cluster, the directory counts the sessions of every node (this one's included);
      // while it is unreachable, this node's own.
      if (cluster_presence_) {
        if (auto everywhere = cluster_presence_->sessions_by_token(caller.user_id))
          return reply_on_thread(target, sessions_reply(*tokens, caller.token_id, *everywhere));
      }
      struct Gather {
        std::mutex mutex;
        std::unordered_map<std::string, int> online;
        unsigned remaining;
      };
      auto gather = std::make_shared<Gather>();
      gather->remaining = poster_.thread_count();
      for (unsigned i = 0; i < poster_.thread_count(); ++i) {
        poster_.post(i, [this, i, gather, tokens, caller, target] {
          std::unordered_map<std::string, int> here;
          hub(i).count_user_sessions(caller.user_id, here);
          std::lock_guard lock(gather->mutex);
          for (const auto& [token, count] : here) gather->online[token] += count;
          if (--gather->remaining > 0) return;
          reply_on_thread(target, sessions_reply(*tokens, caller.token_id, gather->online));
        });
      }
    };
    if (!readers_->submit(std::move(read)))
      reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the read queue is full; retry"));
    return true;
  }

  auto submit_logged = [this, &target](std::unique_ptr<ChatOp> op) {
    if (!submit_write(std::move(op)))
      reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the write queue is full; retry"));
  };
  if (auto* revoke = std::get_if<protocol::AccountRevokeSessionCmd>(&command)) {
    const std::string token_id = revoke->token_id;
    // Logged when asked (the store refuses a token id the caller does not hold).
    security_log("token_revoked", {{"user_id", std::to_string(caller.user_id)}, {"token_id", token_id},
                                   {"by", "revoke_session"}, {"address", client.address}});
    submit_logged(make_revoke_session_op(*this, target, caller, token_id));
    return true;
  }
  if (auto* all = std::get_if<protocol::AccountLogoutAllCmd>(&command)) {
    security_log("logout_all", {{"user_id", std::to_string(caller.user_id)}, {"keep_current", all->keep_current ? "true" : "false"},
                                {"address", client.address}});
    submit_logged(make_logout_all_op(*this, target, caller, all->keep_current));
    return true;
  }
  if (auto* profile = std::get_if<protocol::AccountUpdateProfileCmd>(&command)) {
    // Judged like the display name of a sign-up; only a valid name spends one of the hour's changes.
    auto name = auth::normalize_display_name(profile->display_name,
                                             static_cast<std::size_t>(config_.limits.max_display_name_bytes));
    if (!name) {
      reply_on_thread(target, Reply::failure(name.take_error()));
      return true;
    }
    std::int64_t wait = 0;
    if (!profile_changes_.take(caller.user_id, monotonic_ms(), wait)) {
      reply_on_thread(target, Reply::rate_limited("too many profile changes (limits.profile_changes_per_hour)", wait));
      return true;
    }
    submit_logged(make_update_profile_op(*this, target, caller.user_id, std::move(*name)));
    return true;
  }
  auto* change = std::get_if<protocol::AccountChangePasswordCmd>(&command);
  if (!change) return false;

  // Password change: the current password is checked like a sign-in (same throttles, since a
  // stolen token must not become a way to guess it), then the new one is judged and hashed.
  auto read = [this, caller, client, target, current = std::move(change->current_password),
               next = std::move(change->new_password)](store::ReadTxn* txn) mutable {
    if (!txn) return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the store could not be read; retry"));
    auto user = txn->user(caller.user_id);
    auto credentials = user ? txn->credentials(user->username) : std::nullopt;
    if (!user || !credentials || credentials->password_hash.empty())
      return reply_on_thread(target, Reply::failure(ErrorCode::forbidden, "this account has no password (it signs in through its host application)"));
    const auth::PasswordPolicy policy{static_cast<std::size_t>(config_.auth.min_password_bytes),
                                      static_cast<double>(config_.auth.min_password_entropy_bits)};
    const auto strength = auth::assess_password(next, policy, {user->username, user->display_name});
    if (!strength.acceptable)
      return reply_on_thread(target, Reply::failure(field_error(ErrorCode::invalid_field, "new_password",
                                                                "'new_password' " + strength.problem)));
    if (const std::int64_t wait = std::max(login_wait_ms(user->username, client.address),
                                           cluster_login_wait_ms(user->username, client.address));
        wait > 0)
      return reply_on_thread(target, Reply::rate_limited("too many failed password attempts; retry later", wait));
    const std::string username = user->username;
    auto task = [this, caller, client, target, username, hash = credentials->password_hash,
                 current = std::move(current), next = std::move(next)]() {
      if (!auth::verify_password(current, hash)) {
        login_failed(username, client.address, "wrong_current_password");
        return reply_on_thread(target, Reply::failure(field_error(ErrorCode::forbidden, "current_password",
                                                                  "the current password is wrong")));
      }
      login_succeeded(username, client.address);
      std::string new_hash;
      try {
        new_hash = auth::hash_password(next, static_cast<unsigned long long>(config_.auth.argon2_opslimit),
                                       static_cast<std::size_t>(config_.auth.argon2_memlimit_kb) * 1024);
      } catch (const std::exception&) {
        return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "could not hash the password; retry"));
      }
      security_log("password_changed", {{"user_id", std::to_string(caller.user_id)}, {"address", client.address}});
      if (!submit_write(make_change_password_op(*this, target, caller, std::move(new_hash))))
        reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the write queue is full; retry"));
    };
    if (!run_hash_task_for(client.address, std::move(task)))
      reply_on_thread(target, Reply::rate_limited("too many password checks in progress from your address; retry", 1000));
  };
  if (!readers_->submit(std::move(read)))
    reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the read queue is full; retry"));
  return true;
}

}  // namespace parley::chat
