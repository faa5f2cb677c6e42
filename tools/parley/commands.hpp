// The command table, one file per family: each add_* function registers its subcommands on
// the CLI11 app. When a subcommand is chosen, its callback stores the action to run in
// `chosen`; main.cpp runs it after parsing, with the Context loaded, and turns its Failure
// into a message and an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "context.hpp"
#include "core/json_writer.hpp"
#include "json_doc.hpp"
#include "outcome.hpp"

namespace parley::cli {

using Action = std::function<Status(Context&)>;

// "key":[id,...] in a request being written (user ids, seqs).
inline void write_ids(JsonWriter& w, const char* key, const std::vector<std::int64_t>& ids) {
  w.key(key).begin_array();
  for (auto id : ids) w.value(id);
  w.end_array();
}

// Makes `command`, when chosen on the command line, select `action`.
inline void on_chosen(CLI::App* command, Action& chosen, Action action) {
  command->callback([&chosen, action = std::move(action)] { chosen = action; });
}

// register, login, logout (also --everywhere), whoami, profile, users get, users search, password-check, ping
void add_account_commands(CLI::App& app, Action& chosen);
// sessions, sessions revoke, password
void add_session_commands(CLI::App& app, Action& chosen);
// conversations, dm, group ..., leave, members, channels, channel ...
void add_conversation_commands(CLI::App& app, Action& chosen);
// mute, unmute, archive, unarchive, pin-conversation, unpin-conversation, mark-unread, clear, notify
void add_conversation_settings_commands(CLI::App& app, Action& chosen);
// dnd (account.notifications: pause, quiet hours)
void add_notification_commands(CLI::App& app, Action& chosen);
// "muted,archived,pinned,unread,cleared" of a conversation object (the caller's own settings);
// "-" if none.
std::string conversation_flags(JsonElement conversation);
// send (also --file and --media attachments), history, thread. `literal_words` (the words after "--") are appended to send's text;
// main.cpp fills it before the action runs.
void add_message_commands(CLI::App& app, Action& chosen, const std::vector<std::string>& literal_words);
// edit (its TEXT takes `literal_words` too), delete, hide, react, reactions, pin, pins
void add_message_state_commands(CLI::App& app, Action& chosen, const std::vector<std::string>& literal_words);
// upload, get (files; send --file is with send)
void add_media_commands(CLI::App& app, Action& chosen);
// read, receipts, presence, away, online, settings
void add_live_commands(CLI::App& app, Action& chosen);
// tail (events and notices)
void add_tail_command(CLI::App& app, Action& chosen);
// admin create-users, admin sessions, admin invite create/list/revoke
void add_admin_commands(CLI::App& app, Action& chosen);

}  // namespace parley::cli
