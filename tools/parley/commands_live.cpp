// Live state: read (read receipts), receipts (who read / received a message), presence, away /
// online (set while a session lasts), settings (privacy of read receipts and last seen).
#include <fmt/format.h>

#include "commands.hpp"
#include "core/json_writer.hpp"
#include "output.hpp"
#include "users.hpp"

namespace parley::cli {
namespace {

struct LiveArgs {
  std::string conversation;        // CONV
  std::string seq;                 // SEQ (receipts)
  std::int64_t read_seq = 0;       // read --seq; 0: the latest
  std::vector<std::string> users;  // presence USER...
  double stay_s = 0;               // away/online --for; 0: until interrupted
  std::string read_receipts;       // settings: "on", "off" or empty (unchanged)
  std::string last_seen;
  std::string discoverable;
};

using Session = std::unique_ptr<WsSession>;

// The caller's member view of a conversation (conversation.get), which must be an active
// membership: receipts of others are silently dropped by the server, so say so here.
Outcome<JsonDoc> active_membership(WsSession& session, std::int64_t conversation_id) {
  std::string fields;
  JsonWriter(fields).field("conversation_id", conversation_id);
  auto reply = session.call("conversation.get", fields);
  if (!reply) return reply;
  bool found = false;
  const JsonElement conversation = json_object(reply->root(), "conversation", found);
  if (!json_has(conversation, "role"))
    return refused("not_member", "you are not a member of this conversation");
  if (json_has(conversation, "left_seq"))
    return refused("not_member", "you are no longer a member of this conversation");
  return reply;
}

// Moves the caller's read pointer (which also moves the delivered one) and reports where the
// pointers and the unread counts stand afterwards.
Status run_read(Context& context, const LiveArgs& args) {
  auto conversation_id = parse_id(args.conversation, "CONV (a conversation id)");
  if (!conversation_id) return conversation_id.take_error();
  auto opened = context.open_session();
  if (!opened) return opened.take_error();
  WsSession& session = **opened;
  auto view = active_membership(session, *conversation_id);
  if (!view) return view.take_error();
  bool found = false;
  const JsonElement conversation = json_object(view->root(), "conversation", found);
  const std::int64_t last_seq = json_int(conversation, "last_seq");
  // The server caps a pointer at last_seq; so do we, to know which read_state to wait for.
  const std::int64_t target = std::min(args.read_seq > 0 ? args.read_seq : last_seq, last_seq);

  std::int64_t delivered = json_int(conversation, "delivered_seq"), read = json_int(conversation, "read_seq");
  std::int64_t unread = json_int(conversation, "unread_count"), mentions = json_int(conversation, "mention_count");
  if (target > read) {
    std::string fields;
    JsonWriter(fields).field("conversation_id", *conversation_id).field("read_seq", target);
    auto queued = session.call("receipt", fields);
    if (!queued) return queued.take_error();
    // The server coalesces receipts for limits.receipt_flush_ms, stores them, then tells every
    // session of the user (this one too) with a read_state frame.
    const std::int64_t flush_ms = json_int(json_object(session.hello().root(), "limits", found), "receipt_flush_ms");
    auto state = session.wait_notice(
        [&](const client::Notice& n) {
          return n.type == "read_state" && n.conversation_id == *conversation_id && n.read_seq.value_or(0) >= target;
        },
        static_cast<int>(flush_ms) + 5000);
    if (!state) return network_error("the server did not confirm the read receipt (no read_state within " +
                                     std::to_string((flush_ms + 5000) / 1000) + " s); it may still apply");
    delivered = state->delivered_seq;
    read = state->read_seq.value_or(read);
    unread = state->unread_count;
    mentions = state->mention_count;
  }
  if (context.json()) {
    std::string out;
    JsonWriter(out).begin_object().field("conversation_id", *conversation_id).field("delivered_seq", delivered)
        .field("read_seq", read).field("unread_count", unread).field("mention_count", mentions).end_object();
    print_line(out);
    return Done{};
  }
  if (last_seq == 0) print_note("the conversation has no events yet");
  else if (target <= json_int(conversation, "read_seq")) print_note(fmt::format("already read up to [{}]", read));
  print_line(fmt::format("read up to [{}] in conversation {}: {} unread, {} {}", read, *conversation_id, unread,
                         mentions, mentions == 1 ? "mention" : "mentions"));
  return Done{};
}

Status run_receipts(Context& context, const LiveArgs& args) {
  auto conversation_id = parse_id(args.conversation, "CONV (a conversation id)");
  if (!conversation_id) return conversation_id.take_error();
  auto seq = parse_id(args.seq, "SEQ (a message's seq)");
  if (!seq) return seq.take_error();
  auto session = context.open_session();
  if (!session) return session.take_error();
  std::string fields;
  JsonWriter(fields).field("conversation_id", *conversation_id).field("seq", *seq);
  auto reply = (*session)->call("receipts.get", fields);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_reply_json(*reply);
    return Done{};
  }
  UserNames names(fetch_user_over(**session));
  std::vector<std::int64_t> ids;
  for (const char* list : {"read_by", "delivered_to"})
    for (JsonElement entry : json_array(reply->root(), list)) ids.push_back(json_int(entry, "user_id"));
  remember_users(**session, names, ids);
  const auto names_in = [&](const char* list) {
    std::string out;
    for (JsonElement entry : json_array(reply->root(), list))
      out += (out.empty() ? "" : ", ") + names.name_of(json_int(entry, "user_id"));
    return out.empty() ? std::string("-") : out;
  };
  print_line("read by: " + names_in("read_by"));
  print_line("delivered to: " + names_in("delivered_to"));
  return Done{};
}

Status run_presence(Context& context, const LiveArgs& args) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  std::vector<std::int64_t> ids;
  for (const auto& user : args.users) {
    auto id = resolve_user_id(**session, user);
    if (!id) return id.take_error();
    ids.push_back(*id);
  }
  std::string fields;
  JsonWriter w(fields);
  write_ids(w, "user_ids", ids);
  auto reply = (*session)->call("presence.get", fields);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_reply_json(*reply);
    return Done{};
  }
  UserNames names(fetch_user_over(**session));
  remember_users(**session, names, ids);
  Table table({"USER", "STATUS", "LAST_SEEN"});
  for (JsonElement user : json_array(reply->root(), "users")) {
    const std::int64_t last_seen = json_int(user, "last_seen");
    table.add({names.name_of(json_int(user, "user_id")), json_string(user, "status"),
               last_seen > 0 ? date_time(last_seen) : "-"});
  }
  table.print();
  return Done{};
}

// Presence belongs to a session: the status holds while this command stays connected.
Status run_set_presence(Context& context, const LiveArgs& args, const char* status) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  std::string fields;
  JsonWriter(fields).field("status", status);
  auto reply = (*session)->call("presence.set", fields);
  if (!reply) return reply.take_error();
  if (context.json()) print_reply_json(*reply);
  else print_line(json_string(reply->root(), "status"));
  print_note(args.stay_s > 0 ? fmt::format("{} for {} s, while this session lasts", status, args.stay_s)
                             : fmt::format("{} while this session lasts: until Ctrl-C", status));
  return (*session)->stay(static_cast<int>(args.stay_s * 1000), [fields](client::Client& client) {
    // A reconnect is a new server session, online by default: set the status again.
    client.request("presence.set", fields, {});
  });
}

Outcome<std::optional<bool>> on_off(const std::string& value, const char* option) {
  if (value.empty()) return std::optional<bool>();
  if (value == "on") return std::optional<bool>(true);
  if (value == "off") return std::optional<bool>(false);
  return usage_error(std::string(option) + " must be on or off, not '" + value + "'");
}

Status run_settings(Context& context, const LiveArgs& args) {
  auto read_receipts = on_off(args.read_receipts, "--read-receipts");
  if (!read_receipts) return read_receipts.take_error();
  auto last_seen = on_off(args.last_seen, "--last-seen");
  if (!last_seen) return last_seen.take_error();
  auto discoverable = on_off(args.discoverable, "--discoverable");
  if (!discoverable) return discoverable.take_error();
  auto session = context.open_session();
  if (!session) return session.take_error();
  // Without changes, settings.update changes nothing and returns the current settings.
  std::string fields;
  JsonWriter w(fields);
  if (*read_receipts) w.field("read_receipts", **read_receipts);
  if (*last_seen) w.field("last_seen", **last_seen);
  if (*discoverable) w.field("discoverable", **discoverable);
  auto reply = (*session)->call("settings.update", fields);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_reply_json(*reply);
    return Done{};
  }
  bool found = false;
  const JsonElement settings = json_object(reply->root(), "settings", found);
  print_line(fmt::format("read receipts: {}, last seen: {}, discoverable: {}",
                         json_bool(settings, "read_receipts") ? "on" : "off", json_bool(settings, "last_seen") ? "on" : "off",
                         json_bool(settings, "discoverable") ? "on" : "off"));
  return Done{};
}

}  // namespace

void add_live_commands(CLI::App& app, Action& chosen) {
  auto args = std::make_shared<LiveArgs>();

  auto* read = app.add_subcommand("read", "mark a conversation read up to SEQ (default: the latest event)");
  read->add_option("CONV", args->conversation, "conversation id")->required();
  read->add_option("--seq", args->read_seq, "read up to this seq")->check(CLI::PositiveNumber);
  on_chosen(read, chosen, [args](Context& c) { return run_read(c, *args); });

  auto* receipts = app.add_subcommand("receipts", "who has read and received a message (direct and group chats)");
  receipts->add_option("CONV", args->conversation, "conversation id")->required();
  receipts->add_option("SEQ", args->seq, "the message's seq")->required();
  on_chosen(receipts, chosen, [args](Context& c) { return run_receipts(c, *args); });

  auto* presence = app.add_subcommand("presence", "show whether users are online, away or offline");
  presence->add_option("USER", args->users, "usernames or ids (people you share a chat with)")->required();
  on_chosen(presence, chosen, [args](Context& c) { return run_presence(c, *args); });

  const char* stay_help = "stay connected this long, then exit (default: until Ctrl-C)";
  auto* away = app.add_subcommand("away", "show as away while this command runs (presence lasts while connected)");
  away->add_option("--for", args->stay_s, stay_help)->check(CLI::PositiveNumber);
  on_chosen(away, chosen, [args](Context& c) { return run_set_presence(c, *args, "away"); });
  auto* online = app.add_subcommand("online", "show as online while this command runs (presence lasts while connected)");
  online->add_option("--for", args->stay_s, stay_help)->check(CLI::PositiveNumber);
  on_chosen(online, chosen, [args](Context& c) { return run_set_presence(c, *args, "online"); });

  auto* settings = app.add_subcommand("settings", "show or change privacy settings");
  settings->add_option("--read-receipts", args->read_receipts, "on|off: let others see how far you have read")
      ->check(CLI::IsMember({"on", "off"}));
  settings->add_option("--last-seen", args->last_seen, "on|off: let others see when you were last online")
      ->check(CLI::IsMember({"on", "off"}));
  settings->add_option("--discoverable", args->discoverable,
                       "on|off: let people you share no conversation with find you (users search)")
      ->check(CLI::IsMember({"on", "off"}));
  on_chosen(settings, chosen, [args](Context& c) { return run_settings(c, *args); });
}

}  // namespace parley::cli
