// The caller's own settings of a conversation (conversation.settings): mute / unmute, archive /
// unarchive, pin-conversation / unpin-conversation, mark-unread, clear, notify. `parley conversations`
// shows them in its FLAGS column.
#include <chrono>

#include <fmt/format.h>

#include "commands.hpp"
#include "core/json_writer.hpp"
#include "output.hpp"
#include "users.hpp"

namespace parley::cli {
namespace {

struct SettingsArgs {
  std::string conversation;  // CONV
  std::string mute_for;      // mute --for: "90s", "30m", "8h", "2d", "2w" (or seconds)
  bool forever = false;      // mute --forever (also the default without --for)
  std::string up_to;         // clear --up-to SEQ (default: everything there is)
  std::string level;         // notify LEVEL
};

// The largest seq a client sends: "clear" without --up-to asks for everything, and the server
// stops at the conversation's last seq.
constexpr std::int64_t kAllSeqs = (std::int64_t{1} << 53) - 1;

// "muted until ...", "archived", "pinned (rank N)", "marked unread"; "-" if none.
std::string describe_settings(JsonElement settings) {
  std::vector<std::string> parts;
  const std::int64_t muted_until = json_int(settings, "muted_until");
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  if (muted_until == -1) parts.push_back("muted until unmuted");
  else if (muted_until > now) parts.push_back("muted until " + date_time(muted_until));
  if (json_bool(settings, "archived")) parts.push_back("archived");
  if (const std::int64_t rank = json_int(settings, "pin_rank"); rank > 0) parts.push_back(fmt::format("pinned (rank {})", rank));
  if (json_bool(settings, "marked_unread")) parts.push_back("marked unread");
  if (const std::int64_t cleared = json_int(settings, "cleared_seq"); cleared > 0)
    parts.push_back(fmt::format("cleared up to [{}]", cleared));
  if (const std::string notify = json_string(settings, "notify"); !notify.empty() && notify != "default")
    parts.push_back(notify == "none" ? "no notifications" : "notifications: " + notify);
  if (parts.empty()) return "no settings (not muted, archived, pinned or marked unread)";
  std::string out;
  for (const auto& part : parts) out += (out.empty() ? "" : ", ") + part;
  return out;
}

// Sends conversation.settings with the fields `fill` writes, and reports the settings in force.
Status change(Context& context, const std::string& conversation, const std::function<void(JsonWriter&)>& fill) {
  auto id = parse_id(conversation, "CONV (a conversation id)");
  if (!id) return id.take_error();
  auto session = context.open_session();
  if (!session) return session.take_error();
  std::string fields;
  JsonWriter w(fields);
  w.field("conversation_id", *id);
  fill(w);
  auto reply = (*session)->call("conversation.settings", fields);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_reply_json(*reply);
    return Done{};
  }
  bool found = false;
  print_line(fmt::format("conversation {}: {}", *id, describe_settings(json_object(reply->root(), "settings", found))));
  return Done{};
}

Status run_mute(Context& context, const SettingsArgs& args) {
  std::int64_t until = -1;
  if (!args.mute_for.empty()) {
    if (args.forever) return usage_error("give --for or --forever, not both");
    auto seconds = duration_seconds(args.mute_for, "--for");
    if (!seconds) return seconds.take_error();
    if (*seconds <= 0) return usage_error("--for: a mute lasts more than 0 seconds (--forever: until unmuted)");
    until = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch()).count() + *seconds * 1000;
  }
  return change(context, args.conversation, [&](JsonWriter& w) { w.field("muted_until", until); });
}

Status run_clear(Context& context, const SettingsArgs& args) {
  std::int64_t up_to = kAllSeqs;
  if (!args.up_to.empty()) {
    auto seq = parse_id(args.up_to, "--up-to SEQ");
    if (!seq) return seq.take_error();
    up_to = *seq;
  }
  return change(context, args.conversation, [&](JsonWriter& w) { w.field("cleared_seq", up_to); });
}

}  // namespace

std::string conversation_flags(JsonElement conversation) {
  std::string flags;
  auto add = [&](const char* flag) { flags += (flags.empty() ? "" : ",") + std::string(flag); };
  const std::int64_t muted_until = json_int(conversation, "muted_until");
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  if (muted_until == -1 || muted_until > now) add("muted");
  if (json_bool(conversation, "archived")) add("archived");
  if (json_int(conversation, "pin_rank") > 0) add("pinned");
  if (json_bool(conversation, "marked_unread")) add("unread");
  if (json_int(conversation, "cleared_seq") > 0) add("cleared");
  return flags.empty() ? "-" : flags;
}

void add_conversation_settings_commands(CLI::App& app, Action& chosen) {
  auto args = std::make_shared<SettingsArgs>();
  const auto with_conversation = [args](CLI::App* command) {
    command->add_option("CONV", args->conversation, "conversation id")->required();
    return command;
  };
  // A command that sets one field to a fixed value.
  const auto setter = [&](const char* name, const char* help, const char* field, bool value) {
    auto* command = with_conversation(app.add_subcommand(name, help));
    on_chosen(command, chosen, [args, field, value](Context& c) {
      return change(c, args->conversation, [&](JsonWriter& w) { w.field(field, value); });
    });
  };

  auto* mute = with_conversation(app.add_subcommand("mute", "mute a conversation on all your devices (default: until unmuted)"));
  mute->add_option("--for", args->mute_for, "for this long: SECONDS, or N with s, m, h, d or w (8h)");
  mute->add_flag("--forever", args->forever, "until unmuted (the default)");
  on_chosen(mute, chosen, [args](Context& c) { return run_mute(c, *args); });
  auto* unmute = with_conversation(app.add_subcommand("unmute", "unmute a conversation"));
  on_chosen(unmute, chosen, [args](Context& c) {
    return change(c, args->conversation, [](JsonWriter& w) { w.field("muted_until", 0); });
  });
  setter("archive", "archive a conversation (for all your devices)", "archived", true);
  setter("unarchive", "take a conversation out of the archive", "archived", false);
  setter("pin-conversation", "pin a conversation on top of your list (see limits.max_pinned_conversations)", "pinned", true);
  setter("unpin-conversation", "unpin a conversation", "pinned", false);
  setter("mark-unread", "mark a conversation as unread (cleared when you read on)", "marked_unread", true);
  auto* clear = with_conversation(
      app.add_subcommand("clear", "clear a chat for yourself: your reads start after it, on all your devices"));
  clear->add_option("--up-to", args->up_to, "the last seq to clear (default: everything there is now)");
  on_chosen(clear, chosen, [args](Context& c) { return run_clear(c, *args); });
  auto* notify = with_conversation(app.add_subcommand(
      "notify", "which messages of a conversation notify your devices by push (default: all; in channels mentions)"));
  notify->add_option("LEVEL", args->level, "default, all, mentions or none")
      ->required()
      ->check(CLI::IsMember({"default", "all", "mentions", "none"}));
  on_chosen(notify, chosen, [args](Context& c) {
    return change(c, args->conversation, [&](JsonWriter& w) { w.field("notify", args->level); });
  });
}

}  // namespace parley::cli
