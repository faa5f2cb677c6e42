#include "chat/service.hpp"

#include "chat/push_dispatch.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <future>

#include "auth/passwords.hpp"
#include "chat/chat_op.hpp"
#include "chat/cluster.hpp"
#include "chat/cluster_presence.hpp"
#include "chat/reads.hpp"
#include "chat/serialize.hpp"
#include "core/clock.hpp"
#include "core/json_writer.hpp"
#include "core/metrics_text.hpp"
#include "media/urls.hpp"
#include "chat/media_files.hpp"
#include "chat/worker_thread.hpp"
#include "media/images.hpp"
#include "media/s3_client.hpp"

namespace parley::chat {
namespace {

std::string load_or_create_token_key(const Config& config) {
  if (!config.auth.secret.empty()) return config.auth.secret;
  const auto path = std::filesystem::path(config.server.data_dir) / "token.key";
  if (std::ifstream in(path); in) {
    std::string key;
    std::getline(in, key);
    if (key.size() >= 32) return key;
    throw std::runtime_error("token key file " + path.string() + " is too short");
  }
  // Created private (0600) and exclusively: never world-readable, not even for a moment.
  std::string key = auth::random_secret();
  const std::string line = key + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create token key file " + path.string() + ": " + std::strerror(errno));
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) throw std::runtime_error("cannot write token key file " + path.string());
  return key;
}

protocol::ParseLimits parse_limits(const Config& config) {
  const LimitsConfig& l = config.limits;
  protocol::ParseLimits p;
  p.max_json_depth = l.max_json_depth;
  p.max_frame_bytes = std::max(l.max_frame_bytes, l.max_http_body_bytes);
  p.max_text_bytes = l.max_text_bytes;
  p.max_client_msg_id_bytes = l.max_client_msg_id_bytes;
  p.max_title_bytes = l.max_title_bytes;
  p.max_username_bytes = l.max_username_bytes;
  p.max_members_per_request = l.max_members_per_request;
  p.max_history_page = l.max_history_page;
  p.max_sync_page = l.max_sync_page;
  p.max_display_name_bytes = l.max_display_name_bytes;
  p.max_search_results = l.max_search_results;
  p.default_search_results = l.default_search_results;
  p.max_hide_batch = l.max_hide_batch;
  p.max_attachments = l.max_attachments;
  p.max_media_urls = l.max_media_urls;
  p.max_push_endpoint_bytes = config.push.max_endpoint_bytes;
  return p;
}

// Answers a hello once the user is subscribed on the session's thread.
class HelloSnapshotOp final : public ChatOp {
 public:
  using ChatOp::ChatOp;

 protected:
  Status run(store::WriteTxn& txn) override {
    SubscriptionSnapshot snapshot;
    snapshot.user_id = caller_;
    snapshot.conversations = txn.active_conversation_ids(caller_);
    snapshot.pos = txn.last_assigned_pos();
    Delivery d;
    d.snapshot = std::move(snapshot);
    deliveries_.push_back(std::move(d));
    return Ok{};
  }

  // Without a snapshot the hello cannot complete: close, the client reconnects.
  void abort(const Error&) override {
    service_.close_session_on_thread(requester_, gateway::close_code::try_again_later, "server busy, retry");
  }
};

}  // namespace

// --- ChatOp ---

void ChatOp::apply(store::WriteTxn& txn) {
  deliveries_.clear();
  emitted_.clear();
  reply_ = Reply{};
  Status status = run(txn);
  if (!status) {
    // Nothing was written (ops validate before writing); only the requester hears of it.
    deliveries_.clear();
    reply_ = Reply::failure(status.take_error());
  }
  if (deliveries_.empty()) deliveries_.emplace_back();
  Delivery& last = deliveries_.back();
  last.requester = requester_;
  last.reply = std::move(reply_);
}

void ChatOp::abort(const Error& error) { service_.reply_on_thread(requester_, Reply::failure(error)); }

const store::EventRecord& ChatOp::emit(store::WriteTxn& txn, store::EventRecord draft) {
  store::AppendOutcome outcome = txn.append_event(std::move(draft));
  emitted_.push_back(std::move(outcome.event));
  const store::EventRecord& event = emitted_.back();
  Delivery d;
  d.conversation_id = event.conversation_id;
  d.event_frame = gateway::make_text_frame_in_place(event_frame_json(event));
  d.event_pos = event.pos;
  deliveries_.push_back(std::move(d));
  return event;
}

Delivery& ChatOp::delivery_for(ConversationId conversation) {
  Delivery d;
  d.conversation_id = conversation;
  deliveries_.push_back(std::move(d));
  return deliveries_.back();
}

void ChatOp::announce(store::WriteTxn& txn, ConversationId conversation, const std::vector<UserId>& users,
                      std::size_t at) {
  auto record = txn.conversation(conversation);
  if (!record) return;
  std::vector<Delivery> items;
  for (UserId user : users) {
    auto member = txn.member(conversation, user);
    if (!member) continue;
    std::string json;
    JsonWriter w(json);
    w.begin_object().field("type", "conversation").key("conversation");
    write_member_conversation(w, txn, *record, *member, user, limits().max_unread_count);
    w.end_object();
    Delivery d;
    d.conversation_id = conversation;
    d.to_users = {user};
    d.user_frame = gateway::make_text_frame(json);
    items.push_back(std::move(d));
  }
  deliveries_.insert(deliveries_.begin() + static_cast<std::ptrdiff_t>(std::min(at, deliveries_.size())),
                     std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
}

const LimitsConfig& ChatOp::limits() const { return service_.config().limits; }

// --- ChatService ---

ChatService::ChatService(const Config& config, gateway::ThreadPoster& poster)
    : config_(config),
      poster_(poster),
      signer_(load_or_create_token_key(config)),
      external_verifier_(config.auth.jwt_secret, config.auth.jwt_issuer, config.auth.jwt_audience,
                         config.auth.jwt_max_lifetime_s),
      guards_(std::make_unique<AccountGuards>(config.auth)),
      user_requests_(config.limits.user_requests_per_second, config.limits.user_requests_burst),
      profile_changes_(config.limits.profile_changes_per_hour / 3600.0, config.limits.profile_changes_per_hour),
      presence_(config_.presence),
      presence_lookup_([this](const std::vector<UserId>& users) { return presence_views(users); }) {
  media_urls_ = std::make_unique<media::MediaUrls>(config_);
  if (media_urls_->local()) media_files_ = std::make_unique<MediaFiles>(config_, *media_urls_);
  else s3_client_ = std::make_unique<media::S3Client>(*media_urls_->s3_location(), config_.media.s3.timeout_ms);
  {
    const MediaConfig& m = config_.media;
    media::ImageLimits limits;
    limits.vips_dir = m.vips_dir;
    limits.max_pixels = m.max_image_pixels;
    limits.timeout_ms = m.image_timeout_ms;
    limits.memory_mb = m.image_memory_mb;
    limits.thumbnail_px = m.thumbnail_px;
    limits.preview_px = m.preview_px;
    limits.preview_max_bytes = m.preview_max_bytes;
    limits.scratch_dir = media::LocalMediaDir(config_.media_dir()).scratch_dir();
    image_tools_ = std::make_unique<media::ImageTools>(std::move(limits));
  }
  store::EngineOptions options;
  options.url = config.store_url();
  options.synchronous_full = config.store.sqlite_synchronous != "normal";
  options.cache_mb = config.store.sqlite_cache_mb;
  options.writer_cache_mb = config.store.sqlite_writer_cache_mb;
  options.wal_max_mb = config.store.sqlite_wal_max_mb;
  options.page_size = config.store.sqlite_page_size;
  options.node_id = static_cast<unsigned>(config.server.node_id);
  options.connect_timeout_s = config.store.postgres_connect_timeout_s;
  options.statement_timeout_ms = config.store.postgres_statement_timeout_ms;
  options.network_timeout_ms = config.store.postgres_network_timeout_ms;
  options.start_timeout_s = config.store.postgres_start_timeout_s;
  engine_ = store::open_engine(options);
  // The directory's URL is checked before the bus waits for NATS: a typo fails at once.
  if (!config.directory.url.empty()) {
    presence::Options directory_options;
    directory_options.url = config.directory.url;
    directory_options.key_prefix = config.directory.key_prefix;
    directory_options.timeout_ms = config.directory.timeout_ms;
    auto directory = presence::open_directory(directory_options);
    if (!directory) throw std::runtime_error(directory.error().message);
    directory_ = std::move(*directory);
    spdlog::info("directory.open {}", directory_->describe());
  }
  if (!config.bus.url.empty()) {
    bus::Options bus_options;
    bus_options.url = config.bus.url;
    bus_options.name = "parleyd-" + std::to_string(config.server.node_id);
    bus_options.ping_interval_ms = config.bus.ping_interval_ms;
    bus_ = bus::open_bus(bus_options);
    spdlog::info("bus.open {}", bus_->describe());
  }
  for (unsigned i = 0; i < poster.thread_count(); ++i) {
    hubs_.push_back(std::make_unique<Hub>(i));
    live_.push_back(std::make_unique<LiveState>());
    parsers_.push_back(std::make_unique<protocol::FrameParser>(parse_limits(config)));
  }
  spdlog::info("store.open engine={}", engine_->describe());
}

ChatService::~ChatService() { stop(); }

bool ChatService::serving() const {
  return ready() && !draining_.load(std::memory_order_acquire) && committer_ && committer_->healthy();
}

void ChatService::start() {
  committer_ = std::make_unique<store::Committer>(
      engine_->open_writer(), config_.store.max_batch, config_.store.max_queue,
      [this](store::Committer::Batch& batch, Pos start, Pos pos) { on_batch_committed(batch, start, pos); });
  readers_ = std::make_unique<store::ReaderPool>(*engine_, config_.server.reader_threads,
                                                 static_cast<std::size_t>(config_.store.max_queue));
  // Revocations and cut-offs survive restarts: load the ones still relevant.
  std::promise<void> loaded;
  readers_->submit([this, &loaded](store::ReadTxn* txn) {
    if (txn) {
      for (auto& id : txn->revoked_token_ids(wall_clock_ms() / 1000)) tokens_.add_revoked(id);
      for (const auto& cutoff : txn->token_cutoffs()) tokens_.set_cutoff(cutoff);
    }
    loaded.set_value();
  });
  loaded.get_future().wait();
  if (bus_) start_cluster();
  push_dispatch_ = std::make_unique<PushDispatch>(*this);  // before any commit can wake it
  committer_->start();
  start_hash_pool();
  media_worker_ = std::make_unique<WorkerThread>("media", 256);
  push_dispatch_->start();
  poster_.post_after(0, config_.presence.batch_ms, [this] { presence_tick(); });
  schedule_upkeep(0);
  schedule_media_cleanup(config_.media.cleanup_interval_s * 1000);
  accepting_.store(true);
  ready_.store(true, std::memory_order_release);
}

void ChatService::stop() {
  if (!committer_) return;
  accepting_.store(false);
  ready_.store(false);
  if (media_worker_) media_worker_->stop();  // its checks end in writes: before the committer stops
  if (push_dispatch_) push_dispatch_->stop();  // likewise (what it claimed comes back after push.lease_ms)
  committer_->stop();  // commits what is queued; its deliveries are posted to the I/O threads
  if (cluster_presence_) cluster_presence_->stop();
  if (cluster_) cluster_->stop();
  readers_->stop();
  stop_hash_pool();
  spdlog::info("store.stopped batches={} ops={} committed_pos={}", committer_->batches_committed(),
               committer_->ops_committed(), committer_->committed_pos());
  committer_.reset();
  readers_.reset();  // the relay (timers, fills) lives on until the service is destroyed
}

void ChatService::start_cluster() {
  ClusterRelay::Hooks hooks;
  hooks.deliver = [this](SharedDeliveryBatch batch) {
    for (unsigned i = 0; i < poster_.thread_count(); ++i) poster_.post(i, [this, i, batch] { hub(i).apply(*batch); });
  };
  hooks.read = [this](std::function<void(store::ReadTxn*)> task) { return readers_->submit(std::move(task)); };
  hooks.after = [this](int delay_ms, std::function<void()> task) { poster_.post_after(0, delay_ms, std::move(task)); };
  hooks.tokens = [this](const Delivery& item) {
    for (const std::string& token_id : item.revoked_token_ids) tokens_.add_revoked(token_id);
    if (item.token_cutoff) tokens_.set_cutoff(*item.token_cutoff);
  };
  hooks.typing = [this](ConversationId conversation, UserId user, bool started) {
    fan_out_typing(conversation, user, started);
  };
  hooks.describe_sessions = [this](std::function<void(std::vector<std::string>)> done) {
    describe_sessions(std::move(done));
  };
  cluster_ = std::make_unique<ClusterRelay>(*bus_, config_.bus, static_cast<unsigned>(config_.server.node_id),
                                            std::move(hooks));
  cluster_->start();
  start_cluster_presence();
  committer_->set_batch_hooks({[this](Pos start) { cluster_->local_begun(start); }, [this] { cluster_->local_failed(); }});
}

std::string ChatService::metrics_text() const {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    append_metric(out, name, type, help, value);
  };
  metric("parley_ready", "gauge", "1 if the store is open and reachable and commands are accepted", serving() ? 1 : 0);
  if (committer_) {
    metric("parley_store_batches_total", "counter", "group commits", committer_->batches_committed());
    metric("parley_store_ops_total", "counter", "write operations committed", committer_->ops_committed());
    metric("parley_store_write_queue_length", "gauge", "write operations waiting for the writer",
           committer_->queue_length());
    metric("parley_store_committed_pos", "gauge", "global commit position", static_cast<std::uint64_t>(committer_->committed_pos()));
  }
  metric("parley_events_committed_total", "counter", "conversation events stored and fanned out",
         events_committed_.load(std::memory_order_relaxed));
  if (push_dispatch_) out += push_dispatch_->metrics_text();
  if (cluster_) out += cluster_->metrics_text();
  if (cluster_presence_) out += cluster_presence_->metrics_text();
  if (metrics_source_) out += metrics_source_();
  return out;
}

void ChatService::close_all_sessions(std::uint16_t code, std::string_view reason) {
  for (unsigned i = 0; i < poster_.thread_count(); ++i)
    poster_.post(i, [this, i, code, reason = std::string(reason)] { hub(i).close_all(code, reason); });
}

void ChatService::on_open(gateway::Session& session) {
  auto state = std::make_unique<ChatSession>();
  state->connected_at_ms = wall_clock_ms();
  session.context = std::move(state);
  hub(session.thread_index()).add_session(session);
}

void ChatService::on_close(gateway::Session& session) {
  ChatSession& state = chat_session(session);
  if (state.counted) {
    std::lock_guard lock(session_counts_mutex_);
    if (auto it = session_counts_.find(state.user_id); it != session_counts_.end() && --it->second <= 0)
      session_counts_.erase(it);
  }
  if (const UserId user = state.user_id) {
    presence_.session_ended(user, session.id(), wall_clock_ms());
    if (cluster_presence_) cluster_presence_->remove_session(user, session.id());
  }
  hub(session.thread_index()).remove_session(session);
}

void ChatService::on_rate_limited(gateway::Session& session, std::string_view json, std::int64_t retry_after_ms) {
  std::string request_id;
  (void)parser(session.thread_index()).parse_frame(json, request_id);  // only for the id
  session.send_text(
      reply_frame_json(Reply::rate_limited("too many frames; retry after retry_after_ms", retry_after_ms), request_id));
}

void ChatService::on_text(gateway::Session& session, std::string_view json) {
  const unsigned thread = session.thread_index();
  ChatSession& state = chat_session(session);
  std::string request_id;
  auto command = parser(thread).parse_frame(json, request_id);
  if (!command) {
    session.send_text(reply_frame_json(Reply::failure(command.take_error()), request_id));
    return;
  }
  if (auto* hello = std::get_if<protocol::HelloCmd>(&*command)) {
    if (state.user_id != 0 || state.hello_in_progress) {
      session.send_text(reply_frame_json(
          Reply::failure(ErrorCode::already_authenticated, "this session is already authenticated"), request_id));
      return;
    }
    handle_hello(session, std::move(*hello), request_id);
    return;
  }
  if (state.user_id == 0) {
    session.send_text(reply_frame_json(
        Reply::failure(ErrorCode::not_authenticated, "send hello with a token first"), request_id));
    return;
  }
  if (std::holds_alternative<protocol::PingCmd>(*command)) {
    presence_.heartbeat(state.user_id, session.id(), wall_clock_ms());
    Reply pong;
    pong.type = "pong";
    JsonWriter(pong.fields).field("ts", wall_clock_ms());
    session.send_text(reply_frame_json(pong, request_id));
    return;
  }
  // Someone uses this session (presence.auto_away_ms): any request but those a client sends
  // by itself (ping, sync, a receipt that only moves delivered_seq). Told at most once a
  // second, so the tracker's lock stays off the path of a busy session.
  const auto* receipt = std::get_if<protocol::ReceiptCmd>(&*command);
  const bool by_itself = std::holds_alternative<protocol::SyncCmd>(*command) || (receipt && receipt->read_seq == 0);
  if (const std::int64_t now = wall_clock_ms(); !by_itself && now - state.activity_reported_ms >= 1000) {
    state.activity_reported_ms = now;
    presence_.activity(state.user_id, session.id(), now);
  }
  // One budget per user across all its sessions and REST: many sessions do not multiply it.
  std::int64_t retry_after_ms = 0;
  if (!admit_user_request(state.user_id, retry_after_ms)) {
    session.send_text(reply_frame_json(
        Reply::rate_limited("too many requests from this user (limits.user_requests_per_second)", retry_after_ms),
        request_id));
    return;
  }
  Identity caller{state.user_id, state.token_id, state.token_issued_at_s, 0};
  ClientInfo client{session.upgrade().address, state.device.empty() ? session.upgrade().user_agent : state.device};
  ReplyTarget target;
  target.thread = thread;
  target.session_id = session.id();
  target.request_id = std::move(request_id);
  run_command(&session, caller, client, std::move(*command), std::move(target));
}

void ChatService::run_command(gateway::Session* session, const Identity& caller, const ClientInfo& client,
                              protocol::Command&& command, ReplyTarget target) {
  if (!accepting_.load(std::memory_order_relaxed)) {
    reply_on_thread(target, Reply::failure(ErrorCode::unavailable, "the server is shutting down"));
    return;
  }
  if (handle_live(session, caller, command, target)) return;
  if (handle_account(caller, client, command, target)) return;
  if (handle_media(caller, command, target)) return;
  if (handle_media_urls(caller, command, target)) return;
  if (handle_push_subscriptions(caller, command, target)) return;
  if (auto op = make_write_op(caller, std::move(command), target)) {
    ReplyTarget copy = target;
    if (!submit_write(std::move(op)))
      reply_on_thread(copy, Reply::failure(ErrorCode::unavailable, "the write queue is full; retry"));
    return;
  }
  run_read(caller, std::move(command), std::move(target));
}

bool ChatService::admit_user_request(UserId user, std::int64_t& retry_after_ms) {
  const std::int64_t now = monotonic_ms();
  if (!user_requests_.take(static_cast<std::uint64_t>(user), now, retry_after_ms)) return false;
  return !cluster_presence_ || cluster_presence_->admit_request(user, now, retry_after_ms);
}

bool ChatService::submit_write(std::unique_ptr<ChatOp> op) {
  std::unique_ptr<store::WriteOp> base = std::move(op);
  return committer_->submit(base);
}

void ChatService::on_batch_committed(store::Committer::Batch& batch, Pos start_pos, Pos committed_pos) {
  // A failed batch may have left the flag set: the wake after the next commit is then merely early.
  if (std::exchange(push_queued_, false) && push_dispatch_) push_dispatch_->wake();
  auto delivery = std::make_shared<DeliveryBatch>();
  delivery->start_pos = start_pos;
  delivery->committed_pos = committed_pos;
  std::size_t total = 0, events = 0;
  for (auto& op : batch)
    for (const auto& item : static_cast<ChatOp&>(*op).deliveries()) {
      ++total;
      if (item.event_frame) ++events;
      for (const std::string& token_id : item.revoked_token_ids) tokens_.add_revoked(token_id);  // durable now
      if (item.token_cutoff) tokens_.set_cutoff(*item.token_cutoff);
    }
  events_committed_.fetch_add(events, std::memory_order_relaxed);
  delivery->items.reserve(total);
  for (auto& op : batch)
    for (auto& item : static_cast<ChatOp&>(*op).deliveries()) delivery->items.push_back(std::move(item));
  SharedDeliveryBatch shared = std::move(delivery);
  if (cluster_) {
    cluster_->local_batch(std::move(shared));  // published, and delivered in order with the other nodes'
    return;
  }
  for (unsigned i = 0; i < poster_.thread_count(); ++i)
    poster_.post(i, [this, i, shared] { hub(i).apply(*shared); });
}

void ChatService::reply_on_thread(const ReplyTarget& target, Reply reply) {
  poster_.post(target.thread, [this, target, reply = std::move(reply)] { hub(target.thread).deliver_reply(target, reply); });
}

void ChatService::close_session_on_thread(const ReplyTarget& target, std::uint16_t code, std::string reason) {
  poster_.post(target.thread, [this, target, code, reason = std::move(reason)] {
    if (gateway::Session* session = hub(target.thread).find_session(target.session_id)) session->close(code, reason);
  });
}

void ChatService::handle_hello(gateway::Session& session, protocol::HelloCmd&& hello, const std::string& request_id) {
  std::string token = hello.token.empty() ? session.upgrade().token : std::move(hello.token);
  ChatSession& state = chat_session(session);
  state.device = std::move(hello.device);
  if (token.empty()) {
    session.send_text(reply_frame_json(Reply::failure(ErrorCode::unauthorized, "hello needs a token"), request_id));
    session.close(gateway::close_code::auth_failed, error_code_name(ErrorCode::unauthorized));
    return;
  }
  state.hello_in_progress = true;
  const SessionId session_id = session.id();
  const unsigned thread = session.thread_index();
  authenticate(token, thread, [this, session_id, thread, request_id](Result<Identity> identity) {
    finish_hello(session_id, thread, request_id, std::move(identity));
  });
}

void ChatService::finish_hello(SessionId session_id, unsigned thread, const std::string& request_id,
                               Result<Identity> identity) {
  gateway::Session* session = hub(thread).find_session(session_id);
  if (!session || !session->is_open()) return;
  ChatSession& state = chat_session(*session);
  state.hello_in_progress = false;
  if (!identity) {
    // The close reason is the error code too, so a client that only sees the close knows
    // whether to sign in again (unauthorized, token_expired, token_revoked) or retry (unavailable).
    const ErrorCode code = identity.error().code;
    session->send_text(reply_frame_json(Reply::failure(identity.take_error()), request_id));
    session->close(gateway::close_code::auth_failed, error_code_name(code));
    return;
  }
  if (!cluster_presence_) return admit_session(session_id, thread, request_id, *identity);
  // The cluster-wide cap first (a directory round trip, off this thread); the hello stays in
  // progress meanwhile, so the session can send nothing else.
  state.hello_in_progress = true;
  cluster_presence_->add_session(
      identity->user_id, session_id, identity->token_id, [this, session_id, thread, request_id, identity = *identity](bool admitted) {
        poster_.post(thread, [this, session_id, thread, request_id, identity, admitted] {
          gateway::Session* session = hub(thread).find_session(session_id);
          if (!session || !session->is_open()) {
            if (admitted) cluster_presence_->remove_session(identity.user_id, session_id);
            return;
          }
          chat_session(*session).hello_in_progress = false;
          if (admitted) return admit_session(session_id, thread, request_id, identity);
          session->send_text(reply_frame_json(
              Reply::failure(ErrorCode::limit_reached,
                             "this user has the most sessions allowed (limits.max_sessions_per_user)"),
              request_id));
          session->close(gateway::close_code::auth_failed, error_code_name(ErrorCode::limit_reached));
        });
      });
}

void ChatService::admit_session(SessionId session_id, unsigned thread, const std::string& request_id,
                                const Identity& identity) {
  gateway::Session* session = hub(thread).find_session(session_id);
  ChatSession& state = chat_session(*session);
  {
    std::lock_guard lock(session_counts_mutex_);
    int& sessions = session_counts_[identity.user_id];
    if (sessions >= config_.limits.max_sessions_per_user) {
      if (sessions == 0) session_counts_.erase(identity.user_id);
      session->send_text(reply_frame_json(
          Reply::failure(ErrorCode::limit_reached, "this user has the most sessions allowed (limits.max_sessions_per_user)"),
          request_id));
      session->close(gateway::close_code::auth_failed, error_code_name(ErrorCode::limit_reached));
      if (cluster_presence_) cluster_presence_->remove_session(identity.user_id, session_id);
      return;
    }
    ++sessions;
    state.counted = true;
  }
  state.user_id = identity.user_id;
  state.token_id = identity.token_id;
  state.token_issued_at_s = identity.issued_at_s;
  session->mark_authenticated(identity.expires_at_s * 1000);
  touch_token(identity);
  presence_.session_started(identity.user_id, session_id, wall_clock_ms());
  const UserId user = identity.user_id;
  auto ready = [this, session_id, thread, request_id, user](Pos cursor) {
    gateway::Session* s = hub(thread).find_session(session_id);
    if (!s) return;
    Reply reply;
    JsonWriter w(reply.fields);
    w.field("user_id", user);
    w.field("session_id", session_id);
    w.field("cursor", cursor);
    w.field("protocol", 1);
    w.key("limits").begin_object();
    w.field("max_frame_bytes", config_.limits.max_frame_bytes);
    w.field("max_text_bytes", config_.limits.max_text_bytes);
    w.field("max_client_msg_id_bytes", config_.limits.max_client_msg_id_bytes);
    w.field("max_history_page", config_.limits.max_history_page);
    w.field("max_sync_page", config_.limits.max_sync_page);
    w.field("frames_per_second", config_.limits.frames_per_second);
    w.field("frames_burst", config_.limits.frames_burst);
    w.field("idle_timeout_ms", config_.limits.idle_timeout_ms);
    w.field("ping_interval_ms", config_.limits.ping_interval_ms);
    w.field("max_group_members", config_.limits.max_group_members);
    w.field("max_channel_members", config_.limits.max_channel_members);
    w.field("max_members_per_request", config_.limits.max_members_per_request);
    w.field("max_title_bytes", config_.limits.max_title_bytes);
    w.field("max_username_bytes", config_.limits.max_username_bytes);
    w.field("max_page_bytes", config_.limits.max_page_bytes);
    w.field("max_outbound_bytes", config_.limits.max_outbound_bytes);
    w.field("typing_throttle_ms", config_.limits.typing_throttle_ms);
    w.field("typing_ttl_ms", config_.limits.typing_ttl_ms);
    w.field("receipt_flush_ms", config_.limits.receipt_flush_ms);
    w.field("max_reactions_per_message", config_.limits.max_reactions_per_message);
    w.field("max_pins", config_.limits.max_pins);
    w.field("max_pinned_conversations", config_.limits.max_pinned_conversations);
    w.field("max_hide_batch", config_.limits.max_hide_batch);
    w.field("max_attachments", config_.limits.max_attachments);
    w.field("max_media_urls", config_.limits.max_media_urls);
    w.field("max_search_results", config_.limits.max_search_results);
    w.field("user_requests_per_second", config_.limits.user_requests_per_second);
    w.field("user_requests_burst", config_.limits.user_requests_burst);
    w.field("max_sessions_per_user", config_.limits.max_sessions_per_user);
    w.end_object();
    w.key("presence").begin_object();
    w.field("heartbeat_ms", config_.presence.heartbeat_ms).field("ttl_ms", config_.presence.ttl_ms);
    w.end_object();
    // What a client checks before it uploads (a file too large is refused before any byte).
    w.key("media").begin_object();
    w.field("max_file_bytes", config_.media.max_file_bytes);
    w.field("user_quota_bytes", config_.media.user_quota_bytes);
    w.field("max_pending_uploads", config_.media.max_pending_uploads);
    w.end_object();
    // What a client subscribes to Web Push with (pushManager.subscribe's applicationServerKey).
    w.key("push").begin_object().field("vapid_public_key", push_dispatch_->vapid_public_key()).end_object();
    w.key("server").begin_object().field("version", PARLEY_VERSION).field("node_id", config_.server.node_id).end_object();
    s->send_text(reply_frame_json(reply, request_id));
  };
  Hub::Attach attach = hub(thread).attach_user(*session, user, std::move(ready));
  if (!attach.needs_snapshot) return;
  ReplyTarget target;
  target.thread = thread;
  target.session_id = session_id;
  target.request_id = request_id;
  if (!submit_write(std::make_unique<HelloSnapshotOp>(*this, user, target)))
    session->close(gateway::close_code::try_again_later, "server busy, retry");
}

}  // namespace parley::chat
