// ChatService: the chat layer. Receives parsed commands from WebSocket sessions and REST
// requests, runs them (writes on the store's single writer through group commit, reads on the
// reader pool), and fans committed events out to live sessions through the per-thread hubs.
//
// Threads: on_open/on_text/on_close and every REST call run on I/O threads; write ops on the
// writer thread; read tasks on reader threads; results always come back to the requester's
// I/O thread, where the requester's hub delivers them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <thread>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "auth/tokens.hpp"
#include "bus/bus.hpp"
#include "presence/directory.hpp"
#include "chat/hub.hpp"
#include "chat/message_ops.hpp"
#include "chat/presence.hpp"
#include "chat/token_registry.hpp"
#include "core/config.hpp"
#include "core/hash.hpp"
#include "core/throttle.hpp"
#include "gateway/session.hpp"
#include "protocol/parse.hpp"
#include "store/committer.hpp"
#include "store/reader_pool.hpp"

namespace parley::media {
class ImageTools;
class MediaUrls;
class S3Client;
}

namespace parley::chat {

class WorkerThread;
class PushDispatch;

class ChatOp;
class ClusterRelay;
class ClusterPresence;

// An authenticated caller.
struct Identity {
  UserId user_id = 0;
  std::string token_id;        // "jti" of a Parley token; "h:..." for a host application's
  std::int64_t issued_at_s = 0;
  std::int64_t expires_at_s = 0;
  bool host_token() const { return token_id.rfind("h:", 0) == 0; }
};

// Where a request comes from, for throttles, token records and the security log.
struct ClientInfo {
  std::string address;  // client IP address (behind a trusted proxy: the one it reports)
  std::string device;   // device label given by the client, else its User-Agent
};

// A token just issued to a user, with its store record.
struct TokenGrant {
  std::string token;
  store::TokenRecord record;
};

struct ServiceStats {
  std::uint64_t sessions = 0;
  std::uint64_t users_online = 0;
  std::uint64_t subscriptions = 0;
};

class ChatService final : public gateway::SessionHandler, public gateway::HttpHandler {
 public:
  // Opens the store. Throws on start-up failure.
  ChatService(const Config& config, gateway::ThreadPoster& poster);
  ~ChatService() override;

  // Starts the writer and readers. Call once, before the gateway accepts connections.
  void start();
  // Stops taking commands, commits everything queued (delivering its replies), stops readers.
  void stop();
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // SIGTERM's first step: /readyz fails from now on (a load balancer stops sending new
  // clients), while everything keeps working.
  void begin_drain() { draining_.store(true, std::memory_order_release); }
  bool draining() const { return draining_.load(std::memory_order_acquire); }
  // Ready, and the store reachable (a PostgreSQL server can go away and come back): /readyz.
  bool serving() const;

  // gateway::SessionHandler
  void on_open(gateway::Session& session) override;
  void on_text(gateway::Session& session, std::string_view json) override;
  void on_close(gateway::Session& session) override;
  void on_rate_limited(gateway::Session& session, std::string_view json, std::int64_t retry_after_ms) override;

  // gateway::HttpHandler (REST API, rest.cpp)
  bool on_request(gateway::HttpRequest& request, gateway::HttpResponder& respond) override;
  const gateway::MediaFileHandler* media_files() const override;

  // Closes every session on every thread (posted; shutdown).
  void close_all_sessions(std::uint16_t code, std::string_view reason);

  const Config& config() const { return config_; }
  // The upload and download URLs of the configured media backend (media.backend).
  const media::MediaUrls& media_urls() const { return *media_urls_; }
  // The fields of a media.complete reply for a ready upload: the media object and download
  // URLs signed now (media_complete.cpp). Any thread.
  std::string media_reply_fields(const store::MediaRecord& record) const;

  PresenceTracker& presence() { return presence_; }
  // The batch being applied queued push jobs (writer thread): the dispatcher is woken once
  // after the batch commits. Not per message, and not for messages that queued nothing: at
  // 10,000 msg/s a wake per message cost a dispatcher round and a claim in nearly every batch.
  void note_push_queued() { push_queued_ = true; }

  // Extra Prometheus text appended to GET /metrics (the gateway's counters).
  void set_metrics_source(std::function<std::string()> source) { metrics_source_ = std::move(source); }
  std::string metrics_text() const;

  // Delivers `reply` to its requester on the requester's thread. Any thread.
  void reply_on_thread(const ReplyTarget& target, Reply reply);

  // Signs a new token for `user` (not yet stored: the caller's write op stores the record).
  // Any thread.
  TokenGrant grant_token(UserId user, const ClientInfo& client) const;
  // The reply fields of a sign-in: token, expires_at, user.
  static std::string token_fields(const TokenGrant& grant, const store::UserRecord& user);
  void close_session_on_thread(const ReplyTarget& target, std::uint16_t code, std::string reason);

 private:
  friend class ChatOp;
  friend class PushDispatch;

  // --- dispatch (service.cpp) ---
  // Runs any command but hello/ping; `session` is null for REST requests.
  void run_command(gateway::Session* session, const Identity& caller, const ClientInfo& client,
                   protocol::Command&& command, ReplyTarget target);
  bool submit_write(std::unique_ptr<ChatOp> op);
  void on_batch_committed(store::Committer::Batch& batch, Pos start_pos, Pos committed_pos);
  void start_cluster();
  void start_cluster_presence();  // live.cpp
  // The per-user request rate (one node's bucket, and the cluster's total in cluster mode).
  bool admit_user_request(UserId user, std::int64_t& retry_after_ms);
  // The second half of a hello, once the session caps admitted it.
  void admit_session(SessionId session_id, unsigned thread, const std::string& request_id, const Identity& identity);
  void handle_hello(gateway::Session& session, protocol::HelloCmd&& hello, const std::string& request_id);
  void finish_hello(SessionId session_id, unsigned thread, const std::string& request_id, Result<Identity> identity);

  // --- reads (read_ops.cpp) ---
  void run_read(const Identity& caller, protocol::Command&& command, ReplyTarget target);

  // --- live features on I/O threads (live.cpp) ---
  // Commands answered on the I/O thread without the writer; false if `command` is not one.
  bool handle_live(gateway::Session* session, const Identity& caller, protocol::Command& command,
                   const ReplyTarget& target);
  void queue_receipt(unsigned thread, const PendingReceipt& receipt);
  void flush_receipts(unsigned thread);
  void expire_typing(unsigned thread);
  // Shows a typing indicator to the subscribers on every I/O thread of this node.
  void fan_out_typing(ConversationId conversation, UserId user, bool started);
  void presence_tick();
  std::vector<PresenceView> presence_views(const std::vector<UserId>& users) const;

  // --- writes (write_ops.cpp) ---
  std::unique_ptr<ChatOp> make_write_op(const Identity& caller, protocol::Command&& command, ReplyTarget& target);

  // --- accounts (accounts.cpp, account_commands.cpp) ---
  // Verifies a token. `done` runs on I/O thread `thread`.
  void authenticate(const std::string& token, unsigned thread, std::function<void(Result<Identity>)> done);
  Result<Identity> verify_own_token(const std::string& token) const;
  void register_account(const gateway::HttpRequest& request, gateway::HttpResponder respond);
  void login(const gateway::HttpRequest& request, gateway::HttpResponder respond);
  void logout(const Identity& caller, gateway::HttpResponder respond, unsigned thread);
  void password_check(const gateway::HttpRequest& request, gateway::HttpResponder respond);
  void auth_config(gateway::HttpResponder respond);
  // account.* commands (sessions, revoking, log out everywhere, password change); false if
  // `command` is not one.
  bool handle_account(const Identity& caller, const ClientInfo& client, protocol::Command& command,
                      const ReplyTarget& target);
  // media.complete (media_complete.cpp); false if `command` is not one.
  bool handle_media(const Identity& caller, protocol::Command& command, const ReplyTarget& target);
  // media.urls (media_urls.cpp); false if `command` is not one.
  bool handle_media_urls(const Identity& caller, protocol::Command& command, const ReplyTarget& target);
  // push.subscribe, push.subscriptions, push.unsubscribe (push_subscriptions.cpp); false if
  // `command` is none of them.
  bool handle_push_subscriptions(const Identity& caller, protocol::Command& command, const ReplyTarget& target);
  // Checks and describes an uploaded file, then records it. On the media worker.
  void check_upload(UserId caller, store::MediaRecord record, const ReplyTarget& target);
  // Deletes uploads never completed after `delay_ms`, then every media.cleanup_interval_s
  // (media_cleanup.cpp).
  void schedule_media_cleanup(int delay_ms);
  // Records that a token was used, at most once per kTokenTouchIntervalMs.
  void touch_token(const Identity& identity);
  // Runs the account upkeep (purge of expired tokens and invites; username skeletons of users
  // from before they were stored) after `delay_ms`, then hourly; sooner while skeletons are
  // missing.
  void schedule_upkeep(int delay_ms);
  void start_hash_pool();
  void stop_hash_pool();
  // Runs `task` on a password-hashing thread; false if the pool is saturated.
  bool run_hash_task(std::function<void()> task);
  // Runs a password hash for `address` within its auth.max_pending_hashes_per_address; false
  // (nothing queued) if that address or the pool is at its limit.
  bool run_hash_task_for(const std::string& address, std::function<void()> task);
  // The sign-in throttles' verdict for `username` from `address`: 0 = go ahead, else the
  // milliseconds to wait.
  std::int64_t login_wait_ms(const std::string& username, const std::string& address);
  // The same from the failures every node of a cluster counted (0 on one node, or while the
  // directory is unreachable). Blocks on the directory: a reader thread.
  std::int64_t cluster_login_wait_ms(const std::string& username, const std::string& address);
  void login_failed(const std::string& username, const std::string& address, std::string_view reason);
  void login_succeeded(const std::string& username, const std::string& address);

  // --- admin API (admin.cpp) ---
  bool handle_admin(gateway::HttpRequest& request, gateway::HttpResponder& respond);
  void admin_list_sessions(unsigned thread, gateway::HttpResponder respond);
  // This node's authenticated sessions, one JSON object each, to `done` (on an I/O thread).
  void describe_sessions(std::function<void(std::vector<std::string>)> done);
  void admin_create_users(gateway::HttpRequest& request, gateway::HttpResponder respond);
  void admin_create_invite(gateway::HttpRequest& request, gateway::HttpResponder respond);
  void admin_list_invites(gateway::HttpRequest& request, gateway::HttpResponder respond);

  // --- REST (rest.cpp) ---
  void handle_rest_command(gateway::HttpRequest& request, gateway::HttpResponder& respond, std::string_view type,
                           protocol::Params params);

  Hub& hub(unsigned thread) { return *hubs_[thread]; }
  protocol::FrameParser& parser(unsigned thread) { return *parsers_[thread]; }

  const Config config_;
  gateway::ThreadPoster& poster_;
  std::unique_ptr<media::MediaUrls> media_urls_;
  std::unique_ptr<gateway::MediaFileHandler> media_files_;  // local backend only
  std::unique_ptr<media::S3Client> s3_client_;  // media.backend = s3 only: the media worker's requests to the store
  std::unique_ptr<media::ImageTools> image_tools_;
  std::unique_ptr<PushDispatch> push_dispatch_;  // notifications to devices (started with the service)
  std::unique_ptr<WorkerThread> media_worker_;  // media.complete's checks (started with the service)
  std::unique_ptr<store::Engine> engine_;
  std::unique_ptr<store::Committer> committer_;
  std::unique_ptr<store::ReaderPool> readers_;
  // Cluster mode (bus.url set): the bus to the other nodes and what orders their batches with ours.
  std::unique_ptr<bus::Bus> bus_;
  std::unique_ptr<ClusterRelay> cluster_;
  std::unique_ptr<presence::Directory> directory_;
  std::unique_ptr<ClusterPresence> cluster_presence_;
  std::vector<std::unique_ptr<Hub>> hubs_;
  std::vector<std::unique_ptr<protocol::FrameParser>> parsers_;

  auth::TokenSigner signer_;
  auth::ExternalJwtVerifier external_verifier_;
  TokenRegistry tokens_;
  // Sign-in and sign-up guards (accounts.cpp). Keys: "a:" + account name, client addresses.
  struct AccountGuards {
    explicit AccountGuards(const AuthConfig& config);
    FailureThrottle accounts;       // failed sign-ins per account
    FailureThrottle addresses;      // failed sign-ins per client address
    RateLimiter signups;            // registrations per client address
    RateLimiter password_checks;    // password_check calls per client address
    ConcurrencyLimiter hashes;      // password hashes queued or running per client address
    // Addresses each account recently signed in from: they skip the account's throttle, so
    // that guessing from elsewhere cannot lock the real user out.
    std::mutex known_mutex;
    std::unordered_map<std::string, std::vector<std::string>> known_addresses;
  };
  std::unique_ptr<AccountGuards> guards_;
  // Commands per user, shared by its sessions and REST (limits.user_requests_*).
  IdRateLimiter user_requests_;
  // account.update_profile per user (limits.profile_changes_per_hour), on this node.
  IdRateLimiter profile_changes_;
  // Authenticated WebSocket sessions per user (limits.max_sessions_per_user).
  std::mutex session_counts_mutex_;
  std::unordered_map<UserId, int> session_counts_;
  // Tokens whose last use was recorded, and when (touch_token).
  std::mutex touched_mutex_;
  std::unordered_map<std::string, std::int64_t> touched_tokens_;
  // Host-application subjects already mapped to users.
  mutable std::shared_mutex external_mutex_;
  std::unordered_map<std::string, UserId> external_users_;

  // Password hashing threads (argon2id is deliberately slow), with a bounded queue.
  struct HashPool {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::function<void()>> queue;
    bool stopping = false;
    std::vector<std::thread> threads;
    static constexpr std::size_t kMaxQueue = 1024;
  };
  std::unique_ptr<HashPool> hash_pool_;

  // Per I/O thread state of the live features (touched only on that thread).
  struct ReceiptKey {
    ConversationId conversation;
    UserId user;
    bool operator==(const ReceiptKey&) const = default;
  };
  struct LiveState {
    std::unordered_map<ReceiptKey, PendingReceipt, IdPairHash<ReceiptKey, &ReceiptKey::conversation, &ReceiptKey::user>>
        receipts;  // coalescing window
    bool receipts_scheduled = false;
    std::unordered_map<std::uint64_t, std::int64_t> typing_sent;  // throttle: last start sent
    bool typing_timer = false;
  };
  std::vector<std::unique_ptr<LiveState>> live_;
  PresenceTracker presence_;
  PresenceLookup presence_lookup_;  // presence.get: this node's tracker, or the cluster's directory

  std::function<std::string()> metrics_source_;
  std::atomic<std::uint64_t> events_committed_{0};
  bool push_queued_ = false;  // writer thread: see note_push_queued()
  std::atomic<bool> ready_{false};
  std::atomic<bool> accepting_{false};
  std::atomic<bool> draining_{false};
};

}  // namespace parley::chat
