// Conversations and membership: conversations, dm, group create/add/remove/rename/role, leave,
// members, channels, channel create/join.
#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "commands.hpp"
#include "core/json_writer.hpp"
#include "output.hpp"
#include "users.hpp"

namespace parley::cli {
namespace {

struct ConversationArgs {
  std::string conversation;        // CONV
  std::string title;               // TITLE
  std::vector<std::string> users;  // USER... / --members
  std::string user;                // USER
  std::string role;
  std::string topic;
  std::string query;
};

using Session = std::unique_ptr<WsSession>;

// Opens a session and parses CONV, the first steps of most commands here.
Outcome<std::int64_t> open_with_conversation(Context& context, const std::string& conversation, Session& session) {
  auto id = parse_id(conversation, "CONV (a conversation id)");
  if (!id) return id;
  auto opened = context.open_session();
  if (!opened) return opened.take_error();
  session = std::move(opened.value());
  return id;
}

Outcome<std::vector<std::int64_t>> resolve_all(WsSession& session, const std::vector<std::string>& users) {
  std::vector<std::int64_t> ids;
  for (const auto& user : users) {
    auto id = resolve_user_id(session, user);
    if (!id) return id.take_error();
    ids.push_back(*id);
  }
  return ids;
}

JsonElement conversation_of(const JsonDoc& reply) {
  bool found = false;
  return json_object(reply.root(), "conversation", found);
}

std::string describe_conversation(JsonElement conversation) {
  return fmt::format("{} {} {}", json_string(conversation, "kind"), json_int(conversation, "id"),
                     json_quote(conversation_label(conversation)));
}

// Runs one command whose reply carries a "conversation"; prints `summary` of it (or the JSON).
// Every page of a list command that pages by id (`after_key` = the largest `id_key` seen),
// `limit` items at a time; `fields` adds the command's own fields.
Outcome<std::vector<JsonDoc>> fetch_all_pages(WsSession& session, const std::string& type, const char* array_key,
                                              const char* id_key, const char* after_key, int limit,
                                              const std::function<void(JsonWriter&)>& fields) {
  std::vector<JsonDoc> pages;
  std::int64_t after = 0;
  for (bool more = true; more;) {
    std::string request;
    JsonWriter w(request);
    fields(w);
    w.field(after_key, after).field("limit", limit);
    auto reply = session.call(type, request);
    if (!reply) return reply.take_error();
    auto items = json_array(reply->root(), array_key);
    // has_more with an empty page would loop forever; trust only progress.
    more = json_bool(reply->root(), "has_more") && items.size() > 0;
    for (JsonElement item : items) after = std::max(after, json_int(item, id_key));
    pages.push_back(std::move(reply.value()));
  }
  return pages;
}

// "key":[...every item of every page...]
void write_items(JsonWriter& w, const std::vector<JsonDoc>& pages, const char* key) {
  w.key(key).begin_array();
  for (const auto& page : pages)
    for (JsonElement item : json_array(page.root(), key)) w.raw(to_json(item));
  w.end_array();
}

Status run_and_report(Context& context, WsSession& session, std::string_view type, const std::string& fields,
                      const std::function<std::string(const JsonDoc&)>& summary) {
  auto reply = session.call(type, fields);
  if (!reply) return reply.take_error();
  if (context.json()) print_reply_json(*reply);
  else print_line(summary(*reply));
  return Done{};
}

Status run_conversations(Context& context) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  auto reply = (*session)->call("conversations.list", "");
  if (!reply) return reply.take_error();
  if (context.json()) {
    print_reply_json(*reply);
    return Done{};
  }
  const auto conversations = json_array(reply->root(), "conversations");
  UserNames names(fetch_user_over(**session));
  std::vector<std::int64_t> senders;
  for (JsonElement c : conversations) {
    bool found = false;
    const JsonElement last = json_object(c, "last_message", found);
    if (found) senders.push_back(json_int(last, "sender_id"));
  }
  remember_users(**session, names, senders);
  // Pinned conversations first, the highest pin_rank on top; the rest in the server's order
  // (most recent activity first).
  std::vector<JsonElement> ordered;
  for (JsonElement c : conversations) ordered.push_back(c);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](JsonElement a, JsonElement b) { return json_int(a, "pin_rank") > json_int(b, "pin_rank"); });
  Table table({"ID", "KIND", "TITLE", "MEMBERS", "LAST_SEQ", "UNREAD", "MENTIONS", "FLAGS", "LAST_ACTIVITY",
               "LAST_MESSAGE"});
  for (JsonElement c : ordered) {
    bool found = false;
    const JsonElement last = json_object(c, "last_message", found);
    const std::string last_message =
        found ? preview(names.name_of(json_int(last, "sender_id")) + ": " + message_and_file_names(last), 50) : "-";
    // A former member's view has no member_count (nothing after it left is shown).
    const std::string members = json_has(c, "member_count") ? std::to_string(json_int(c, "member_count")) : "-";
    table.add({std::to_string(json_int(c, "id")), json_string(c, "kind"), conversation_label(c), members,
               std::to_string(json_int(c, "last_seq")), std::to_string(json_int(c, "unread_count")),
               std::to_string(json_int(c, "mention_count")), conversation_flags(c),
               date_time(json_has(c, "last_event_at") ? json_int(c, "last_event_at") : json_int(c, "created_at")),
               last_message});
  }
  table.print();
  return Done{};
}

Status run_dm(Context& context, const std::string& user) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  auto user_id = resolve_user_id(**session, user);
  if (!user_id) return user_id.take_error();
  std::string fields;
  JsonWriter(fields).field("user_id", *user_id);
  return run_and_report(context, **session, "direct.open", fields, [](const JsonDoc& reply) {
    const JsonElement c = conversation_of(reply);
    return fmt::format("direct conversation {} with {} ({})", json_int(c, "id"), conversation_label(c),
                       json_bool(reply.root(), "created") ? "new" : "existing");
  });
}

Status run_group_create(Context& context, const ConversationArgs& args) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  auto members = resolve_all(**session, args.users);
  if (!members) return members.take_error();
  std::string fields;
  JsonWriter w(fields);
  w.field("title", args.title);
  if (!members->empty()) write_ids(w, "member_ids", *members);
  return run_and_report(context, **session, "group.create", fields, [](const JsonDoc& reply) {
    const JsonElement c = conversation_of(reply);
    return fmt::format("created {} ({} members)", describe_conversation(c), json_int(c, "member_count"));
  });
}

Status run_group_add(Context& context, const ConversationArgs& args) {
  Session session;
  auto id = open_with_conversation(context, args.conversation, session);
  if (!id) return id.take_error();
  auto users = resolve_all(*session, args.users);
  if (!users) return users.take_error();
  std::string fields;
  JsonWriter w(fields);
  w.field("conversation_id", *id);
  write_ids(w, "user_ids", *users);
  return run_and_report(context, *session, "members.add", fields, [](const JsonDoc& reply) {
    const JsonElement c = conversation_of(reply);
    return fmt::format("added {} member(s) to {} (now {} members)", json_array(reply.root(), "added").size(),
                       describe_conversation(c), json_int(c, "member_count"));
  });
}

Status run_group_remove(Context& context, const ConversationArgs& args) {
  Session session;
  auto id = open_with_conversation(context, args.conversation, session);
  if (!id) return id.take_error();
  auto user = resolve_user_id(*session, args.user);
  if (!user) return user.take_error();
  std::string fields;
  JsonWriter(fields).field("conversation_id", *id).field("user_id", *user);
  return run_and_report(context, *session, "members.remove", fields, [&](const JsonDoc& reply) {
    return fmt::format("removed {} from {}", args.user, describe_conversation(conversation_of(reply)));
  });
}

Status run_group_rename(Context& context, const ConversationArgs& args) {
  Session session;
  auto id = open_with_conversation(context, args.conversation, session);
  if (!id) return id.take_error();
  std::string fields;
  JsonWriter(fields).field("conversation_id", *id).field("title", args.title);
  return run_and_report(context, *session, "conversation.rename", fields, [](const JsonDoc& reply) {
    return fmt::format("renamed to {}", describe_conversation(conversation_of(reply)));
  });
}

Status run_group_role(Context& context, const ConversationArgs& args) {
  Session session;
  auto id = open_with_conversation(context, args.conversation, session);
  if (!id) return id.take_error();
  auto user = resolve_user_id(*session, args.user);
  if (!user) return user.take_error();
  std::string fields;
  JsonWriter(fields).field("conversation_id", *id).field("user_id", *user).field("role", args.role);
  return run_and_report(context, *session, "members.set_role", fields, [&](const JsonDoc& reply) {
    return fmt::format("{} is now {} in {}", args.user, args.role, describe_conversation(conversation_of(reply)));
  });
}

Status run_leave(Context& context, const ConversationArgs& args) {
  Session session;
  auto id = open_with_conversation(context, args.conversation, session);
  if (!id) return id.take_error();
  std::string fields;
  JsonWriter(fields).field("conversation_id", *id);
  return run_and_report(context, *session, "conversation.leave", fields, [](const JsonDoc& reply) {
    return fmt::format("left {}", describe_conversation(conversation_of(reply)));
  });
}

Status run_members(Context& context, const ConversationArgs& args) {
  Session session;
  auto id = open_with_conversation(context, args.conversation, session);
  if (!id) return id.take_error();
  auto pages = fetch_all_pages(*session, "members.list", "members", "user_id", "after_user_id", 1000,
                               [&](JsonWriter& w) { w.field("conversation_id", *id); });
  if (!pages) return pages.take_error();
  if (context.json()) {
    std::string out;
    JsonWriter w(out);
    w.begin_object().field("conversation_id", *id);
    write_items(w, *pages, "members");
    w.end_object();
    print_line(out);
    return Done{};
  }
  Table table({"USER_ID", "USERNAME", "ROLE", "JOINED"});
  for (const auto& page : *pages)
    for (JsonElement m : json_array(page.root(), "members"))
      table.add({std::to_string(json_int(m, "user_id")), json_string(m, "username"), json_string(m, "role"),
                 date_time(json_int(m, "joined_at"))});
  table.print();
  return Done{};
}

Status run_channels(Context& context, const ConversationArgs& args) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  auto pages = fetch_all_pages(**session, "channel.list", "channels", "id", "after_id", 100,
                               [&](JsonWriter& w) { w.field("query", args.query); });
  if (!pages) return pages.take_error();
  if (context.json()) {
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    write_items(w, *pages, "channels");
    w.end_object();
    print_line(out);
    return Done{};
  }
  Table table({"ID", "TITLE", "MEMBERS", "ROLE", "TOPIC"});
  for (const auto& page : *pages)
    for (JsonElement c : json_array(page.root(), "channels")) {
      const std::string role = json_string(c, "role");
      table.add({std::to_string(json_int(c, "id")), json_string(c, "title"), std::to_string(json_int(c, "member_count")),
                 role.empty() ? "-" : role, json_string(c, "topic")});
    }
  table.print();
  return Done{};
}

Status run_channel_create(Context& context, const ConversationArgs& args) {
  auto session = context.open_session();
  if (!session) return session.take_error();
  std::string fields;
  JsonWriter w(fields);
  w.field("title", args.title);
  if (!args.topic.empty()) w.field("topic", args.topic);
  return run_and_report(context, **session, "channel.create", fields, [](const JsonDoc& reply) {
    return fmt::format("created {}", describe_conversation(conversation_of(reply)));
  });
}

Status run_channel_join(Context& context, const ConversationArgs& args) {
  Session session;
  auto id = open_with_conversation(context, args.conversation, session);
  if (!id) return id.take_error();
  std::string fields;
  JsonWriter(fields).field("conversation_id", *id);
  return run_and_report(context, *session, "channel.join", fields, [](const JsonDoc& reply) {
    return fmt::format("{} {}", json_bool(reply.root(), "joined") ? "joined" : "already a member of",
                       describe_conversation(conversation_of(reply)));
  });
}

}  // namespace

void add_conversation_commands(CLI::App& app, Action& chosen) {
  auto args = std::make_shared<ConversationArgs>();
  const auto bind = [&chosen, args](CLI::App* command, Status (*run)(Context&, const ConversationArgs&)) {
    on_chosen(command, chosen, [args, run](Context& c) { return run(c, *args); });
  };
  const auto add_conversation = [args](CLI::App* command) {
    command->add_option("CONV", args->conversation, "conversation id")->required();
  };

  on_chosen(app.add_subcommand("conversations", "list your conversations, most recent first"), chosen,
            run_conversations);

  auto* dm = app.add_subcommand("dm", "open (or find) the direct conversation with a user");
  dm->add_option("USER", args->user, "username or user id")->required();
  on_chosen(dm, chosen, [args](Context& c) { return run_dm(c, args->user); });

  auto* group = app.add_subcommand("group", "create and manage groups (also channels: add, remove, rename, role)");
  group->require_subcommand(1);
  auto* create = group->add_subcommand("create", "create a group you own");
  create->add_option("TITLE", args->title, "group title")->required();
  create->add_option("--members", args->users, "initial members, comma-separated usernames or ids")->delimiter(',');
  bind(create, run_group_create);
  auto* add = group->add_subcommand("add", "add members (needs admin)");
  add_conversation(add);
  add->add_option("USER", args->users, "usernames or ids")->required();
  bind(add, run_group_add);
  auto* remove = group->add_subcommand("remove", "remove a member (needs a role above theirs)");
  add_conversation(remove);
  remove->add_option("USER", args->user, "username or id")->required();
  bind(remove, run_group_remove);
  auto* rename = group->add_subcommand("rename", "change the title (needs admin)");
  add_conversation(rename);
  rename->add_option("TITLE", args->title, "new title")->required();
  bind(rename, run_group_rename);
  auto* role = group->add_subcommand("role", "make a member admin or member (owner only)");
  add_conversation(role);
  role->add_option("USER", args->user, "username or id")->required();
  role->add_option("ROLE", args->role, "admin or member")->required()->check(CLI::IsMember({"admin", "member"}));
  bind(role, run_group_role);

  auto* leave = app.add_subcommand("leave", "leave a group or channel");
  add_conversation(leave);
  bind(leave, run_leave);

  auto* members = app.add_subcommand("members", "list all members of a conversation");
  add_conversation(members);
  bind(members, run_members);

  auto* channels = app.add_subcommand("channels", "list public channels");
  channels->add_option("--query,-q", args->query, "title prefix (case-insensitive)");
  bind(channels, run_channels);

  auto* channel = app.add_subcommand("channel", "create or join public channels");
  channel->require_subcommand(1);
  auto* channel_create = channel->add_subcommand("create", "create a channel you own");
  channel_create->add_option("TITLE", args->title, "channel title")->required();
  channel_create->add_option("--topic", args->topic, "topic (fixed at creation)");
  bind(channel_create, run_channel_create);
  auto* join = channel->add_subcommand("join", "join a channel");
  add_conversation(join);
  bind(join, run_channel_join);
}

}  // namespace parley::cli
