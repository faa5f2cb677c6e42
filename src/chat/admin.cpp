// The admin API (/v1/admin/*), enabled by auth.admin_token: bulk user creation (for
// provisioning and load tests), the list of live sessions, and invite codes. Every call is
// in the security log.
#include <openssl/crypto.h>
#include <simdjson.h>

#include <spdlog/spdlog.h>

#include "auth/display_names.hpp"
#include "auth/password_policy.hpp"
#include "auth/passwords.hpp"
#include "auth/search_terms.hpp"
#include "chat/account_ops.hpp"
#include "chat/chat_op.hpp"
#include "chat/cluster.hpp"
#include "chat/serialize.hpp"
#include "chat/service.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "core/security_log.hpp"
#include "core/text.hpp"

namespace parley::chat {
namespace {

struct NewUser {
  std::string username;
  std::string display_name;
  std::string password_hash;  // empty: the user signs in only with tokens
  std::optional<store::UserRecord> created;
  std::string token_fields;   // with issue_tokens
  std::string error;
};

class AdminCreateUsersOp final : public ChatOp {
 public:
  AdminCreateUsersOp(ChatService& s, ReplyTarget t, std::shared_ptr<std::vector<NewUser>> users,
                     std::optional<ClientInfo> token_for)
      : ChatOp(s, 0, std::move(t)), users_(std::move(users)), token_for_(std::move(token_for)) {}

 protected:
  Status run(store::WriteTxn& txn) override {
    for (auto& user : *users_) {
      if (!user.error.empty()) continue;
      if (!user.display_name.empty() && !check_impersonation(txn, user.display_name, user.username)) {
        user.error = "conflict";
        continue;
      }
      user.created = txn.create_user(user.username, user.display_name.empty() ? user.username : user.display_name,
                                     user.password_hash, "", auth::name_skeleton(user.username));
      if (!user.created) {
        user.error = "conflict";
        continue;
      }
      txn.set_search_terms(user.created->id, auth::user_search_terms(user.created->username, user.created->display_name));
      if (token_for_) {
        TokenGrant grant = service_.grant_token(user.created->id, *token_for_);
        txn.add_token(grant.record);
        user.token_fields = ChatService::token_fields(grant, *user.created);
      }
    }
    return Ok{};
  }

 private:
  std::shared_ptr<std::vector<NewUser>> users_;
  std::optional<ClientInfo> token_for_;
};

gateway::HttpResponse error_response(ErrorCode code, std::string message) {
  return reply_http(Reply::failure(code, std::move(message)));
}

}  // namespace

bool ChatService::handle_admin(gateway::HttpRequest& request, gateway::HttpResponder& respond) {
  const std::string& expected = config_.auth.admin_token;
  if (expected.empty()) {
    respond(error_response(ErrorCode::not_found, "the admin API is disabled (auth.admin_token)"));
    return true;
  }
  if (request.bearer_token.size() != expected.size() ||
      CRYPTO_memcmp(request.bearer_token.data(), expected.data(), expected.size()) != 0) {
    security_log("admin_refused", {{"method", request.method}, {"path", request.path}, {"address", request.address}});
    respond(error_response(ErrorCode::unauthorized, "admin token required"));
    return true;
  }
  security_log("admin_call", {{"method", request.method}, {"path", request.path}, {"address", request.address}});
  const std::string& path = request.path;
  if (path == "/v1/admin/sessions" && request.method == "GET") {
    admin_list_sessions(request.thread_index, respond);
    return true;
  }
  if (path == "/v1/admin/users" && request.method == "POST") {
    admin_create_users(request, respond);
    return true;
  }
  if (path == "/v1/admin/invites" && (request.method == "POST" || request.method == "GET")) {
    request.method == "POST" ? admin_create_invite(request, respond) : admin_list_invites(request, respond);
    return true;
  }
  constexpr std::string_view kInvitePrefix = "/v1/admin/invites/";
  if (path.rfind(kInvitePrefix, 0) == 0 && request.method == "DELETE") {
    ReplyTarget target;
    target.thread = request.thread_index;
    target.http = [respond](const Reply& reply) { respond(reply_http(reply)); };
    if (!submit_write(make_delete_invite_op(*this, target, path.substr(kInvitePrefix.size()))))
      respond(error_response(ErrorCode::unavailable, "the write queue is full; retry"));
    return true;
  }
  respond(error_response(ErrorCode::not_found, "no such admin endpoint"));
  return true;
}

void ChatService::admin_create_invite(gateway::HttpRequest& request, gateway::HttpResponder respond) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const bool empty = request.body.find_first_not_of(" \t\r\n") == std::string::npos;
  if (!empty && (parser.parse(simdjson::padded_string(request.body)).get(doc) != simdjson::SUCCESS || !doc.is_object()))
    return respond(error_response(ErrorCode::bad_request, "the body must be a JSON object"));
  std::int64_t uses = 1, expires_in_s = 7 * 24 * 3600;
  std::string_view note;
  if (!empty) {
    if (doc["uses"].error() == simdjson::SUCCESS && doc["uses"].get_int64().get(uses) != simdjson::SUCCESS)
      return respond(error_response(ErrorCode::invalid_field, "'uses' must be an integer"));
    if (doc["expires_in_s"].error() == simdjson::SUCCESS && doc["expires_in_s"].get_int64().get(expires_in_s) != simdjson::SUCCESS)
      return respond(error_response(ErrorCode::invalid_field, "'expires_in_s' must be an integer"));
    if (doc["note"].error() == simdjson::SUCCESS && doc["note"].get_string().get(note) != simdjson::SUCCESS)
      return respond(error_response(ErrorCode::invalid_field, "'note' must be a string"));
  }
  if (uses < 1 || uses > 1000000) return respond(error_response(ErrorCode::invalid_field, "'uses' out of range 1..1000000"));
  if (expires_in_s < 0 || expires_in_s > 365LL * 24 * 3600)
    return respond(error_response(ErrorCode::invalid_field, "'expires_in_s' out of range 0..31536000 (0 = never)"));
  if (note.size() > 256) return respond(error_response(ErrorCode::too_large, "'note' longer than 256 bytes"));
  ReplyTarget target;
  target.thread = request.thread_index;
  target.http = [respond](const Reply& reply) {
    auto response = reply_http(reply);
    if (!reply.error) response.status = 201;
    respond(std::move(response));
  };
  const std::int64_t expires_at = expires_in_s == 0 ? 0 : wall_clock_ms() / 1000 + expires_in_s;
  if (!submit_write(make_create_invite_op(*this, target, static_cast<int>(uses), expires_at, std::string(note))))
    respond(error_response(ErrorCode::unavailable, "the write queue is full; retry"));
}

void ChatService::admin_list_invites(gateway::HttpRequest& request, gateway::HttpResponder respond) {
  const unsigned thread = request.thread_index;
  auto read = [this, thread, respond](store::ReadTxn* txn) {
    ReplyTarget target;
    target.thread = thread;
    target.http = [respond](const Reply& reply) { respond(reply_http(reply)); };
    if (!txn) return reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the store could not be read; retry"));
    Reply reply;
    JsonWriter w(reply.fields);
    w.key("invites").begin_array();
    for (const auto& invite : txn->invites(wall_clock_ms() / 1000)) write_invite(w, invite);
    w.end_array();
    reply_on_thread(target, std::move(reply));
  };
  if (!readers_->submit(std::move(read))) respond(error_response(ErrorCode::unavailable, "the read queue is full; retry"));
}

void ChatService::describe_sessions(std::function<void(std::vector<std::string>)> done) {
  // Each I/O thread describes its own sessions; the last one to finish hands them all over.
  struct Gather {
    std::mutex mutex;
    std::vector<std::string> objects;
    unsigned remaining;
  };
  auto gather = std::make_shared<Gather>();
  gather->remaining = poster_.thread_count();
  const auto node_id = static_cast<unsigned>(config_.server.node_id);
  for (unsigned i = 0; i < poster_.thread_count(); ++i) {
    poster_.post(i, [this, i, gather, node_id, done] {
      std::vector<std::string> part;
      hub(i).describe_sessions(part, node_id);
      std::lock_guard lock(gather->mutex);
      gather->objects.insert(gather->objects.end(), std::make_move_iterator(part.begin()),
                             std::make_move_iterator(part.end()));
      if (--gather->remaining == 0) done(std::move(gather->objects));
    });
  }
}

void ChatService::admin_list_sessions(unsigned thread, gateway::HttpResponder respond) {
  auto answer = [this, thread, respond](std::string objects, std::vector<unsigned> nodes) {
    poster_.post(thread, [respond, objects = std::move(objects), nodes = std::move(nodes)] {
      gateway::HttpResponse response;
      response.body = "{\"sessions\":[" + objects + "],\"nodes\":";  // the objects are JSON already
      JsonWriter w(response.body);
      w.begin_array();
      for (unsigned node : nodes) w.value(static_cast<std::int64_t>(node));
      w.end_array();
      response.body.push_back('}');
      respond(std::move(response));
    });
  };
  if (!cluster_) {
    describe_sessions([this, answer](std::vector<std::string> objects) {
      std::string joined;
      for (const std::string& object : objects) {
        if (!joined.empty()) joined.push_back(',');
        joined += object;
      }
      answer(std::move(joined), {static_cast<unsigned>(config_.server.node_id)});
    });
    return;
  }
  // Every node's (this one's included) over the bus: waits bus.gather_ms, off the I/O thread.
  auto ask = [this, answer](store::ReadTxn*) {
    auto census = cluster_->list_sessions(config_.bus.gather_ms);
    answer(std::move(census.objects), std::move(census.nodes));
  };
  if (!readers_->submit(std::move(ask))) respond(error_response(ErrorCode::unavailable, "the read queue is full; retry"));
}

void ChatService::admin_create_users(gateway::HttpRequest& request, gateway::HttpResponder respond) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(request.body)).get(doc) != simdjson::SUCCESS)
    return respond(error_response(ErrorCode::bad_request, "the body must be JSON"));
  simdjson::dom::array list;
  if (doc["users"].get_array().get(list) != simdjson::SUCCESS)
    return respond(error_response(ErrorCode::missing_field, "'users' must be an array"));
  bool issue_tokens = false;
  if (doc["issue_tokens"].get_bool().get(issue_tokens) != simdjson::SUCCESS) issue_tokens = false;
  auto users = std::make_shared<std::vector<NewUser>>();
  std::vector<std::string> passwords;
  for (simdjson::dom::element item : list) {
    if (users->size() >= static_cast<std::size_t>(config_.limits.max_users_per_admin_request))
      return respond(error_response(ErrorCode::too_large, "too many users in one request"));
    std::string_view username, display_name, password;
    if (item["username"].get_string().get(username) != simdjson::SUCCESS)
      return respond(error_response(ErrorCode::missing_field, "every user needs a 'username'"));
    if (item["display_name"].get_string().get(display_name) != simdjson::SUCCESS) display_name = {};
    if (item["password"].get_string().get(password) != simdjson::SUCCESS) password = {};
    NewUser user;
    user.username = ascii_lower(std::string(username));
    auto normalized = auth::normalize_display_name(display_name, static_cast<std::size_t>(config_.limits.max_display_name_bytes));
    if (normalized) user.display_name = std::move(*normalized);
    if (!protocol::is_valid_username(user.username, config_.limits.max_username_bytes) || !normalized) {
      user.error = "invalid_field";
    } else if (!password.empty()) {
      const auth::PasswordPolicy policy{static_cast<std::size_t>(config_.auth.min_password_bytes),
                                        static_cast<double>(config_.auth.min_password_entropy_bits)};
      if (password.size() > protocol::kMaxPasswordBytes ||
          !auth::assess_password(password, policy, {user.username, user.display_name}).acceptable)
        user.error = "invalid_field";
    }
    users->push_back(std::move(user));
    passwords.emplace_back(password);
  }
  const unsigned thread = request.thread_index;
  std::optional<ClientInfo> token_for;
  if (issue_tokens) token_for = ClientInfo{request.address, "issued by the admin API"};
  // Once every password is hashed, one write op creates all the users.
  auto create = [this, users, issue_tokens, thread, respond, token_for]() {
    ReplyTarget target;
    target.thread = thread;
    target.http = [this, users, issue_tokens, respond](const Reply& reply) {
      if (reply.error) return respond(reply_http(reply));
      gateway::HttpResponse response;
      JsonWriter w(response.body);
      w.begin_object().key("users").begin_array();
      for (const auto& user : *users) {
        w.begin_object().field("username", user.username);
        if (user.created) {
          w.field("id", user.created->id);
          if (issue_tokens) w.raw(user.token_fields);
        } else {
          w.field("error", user.error);
        }
        w.end_object();
      }
      w.end_array().end_object();
      respond(std::move(response));
    };
    if (!submit_write(std::make_unique<AdminCreateUsersOp>(*this, target, users, token_for)))
      reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the write queue is full; retry"));
  };
  // Hash the passwords on every hashing thread at once: one strided share each.
  const std::size_t shares = static_cast<std::size_t>(std::max(1, config_.auth.hash_threads));
  auto remaining = std::make_shared<std::atomic<std::size_t>>(shares);
  auto shared_passwords = std::make_shared<std::vector<std::string>>(std::move(passwords));
  bool queued_all = true;
  for (std::size_t share = 0; share < shares; ++share) {
    auto task = [this, users, shared_passwords, share, shares, remaining, create]() {
      for (std::size_t i = share; i < users->size(); i += shares) {
        if ((*shared_passwords)[i].empty() || !(*users)[i].error.empty()) continue;
        try {
          (*users)[i].password_hash =
              auth::hash_password((*shared_passwords)[i], static_cast<unsigned long long>(config_.auth.argon2_opslimit),
                                  static_cast<std::size_t>(config_.auth.argon2_memlimit_kb) * 1024);
        } catch (const std::exception&) {
          (*users)[i].error = "unavailable";
        }
      }
      if (remaining->fetch_sub(1) == 1) create();
    };
    if (!run_hash_task(std::move(task))) {
      queued_all = false;
      for (std::size_t i = share; i < users->size(); i += shares)
        if (!(*shared_passwords)[i].empty() && (*users)[i].error.empty()) (*users)[i].error = "unavailable";
      if (remaining->fetch_sub(1) == 1) create();  // the shares that did queue still finish
    }
  }
  if (!queued_all) spdlog::warn("admin.create_users hashing queue full; some users refused");
}

}  // namespace parley::chat
