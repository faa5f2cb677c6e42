#include "chat/account_ops.hpp"

#include <openssl/sha.h>

#include <cstdio>

#include "auth/display_names.hpp"
#include "auth/search_terms.hpp"
#include "auth/passwords.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "core/security_log.hpp"
#include "chat/serialize.hpp"

namespace parley::chat {

std::string invite_code_hash(std::string_view code) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(code.data()), code.size(), digest);
  std::string hex;
  char byte[3];
  for (unsigned char b : digest) {
    std::snprintf(byte, sizeof byte, "%02x", b);
    hex += byte;
  }
  return hex;
}

Status check_impersonation(store::ReadTxn& txn, const std::string& display_name, const std::string& own_username) {
  const std::string own = auth::name_skeleton(own_username);
  for (const std::string& skeleton : auth::display_name_skeletons(display_name)) {
    if (skeleton.empty() || skeleton == own) continue;
    if (!txn.users_with_skeleton(skeleton, 1).empty())
      return field_error(ErrorCode::conflict, "display_name", "that display name looks like another user's username");
  }
  return Ok{};
}

namespace {

// Revokes `tokens` (already forgotten by the store) and closes their sessions after the commit.
void revoke_all(store::WriteTxn& txn, const std::vector<store::TokenRecord>& tokens, Delivery& delivery) {
  for (const auto& token : tokens) {
    txn.revoke_token(token.token_id, token.user_id, token.expires_at_s);
    delivery.revoked_token_ids.push_back(token.token_id);
  }
}

class CreateUserOp final : public ChatOp {
 public:
  CreateUserOp(ChatService& s, ReplyTarget t, NewAccount account, std::shared_ptr<CreatedAccount> created)
      : ChatOp(s, 0, std::move(t)), account_(std::move(account)), created_(std::move(created)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    if (!account_.external_id.empty()) return run_external(txn);
    if (txn.user_by_username(account_.username)) return field_error(ErrorCode::conflict, "username", "that username is taken");
    if (!account_.display_name.empty())
      if (auto fine = check_impersonation(txn, account_.display_name, account_.username); !fine) return fine;
    // Spent last, once nothing else can fail: a refused sign-up keeps the invite's use.
    if (!account_.invite_hash.empty() && !txn.use_invite(account_.invite_hash, wall_clock_ms() / 1000))
      return field_error(ErrorCode::forbidden, "invite", "that invite code is unknown, expired or used up");
    created_->user = txn.create_user(account_.username, display_or_username(account_.username),
                                     account_.password_hash, "", auth::name_skeleton(account_.username));
    if (!created_->user) return field_error(ErrorCode::conflict, "username", "that username is taken");
    txn.set_search_terms(created_->user->id, auth::user_search_terms(created_->user->username, created_->user->display_name));
    if (account_.token_for) {
      TokenGrant grant = service_.grant_token(created_->user->id, *account_.token_for);
      txn.add_token(grant.record);
      created_->token_fields = ChatService::token_fields(grant, *created_->user);
    }
    return Ok{};
  }

 private:
  std::string display_or_username(const std::string& username) const {
    return account_.display_name.empty() ? username : account_.display_name;
  }

  // A host application's subject: its user, found or created under the first free name.
  Status run_external(store::WriteTxn& txn) {
    if (auto existing = txn.user_by_external_id(account_.external_id)) {
      created_->user = std::move(existing);
      return Ok{};
    }
    for (const std::string& candidate : candidates()) {
      if (txn.user_by_username(candidate)) continue;
      // The host's display name must not imitate someone else's username either; the new
      // user then shows under its own username.
      std::string display = display_or_username(candidate);
      if (!check_impersonation(txn, display, candidate)) display = candidate;
      created_->user = txn.create_user(candidate, display, "", account_.external_id, auth::name_skeleton(candidate));
      if (created_->user) {
        txn.set_search_terms(created_->user->id, auth::user_search_terms(candidate, display));
        return Ok{};
      }
    }
    return make_error(ErrorCode::conflict, "could not allocate a username for this subject");
  }

  std::vector<std::string> candidates() const {
    // FNV-1a of the subject: stable, short, only needs to make clashes unlikely.
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : account_.external_id) h = (h ^ c) * 1099511628211ULL;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    std::vector<std::string> out;
    if (!account_.username.empty()) {
      out.push_back(account_.username);
      out.push_back(account_.username.substr(0, 20) + "-" + std::string(hex, 6));
    }
    out.push_back("user-" + std::string(hex, 10));
    out.push_back("user-" + std::string(hex, 16));
    return out;
  }

  NewAccount account_;
  std::shared_ptr<CreatedAccount> created_;
};

class IssueTokenOp final : public ChatOp {
 public:
  IssueTokenOp(ChatService& s, ReplyTarget t, UserId user, ClientInfo client)
      : ChatOp(s, user, std::move(t)), client_(std::move(client)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    auto user = txn.user(caller_);
    if (!user) return make_error(ErrorCode::not_found, "no such user");
    TokenGrant grant = service_.grant_token(caller_, client_);
    txn.add_token(grant.record);
    reply_.fields = ChatService::token_fields(grant, *user);
    return Ok{};
  }

 private:
  ClientInfo client_;
};

class LogoutOp final : public ChatOp {
 public:
  LogoutOp(ChatService& s, ReplyTarget t, Identity identity)
      : ChatOp(s, identity.user_id, std::move(t)), identity_(std::move(identity)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    txn.revoke_token(identity_.token_id, identity_.user_id, identity_.expires_at_s);
    txn.delete_token(identity_.token_id);
    // After the commit the token joins the in-memory revocation list (on_batch_committed) and
    // its live sessions close when this batch is delivered.
    Delivery d;
    d.revoked_token_ids = {identity_.token_id};
    deliveries_.push_back(std::move(d));
    JsonWriter(reply_.fields).field("revoked", true);
    return Ok{};
  }

 private:
  Identity identity_;
};

class RevokeSessionOp final : public ChatOp {
 public:
  RevokeSessionOp(ChatService& s, ReplyTarget t, Identity caller, std::string token_id)
      : ChatOp(s, caller.user_id, std::move(t)), token_id_(std::move(token_id)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    auto token = txn.token(token_id_);
    if (!token || token->user_id != caller_) return make_error(ErrorCode::not_found, "you hold no such session");
    txn.delete_token(token_id_);
    Delivery d;
    revoke_all(txn, {*token}, d);
    deliveries_.push_back(std::move(d));
    JsonWriter(reply_.fields).field("token_id", token_id_).field("revoked", true);
    return Ok{};
  }

 private:
  std::string token_id_;
};

// Takes back every token of the caller but (optionally) the one it is using: the listed ones
// one by one, and everything issued before now (older tokens, a host application's) by a
// cut-off. Shared by "log out everywhere" and a password change.
class SignOutOthersOp : public ChatOp {
 public:
  SignOutOthersOp(ChatService& s, ReplyTarget t, Identity caller, bool keep_current)
      : ChatOp(s, caller.user_id, std::move(t)), caller_identity_(std::move(caller)), keep_current_(keep_current) {}

 protected:
  std::size_t sign_out_others(store::WriteTxn& txn) {
    const std::string kept = keep_current_ ? caller_identity_.token_id : std::string();
    const auto gone = txn.delete_tokens_of(caller_, kept);
    const store::TokenCutoff cutoff{caller_, wall_clock_ms() / 1000, kept};
    txn.set_token_cutoff(cutoff);
    Delivery d;
    revoke_all(txn, gone, d);
    if (!keep_current_ && !caller_identity_.host_token()) {
      // The current token is revoked by id too (the cut-off alone would not outlast a restart
      // of a clock that steps back).
      txn.revoke_token(caller_identity_.token_id, caller_, caller_identity_.expires_at_s);
      d.revoked_token_ids.push_back(caller_identity_.token_id);
    }
    d.token_cutoff = cutoff;
    deliveries_.push_back(std::move(d));
    return gone.size();
  }

  Identity caller_identity_;
  bool keep_current_;
};

class LogoutAllOp final : public SignOutOthersOp {
 public:
  using SignOutOthersOp::SignOutOthersOp;

 protected:
  Status run(store::WriteTxn& txn) override {
    const std::size_t revoked = sign_out_others(txn);
    JsonWriter(reply_.fields).field("revoked", static_cast<std::int64_t>(revoked)).field("kept_current", keep_current_);
    return Ok{};
  }
};

class ChangePasswordOp final : public SignOutOthersOp {
 public:
  ChangePasswordOp(ChatService& s, ReplyTarget t, Identity caller, std::string new_hash)
      : SignOutOthersOp(s, std::move(t), std::move(caller), true), new_hash_(std::move(new_hash)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    txn.set_password_hash(caller_, new_hash_);
    const std::size_t revoked = sign_out_others(txn);
    JsonWriter(reply_.fields).field("changed", true).field("revoked", static_cast<std::int64_t>(revoked));
    return Ok{};
  }

 private:
  std::string new_hash_;
};

class UpdateProfileOp final : public ChatOp {
 public:
  UpdateProfileOp(ChatService& s, ReplyTarget t, UserId caller, std::string display_name)
      : ChatOp(s, caller, std::move(t)), display_name_(std::move(display_name)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    auto user = txn.user(caller_);
    if (!user) return make_error(ErrorCode::not_found, "no such user");
    // As at registration: no imitation of another username; an empty name shows the username.
    if (!display_name_.empty())
      if (auto fine = check_impersonation(txn, display_name_, user->username); !fine) return fine;
    const std::string name = display_name_.empty() ? user->username : display_name_;
    if (name != user->display_name) {
      txn.set_display_name(caller_, name);
      txn.set_search_terms(caller_, auth::user_search_terms(user->username, name));
      user->display_name = name;
      // Everyone who sees this user in a direct chat or a group learns the new name live, and
      // so do its own other devices (not channel co-members: they read it with users.get).
      std::string json;
      JsonWriter frame(json);
      frame.begin_object().field("type", "user").key("user");
      write_user(frame, *user);
      frame.end_object();
      Delivery d;
      d.to_users = txn.peers(caller_);
      d.to_users.push_back(caller_);
      d.user_frame = gateway::make_text_frame(json);
      deliveries_.push_back(std::move(d));
    }
    JsonWriter w(reply_.fields);
    w.key("user");
    write_user(w, *user);
    return Ok{};
  }

 private:
  std::string display_name_;
};

// Ops that nobody waits for: no reply, nothing to tell when the batch fails.
class BackgroundOp : public ChatOp {
 public:
  explicit BackgroundOp(ChatService& s) : ChatOp(s, 0, ReplyTarget{}) {}
  void abort(const Error&) override {}
};

class TouchTokenOp final : public BackgroundOp {
 public:
  TouchTokenOp(ChatService& s, std::string token_id, std::int64_t at_ms)
      : BackgroundOp(s), token_id_(std::move(token_id)), at_ms_(at_ms) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    txn.touch_token(token_id_, at_ms_);
    return Ok{};
  }

 private:
  std::string token_id_;
  std::int64_t at_ms_;
};

class UpkeepOp final : public ChatOp {
 public:
  UpkeepOp(ChatService& s, std::function<void(std::size_t)> done) : ChatOp(s, 0, ReplyTarget{}) {
    auto missing = missing_;
    requester_.http = [done = std::move(done), missing](const Reply&) { done(*missing); };
  }
  void abort(const Error&) override {}

 protected:
  Status run(store::WriteTxn& txn) override {
    txn.purge_expired(wall_clock_ms() / 1000);
    constexpr int kSkeletonsPerRun = 2000;
    const auto users = txn.users_without_skeleton(kSkeletonsPerRun);
    for (const auto& [id, username] : users) txn.set_name_skeleton(id, auth::name_skeleton(username));
    // users.search terms of users from before they were stored, in the same steps.
    const auto unindexed = txn.users_without_search_terms(kSkeletonsPerRun);
    for (const auto& u : unindexed) txn.set_search_terms(u.id, auth::user_search_terms(u.username, u.display_name));
    *missing_ = std::max(users.size(), unindexed.size());
    return Ok{};
  }

 private:
  std::shared_ptr<std::size_t> missing_ = std::make_shared<std::size_t>(0);
};

class CreateInviteOp final : public ChatOp {
 public:
  CreateInviteOp(ChatService& s, ReplyTarget t, int uses, std::int64_t expires_at_s, std::string note)
      : ChatOp(s, 0, std::move(t)), uses_(uses), expires_at_s_(expires_at_s), note_(std::move(note)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    const std::string code = auth::random_token_id();
    store::InviteRecord invite;
    invite.code_hash = invite_code_hash(code);
    invite.id = invite.code_hash.substr(0, 16);
    invite.created_at_ms = wall_clock_ms();
    invite.expires_at_s = expires_at_s_;
    invite.uses_left = uses_;
    invite.note = note_;
    txn.add_invite(invite);
    JsonWriter w(reply_.fields);
    w.field("code", code).key("invite");
    write_invite(w, invite);
    return Ok{};
  }

 private:
  int uses_;
  std::int64_t expires_at_s_;
  std::string note_;
};

class DeleteInviteOp final : public ChatOp {
 public:
  DeleteInviteOp(ChatService& s, ReplyTarget t, std::string id) : ChatOp(s, 0, std::move(t)), id_(std::move(id)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    if (!txn.delete_invite(id_)) return make_error(ErrorCode::not_found, "no such invite");
    JsonWriter(reply_.fields).field("id", id_).field("deleted", true);
    return Ok{};
  }

 private:
  std::string id_;
};

}  // namespace

void write_invite(JsonWriter& w, const store::InviteRecord& invite) {
  w.begin_object().field("id", invite.id).field("uses_left", invite.uses_left);
  w.field("expires_at", invite.expires_at_s).field("created_at", invite.created_at_ms).field("note", invite.note);
  w.end_object();
}

std::unique_ptr<ChatOp> make_create_user_op(ChatService& service, ReplyTarget target, NewAccount account,
                                            std::shared_ptr<CreatedAccount> created) {
  return std::make_unique<CreateUserOp>(service, std::move(target), std::move(account), std::move(created));
}
std::unique_ptr<ChatOp> make_issue_token_op(ChatService& service, ReplyTarget target, UserId user, ClientInfo client) {
  return std::make_unique<IssueTokenOp>(service, std::move(target), user, std::move(client));
}
std::unique_ptr<ChatOp> make_logout_op(ChatService& service, ReplyTarget target, Identity caller) {
  return std::make_unique<LogoutOp>(service, std::move(target), std::move(caller));
}
std::unique_ptr<ChatOp> make_revoke_session_op(ChatService& service, ReplyTarget target, Identity caller,
                                               std::string token_id) {
  return std::make_unique<RevokeSessionOp>(service, std::move(target), std::move(caller), std::move(token_id));
}
std::unique_ptr<ChatOp> make_logout_all_op(ChatService& service, ReplyTarget target, Identity caller,
                                           bool keep_current) {
  return std::make_unique<LogoutAllOp>(service, std::move(target), std::move(caller), keep_current);
}
std::unique_ptr<ChatOp> make_change_password_op(ChatService& service, ReplyTarget target, Identity caller,
                                                std::string new_hash) {
  return std::make_unique<ChangePasswordOp>(service, std::move(target), std::move(caller), std::move(new_hash));
}
std::unique_ptr<ChatOp> make_update_profile_op(ChatService& service, ReplyTarget target, UserId caller,
                                               std::string display_name) {
  return std::make_unique<UpdateProfileOp>(service, std::move(target), caller, std::move(display_name));
}
std::unique_ptr<ChatOp> make_touch_token_op(ChatService& service, std::string token_id, std::int64_t at_ms) {
  return std::make_unique<TouchTokenOp>(service, std::move(token_id), at_ms);
}
std::unique_ptr<ChatOp> make_upkeep_op(ChatService& service, std::function<void(std::size_t)> done) {
  return std::make_unique<UpkeepOp>(service, std::move(done));
}
std::unique_ptr<ChatOp> make_create_invite_op(ChatService& service, ReplyTarget target, int uses,
                                              std::int64_t expires_at_s, std::string note) {
  return std::make_unique<CreateInviteOp>(service, std::move(target), uses, expires_at_s, std::move(note));
}
std::unique_ptr<ChatOp> make_delete_invite_op(ChatService& service, ReplyTarget target, std::string id) {
  return std::make_unique<DeleteInviteOp>(service, std::move(target), std::move(id));
}

}  // namespace parley::chat
