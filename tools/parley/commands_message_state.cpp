// The state of messages: edit, delete, react (and --remove), reactions, pin (and --remove),
// pins. Each command that changes something stores an event (message.edited, reaction.added,
// ...) that every member receives like a message; `parley tail` shows them. And hide ("delete
// for me"), which stores no event: only the caller's reads change.
#include <fmt/format.h>

#include "commands.hpp"
#include "core/json_writer.hpp"
#include "output.hpp"
#include "users.hpp"

namespace parley::cli {
namespace {

struct MessageArgs {
  std::string conversation;        // CONV
  std::string seq;                 // SEQ
  std::vector<std::string> words;  // TEXT... (edit)
  std::string emoji;               // EMOJI (react)
  bool remove = false;             // --remove (react, pin)
  std::vector<std::string> seqs;   // SEQ... (hide)
};

struct MessageRef {
  std::int64_t conversation_id = 0;
  std::int64_t seq = 0;
};

Outcome<MessageRef> parse_ref(const MessageArgs& args) {
  auto conversation = parse_id(args.conversation, "CONV (a conversation id)");
  if (!conversation) return conversation.take_error();
  auto seq = parse_id(args.seq, "SEQ (a message's seq)");
  if (!seq) return seq.take_error();
  return MessageRef{*conversation, *seq};
}

// "conversation_id":C,"seq":S
std::string ref_fields(const MessageRef& ref) {
  std::string fields;
  JsonWriter(fields).field("conversation_id", ref.conversation_id).field("seq", ref.seq);
  return fields;
}

// Parses CONV SEQ, connects and runs `type` with the message's fields plus `extra` (members
// without braces); prints the reply as JSON or as `summary` of it.
Status run_on_message(Context& context, const MessageArgs& args, std::string_view type, const std::string& extra,
                      const std::function<std::string(const MessageRef&, const JsonDoc&)>& summary) {
  auto ref = parse_ref(args);
  if (!ref) return ref.take_error();
  auto session = context.open_session();
  if (!session) return session.take_error();
  std::string fields = ref_fields(*ref);
  if (!extra.empty()) fields += "," + extra;
  auto reply = (*session)->call(type, fields);
  if (!reply) return reply.take_error();
  if (context.json()) print_reply_json(*reply);
  else print_line(summary(*ref, *reply));
  return Done{};
}

Status run_edit(Context& context, const MessageArgs& args) {
  std::string text;
  for (const auto& word : args.words) text += (text.empty() ? "" : " ") + word;
  if (text.empty()) return usage_error("usage: parley edit CONV SEQ TEXT...");
  std::string extra;
  JsonWriter(extra).field("text", text);
  return run_on_message(context, args, "message.edit", extra, [](const MessageRef& ref, const JsonDoc& reply) {
    return fmt::format("edited [{}] in conversation {} (event [{}])", ref.seq, ref.conversation_id,
                       json_int(reply.root(), "edit_seq"));
  });
}

Status run_delete(Context& context, const MessageArgs& args) {
  return run_on_message(context, args, "message.delete", "", [](const MessageRef& ref, const JsonDoc& reply) {
    return fmt::format("deleted [{}] in conversation {} (event [{}])", ref.seq, ref.conversation_id,
                       json_int(reply.root(), "delete_seq"));
  });
}

Status run_react(Context& context, const MessageArgs& args) {
  if (args.emoji.empty()) return usage_error("EMOJI must not be empty");
  std::string extra;
  JsonWriter(extra).field("emoji", args.emoji);
  const bool remove = args.remove;
  return run_on_message(context, args, remove ? "reaction.remove" : "reaction.add", extra,
                        [remove, emoji = args.emoji](const MessageRef& ref, const JsonDoc& reply) {
                          const bool changed = json_bool(reply.root(), "changed");
                          if (remove)
                            return changed ? fmt::format("took back {} from [{}]", emoji, ref.seq)
                                           : fmt::format("no {} of yours on [{}]: nothing changed", emoji, ref.seq);
                          return changed ? fmt::format("reacted {} to [{}]", emoji, ref.seq)
                                         : fmt::format("already reacted {} to [{}]: nothing changed", emoji, ref.seq);
                        });
}

Status run_reactions(Context& context, const MessageArgs& args) {
  auto ref = parse_ref(args);
  if (!ref) return ref.take_error();
  auto session = context.open_session();
  if (!session) return session.take_error();
  auto reply = (*session)->call("reactions.get", ref_fields(*ref));
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_reply_json(*reply);
    return Done{};
  }
  const auto reactions = json_array(reply->root(), "reactions");
  if (reactions.size() == 0) {
    print_note(fmt::format("no reactions on [{}]", ref->seq));
    return Done{};
  }
  UserNames names(fetch_user_over(**session));
  std::vector<std::int64_t> ids;
  for (JsonElement r : reactions)
    for (JsonElement id : json_array(r, "user_ids")) ids.push_back(id.get_int64().value_unsafe());
  remember_users(**session, names, ids);
  Table table({"EMOJI", "COUNT", "USERS"});
  for (JsonElement r : reactions) {
    std::string users;
    for (JsonElement id : json_array(r, "user_ids"))
      users += (users.empty() ? "" : ", ") + names.name_of(id.get_int64().value_unsafe());
    table.add({json_string(r, "emoji"), std::to_string(json_int(r, "count")), users});
  }
  table.print();
  return Done{};
}

Status run_pin(Context& context, const MessageArgs& args) {
  const bool remove = args.remove;
  return run_on_message(context, args, remove ? "pin.remove" : "pin.add", "",
                        [remove](const MessageRef& ref, const JsonDoc& reply) {
                          const bool changed = json_bool(reply.root(), "changed");
                          if (remove)
                            return changed ? fmt::format("unpinned [{}]", ref.seq)
                                           : fmt::format("[{}] was not pinned: nothing changed", ref.seq);
                          return changed ? fmt::format("pinned [{}]", ref.seq)
                                         : fmt::format("[{}] was already pinned: nothing changed", ref.seq);
                        });
}

Status run_pins(Context& context, const std::string& conversation) {
  auto conversation_id = parse_id(conversation, "CONV (a conversation id)");
  if (!conversation_id) return conversation_id.take_error();
  auto session = context.open_session();
  if (!session) return session.take_error();
  std::string fields;
  JsonWriter(fields).field("conversation_id", *conversation_id);
  auto reply = (*session)->call("pins.list", fields);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_reply_json(*reply);
    return Done{};
  }
  const auto pins = json_array(reply->root(), "pins");
  if (pins.size() == 0) print_note("no pinned messages");
  UserNames names(fetch_user_over(**session));
  for (JsonElement pin : pins) {
    bool found = false;
    const JsonElement message = json_object(pin, "message", found);
    print_line(fmt::format("{}  (pinned by {}, {})", describe_event(message, names),
                           names.name_of(json_int(pin, "pinned_by")), date_time(json_int(pin, "pinned_at"))));
  }
  return Done{};
}

// message.hide: one SEQ or several; "hid [2], [5] ..." or, when all were hidden already, that
// nothing changed.
Status run_hide(Context& context, const MessageArgs& args) {
  auto conversation_id = parse_id(args.conversation, "CONV (a conversation id)");
  if (!conversation_id) return conversation_id.take_error();
  std::vector<std::int64_t> seqs;
  for (const auto& text : args.seqs) {
    auto seq = parse_id(text, "SEQ (a message's seq)");
    if (!seq) return seq.take_error();
    seqs.push_back(*seq);
  }
  auto session = context.open_session();
  if (!session) return session.take_error();
  std::string fields;
  JsonWriter w(fields);
  w.field("conversation_id", *conversation_id);
  if (seqs.size() == 1) w.field("seq", seqs.front());
  else write_ids(w, "seqs", seqs);
  auto reply = (*session)->call("message.hide", fields);
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_reply_json(*reply);
    return Done{};
  }
  std::string named;
  for (auto seq : seqs) named += fmt::format("{}[{}]", named.empty() ? "" : ", ", seq);
  if (json_bool(reply->root(), "changed"))
    print_line(fmt::format("hid {} in conversation {} for you, on all your devices", named, *conversation_id));
  else
    print_line(fmt::format("{} {} hidden already: nothing changed", named, seqs.size() == 1 ? "was" : "were"));
  return Done{};
}

}  // namespace

void add_message_state_commands(CLI::App& app, Action& chosen, const std::vector<std::string>& literal_words) {
  auto args = std::make_shared<MessageArgs>();
  const auto add_ref = [args](CLI::App* command) {
    command->add_option("CONV", args->conversation, "conversation id")->required();
    command->add_option("SEQ", args->seq, "the message's seq")->required();
  };

  auto* edit = app.add_subcommand("edit", "change the text of your message (after '--' even '-x')");
  add_ref(edit);
  // Not ->required(): the text may all come after "--" (checked in run_edit).
  edit->add_option("TEXT", args->words, "the new text");
  on_chosen(edit, chosen, [args, &literal_words](Context& c) {
    MessageArgs with_literal = *args;
    with_literal.words.insert(with_literal.words.end(), literal_words.begin(), literal_words.end());
    return run_edit(c, with_literal);
  });

  auto* del = app.add_subcommand("delete", "delete a message for everyone (yours, or any as a group/channel admin)");
  add_ref(del);
  on_chosen(del, chosen, [args](Context& c) { return run_delete(c, *args); });

  auto* react = app.add_subcommand("react", "add (or --remove) your reaction to a message");
  add_ref(react);
  react->add_option("EMOJI", args->emoji, "the reaction, e.g. 👍")->required();
  react->add_flag("--remove", args->remove, "take your reaction back");
  on_chosen(react, chosen, [args](Context& c) { return run_react(c, *args); });

  auto* reactions = app.add_subcommand("reactions", "show a message's reactions and who reacted");
  add_ref(reactions);
  on_chosen(reactions, chosen, [args](Context& c) { return run_reactions(c, *args); });

  auto* pin = app.add_subcommand("pin", "pin (or --remove: unpin) a message; in channels admins only");
  add_ref(pin);
  pin->add_flag("--remove", args->remove, "unpin it");
  on_chosen(pin, chosen, [args](Context& c) { return run_pin(c, *args); });

  auto* hide = app.add_subcommand("hide", "delete messages for yourself only (on all your devices; others keep them)");
  hide->add_option("CONV", args->conversation, "conversation id")->required();
  hide->add_option("SEQ", args->seqs, "the messages' seqs")->required();
  on_chosen(hide, chosen, [args](Context& c) { return run_hide(c, *args); });

  auto* pins = app.add_subcommand("pins", "list a conversation's pinned messages");
  pins->add_option("CONV", args->conversation, "conversation id")->required();
  on_chosen(pins, chosen, [args](Context& c) { return run_pins(c, args->conversation); });
}

}  // namespace parley::cli
