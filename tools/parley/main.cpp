// parley: the command-line client of the Parley chat server. Parses the command line (the
// commands are registered by commands_*.cpp), runs the chosen command, and turns its outcome
// into an exit code: 0 success, 1 refused by the server, 2 usage, 3 network, 4 not logged in.
#include <exception>
#include <iostream>
#include <string_view>
#include <vector>

#include "commands.hpp"

namespace {

using parley::cli::ExitCode;
using parley::cli::Failure;

int report(const Failure& failure) {
  if (failure.exit == ExitCode::refused && !failure.code.empty())
    std::cerr << "error: " << failure.code << ": " << failure.message << "\n";
  else
    std::cerr << "error: " << failure.message << "\n";
  return static_cast<int>(failure.exit);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace parley::cli;
  CLI::App app{"parley: the command-line client of the Parley chat server.\n"
               "Exit codes: 0 success, 1 refused by the server, 2 usage error, 3 network failure, 4 not logged in.",
               "parley"};
  app.set_version_flag("--version", PARLEY_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand; inherited by subcommands added below

  GlobalOptions options;
  app.add_option("--server", options.server,
                 std::string("server URL (default: the config file's, else $PARLEY_SERVER, else ") + kDefaultServer + ")");
  app.add_option("--config", options.config_path, "config file (default: $PARLEY_CONFIG or ~/.config/parley/cli.json)");
  app.add_option("--token", options.token, "use this token instead of the config file's");
  app.add_flag("--json", options.json, "machine output: one JSON object per result, one per line for streams");
  for (auto* option : app.get_options()) option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // last wins

  // Words after "--" are message text even if they look like options. CLI11 2.1 mishandles
  // "--" after a subcommand's positionals (it hands them to the parent app), so we split here.
  int parsed_argc = argc;
  std::vector<std::string> literal_words;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) != "--") continue;
    parsed_argc = i;
    literal_words.assign(argv + i + 1, argv + argc);
    break;
  }

  Action chosen;
  add_account_commands(app, chosen);
  add_session_commands(app, chosen);
  add_conversation_commands(app, chosen);
  add_conversation_settings_commands(app, chosen);
  add_notification_commands(app, chosen);
  add_message_commands(app, chosen, literal_words);
  add_message_state_commands(app, chosen, literal_words);
  add_media_commands(app, chosen);
  add_live_commands(app, chosen);
  add_tail_command(app, chosen);
  add_admin_commands(app, chosen);

  try {
    app.parse(parsed_argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);  // --help, --version
    std::cerr << "error: " << e.what() << "\nrun 'parley --help' (or 'parley COMMAND --help') for usage\n";
    return static_cast<int>(ExitCode::usage);
  }
  if (!chosen) {  // a command group without its subcommand slipped through
    std::cerr << app.help();
    return static_cast<int>(ExitCode::usage);
  }
  if (parsed_argc != argc && !app.got_subcommand("send") && !app.got_subcommand("edit")) {
    std::cerr << "error: '--' (then message text) is only for `parley send` and `parley edit`\n";
    return static_cast<int>(ExitCode::usage);
  }

  try {
    Context context;
    if (auto loaded = context.load(options); !loaded) return report(loaded.error());
    Status status = chosen(context);
    return status ? 0 : report(status.error());
  } catch (const std::exception& e) {
    // Expected failures are Outcomes; this is a bug or an exhausted machine. Still one line.
    return report(Failure{ExitCode::refused, "internal", e.what()});
  }
}
