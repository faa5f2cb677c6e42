// Accounts and connectivity: register, login, logout (also --everywhere), whoami, profile,
// users get, password-check, ping.
#include <unistd.h>

#include <chrono>
#include <functional>
#include <initializer_list>

#include <fmt/format.h>

#include "commands.hpp"
#include "core/json_writer.hpp"
#include "output.hpp"
#include "password_input.hpp"
#include "rest_api.hpp"
#include "users.hpp"

namespace parley::cli {
namespace {

struct LogoutArgs {
  bool everywhere = false;
  bool keep_current = false;
};

struct PasswordCheckArgs {
  std::string password;
  std::string username;  // default: the logged-in user's
  std::string display_name;
};

constexpr SecretSource kPassword{"password", "--password", "PARLEY_PASSWORD"};

// "parley-cli on HOSTNAME": how this machine appears in the account's device list.
std::string default_device_label() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "parley-cli";
  return std::string("parley-cli on ") + host;
}

// The request register/login send: `given` (the options) with the password read as kPassword
// says and the default device label.
Outcome<SignIn> sign_in_of(const SignIn& given) {
  SignIn sign_in = given;
  auto password = read_secret(sign_in.password, kPassword);
  if (!password) return password.take_error();
  sign_in.password = std::move(*password);
  if (sign_in.device.empty()) sign_in.device = default_device_label();
  return sign_in;
}

// The reply's "user" object (register, login, /v1/me, user.get, account.update_profile).
JsonElement user_of(const JsonDoc& reply) {
  bool found = false;
  return json_object(reply.root(), "user", found);
}

// How the commands here name a user: `alice (id 3)`, or with details `alice (id 3, since ...)`.
std::string describe_user(JsonElement user, std::initializer_list<std::string> details = {}) {
  std::string out = fmt::format("{} (id {}", json_string(user, "username"), json_int(user, "id"));
  for (const auto& detail : details) out += ", " + detail;
  return out + ")";
}

std::string display_name_of(JsonElement user) { return "display name " + json_quote(json_string(user, "display_name")); }

// Runs a command whose reply carries a "user" and prints the reply (--json) or `line` of the user.
Status report_user(Context& context, WsSession& session, std::string_view type, const std::string& fields,
                   const std::function<std::string(JsonElement user)>& line) {
  auto reply = session.call(type, fields);
  if (!reply) return reply.take_error();
  if (context.json()) print_reply_json(*reply);
  else print_line(line(user_of(*reply)));
  return Done{};
}

// Saves the token of a register/login reply as the logged-in account and reports it.
Status adopt_session(Context& context, const JsonDoc& reply, const char* verb) {
  const JsonElement user = user_of(reply);
  CliConfig& config = context.config();
  config.server = context.server().text;
  config.username = json_string(user, "username");
  config.user_id = json_int(user, "id");
  config.token = json_string(reply.root(), "token");
  config.expires_at = json_int(reply.root(), "expires_at");
  if (auto saved = context.save_config(); !saved) return saved;
  if (context.json()) {
    std::string out;
    JsonWriter(out).begin_object().key("user").raw(to_json(user)).field("expires_at", config.expires_at)
        .field("server", config.server).field("config", context.config_path()).end_object();
    print_line(out);
  } else {
    print_line(fmt::format("{} {} on {}; token saved in {}", verb, describe_user(user), config.server,
                           context.config_path()));
  }
  return Done{};
}

// register or login (`call`): then the token is saved and reported.
Status run_sign_in(Context& context, const SignIn& given, Outcome<JsonDoc> (*call)(const ServerUrl&, const SignIn&),
                   const char* verb) {
  auto sign_in = sign_in_of(given);
  if (!sign_in) return sign_in.take_error();
  auto reply = call(context.server(), *sign_in);
  if (!reply) return reply.take_error();
  return adopt_session(context, *reply, verb);
}

// logout --everywhere: account.logout_all. Unlike a plain logout, a token the server refuses
// is an error here: the other devices are still signed in.
Status run_logout_everywhere(Context& context, const LogoutArgs& args) {
  auto token = context.token();
  if (!token) return token.take_error();
  auto reply = logout_all(context.server(), *token, args.keep_current);
  if (!reply) return reply.take_error();
  const std::string username = context.config().username;
  if (!args.keep_current)
    if (auto forgotten = context.forget_token(*token); !forgotten) return forgotten;
  const std::int64_t revoked = json_int(reply->root(), "revoked");
  if (context.json()) {
    std::string out;
    JsonWriter(out)
        .begin_object()
        .field("revoked", revoked)
        .field("kept_current", json_bool(reply->root(), "kept_current"))
        .field("username", username)
        .end_object();
    print_line(out);
  } else if (args.keep_current) {
    print_line(fmt::format("signed out {} other device{} of {}; this one stays signed in", revoked,
                           revoked == 1 ? "" : "s", username));
  } else {
    print_line(
        fmt::format("logged out {} everywhere ({} device{} signed out)", username, revoked, revoked == 1 ? "" : "s"));
  }
  return Done{};
}

Status run_logout(Context& context, const LogoutArgs& args) {
  if (args.everywhere) return run_logout_everywhere(context, args);
  auto token = context.token();
  if (!token) return token.take_error();
  auto reply = logout(context.server(), *token);
  // A token the server no longer accepts is as good as logged out: forget it all the same.
  const bool dead_token = !reply && (reply.error().code == "token_revoked" || reply.error().code == "token_expired" ||
                                     reply.error().code == "unauthorized");
  if (!reply && !dead_token) return reply.take_error();
  const std::string username = context.config().username;
  if (auto forgotten = context.forget_token(*token); !forgotten) return forgotten;
  const bool revoked = reply && json_bool(reply->root(), "revoked");
  if (context.json()) {
    std::string out;
    JsonWriter(out).begin_object().field("revoked", revoked).field("username", username).end_object();
    print_line(out);
  } else if (dead_token) {
    print_line(fmt::format("logged out {} (the server had already refused the token: {})", username,
                           reply.error().code));
  } else {
    print_line(fmt::format("logged out {}", username));
  }
  return Done{};
}

Status run_whoami(Context& context) {
  auto token = context.token();
  if (!token) return token.take_error();
  auto reply = fetch_me(context.server(), *token);
  if (!reply) return reply.take_error();
  const JsonElement user = user_of(*reply);
  if (context.json()) {
    std::string out;
    JsonWriter(out).begin_object().key("user").raw(to_json(user)).field("server", context.server().text).end_object();
    print_line(out);
  } else {
    print_line(describe_user(user, {display_name_of(user)}) + " on " + context.server().text);
  }
  return Done{};
}

// account.update_profile: sets the display name ("" = the username) and shows the result.
Status run_profile(Context& context, const std::string& display_name) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  std::string fields;
  JsonWriter(fields).field("display_name", display_name);
  return report_user(context, **session, "account.update_profile", fields, [](JsonElement user) {
    return describe_user(user) + " is now shown as " + json_quote(json_string(user, "display_name"));
  });
}

struct UsersSearchArgs {
  std::string query;
  int limit = 0;     // 0: the server's default page
  bool all = false;  // every page
};

// users.search: contacts first (marked "contact"), then the rest of the directory; --all
// follows the cursor to the end.
Status run_users_search(Context& context, const UsersSearchArgs& args) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  std::vector<JsonDoc> pages;
  std::string cursor;
  bool more = false;
  do {
    std::string fields;
    JsonWriter w(fields);
    w.field("q", args.query);
    if (args.limit > 0) w.field("limit", args.limit);
    if (!cursor.empty()) w.field("cursor", cursor);
    auto reply = (*session)->call("users.search", fields);
    if (!reply) return reply.take_error();
    more = json_bool(reply->root(), "has_more");
    cursor = json_string(reply->root(), "cursor");
    pages.push_back(std::move(reply.value()));
  } while (args.all && more && !cursor.empty());
  if (context.json()) {
    std::string out;
    JsonWriter w(out);
    w.begin_object().key("users").begin_array();
    for (const auto& page : pages)
      for (JsonElement u : json_array(page.root(), "users")) w.raw(to_json(u));
    w.end_array().field("has_more", !args.all && more);
    if (!args.all && more) w.field("cursor", cursor);
    w.end_object();
    print_line(out);
    return Done{};
  }
  Table table({"ID", "USERNAME", "DISPLAY_NAME", "CONTACT"});
  for (const auto& page : pages)
    for (JsonElement u : json_array(page.root(), "users"))
      table.add({std::to_string(json_int(u, "id")), json_string(u, "username"), json_string(u, "display_name"),
                 json_bool(u, "contact") ? "yes" : "-"});
  table.print();
  if (!args.all && more) print_note("more users match: --all lists them all, or narrow the query");
  return Done{};
}

Status run_users_get(Context& context, const std::string& who) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  auto user_id = resolve_user_id(**session, who);
  if (!user_id) return user_id.take_error();
  std::string fields;
  JsonWriter(fields).field("user_id", *user_id);
  return report_user(context, **session, "user.get", fields, [](JsonElement user) {
    return describe_user(user, {display_name_of(user), "since " + date_time(json_int(user, "created_at"))});
  });
}

Status run_ping(Context& context) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  const auto start = std::chrono::steady_clock::now();
  auto reply = (*session)->call("ping", "");
  if (!reply) return reply.take_error();
  const double rtt_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  bool found = false;
  const JsonElement server = json_object((*session)->hello().root(), "server", found);
  const std::string version = json_string(server, "version");
  if (context.json()) {
    std::string out;
    JsonWriter(out).begin_object().raw(fmt::format("\"rtt_ms\":{:.3f}", rtt_ms))
        .field("server_ts", json_int(reply->root(), "ts")).field("server_version", version)
        .field("user_id", (*session)->user_id()).end_object();
    print_line(out);
  } else {
    print_line(fmt::format("pong from {} in {:.3f} ms (parleyd {})", context.server().text, rtt_ms, version));
  }
  return Done{};
}

// Asks the server whether it would accept a password. Exit 0 if so; refused(invalid_field) with
// the server's reason if not, as register would (with --json the verdict is printed either way).
Status run_password_check(Context& context, const PasswordCheckArgs& args) {
  auto password = read_secret(args.password, kPassword);
  if (!password) return password.take_error();
  const std::string username = args.username.empty() ? context.config().username : args.username;
  auto reply = password_check(context.server(), *password, username, args.display_name);
  if (!reply) return reply.take_error();
  const JsonElement verdict = reply->root();
  if (context.json()) print_line(to_json(verdict));
  // The server's problem text already says how many bits it estimated and needs.
  if (!json_bool(verdict, "acceptable")) return refused("invalid_field", json_string(verdict, "problem"));
  if (!context.json())
    print_line(fmt::format("acceptable: about {} bits (the server needs {})", json_int(verdict, "entropy_bits"),
                           json_int(verdict, "min_password_entropy_bits")));
  return Done{};
}

void add_credentials(CLI::App* command, SignIn& credentials) {
  command->add_option("USER", credentials.username, "username")->required();
  command->add_option("--password", credentials.password, "password (else $PARLEY_PASSWORD, else a line on stdin)");
  command->add_option("--device", credentials.device,
                      "label of this sign-in in the account's device list (default: \"parley-cli on HOSTNAME\")");
}

}  // namespace

void add_account_commands(CLI::App& app, Action& chosen) {
  auto credentials = std::make_shared<SignIn>();
  auto* reg = app.add_subcommand("register", "create an account and log in as it");
  add_credentials(reg, *credentials);
  reg->add_option("--display-name", credentials->display_name, "display name (default: the username)");
  reg->add_option("--invite", credentials->invite, "invite code (servers with auth.registration = invite)");
  on_chosen(reg, chosen, [credentials](Context& c) {
    return run_sign_in(c, *credentials, register_account, "registered and logged in as");
  });

  auto* login_command = app.add_subcommand("login", "log in and save the token in the config file");
  add_credentials(login_command, *credentials);
  on_chosen(login_command, chosen, [credentials](Context& c) { return run_sign_in(c, *credentials, login, "logged in as"); });

  auto logout_args = std::make_shared<LogoutArgs>();
  auto* logout_command =
      app.add_subcommand("logout", "revoke the saved token and forget it (--everywhere: every token)");
  auto* everywhere = logout_command->add_flag("--everywhere", logout_args->everywhere,
                                              "sign out every device of the account, this one included");
  logout_command
      ->add_flag("--keep-current", logout_args->keep_current, "with --everywhere: but keep this one signed in")
      ->needs(everywhere);
  on_chosen(logout_command, chosen, [logout_args](Context& c) { return run_logout(c, *logout_args); });
  on_chosen(app.add_subcommand("whoami", "show the logged-in user (checks the token with the server)"), chosen,
            run_whoami);

  auto display_name = std::make_shared<std::string>();
  auto* profile = app.add_subcommand("profile", "change your display name (as others see it)");
  profile->add_option("--display-name", *display_name, "the new display name; \"\" shows your username")->required();
  on_chosen(profile, chosen, [display_name](Context& c) { return run_profile(c, *display_name); });

  auto* users = app.add_subcommand("users", "look up users");
  users->require_subcommand(1);
  auto who = std::make_shared<std::string>();
  auto* get = users->add_subcommand("get", "show a user");
  get->add_option("USER", *who, "username or numeric id (@name for an all-digit username)")->required();
  on_chosen(get, chosen, [who](Context& c) { return run_users_get(c, *who); });
  auto search_args = std::make_shared<UsersSearchArgs>();
  auto* search = users->add_subcommand("search", "find people by the start of their username or display name");
  search->add_option("QUERY", search_args->query, "the start of a username, a display name or a word of it")->required();
  search->add_option("--limit", search_args->limit, "users per page (default: the server's)")->check(CLI::Range(1, 1000));
  search->add_flag("--all", search_args->all, "every page, not just the first");
  on_chosen(search, chosen, [search_args](Context& c) { return run_users_search(c, *search_args); });

  auto check = std::make_shared<PasswordCheckArgs>();
  auto* check_command =
      app.add_subcommand("password-check", "ask the server whether it would accept a password (exit 1 if not)");
  check_command->add_option("--password", check->password,
                            "the password (else $PARLEY_PASSWORD, else a line on stdin)");
  check_command->add_option("--username", check->username, "counts as a known word (default: the logged-in user)");
  check_command->add_option("--display-name", check->display_name, "counts as a known word");
  on_chosen(check_command, chosen, [check](Context& c) { return run_password_check(c, *check); });

  on_chosen(app.add_subcommand("ping", "connect, say hello, and measure an application-level ping"), chosen, run_ping);
}

}  // namespace parley::cli
