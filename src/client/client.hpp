// Client: a Parley client session that survives disconnects. It authenticates, keeps a sync
// cursor, reconnects with capped exponential backoff and full jitter, re-syncs what it missed,
// and retries unacknowledged sends with their original client_msg_id, so the application sees
// every event exactly once, in commit (pos) order, with no gap: the events of others, and its
// own sends (built from their acks). Every kind of event counts: messages, membership changes,
// and the message-state events (message.edited/deleted, reaction.*, message.pinned/unpinned).
// The frames that are not events (receipts, read state, typing, presence, conversation
// announcements) go to on_notice: ephemeral, at most once, never replayed after a reconnect.
//
// Single-threaded: create it on an io_context and call everything, and receive every callback,
// on the thread running that io_context. Used by the `parley` CLI, `parley-bench` and tests.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "client/media.hpp"
#include "client/ws_connection.hpp"
#include "core/ids.hpp"

namespace parley::client {

struct Event {
  ConversationId conversation_id = 0;
  Seq seq = 0;
  Pos pos = 0;
  std::string message_id;
  UserId sender_id = 0;
  std::string kind;  // "text", "member.added", ... (docs/protocol.md)
  std::string text;
  std::string client_msg_id;
  std::int64_t ts = 0;
  Seq target_seq = 0;    // message.edited/deleted, reaction.*, message.pinned/unpinned: the message acted on
  Seq reply_to = 0;      // text sent with reply_to_seq: the message it quotes
  Seq thread_root = 0;   // text sent with thread_root_seq: the root of its thread
  std::string emoji;     // reaction.*
  // The user hid the message, or cleared the chat past it (a sync read, docs/protocol.md 5.11):
  // the event has no text. Live events are never hidden.
  bool hidden = false;
  // A text event's files (docs/protocol.md, attachments): what media.complete described. For
  // own sends, what SendOptions::attachments held.
  std::vector<Media> attachments;
  // The event object as received (ClientOptions::keep_event_json), for fields not named here.
  // For own sends it is rebuilt from the ack and lacks what only the server computes (mentions).
  std::string json;
};

// One entry of a "presence" frame.
struct PresenceEntry {
  UserId user_id = 0;
  std::string status;          // "online", "away", "offline"
  std::int64_t last_seen = 0;  // ms, when shared and known (0 otherwise)
};

// A pushed frame that is not an event or a reply (docs/protocol.md 5.5-5.8). The fields a type
// does not have stay zero / empty; `json` holds the whole frame for anything else.
struct Notice {
  // "receipt", "read_state", "typing", "presence", "conversation", "conversation_settings",
  // "message_hidden", or a newer type this client does not parse (then only `json` is filled).
  std::string type;
  ConversationId conversation_id = 0;  // all but presence ("conversation": the announced one's id)
  UserId user_id = 0;                  // receipt: whose pointers moved; typing: who types
  Seq delivered_seq = 0;               // receipt, read_state
  std::optional<Seq> read_seq;         // read_state; receipt only if that user shares read receipts
  std::int64_t unread_count = 0;       // read_state
  std::int64_t mention_count = 0;      // read_state
  std::string state;                   // typing: "start" or "stop"
  std::int64_t expires_in_ms = 0;      // typing start: show it this long unless renewed
  std::vector<PresenceEntry> users;    // presence
  // conversation_settings: the user's own settings of the conversation, all five as they now are
  std::int64_t muted_until = 0;        // ms since the epoch; 0 not muted, -1 until unmuted
  bool archived = false;
  std::int64_t pin_rank = 0;           // 0 not pinned; pinned ones sort by it, highest first
  bool marked_unread = false;
  Seq cleared_seq = 0;                 // "clear chat": the user's reads leave out seq <= this
  Seq seq = 0;                         // message_hidden: the message the user hid
  std::string json;                    // the frame as received
};

// Options of a send. The idempotency key is kept for every retry across reconnects.
struct SendOptions {
  Seq reply_to_seq = 0;        // quote this message (0: none)
  Seq thread_root_seq = 0;     // post into the thread under this message (0: none)
  std::string client_msg_id;   // empty: a fresh time-ordered key
  // Files to attach (uploaded with upload_file, or forwarded from an event): only `id` is sent;
  // the rest fills in the own event built from the ack. With attachments the text may be "".
  std::vector<Media> attachments;
};

struct Reply {
  bool ok = false;       // type is "ok", "ack" or "pong"
  std::string type;      // "ok", "ack", "pong", "error"
  std::string code;      // error code, or "disconnected" / "timeout" / "stopped" from the client itself
  std::string message;
  std::string json;      // the whole reply frame
  std::int64_t retry_after_ms = 0;
};

enum class State { idle, connecting, syncing, live, stopped };
const char* state_name(State state);

struct ClientOptions {
  Endpoint endpoint;
  std::string token;
  std::string device;
  bool reconnect = true;
  int backoff_base_ms = 250;
  int backoff_cap_ms = 30000;
  // Resume point (a cursor saved earlier). Without one, the client starts at the hello cursor:
  // it sees what happens from now on (a new device loads older history with `history`).
  std::optional<Pos> cursor;
  int request_timeout_ms = 15000;
  // Application-level ping while idle. Pings also go out at least every presence.heartbeat_ms of
  // the hello reply, busy or not: only pings keep the user online (docs/protocol.md 5.8).
  int ping_interval_ms = 15000;
  int sync_page = 500;
  bool keep_event_json = true;    // fill Event::json (costs a copy per event)
  std::uint64_t seed = 0;         // jitter randomness; 0 = random
  // What media URLs that are paths (the local backend's) are resolved against:
  // "http://HOST:PORT[/PREFIX]". Empty: the endpoint's host and port, and its path without "/ws".
  std::string http_base_url;
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  using ReplyHandler = std::function<void(const Reply&)>;

  static std::shared_ptr<Client> create(boost::asio::io_context& io, ClientOptions options);

  void start();
  // Stops for good: closes the connection, fails pending work with code "stopped".
  void stop();

  // Every event once, in pos order, with no gap (own sends included, built from their acks).
  std::function<void(const Event&)> on_event;
  std::function<void(State)> on_state;
  // The server accepted the hello. The client is not live yet (it may still sync): send
  // requests once on_state reports State::live.
  std::function<void(const Reply& hello)> on_hello;
  // The server refused the hello (the reply says why: unauthorized, token_expired, ...).
  std::function<void(const Reply& refusal)> on_refused;
  // Each time a connection ends: the close code (1006: dropped; 0: could not connect).
  std::function<void(std::uint16_t code, const std::string& reason)> on_disconnect;
  // Every receipt, read_state, typing, presence, conversation, conversation_settings and
  // message_hidden frame, as
  // it arrives: from the
  // hello on, also while syncing (not held back like events; live, an announcement comes before
  // its conversation's first on_event). Notices are not stored by the server: those sent while
  // the client was disconnected are lost, so refresh state (conversations.list, presence.get)
  // after each on_hello.
  std::function<void(const Notice&)> on_notice;

  // Sends a text message, retried across reconnects with the same client_msg_id until the
  // server acks it (done gets the ack) or refuses it for good (done gets the error).
  void send(ConversationId conversation, std::string text, ReplyHandler done = {}, std::string client_msg_id = {});
  void send_to_user(UserId user, std::string text, ReplyHandler done = {}, std::string client_msg_id = {});
  // The same with reply / thread options (and the same retries).
  void send(ConversationId conversation, std::string text, SendOptions options, ReplyHandler done = {});
  void send_to_user(UserId user, std::string text, SendOptions options, ReplyHandler done = {});
  // Any other command (`fields` is JSON members without braces, may be empty). Sent once when
  // live; fails with "disconnected" if the connection drops before the reply.
  void request(const std::string& type, const std::string& fields, ReplyHandler done);

  // Media (docs/protocol.md media.upload, media.complete, media.urls), when live. Each handler
  // runs once, on the io_context's thread; a failure's Reply carries the server's error code
  // (too_large, limit_reached, expired, ...) or one of the client's own: "file_error" (the local
  // file cannot be read or written), "transfer_failed" (the HTTP transfer broke off: see the
  // message), "http_NNN" (a store's refusal without a Parley code), "not_found" (download: the
  // server lists the media as missing), "size_mismatch" (download: not the expected size),
  // "bad_response", and "disconnected" / "stopped" as for request().
  using MediaHandler = std::function<void(const Reply& reply, const Media& media)>;
  using MediaUrlsHandler = std::function<void(const Reply& reply, const MediaUrls& urls)>;
  using DownloadHandler = std::function<void(const Reply& reply, std::uint64_t bytes)>;

  // Uploads the file at `path`: reads it once for its size and SHA-256 (on this thread:
  // a few hundred milliseconds for 100 MB), media.upload, PUTs it to the signed URL streamed
  // from the file, media.complete. `done` gets media.complete's reply and its media.
  void upload_file(const std::string& path, UploadOptions options, MediaHandler done);
  // media.urls: download URLs of the media the user may download, and the ids it may not.
  void media_urls(const std::vector<std::string>& media_ids, MediaUrlsHandler done);
  // Downloads a media's file to `out_path`: media.urls, then a GET streamed into a temporary
  // file beside it, renamed over `out_path` only when complete. `done` gets the byte count.
  void download(const std::string& media_id, const std::string& out_path, DownloadOptions options,
                DownloadHandler done);
  // The same into `sink` (e.g. stdout); on a failure the sink may have had part of the file.
  void download_to(const std::string& media_id, BodySink sink, DownloadOptions options, DownloadHandler done);

  State state() const { return state_; }
  Pos cursor() const { return cursor_.value_or(0); }
  UserId user_id() const { return user_id_; }
  int reconnects() const { return reconnects_; }
  std::size_t pending_sends() const { return sends_.size(); }
  std::uint64_t gaps_detected() const { return gaps_; }
  std::uint64_t duplicates_dropped() const { return duplicates_; }
  std::uint16_t last_close_code() const { return last_close_code_; }
  // The last refused hello (empty `code` if none).
  const Reply& last_refusal() const { return last_refusal_; }
  // Drops the connection abruptly (tests and benchmarks simulate network failures with it).
  void drop_connection();

  // min(cap, base * 2^attempt) scaled by a uniform random factor in [0, 1] ("full jitter").
  static int backoff_delay_ms(int attempt, int base_ms, int cap_ms, std::mt19937_64& random);

 private:
  struct PendingSend {
    std::string client_msg_id;
    ConversationId conversation_id = 0;
    UserId to_user_id = 0;
    std::string text;
    Seq reply_to_seq = 0;
    Seq thread_root_seq = 0;
    std::vector<Media> attachments;
    ReplyHandler done;
    std::string in_flight_id;  // request id while sent and unanswered on this connection
  };
  struct PendingRequest {
    ReplyHandler done;
    std::int64_t deadline_ms = 0;
    bool is_send = false;
  };

  Client(boost::asio::io_context& io, ClientOptions options);
  void connect();
  void on_open();
  void on_text(std::string_view text);
  void on_closed(std::uint16_t code, const std::string& reason);
  void handle_reply(Reply reply, const std::string& id);
  void on_hello_reply(const Reply& reply);
  void sync_page();
  void go_live();
  void surface(Event event);
  void enqueue(PendingSend send);
  void transmit(PendingSend& send);
  std::string new_client_msg_id();
  void transmit_pending();
  std::string send_request(const std::string& type, const std::string& fields, ReplyHandler done, bool is_send);
  void on_send_reply(const std::string& client_msg_id, const Reply& reply);
  void schedule_reconnect();
  void set_state(State state);
  void arm_tick();
  void tick();
  std::string http_base_url() const;

  boost::asio::io_context& io_;
  ClientOptions options_;
  std::mt19937_64 random_;
  std::shared_ptr<WsConnection> connection_;
  State state_ = State::idle;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer tick_timer_;
  int attempt_ = 0;
  int reconnects_ = 0;
  bool connected_once_ = false;
  std::uint16_t last_close_code_ = 0;
  Reply last_refusal_;

  UserId user_id_ = 0;
  std::optional<Pos> cursor_;  // pos of the last event surfaced
  std::vector<Event> held_;    // live events held back while syncing
  std::unordered_map<ConversationId, Seq> last_seq_;
  std::uint64_t gaps_ = 0, duplicates_ = 0;

  std::uint64_t next_id_ = 1;
  std::unordered_map<std::string, PendingRequest> requests_;
  std::deque<PendingSend> sends_;
  std::int64_t last_sent_ms_ = 0;
  std::int64_t last_ping_ms_ = 0;  // last presence heartbeat (hello or ping)
  int heartbeat_ms_ = 0;           // the hello's presence.heartbeat_ms (0: not announced)
};

}  // namespace parley::client
