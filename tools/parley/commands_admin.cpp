// The admin API (server setting auth.admin_token): bulk account creation with tokens, the list
// of live sessions, and invite codes. Authenticated by the admin token, not by a user's token.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "commands.hpp"
#include "output.hpp"
#include "rest_api.hpp"

namespace parley::cli {
namespace {

struct AdminArgs {
  std::string admin_token;
  std::int64_t count = 0;
  std::string prefix;
  std::string password;
  std::string out_path;
  int batch = 1000;
  // admin invite ...
  std::int64_t uses = 1;
  std::string expires_in;  // DURATION as given; empty: the server's default
  std::string note;
  std::string invite_id;
};

Outcome<std::string> admin_token_of(const AdminArgs& args) {
  if (!args.admin_token.empty()) return args.admin_token;
  if (const char* env = std::getenv("PARLEY_ADMIN_TOKEN"); env && *env) return std::string(env);
  return usage_error("the admin API needs --admin-token or PARLEY_ADMIN_TOKEN");
}

// Where the created accounts go: stdout or a new file readable only by its owner (it holds
// bearer tokens). Closed on destruction.
class AccountSink {
 public:
  static Outcome<std::unique_ptr<AccountSink>> open(const std::string& path) {
    auto sink = std::make_unique<AccountSink>();
    if (path.empty() || path == "-") return sink;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return usage_error("cannot write " + path + ": " + std::strerror(errno));
    sink->file_ = ::fdopen(fd, "w");
    return sink;
  }
  ~AccountSink() {
    if (file_) std::fclose(file_);
  }
  void write_line(const std::string& line) {
    if (!file_) return print_line(line);
    std::fprintf(file_, "%s\n", line.c_str());
  }
  bool to_file() const { return file_ != nullptr; }

 private:
  std::FILE* file_ = nullptr;
};

Status run_create_users(Context& context, const AdminArgs& args) {
  auto admin_token = admin_token_of(args);
  if (!admin_token) return admin_token.take_error();
  if (args.prefix.empty()) return usage_error("--prefix must not be empty");
  auto sink = AccountSink::open(args.out_path);
  if (!sink) return sink.take_error();

  std::int64_t created = 0, failed = 0;
  std::string first_error;
  for (std::int64_t next = 1; next <= args.count;) {
    std::vector<NewAccount> batch;
    for (; next <= args.count && static_cast<int>(batch.size()) < args.batch; ++next)
      batch.push_back(NewAccount{args.prefix + std::to_string(next), args.password});
    auto reply = admin_create_users(context.server(), *admin_token, batch);
    if (!reply) {
      Failure failure = reply.take_error();
      if (created + failed > 0) failure.message += fmt::format(" (after {} accounts had been handled)", created + failed);
      return failure;
    }
    for (JsonElement user : json_array(reply->root(), "users")) {
      const std::string error = json_string(user, "error");
      if (error.empty()) ++created;
      else if (++failed == 1) first_error = json_string(user, "username") + ": " + error;
      if (context.json()) {
        (*sink)->write_line(to_json(user));
      } else if (error.empty()) {
        (*sink)->write_line(fmt::format("{}\t{}\t{}", json_string(user, "username"), json_int(user, "id"),
                                        json_string(user, "token")));
      } else {
        print_note(fmt::format("{}: {}", json_string(user, "username"), error));
      }
    }
    if (args.count > args.batch) print_note(fmt::format("{} of {} accounts handled", created + failed, args.count));
  }
  if ((*sink)->to_file() || args.count > args.batch)
    print_note(fmt::format("created {} of {} accounts{}", created, args.count,
                           (*sink)->to_file() ? " into " + args.out_path : ""));
  if (failed > 0)
    return refused("partial", fmt::format("{} of {} accounts were not created (first: {})", failed, args.count, first_error));
  return Done{};
}

Status run_sessions(Context& context, const AdminArgs& args) {
  auto admin_token = admin_token_of(args);
  if (!admin_token) return admin_token.take_error();
  auto reply = admin_sessions(context.server(), *admin_token);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_line(to_json(reply->root()));
    return Done{};
  }
  Table table({"SESSION", "USER_ID", "DEVICE", "REMOTE", "THREAD", "CONNECTED"});
  for (JsonElement s : json_array(reply->root(), "sessions"))
    table.add({std::to_string(json_int(s, "session_id")), std::to_string(json_int(s, "user_id")),
               json_string(s, "device"), json_string(s, "remote"), std::to_string(json_int(s, "thread")),
               date_time(json_int(s, "connected_at"))});
  table.print();
  return Done{};
}

std::string invite_expiry(std::int64_t expires_at_s) {
  return expires_at_s == 0 ? std::string("never") : date_time(expires_at_s * 1000);
}

Status run_invite_create(Context& context, const AdminArgs& args) {
  auto admin_token = admin_token_of(args);
  if (!admin_token) return admin_token.take_error();
  NewInvite invite;
  invite.uses = args.uses;
  invite.note = args.note;
  if (!args.expires_in.empty()) {
    auto seconds = duration_seconds(args.expires_in, "--expires-in");
    if (!seconds) return seconds.take_error();
    invite.expires_in_s = *seconds;
  }
  auto reply = admin_create_invite(context.server(), *admin_token, invite);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_line(to_json(reply->root()));
  } else {
    bool found = false;
    const JsonElement created = json_object(reply->root(), "invite", found);
    const std::int64_t uses = json_int(created, "uses_left");
    const std::string note = json_string(created, "note");
    print_line(fmt::format("invite {}: code {} ({} use{}, expires {}{})", json_string(created, "id"),
                           json_string(reply->root(), "code"), uses, uses == 1 ? "" : "s",
                           invite_expiry(json_int(created, "expires_at")),
                           note.empty() ? "" : ", note " + json_quote(note)));
  }
  print_note("the code is shown only this once (the server keeps its hash): `parley register USER --invite CODE`");
  return Done{};
}

Status run_invite_list(Context& context, const AdminArgs& args) {
  auto admin_token = admin_token_of(args);
  if (!admin_token) return admin_token.take_error();
  auto reply = admin_list_invites(context.server(), *admin_token);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_line(to_json(reply->root()));
    return Done{};
  }
  Table table({"ID", "USES_LEFT", "CREATED", "EXPIRES", "NOTE"});
  for (JsonElement invite : json_array(reply->root(), "invites"))
    table.add({json_string(invite, "id"), std::to_string(json_int(invite, "uses_left")),
               date_time(json_int(invite, "created_at")), invite_expiry(json_int(invite, "expires_at")),
               json_string(invite, "note")});
  table.print();
  return Done{};
}

Status run_invite_revoke(Context& context, const AdminArgs& args) {
  if (args.invite_id.empty()) return usage_error("ID must not be empty");
  auto admin_token = admin_token_of(args);
  if (!admin_token) return admin_token.take_error();
  auto reply = admin_delete_invite(context.server(), *admin_token, args.invite_id);
  if (!reply) return reply.take_error();
  print_line(context.json() ? to_json(reply->root()) : "revoked invite " + args.invite_id);
  return Done{};
}

}  // namespace

void add_admin_commands(CLI::App& app, Action& chosen) {
  auto args = std::make_shared<AdminArgs>();
  auto* admin = app.add_subcommand("admin", "the admin API (needs the server's auth.admin_token)");
  admin->require_subcommand(1);
  const auto add_token = [args](CLI::App* command) {
    command->add_option("--admin-token", args->admin_token, "admin token (else $PARLEY_ADMIN_TOKEN)");
  };

  auto* create = admin->add_subcommand("create-users", "create accounts PREFIX1..PREFIXN and print their tokens");
  add_token(create);
  create->add_option("--count", args->count, "how many accounts")->required()->check(CLI::PositiveNumber);
  create->add_option("--prefix", args->prefix, "username prefix")->required();
  create->add_option("--password", args->password, "password for all of them (default: none, token only)");
  create->add_option("--out,-o", args->out_path, "write 'username<TAB>id<TAB>token' lines to FILE (mode 0600)");
  create->add_option("--batch", args->batch, "accounts per request (at most 1000)")->check(CLI::Range(1, 1000));
  on_chosen(create, chosen, [args](Context& c) { return run_create_users(c, *args); });

  auto* sessions = admin->add_subcommand("sessions", "list the server's live WebSocket sessions");
  add_token(sessions);
  on_chosen(sessions, chosen, [args](Context& c) { return run_sessions(c, *args); });

  auto* invite = admin->add_subcommand("invite", "invite codes, for servers with auth.registration = invite");
  invite->require_subcommand(1);
  auto* create_invite = invite->add_subcommand("create", "create an invite code (shown only this once)");
  add_token(create_invite);
  create_invite->add_option("--uses", args->uses, "how many sign-ups it allows (default 1)")
      ->check(CLI::Range(1, 1000000));
  create_invite->add_option("--expires-in", args->expires_in,
                            "valid for SECONDS, or N with s, m, h, d or w; 0 or never: no expiry (default: a week)");
  create_invite->add_option("--note", args->note, "a note for the list (who it is for)");
  on_chosen(create_invite, chosen, [args](Context& c) { return run_invite_create(c, *args); });
  auto* list_invites = invite->add_subcommand("list", "list the usable invites (not their codes)");
  add_token(list_invites);
  on_chosen(list_invites, chosen, [args](Context& c) { return run_invite_list(c, *args); });
  auto* revoke_invite = invite->add_subcommand("revoke", "delete an invite so that its code no longer works");
  add_token(revoke_invite);
  revoke_invite->add_option("ID", args->invite_id, "the invite's id (from create or list)")->required();
  on_chosen(revoke_invite, chosen, [args](Context& c) { return run_invite_revoke(c, *args); });
}

}  // namespace parley::cli
