// dnd: the caller's do-not-disturb (account.notifications), for all of its devices: a pause
// (--for, --forever, --off) and daily quiet hours (--quiet 22:00-07:00 in --timezone).
#include <chrono>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "commands.hpp"
#include "core/json_writer.hpp"
#include "output.hpp"
#include "users.hpp"

namespace parley::cli {
namespace {

struct DndArgs {
  std::string pause_for;  // --for: "30m", "8h" ...
  bool forever = false;   // --forever
  bool off = false;       // --off: end the pause
  std::string quiet;      // --quiet HH:MM-HH:MM
  std::string timezone;   // --timezone (default: $TZ, /etc/timezone, UTC)
  bool no_quiet = false;  // --no-quiet: remove the quiet hours
};

// The machine's zone name as the IANA database spells it, for quiet hours given without
// --timezone.
std::string local_timezone() {
  if (const char* tz = std::getenv("TZ"); tz && *tz && *tz != ':') return tz;
  std::ifstream file("/etc/timezone");
  std::string name;
  if (file >> name && !name.empty()) return name;
  return "UTC";
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string describe(JsonElement n) {
  std::vector<std::string> parts;
  const std::int64_t until = json_int(n, "dnd_until");
  if (until == -1) parts.push_back("paused until turned on again");
  else if (until > now_ms()) parts.push_back("paused until " + date_time(until));
  simdjson::dom::element schedule;
  if (n["schedule"].get(schedule) == simdjson::SUCCESS && schedule.is_object())
    parts.push_back(fmt::format("quiet {}-{} ({})", json_string(schedule, "start"), json_string(schedule, "end"),
                                json_string(schedule, "timezone")));
  std::string out = parts.empty() ? "notifications on" : parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i) out += ", " + parts[i];
  if (json_bool(n, "quiet_now")) out += "; quiet now";
  return out;
}

Status run_dnd(Context& context, const DndArgs& args) {
  if ((args.off ? 1 : 0) + (args.forever ? 1 : 0) + (args.pause_for.empty() ? 0 : 1) > 1)
    return usage_error("give one of --for, --forever and --off");
  if (!args.quiet.empty() && args.no_quiet) return usage_error("give --quiet or --no-quiet, not both");
  std::string fields;
  JsonWriter w(fields);
  if (args.off) w.field("dnd_until", 0);
  if (args.forever) w.field("dnd_until", -1);
  if (!args.pause_for.empty()) {
    auto seconds = duration_seconds(args.pause_for, "--for");
    if (!seconds) return seconds.take_error();
    if (*seconds <= 0) return usage_error("--for: a pause lasts more than 0 seconds (--forever: until --off)");
    w.field("dnd_until", now_ms() + *seconds * 1000);
  }
  if (args.no_quiet) w.key("schedule").null();
  if (!args.quiet.empty()) {
    const auto dash = args.quiet.find('-');
    if (dash == std::string::npos) return usage_error("--quiet: HH:MM-HH:MM (22:00-07:00)");
    w.key("schedule").begin_object();
    w.field("timezone", args.timezone.empty() ? local_timezone() : args.timezone);
    w.field("start", args.quiet.substr(0, dash)).field("end", args.quiet.substr(dash + 1)).end_object();
  }
  auto session = context.open_session();
  if (!session) return session.take_error();
  auto reply = (*session)->call("account.notifications", fields);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_reply_json(*reply);
    return Done{};
  }
  simdjson::dom::element n;
  if (reply->root()["notifications"].get(n) != simdjson::SUCCESS) return Done{};
  print_line(describe(n));
  return Done{};
}

}  // namespace

void add_notification_commands(CLI::App& app, Action& chosen) {
  auto args = std::make_shared<DndArgs>();
  auto* dnd = app.add_subcommand(
      "dnd", "do not disturb: pause push notifications, or quiet hours every day (all your devices); no option: show");
  dnd->add_option("--for", args->pause_for, "pause for this long: SECONDS, or N with s, m, h, d or w (8h)");
  dnd->add_flag("--forever", args->forever, "pause until --off");
  dnd->add_flag("--off", args->off, "end the pause");
  dnd->add_option("--quiet", args->quiet, "quiet hours every day, HH:MM-HH:MM (22:00-07:00 crosses midnight)");
  dnd->add_option("--timezone", args->timezone, "the quiet hours' zone, e.g. Europe/Berlin (default: this machine's)");
  dnd->add_flag("--no-quiet", args->no_quiet, "remove the quiet hours");
  on_chosen(dnd, chosen, [args](Context& c) { return run_dnd(c, *args); });
}

}  // namespace parley::cli
