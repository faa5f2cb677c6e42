// PushDispatch: delivers the notifications the store queued (WriteTxn::queue_push) to push
// services and webhooks, on a thread of its own (docs/protocol.md, "Push notifications";
// docs/architecture.md, "Push"). It claims due jobs in a write op (with what deciding needs:
// the membership, the event, the sender), decides each (decide_push), sends what is to be sent
// through push::HttpSender, and writes the outcomes back in one op per round: sent or dropped
// (finished), failed (retried with backoff), gone (the subscription deleted). A claimed job
// is this node's for push.lease_ms, so in a cluster one node sends each notification; one
// that dies mid-send leaves it to the next claim after the lease.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "store/records.hpp"

namespace parley::push {
class HttpSender;
class VapidKey;
class FcmAuth;
class ApnsAuth;
struct HttpRequest;
struct HttpResponse;
}

namespace parley::chat {

class ChatService;

// A claimed job with what the decision and the notification need, read in the claim's batch.
struct PushContext {
  store::PushJobRecord job;
  std::optional<store::MemberRecord> member;  // the user's membership (none: never a member)
  std::optional<store::ConversationRecord> conversation;
  std::optional<store::EventRecord> event;    // the newest event the job notifies of
  std::optional<store::EventRecord> target;   // a reaction's message
  std::string sender_name;                    // the event's sender's display name
  store::NotificationSettings do_not_disturb; // the user's pause and quiet hours
};

enum class PushVerdict { drop, wait, send };
struct PushDecision {
  PushVerdict verdict = PushVerdict::drop;
  std::int64_t wait_until_ms = 0;  // wait: when to look again
  const char* reason = "";         // drop: why, one of kPushSkipReasons (logs, metrics)
};
inline constexpr std::size_t kPushSkipReasonCount = 8;
extern const char* const kPushSkipReasons[kPushSkipReasonCount];

// The rule (docs/protocol.md, "When a device is notified"): nothing for a former member, an
// event read already, a muted conversation, a user in do-not-disturb, a conversation whose
// notification level does not take the event, a deleted message; an `attentive` user (presence
// online: a session in use within presence.auto_away_ms) is notified only if no device of
// theirs reported the event delivered within grace_ms of it.
PushDecision decide_push(const PushContext& context, bool attentive, std::int64_t now_ms, int grace_ms);

// The JSON a device receives (push.content: full | sender | none; PushDispatch picks what an
// `encrypted` deployment shows each kind).
std::string push_payload(const PushContext& context, const std::string& content);
// The title and body of a notification shown by the platform itself (APNs alerts).
std::pair<std::string, std::string> push_alert(const PushContext& context, const std::string& content);

// The wait before attempt `attempts + 1` after a failure: retry_min_ms doubled per attempt, at
// most retry_max_ms, and at least what the service asked for (Retry-After, -1 = nothing).
std::int64_t push_retry_delay_ms(const PushConfig& config, int attempts, std::int64_t retry_after_s);

class PushDispatch {
 public:
  explicit PushDispatch(ChatService& service);
  ~PushDispatch();
  PushDispatch(const PushDispatch&) = delete;
  PushDispatch& operator=(const PushDispatch&) = delete;

  // Loads or creates the VAPID key (push.vapid_private_key, data_dir/vapid.pem); throws
  // std::runtime_error if it cannot (a start-up error).
  void start();
  // The VAPID public key browsers subscribe with (applicationServerKey), base64url.
  const std::string& vapid_public_key() const;
  // Ends the thread; deliveries under way are abandoned (their jobs come back after the lease).
  void stop();
  // New jobs were queued: claim soon. Any thread; cheap.
  void wake();

  struct Counters {
    std::atomic<std::uint64_t> sent{0}, failed{0}, retried{0}, dropped{0}, gone{0}, claims{0};
    std::atomic<std::uint64_t> latency_ms_sum{0}, latency_count{0};
    std::array<std::atomic<std::uint64_t>, kPushSkipReasonCount> skipped{};  // by kPushSkipReasons
  };
  const Counters& counters() const { return counters_; }
  std::string metrics_text() const;

  // What becomes of a claimed job, written back in one op per round.
  struct Outcome {
    enum class Kind { finish, retry, gone } kind = Kind::finish;
    store::PushJobKey key;
    UserId user_id = 0;
    Seq seq = 0;
    std::int64_t count = 0;
    std::int64_t due_at_ms = 0;  // retry: when
    int attempts = 0;            // retry: failures so far
  };

 private:
  void run();
  void claim();
  void handle_claimed(std::vector<PushContext> claimed, std::vector<Outcome>& outcomes);
  void write_outcomes(std::vector<Outcome> outcomes);
  // The job is done with: sent, or not to be sent.
  static Outcome finished(const PushContext& context);
  // A failed attempt (or none possible now): retried after the backoff, or given up after
  // push.max_attempts.
  Outcome failed(const PushContext& context, std::int64_t retry_after_s, int status, const std::string& error);
  // What the service's answer means for the job and its subscription.
  Outcome answered(const PushContext& context, const push::HttpResponse& response);

  ChatService& service_;
  const PushConfig& config_;
  // The request that delivers `context` to its subscription: made, not sendable (a kind this
  // server has no credentials for, keys that do not work), or not now (the FCM token endpoint
  // did not answer: retried like a failed delivery).
  enum class Made { request, not_sendable, not_now };
  Made make_request(const PushContext& context, push::HttpRequest& request);
  // `plaintext` encrypted to the subscription's keys (RFC 8291 aes128gcm); none if it has no
  // keys or they do not work.
  std::optional<std::string> seal(const PushContext& context, std::string_view plaintext) const;

  std::unique_ptr<push::HttpSender> sender_;
  std::unique_ptr<push::VapidKey> vapid_;
  std::unique_ptr<push::FcmAuth> fcm_;    // push.fcm.credentials_file set
  std::unique_ptr<push::ApnsAuth> apns_;  // push.apns.key_file set
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> woken_{true};

  std::mutex inbox_mutex_;
  std::vector<PushContext> inbox_;  // claimed, not yet looked at
  bool claim_outstanding_ = false;  // a claim op is queued (inbox_mutex_)
  bool claim_full_ = false;         // the last claim took as many as it could: more may be due

  std::vector<PushContext> in_flight_;  // by tag - 1 (dispatch thread only)
  std::vector<std::uint64_t> free_tags_;
  Counters counters_;
};

}  // namespace parley::chat
