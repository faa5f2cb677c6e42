// Messages: send (idempotent by client_msg_id; replies and thread posts; files uploaded and
// attached), history and thread (paged by seq).
#include <algorithm>
#include <iostream>
#include <iterator>
#include <random>

#include <fmt/format.h>

#include "commands.hpp"
#include "core/json_writer.hpp"
#include "output.hpp"
#include "transfers.hpp"
#include "users.hpp"

namespace parley::cli {
namespace {

struct SendArgs {
  std::string to;                  // --to USER
  std::vector<std::string> words;  // [CONV] TEXT...
  std::string client_msg_id;
  std::int64_t reply_to = 0;     // --reply-to SEQ
  std::int64_t thread_root = 0;  // --thread ROOT_SEQ
  std::vector<std::string> files;      // --file PATH: uploaded, then attached
  std::vector<std::string> media_ids;  // --media ID: attached as they are (uploaded before, or forwarded)
};

struct HistoryArgs {
  std::string conversation;
  std::int64_t before_seq = 0;
  std::int64_t after_seq = -1;  // -1: not given (0 is a valid "from the start")
  int limit = 50;
  bool all = false;
};

struct ThreadArgs {
  std::string conversation;
  std::string root;
  int limit = 50;
};

// 128 random bits in hex: unique enough that two messages never share a key.
std::string new_client_msg_id() {
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) id += fmt::format("{:08x}", random());
  return id;
}

// The message text: the words joined by spaces, or all of stdin for a lone "-".
Outcome<std::string> message_text(const std::vector<std::string>& words) {
  std::string text;
  if (words.size() == 1 && words[0] == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
  } else {
    for (const auto& word : words) text += (text.empty() ? "" : " ") + word;
  }
  if (text.empty()) return usage_error("the message text is empty");
  return text;
}

Status run_send(Context& context, const SendArgs& args) {
  std::vector<std::string> words = args.words;
  std::int64_t conversation_id = 0;
  // With attachments the text is optional (a caption).
  const bool attaching = !args.files.empty() || !args.media_ids.empty();
  constexpr const char* kUsage =
      "usage: parley send CONV TEXT... (or parley send --to USER TEXT...; with --file PATH the TEXT is optional)";
  if (args.to.empty()) {
    if (words.empty() || (words.size() < 2 && !attaching)) return usage_error(kUsage);
    auto id = parse_id(words.front(), "CONV (a conversation id)");
    if (!id) return id.take_error();
    conversation_id = *id;
    words.erase(words.begin());
  }
  if (words.empty() && !attaching) return usage_error(kUsage);
  auto text = words.empty() ? Outcome<std::string>(std::string()) : message_text(words);
  if (!text) return text.take_error();
  for (const auto& path : args.files)
    if (auto readable = check_readable_file(path); !readable) return readable;
  auto session = context.open_session();
  if (!session) return session.take_error();
  std::int64_t to_user = 0;
  if (!args.to.empty()) {
    auto user = resolve_user_id(**session, args.to);
    if (!user) return user.take_error();
    to_user = *user;
  }
  client::SendOptions options;
  for (const auto& path : args.files) {
    auto media = upload_with_progress(**session, path, {});
    if (!media) return media.take_error();
    if (!context.json()) print_line("uploaded " + media_summary(*media));
    options.attachments.push_back(std::move(media.value()));
  }
  for (const auto& id : args.media_ids) {
    client::Media media;
    media.id = id;
    options.attachments.push_back(std::move(media));
  }
  options.client_msg_id = args.client_msg_id.empty() ? new_client_msg_id() : args.client_msg_id;
  options.reply_to_seq = args.reply_to;
  options.thread_root_seq = args.thread_root;
  auto ack = (*session)->send(conversation_id, to_user, *text, options);
  if (!ack) return ack.take_error();
  if (context.json()) {
    if (options.attachments.empty()) {
      print_reply_json(*ack);
      return Done{};
    }
    // The ack, and what was attached (the uploads as media.complete described them).
    std::string out = json_without(ack->root(), {"type", "id"});
    out.pop_back();
    out += ",\"attachments\":[";
    for (std::size_t i = 0; i < options.attachments.size(); ++i)
      out += (i ? "," : "") + media_json(options.attachments[i]);
    print_line(out + "]}");
    return Done{};
  }
  const JsonElement root = ack->root();
  std::string placed;
  if (args.thread_root) placed += fmt::format(" in thread [{}]", args.thread_root);
  if (args.reply_to) placed += fmt::format(" in reply to [{}]", args.reply_to);
  print_line(fmt::format("sent to conversation {}{}: seq {}, message {}, client_msg_id {}{}",
                         json_int(root, "conversation_id"), placed, json_int(root, "seq"),
                         json_string(root, "message_id"), json_string(root, "client_msg_id"),
                         json_bool(root, "duplicate") ? " (duplicate: the original message, nothing new stored)" : ""));
  return Done{};
}

Status run_history(Context& context, const HistoryArgs& args) {
  auto conversation_id = parse_id(args.conversation, "CONV (a conversation id)");
  if (!conversation_id) return conversation_id.take_error();
  if (!args.all && args.limit < 1) return usage_error("--limit must be at least 1");
  auto opened = context.open_session();
  if (!opened) return opened.take_error();
  WsSession& session = **opened;
  bool found = false;
  const std::int64_t server_page = json_int(json_object(session.hello().root(), "limits", found), "max_history_page");
  const std::int64_t page_limit = std::clamp<std::int64_t>(server_page ? server_page : 100, 1, 100);
  const bool forward = args.after_seq >= 0;

  std::vector<JsonDoc> pages;  // owns the events below
  std::vector<JsonElement> events;
  std::int64_t before = args.before_seq, after = args.after_seq;
  bool has_more = true;
  while (has_more && (args.all || static_cast<std::int64_t>(events.size()) < args.limit)) {
    const std::int64_t wanted = args.all ? page_limit : std::min<std::int64_t>(page_limit, args.limit - events.size());
    std::string fields;
    JsonWriter w(fields);
    w.field("conversation_id", *conversation_id).field("limit", wanted);
    if (forward) w.field("after_seq", after);
    else if (before > 0) w.field("before_seq", before);
    auto reply = session.call("history", fields);
    if (!reply) return reply.take_error();
    auto page = json_array(reply->root(), "events");
    has_more = json_bool(reply->root(), "has_more") && page.size() > 0;
    for (JsonElement event : page) {
      events.push_back(event);
      const std::int64_t seq = json_int(event, "seq");
      if (forward) after = std::max(after, seq);
      else before = before > 0 ? std::min(before, seq) : seq;
    }
    pages.push_back(std::move(reply.value()));
  }
  std::sort(events.begin(), events.end(),
            [](JsonElement a, JsonElement b) { return json_int(a, "seq") < json_int(b, "seq"); });

  if (context.json()) {
    std::string out;
    JsonWriter w(out);
    w.begin_object().field("conversation_id", *conversation_id).key("events").begin_array();
    for (JsonElement event : events) w.raw(to_json(event));
    w.end_array().field("has_more", has_more).end_object();
    print_line(out);
    return Done{};
  }
  if (events.empty()) print_note("no events in that range");
  UserNames names(fetch_user_over(session));
  for (JsonElement event : events) print_line(describe_event(event, names));
  return Done{};
}

// Pages of thread.history, newest first, until `limit` replies or the thread's start.
Status run_thread(Context& context, const ThreadArgs& args) {
  auto conversation_id = parse_id(args.conversation, "CONV (a conversation id)");
  if (!conversation_id) return conversation_id.take_error();
  auto root_seq = parse_id(args.root, "ROOT_SEQ (the seq of the thread's first message)");
  if (!root_seq) return root_seq.take_error();
  auto opened = context.open_session();
  if (!opened) return opened.take_error();
  WsSession& session = **opened;
  bool found = false;
  const std::int64_t server_page = json_int(json_object(session.hello().root(), "limits", found), "max_history_page");
  const std::int64_t page_limit = std::clamp<std::int64_t>(server_page ? server_page : 100, 1, 100);

  std::vector<JsonDoc> pages;  // owns the elements below
  std::vector<JsonElement> replies;
  std::int64_t before = 0;
  bool has_more = true;
  while (has_more && static_cast<std::int64_t>(replies.size()) < args.limit) {
    std::string fields;
    JsonWriter w(fields);
    w.field("conversation_id", *conversation_id).field("root_seq", *root_seq);
    w.field("limit", std::min<std::int64_t>(page_limit, args.limit - static_cast<std::int64_t>(replies.size())));
    if (before > 0) w.field("before_seq", before);
    auto reply = session.call("thread.history", fields);
    if (!reply) return reply.take_error();
    auto page = json_array(reply->root(), "events");
    has_more = json_bool(reply->root(), "has_more") && page.size() > 0;
    for (JsonElement event : page) {
      replies.push_back(event);
      const std::int64_t seq = json_int(event, "seq");
      before = before > 0 ? std::min(before, seq) : seq;
    }
    pages.push_back(std::move(reply.value()));
  }
  std::sort(replies.begin(), replies.end(),
            [](JsonElement a, JsonElement b) { return json_int(a, "seq") < json_int(b, "seq"); });
  const JsonElement root = json_object(pages.front().root(), "root", found);

  if (context.json()) {
    std::string out;
    JsonWriter w(out);
    w.begin_object().field("conversation_id", *conversation_id).field("root_seq", *root_seq);
    w.key("root").raw(to_json(root));
    w.key("events").begin_array();
    for (JsonElement event : replies) w.raw(to_json(event));
    w.end_array().field("has_more", has_more).end_object();
    print_line(out);
    return Done{};
  }
  UserNames names(fetch_user_over(session));
  print_line(describe_event(root, names));
  if (replies.empty()) print_note("no replies in this thread yet");
  for (JsonElement event : replies) print_line("  " + describe_event(event, names));
  return Done{};
}

}  // namespace

void add_message_commands(CLI::App& app, Action& chosen, const std::vector<std::string>& literal_words) {
  auto send_args = std::make_shared<SendArgs>();
  auto* send = app.add_subcommand("send", "send a message (TEXT '-' reads it from stdin), with files attached (--file)");
  send->add_option("--to", send_args->to, "send to the direct conversation with this user (name or id)");
  send->add_option("--client-msg-id", send_args->client_msg_id,
                   "idempotency key: the same key resends nothing (default: random)");
  send->add_option("--reply-to", send_args->reply_to, "quote the message with this seq")->check(CLI::PositiveNumber);
  send->add_option("--thread", send_args->thread_root, "post in the thread under the message with this seq")
      ->check(CLI::PositiveNumber);
  send->add_option("--file", send_args->files,
                   "upload this file and attach it (repeat for more; the TEXT is then an optional caption)")
      ->allow_extra_args(false)
      ->type_name("PATH");
  send->add_option("--media", send_args->media_ids,
                   "attach this media id as it is (from `parley upload`, or a file of a message you can see)")
      ->allow_extra_args(false)
      ->type_name("MEDIA_ID");
  // Not ->required(): the text may all come after "--" (checked in run_send).
  send->add_option("CONV_TEXT", send_args->words, "CONV TEXT... (or only TEXT... with --to); after '--' even '-x'");
  on_chosen(send, chosen, [send_args, &literal_words](Context& c) {
    SendArgs args = *send_args;
    args.words.insert(args.words.end(), literal_words.begin(), literal_words.end());
    return run_send(c, args);
  });

  auto history_args = std::make_shared<HistoryArgs>();
  auto* history = app.add_subcommand("history", "show a conversation's events, oldest first");
  history->add_option("CONV", history_args->conversation, "conversation id")->required();
  auto* before = history->add_option("--before", history_args->before_seq, "events with seq below SEQ")
                     ->check(CLI::PositiveNumber);
  auto* after = history->add_option("--after", history_args->after_seq, "events with seq above SEQ (0: from the start)")
                    ->check(CLI::NonNegativeNumber);
  before->excludes(after);
  auto* limit = history->add_option("--limit,-n", history_args->limit, "at most N events (default 50)")
                    ->check(CLI::PositiveNumber);
  history->add_flag("--all", history_args->all, "every event in that direction (pages through all)")->excludes(limit);
  on_chosen(history, chosen, [history_args](Context& c) { return run_history(c, *history_args); });

  auto thread_args = std::make_shared<ThreadArgs>();
  auto* thread = app.add_subcommand("thread", "show a thread: its root message and its replies, oldest first");
  thread->add_option("CONV", thread_args->conversation, "conversation id")->required();
  thread->add_option("ROOT_SEQ", thread_args->root, "seq of the thread's root message")->required();
  thread->add_option("--limit,-n", thread_args->limit, "at most N replies, the newest (default 50)")
      ->check(CLI::PositiveNumber);
  on_chosen(thread, chosen, [thread_args](Context& c) { return run_thread(c, *thread_args); });
}

}  // namespace parley::cli
