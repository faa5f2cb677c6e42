// tail: the live event stream of one conversation or of all, through client::Client, which
// reconnects with backoff and resumes from its cursor, so the stream has no gaps and no
// duplicates. Interleaved with it, the notices of the live features (receipts, read state,
// typing, presence, display names, new conversations), which are ephemeral: shown as they come, never
// replayed. Ends after --count events, after --timeout seconds, or on SIGINT/SIGTERM, and then
// reports the cursor to resume from (--since) on stderr.
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <optional>

#include <fmt/format.h>

#include "commands.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "output.hpp"
#include "rest_api.hpp"
#include "users.hpp"

namespace parley::cli {
namespace {

namespace asio = boost::asio;

struct TailArgs {
  std::string conversation;  // empty: every conversation
  std::int64_t since = -1;   // -1: from the hello cursor (what happens from now on)
  std::int64_t count = 0;    // 0: unlimited
  double timeout_s = 0;      // 0: none
  bool events_only = false;  // no notices
};

// Names for the human output, fetched over REST: the stream's event loop is busy with the
// WebSocket, and a lookup per new user is rare enough to block on.
UserNames::Fetch fetch_user_over_rest(const ServerUrl& server, const std::string& token) {
  return [server, token](std::int64_t user_id) {
    HttpRequest request;
    request.target = "/v1/users/" + std::to_string(user_id);
    request.bearer_token = token;
    request.timeout_ms = 5000;
    return rest_call(server, request);
  };
}

// One tail run: owns the event loop, the client and the stop conditions.
class Tail {
 public:
  Tail(Context& context, const TailArgs& args, std::int64_t conversation_id, std::string token,
       client::Endpoint endpoint)
      : context_(context), args_(args), conversation_id_(conversation_id), token_(std::move(token)),
        names_(fetch_user_over_rest(context.server(), token_)), signals_(io_, SIGINT, SIGTERM), deadline_(io_),
        grace_(io_) {
    client::ClientOptions options;
    options.endpoint = std::move(endpoint);
    options.token = token_;
    options.device = kDeviceLabel;
    options.backoff_cap_ms = 5000;
    if (args.since >= 0) options.cursor = args.since;
    client_ = client::Client::create(io_, options);
  }

  // Runs until a stop condition; returns the failure that ended it, if any.
  Status run() {
    client_->on_event = [this](const client::Event& event) { on_event(event); };
    if (!args_.events_only) client_->on_notice = [this](const client::Notice& notice) { on_notice(notice); };
    client_->on_state = [this](client::State state) { on_state(state); };
    client_->on_disconnect = [this](std::uint16_t code, const std::string& reason) { on_disconnect(code, reason); };
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) finish();
    });
    if (args_.timeout_s > 0) {
      deadline_.expires_after(std::chrono::milliseconds(static_cast<std::int64_t>(args_.timeout_s * 1000)));
      deadline_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) finish();
      });
    }
    client_->start();
    io_.run();
    report_cursor();
    if (failure_) return std::move(*failure_);
    return Done{};
  }

 private:
  void on_event(const client::Event& event) {
    if (stopping_) return;  // the client may still be surfacing the rest of a sync page
    resume_cursor_ = event.pos;  // handled, whether shown or filtered out
    if (conversation_id_ && event.conversation_id != conversation_id_) return;
    if (context_.json()) {
      print_line(event.json);
    } else if (auto parsed = parser_.parse(event.json); parsed.error() == simdjson::SUCCESS) {
      const std::string line = describe_event(parsed.value(), names_);
      print_line(conversation_id_ ? line : fmt::format("#{} {}", event.conversation_id, line));
    }
    if (args_.count > 0 && ++printed_ >= args_.count) finish();
  }

  void on_notice(const client::Notice& notice) {
    if (stopping_) return;
    // Presence and renames are about users, not one conversation: shown whatever the filter.
    if (conversation_id_ && notice.type != "presence" && notice.type != "user" &&
        notice.conversation_id != conversation_id_)
      return;
    if (context_.json()) {
      print_line(notice.json);
      return;
    }
    std::string prefix = notice.conversation_id && !conversation_id_ ? fmt::format("#{} ", notice.conversation_id) : "";
    prefix += clock_time(wall_clock_ms()) + " ~ ";
    for (const std::string& line : describe_notice(notice)) print_line(prefix + line);
  }

  // The human lines of a notice, without time and conversation (one per user for presence).
  std::vector<std::string> describe_notice(const client::Notice& notice) {
    if (notice.type == "typing")
      return {names_.name_of(notice.user_id) + (notice.state == "start" ? " is typing" : " stopped typing")};
    if (notice.type == "receipt") {
      std::string line = fmt::format("{}: delivered [{}]", names_.name_of(notice.user_id), notice.delivered_seq);
      if (notice.read_seq) line += fmt::format(", read [{}]", *notice.read_seq);
      return {line};
    }
    if (notice.type == "read_state")
      return {fmt::format("you: read [{}], {} unread, {} {}", notice.read_seq.value_or(0), notice.unread_count,
                          notice.mention_count, notice.mention_count == 1 ? "mention" : "mentions")};
    if (notice.type == "presence") {
      std::vector<std::string> lines;
      for (const auto& user : notice.users) {
        std::string line = names_.name_of(user.user_id) + " is " + user.status;
        if (user.status == "offline" && user.last_seen > 0) line += " (last seen " + date_time(user.last_seen) + ")";
        lines.push_back(std::move(line));
      }
      return lines;
    }
    if (notice.type == "conversation") {
      auto parsed = parser_.parse(notice.json);
      simdjson::dom::element conversation;
      if (parsed.error() != simdjson::SUCCESS || parsed.value()["conversation"].get(conversation) != simdjson::SUCCESS)
        return {};
      return {fmt::format("new {} {} {}", json_string(conversation, "kind"), notice.conversation_id,
                          json_string(conversation, "kind") == "direct" ? conversation_label(conversation)
                                                                        : json_quote(conversation_label(conversation)))};
    }
    if (notice.type == "user") {  // a peer (or you) changed display name
      auto parsed = parser_.parse(notice.json);
      simdjson::dom::element user;
      if (parsed.error() != simdjson::SUCCESS || parsed.value()["user"].get(user) != simdjson::SUCCESS) return {};
      return {fmt::format("{} is now shown as {}", json_string(user, "username"),
                          json_quote(json_string(user, "display_name")))};
    }
    if (notice.type == "message_hidden") return {fmt::format("you hid [{}]", notice.seq)};
    return {notice.type};  // a newer notice this CLI does not know
  }

  void on_state(client::State state) {
    if (state != client::State::live || stopping_) return;
    if (!resume_cursor_) resume_cursor_ = client_->cursor();  // the first hello's cursor (or --since)
    print_note(fmt::format("{} {} (cursor {})", was_live_ ? "live again on" : "live on", context_.server().text,
                           client_->cursor()));
    was_live_ = true;
    lost_noted_ = false;
  }

  void on_disconnect(std::uint16_t code, const std::string& reason) {
    if (stopping_) return;
    if (code == 4003 || code == 4004) {
      // The token was refused or ended; the client gives up. Ask REST for the precise reason.
      auto me = fetch_me(context_.server(), token_);
      if (!me && me.error().exit == ExitCode::refused) failure_ = me.take_error();
      else failure_ = refused("unauthorized", fmt::format("the server refused the token (close {}: {})", code, reason));
      return finish();
    }
    if (!was_live_ && code == 0) {
      failure_ = network_error("cannot connect to " + context_.server().text + ": " + reason);
      return finish();
    }
    if (!lost_noted_) print_note(fmt::format("connection lost (close {}{}); reconnecting", code, reason.empty() ? "" : ": " + reason));
    lost_noted_ = true;
  }

  void finish() {
    if (stopping_) return;
    stopping_ = true;
    signals_.cancel();
    deadline_.cancel();
    client_->stop();
    // The close handshake normally ends the loop at once; a dead network must not hang exit.
    grace_.expires_after(std::chrono::seconds(2));
    grace_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) io_.stop();
    });
  }

  void report_cursor() {
    if (!resume_cursor_ && args_.since < 0) return;  // never connected: there is no position to resume from
    // Not client_->cursor(): after we stop, the client still surfaces the rest of a sync page.
    const std::int64_t cursor = resume_cursor_.value_or(args_.since);
    if (context_.json()) {
      std::string out;
      JsonWriter(out).begin_object().field("cursor", cursor).end_object();
      std::fprintf(stderr, "%s\n", out.c_str());
    } else {
      std::fprintf(stderr, "parley: cursor %lld (resume with: parley tail --since %lld)\n",
                   static_cast<long long>(cursor), static_cast<long long>(cursor));
    }
  }

  Context& context_;
  const TailArgs& args_;
  const std::int64_t conversation_id_;
  const std::string token_;
  UserNames names_;
  simdjson::dom::parser parser_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer deadline_;
  asio::steady_timer grace_;
  std::shared_ptr<client::Client> client_;
  std::optional<Failure> failure_;
  std::optional<std::int64_t> resume_cursor_;  // pos of the last event handled
  std::int64_t printed_ = 0;
  bool stopping_ = false;
  bool was_live_ = false;
  bool lost_noted_ = false;
};

Status run_tail(Context& context, const TailArgs& args) {
  std::int64_t conversation_id = 0;
  if (!args.conversation.empty()) {
    auto id = parse_id(args.conversation, "CONV (a conversation id)");
    if (!id) return id.take_error();
    conversation_id = *id;
  }
  auto token = context.token();
  if (!token) return token.take_error();
  auto endpoint = websocket_endpoint(context.server());
  if (!endpoint) return endpoint.take_error();
  Tail tail(context, args, conversation_id, *token, std::move(endpoint.value()));
  return tail.run();
}

}  // namespace

void add_tail_command(CLI::App& app, Action& chosen) {
  auto args = std::make_shared<TailArgs>();
  auto* tail = app.add_subcommand(
      "tail", "stream events live (all conversations, or CONV), resuming across reconnects, and notices (receipts, "
              "typing, presence)");
  tail->add_option("CONV", args->conversation, "only this conversation");
  tail->add_option("--since", args->since, "start after this cursor (a pos printed by an earlier tail)")
      ->check(CLI::NonNegativeNumber);
  tail->add_option("--count,-n", args->count, "stop after N events (notices do not count)")->check(CLI::PositiveNumber);
  tail->add_option("--timeout", args->timeout_s, "stop after SECONDS")->check(CLI::PositiveNumber);
  tail->add_flag("--events-only", args->events_only,
                 "only events: no receipts, read state, typing, presence or new-conversation notices");
  on_chosen(tail, chosen, [args](Context& c) { return run_tail(c, *args); });
}

}  // namespace parley::cli
