// Accounts and connectivity: register, login, logout, whoami, users get, ping.
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "commands.hpp"
#include "core/json_writer.hpp"
#include "output.hpp"
#include "rest_api.hpp"
#include "users.hpp"

namespace parley::cli {
namespace {

struct Credentials {
  std::string username;
  std::string password;
  std::string display_name;
};

// One line of stdin. On a terminal, says so on stderr and turns echo off meanwhile.
bool read_secret_line(std::string& line) {
  if (!::isatty(STDIN_FILENO)) return static_cast<bool>(std::getline(std::cin, line));
  print_note("reading the password from the terminal (not echoed)");
  termios saved{};
  const bool restore = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (restore) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  const bool read = static_cast<bool>(std::getline(std::cin, line));
  if (restore) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  std::fputc('\n', stderr);
  return read;
}

// --password, else $PARLEY_PASSWORD, else one line of stdin: never an interactive prompt.
Outcome<std::string> password_of(const Credentials& credentials) {
  if (!credentials.password.empty()) return credentials.password;
  if (const char* env = std::getenv("PARLEY_PASSWORD"); env && *env) return std::string(env);
  std::string line;
  if (read_secret_line(line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) return line;
  }
  return usage_error("no password: give --password, set PARLEY_PASSWORD, or write it as a line on stdin");
}

// Saves the token of a register/login reply as the logged-in account and reports it.
Status adopt_session(Context& context, const JsonDoc& reply, const char* verb) {
  bool found = false;
  const JsonElement user = json_object(reply.root(), "user", found);
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
    print_line(fmt::format("{} {} (id {}) on {}; token saved in {}", verb, config.username, config.user_id,
                           config.server, context.config_path()));
  }
  return Done{};
}

Status run_register(Context& context, const Credentials& credentials) {
  auto password = password_of(credentials);
  if (!password) return password.take_error();
  auto reply = register_account(context.server(), credentials.username, *password, credentials.display_name);
  if (!reply) return reply.take_error();
  return adopt_session(context, *reply, "registered and logged in as");
}

Status run_login(Context& context, const Credentials& credentials) {
  auto password = password_of(credentials);
  if (!password) return password.take_error();
  auto reply = login(context.server(), credentials.username, *password);
  if (!reply) return reply.take_error();
  return adopt_session(context, *reply, "logged in as");
}

Status run_logout(Context& context) {
  auto token = context.token();
  if (!token) return token.take_error();
  auto reply = logout(context.server(), *token);
  // A token the server no longer accepts is as good as logged out: forget it all the same.
  const bool dead_token = !reply && (reply.error().code == "token_revoked" || reply.error().code == "token_expired" ||
                                     reply.error().code == "unauthorized");
  if (!reply && !dead_token) return reply.take_error();
  CliConfig& config = context.config();
  const std::string username = config.username;
  if (config.token == *token) {
    config.token.clear();
    config.expires_at = 0;
    if (auto saved = context.save_config(); !saved) return saved;
  }
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
  bool found = false;
  const JsonElement user = json_object(reply->root(), "user", found);
  if (context.json()) {
    std::string out;
    JsonWriter(out).begin_object().key("user").raw(to_json(user)).field("server", context.server().text).end_object();
    print_line(out);
  } else {
    print_line(fmt::format("{} (id {}, display name {}) on {}", json_string(user, "username"), json_int(user, "id"),
                           json_quote(json_string(user, "display_name")), context.server().text));
  }
  return Done{};
}

Status run_users_get(Context& context, const std::string& who) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  auto user_id = resolve_user_id(**session, who);
  if (!user_id) return user_id.take_error();
  std::string fields;
  JsonWriter(fields).field("user_id", *user_id);
  auto reply = (*session)->call("user.get", fields);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_reply_json(*reply);
    return Done{};
  }
  bool found = false;
  const JsonElement user = json_object(reply->root(), "user", found);
  print_line(fmt::format("{} (id {}, display name {}, since {})", json_string(user, "username"), json_int(user, "id"),
                         json_quote(json_string(user, "display_name")), date_time(json_int(user, "created_at"))));
  return Done{};
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

void add_credentials(CLI::App* command, Credentials& credentials) {
  command->add_option("USER", credentials.username, "username")->required();
  command->add_option("--password", credentials.password, "password (else $PARLEY_PASSWORD, else a line on stdin)");
}

}  // namespace

void add_account_commands(CLI::App& app, Action& chosen) {
  auto credentials = std::make_shared<Credentials>();
  auto* reg = app.add_subcommand("register", "create an account and log in as it");
  add_credentials(reg, *credentials);
  reg->add_option("--display-name", credentials->display_name, "display name (default: the username)");
  on_chosen(reg, chosen, [credentials](Context& c) { return run_register(c, *credentials); });

  auto* login_command = app.add_subcommand("login", "log in and save the token in the config file");
  add_credentials(login_command, *credentials);
  on_chosen(login_command, chosen, [credentials](Context& c) { return run_login(c, *credentials); });

  on_chosen(app.add_subcommand("logout", "revoke the saved token and forget it"), chosen, run_logout);
  on_chosen(app.add_subcommand("whoami", "show the logged-in user (checks the token with the server)"), chosen,
            run_whoami);

  auto* users = app.add_subcommand("users", "look up users");
  users->require_subcommand(1);
  auto who = std::make_shared<std::string>();
  auto* get = users->add_subcommand("get", "show a user");
  get->add_option("USER", *who, "username or numeric id (@name for an all-digit username)")->required();
  on_chosen(get, chosen, [who](Context& c) { return run_users_get(c, *who); });

  on_chosen(app.add_subcommand("ping", "connect, say hello, and measure an application-level ping"), chosen, run_ping);
}

}  // namespace parley::cli
