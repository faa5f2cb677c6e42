// The account's signed-in devices and its password (docs/protocol.md 2.7), over REST with the
// user's token: sessions, sessions revoke, password. (`logout --everywhere` is in
// commands_account.cpp, beside `logout`.)
#include <fmt/format.h>

#include "commands.hpp"
#include "core/json_writer.hpp"
#include "output.hpp"
#include "password_input.hpp"
#include "rest_api.hpp"

namespace parley::cli {
namespace {

struct PasswordArgs {
  std::string current;
  std::string next;
};

Status run_sessions(Context& context) {
  auto token = context.token();
  if (!token) return token.take_error();
  auto reply = account_sessions(context.server(), *token);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_line(to_json(reply->root()));
    return Done{};
  }
  // DEVICE last: it is free text (spaces included).
  Table table({"CURRENT", "TOKEN_ID", "ONLINE", "ADDRESS", "CREATED", "LAST_ACTIVE", "EXPIRES", "DEVICE"});
  for (JsonElement s : json_array(reply->root(), "sessions"))
    table.add({json_bool(s, "current") ? "*" : "", json_string(s, "token_id"),
               std::to_string(json_int(s, "online_sessions")), json_string(s, "address"),
               date_time(json_int(s, "created_at")), date_time(json_int(s, "last_active_at")),
               date_time(json_int(s, "expires_at") * 1000), json_string(s, "device")});
  table.print();
  return Done{};
}

// Signs one device out. When that is the token this command uses, it is also forgotten, as
// `logout` would.
Status run_revoke(Context& context, const std::string& token_id) {
  if (token_id.empty()) return usage_error("TOKEN_ID must not be empty");
  auto token = context.token();
  if (!token) return token.take_error();
  // Whether it is our own token: only the list says (tokens are opaque to clients).
  bool own = false;
  if (auto list = account_sessions(context.server(), *token); list) {
    for (JsonElement s : json_array(list->root(), "sessions"))
      own = own || (json_string(s, "token_id") == token_id && json_bool(s, "current"));
  } else {
    return list.take_error();
  }
  auto reply = revoke_session(context.server(), *token, token_id);
  if (!reply) return reply.take_error();
  const bool forgotten = own && context.config().token == *token;
  if (own)
    if (auto done = context.forget_token(*token); !done) return done;
  if (context.json()) {
    std::string out;
    JsonWriter(out)
        .begin_object()
        .field("token_id", token_id)
        .field("revoked", json_bool(reply->root(), "revoked"))
        .field("current", own)
        .end_object();
    print_line(out);
  } else if (own) {
    print_line(
        fmt::format("signed out {} (this device{})", token_id, forgotten ? "; token forgotten: log in again" : ""));
  } else {
    print_line(fmt::format("signed out {}", token_id));
  }
  return Done{};
}

Status run_password(Context& context, const PasswordArgs& args) {
  auto token = context.token();
  if (!token) return token.take_error();
  auto current = read_secret(args.current, {"current password", "--current", "PARLEY_PASSWORD"});
  if (!current) return current.take_error();
  auto next = read_secret(args.next, {"new password", "--new", "PARLEY_NEW_PASSWORD"}, /*confirm=*/true);
  if (!next) return next.take_error();
  auto reply = change_password(context.server(), *token, *current, *next);
  if (!reply) return reply.take_error();
  const std::int64_t revoked = json_int(reply->root(), "revoked");
  if (context.json()) {
    print_line(to_json(reply->root()));
  } else {
    const std::string& username = context.config().username;  // empty with --token and no saved login
    print_line(fmt::format("password changed{}; {} other {} signed out", username.empty() ? "" : " for " + username,
                           revoked, revoked == 1 ? "device" : "devices"));
  }
  return Done{};
}

}  // namespace

void add_session_commands(CLI::App& app, Action& chosen) {
  auto* sessions = app.add_subcommand("sessions", "list the devices signed in to your account (revoke: sign one out)");
  // CLI11 runs a subcommand's callback before its parent's: `sessions` alone lists, `sessions
  // revoke` must not be overwritten by the list.
  sessions->callback([&chosen, sessions] {
    if (sessions->get_subcommands().empty()) chosen = run_sessions;
  });
  auto token_id = std::make_shared<std::string>();
  auto* revoke = sessions->add_subcommand("revoke", "sign one device out (its TOKEN_ID from `parley sessions`)");
  revoke->add_option("TOKEN_ID", *token_id, "the device's token id")->required();
  on_chosen(revoke, chosen, [token_id](Context& c) { return run_revoke(c, *token_id); });

  auto args = std::make_shared<PasswordArgs>();
  auto* password = app.add_subcommand("password", "change your password (signs out your other devices)");
  password->add_option("--current", args->current, "current password (else $PARLEY_PASSWORD, else a line on stdin)");
  password->add_option("--new", args->next, "new password (else $PARLEY_NEW_PASSWORD, else the next line on stdin)");
  on_chosen(password, chosen, [args](Context& c) { return run_password(c, *args); });
}

}  // namespace parley::cli
