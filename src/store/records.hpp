// Plain records exchanged with the store. No behaviour; the chat layer decides what they mean.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/domain.hpp"
#include "core/ids.hpp"

namespace parley::store {

struct UserRecord {
  UserId id = 0;
  std::string username;
  std::string display_name;
  std::int64_t created_at_ms = 0;
  bool share_read_receipts = true;  // others see how far this user read
  bool share_last_seen = true;      // others see when this user was last online
  std::int64_t last_seen_at_ms = 0; // when the user last went offline (0 = never seen)
  bool discoverable = true;         // found by users.search beyond the users it shares a conversation with
};

// A user that users.search found, with the smallest of its search terms the query starts.
struct UserSearchHit {
  std::string term;
  UserRecord user;
};

// Who may see a user's presence, and whether it shares its last seen (ReadTxn::presence_audiences).
struct PresenceAudience {
  UserId user = 0;
  bool share_last_seen = true;
  std::vector<UserId> peers;  // as ReadTxn::peers, ascending
};
// The entry of `user` in a list ascending by user (presence_audiences' result), or nullptr.
inline const PresenceAudience* find_audience(const std::vector<PresenceAudience>& audiences, UserId user) {
  auto it = std::lower_bound(audiences.begin(), audiences.end(), user,
                             [](const PresenceAudience& a, UserId u) { return a.user < u; });
  return it != audiences.end() && it->user == user ? &*it : nullptr;
}

struct UserCredentials {
  UserId id = 0;
  std::string password_hash;  // empty for users of a host application (no password)
};

// A token issued by login, registration or the admin API: one signed-in device of a user.
struct TokenRecord {
  std::string token_id;             // the token's "jti"
  UserId user_id = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t expires_at_s = 0;
  std::string device;               // label given at sign-in, else the client's User-Agent
  std::string address;              // client address at sign-in
  std::int64_t last_active_at_ms = 0;
};

// "Log out everywhere" of one user: tokens issued before `valid_after_s` are refused, except
// `kept_token_id` (the device that asked, when it stays signed in).
struct TokenCutoff {
  UserId user_id = 0;
  std::int64_t valid_after_s = 0;
  std::string kept_token_id;
};

// An invite code for registration (auth.registration = invite). The code itself is never
// stored, only its SHA-256.
struct InviteRecord {
  std::string id;                   // short public id (first 16 hex digits of the hash)
  std::string code_hash;            // hex SHA-256 of the code
  std::int64_t created_at_ms = 0;
  std::int64_t expires_at_s = 0;    // 0 = never
  int uses_left = 1;
  std::string note;
};

struct ConversationRecord {
  ConversationId id = 0;
  ConversationKind kind = ConversationKind::direct;
  std::string title;
  std::string topic;
  UserId created_by = 0;
  std::int64_t created_at_ms = 0;
  Seq last_seq = 0;
  Pos last_pos = 0;
  std::int64_t last_event_at_ms = 0;
  int member_count = 0;
};

// Which messages of a conversation notify a member's devices (docs/protocol.md, "Push
// notifications"): kind_default is all for direct and group conversations, mentions for channels.
// The values are stored (members.notify) and name protocol::kNotifyLevelNames.
enum class NotifyLevel { kind_default = 0, all = 1, mentions = 2, none = 3 };

// One user's own settings of one conversation (docs/protocol.md conversation.settings): they
// live with the membership. All but cleared_seq end with it; cleared_seq governs what the member
// reads, so it lasts as long as the member may read (also after leaving) and ends when a new
// membership begins.
struct ConversationSettings {
  std::int64_t muted_until = 0;  // ms since the epoch; 0 = not muted, -1 = until unmuted
  bool archived = false;
  std::int64_t pin_rank = 0;     // 0 = not pinned; pinned conversations sort by it, highest first
  bool marked_unread = false;
  Seq cleared_seq = 0;           // "clear chat": the member's reads leave out what is at or below it
  NotifyLevel notify = NotifyLevel::kind_default;
  bool operator==(const ConversationSettings&) const = default;
};

// A user's do-not-disturb (docs/protocol.md account.notifications): a pause, and quiet hours
// every day in the user's time zone (crossing midnight when start > end). Push notifications
// due in either are dropped.
struct NotificationSettings {
  std::int64_t dnd_until = 0;  // ms since the epoch; 0 = no pause, -1 = until turned off
  std::string timezone;        // the quiet hours' IANA zone; "" = no quiet hours
  int quiet_start_min = 0;     // minutes after local midnight
  int quiet_end_min = 0;
  bool operator==(const NotificationSettings&) const = default;
};

// An uploaded file (issue 14): a row from media.upload on (pending: a signed upload URL was
// issued), filled in by media.complete (ready: the bytes arrived and were checked). The bytes
// themselves live in the media backend (a directory or an S3 bucket), named by the id.
enum class MediaState { pending = 0, ready = 1 };

struct MediaRecord {
  std::string id;                    // random, URL-safe; the object's name in the backend
  UserId owner_id = 0;               // who uploaded it
  MediaState state = MediaState::pending;
  std::int64_t declared_size = 0;    // bytes the upload URL was signed for
  std::string declared_type;         // what the client said it is (never served)
  std::string file_name;             // sanitized by the chat layer
  std::string sha256;                // lower-case hex the client declared; "" = none
  std::int64_t size = 0;             // ready: bytes stored
  std::string content_type;          // ready: sniffed from the bytes (what is served)
  int width = 0;                     // ready, images: as displayed (EXIF orientation applied)
  int height = 0;
  bool has_thumbnail = false;
  std::string preview;               // ready, images: the inline preview, base64 JPEG; "" = none
  std::int64_t created_at_ms = 0;
  // While no message carries it (ref_count 0), deleted from this time on: a pending upload
  // never completed, a completed one never attached, a released one (0: at once).
  std::int64_t expires_at_s = 0;
  std::int64_t completed_at_ms = 0;  // ready: when
  int ref_count = 0;                 // messages carrying it (attach_media; erase_message releases)
  bool released = false;             // it was attached and every message carrying it was deleted
};

// Where a user's device wants notifications while it is offline (issue 15): a push
// subscription registered by one sign-in (token), which goes when that token does.
struct PushSubscriptionRecord {
  std::int64_t id = 0;       // assigned by the store
  UserId user_id = 0;
  std::string token_id;      // the sign-in that registered it (logout, revocation, expiry delete it)
  std::string kind;          // "webpush", "fcm", "apns", "webhook"
  std::string endpoint;      // webpush and webhook: the URL; fcm and apns: the device token
  std::string p256dh;        // the device's P-256 public key, base64url ("" = none; webpush: required)
  std::string auth;          // the device's 16-byte secret, base64url (with p256dh)
  std::string options;       // a JSON object of kind-specific fields (apns: topic, environment); "" = none
  std::int64_t created_at_ms = 0;
};

// A notification owed to one push subscription for one conversation (issue 15). Events of a
// conversation collapse into it while it waits: `seq` is the newest, `count` how many.
struct PushJobKey {
  std::int64_t subscription_id = 0;
  ConversationId conversation_id = 0;
  bool operator==(const PushJobKey&) const = default;
};
struct PushJobRecord {
  PushJobKey key;
  UserId user_id = 0;
  Seq seq = 0;                  // the newest event it notifies of
  std::int64_t count = 0;       // events collapsed into it
  bool mention = false;         // one of them mentions the user (or everyone)
  std::int64_t first_at_ms = 0; // when its oldest event queued it
  std::int64_t due_at_ms = 0;   // not sent before this (retry backoff, grace for active users)
  int attempts = 0;             // failed sends so far
  PushSubscriptionRecord subscription;  // where it goes (claim_push_jobs fills it)
};

// Who a new event notifies by default (WriteTxn::queue_push): every active member but the
// sender (direct and group messages), or only the members it mentions (channel messages). A
// member's NotifyLevel other than kind_default overrides it.
enum class PushAudience { members, mentioned };

// What one user's uploads take: bytes (ready ones at their size, pending ones at their
// declared size, so a quota holds before the bytes arrive) and the pending count.
struct MediaUsage {
  std::int64_t bytes = 0;
  int pending = 0;
};

// How many conversations a user has pinned, and the highest rank among them (0 if none).
struct PinnedConversations {
  int count = 0;
  std::int64_t max_rank = 0;
};

struct MemberRecord {
  ConversationId conversation_id = 0;
  UserId user_id = 0;
  Role role = Role::member;
  Seq visible_from_seq = 1;     // first seq this member may read
  std::optional<Seq> left_seq;  // set once the member left or was removed: last seq it may read
  std::string left_title;       // the conversation's title at that moment
  Pos last_pos = 0;             // pos of the newest event visible to it (push conversations)
  std::int64_t joined_at_ms = 0;
  Seq delivered_seq = 0;        // receipts: received up to this seq (never moves back)
  Seq read_seq = 0;             // receipts: read up to this seq (never moves back)
  ConversationSettings settings;  // a former member's: the defaults but cleared_seq (kept)

  bool active() const { return !left_seq.has_value(); }
  // What is unread for this member: seq in (unread_after(), unread_up_to()].
  Seq unread_after() const { return read_seq > visible_from_seq - 1 ? read_seq : visible_from_seq - 1; }
  Seq unread_up_to() const { return left_seq.value_or(INT64_MAX); }
};

struct EventRecord {
  ConversationId conversation_id = 0;
  Seq seq = 0;
  Pos pos = 0;
  MessageId id = 0;
  UserId sender_id = 0;
  EventKind kind = EventKind::text;
  std::string client_msg_id;  // empty if none
  std::string body;           // message text
  std::string meta_json;      // JSON object with details of non-text events; empty if none
  std::int64_t created_at_ms = 0;
  Seq reply_to = 0;           // text: the event it quotes (0 = none)
  Seq thread_root = 0;        // text: the thread root it replies under (0 = none)
  Seq target_seq = 0;         // edit/delete/reaction/pin events: the message they act on
  // Current state of a text message (set by later edit/delete events; history shows it):
  std::string edited_body;    // latest text if edited
  std::int64_t edited_at_ms = 0;
  std::int64_t deleted_at_ms = 0;  // a tombstone: body and edits erased
};

// A reaction on a message.
struct ReactionRecord {
  Seq seq = 0;
  std::string emoji;
  UserId user_id = 0;
};

// A thread root's summary.
struct ThreadRecord {
  Seq root_seq = 0;
  int reply_count = 0;
  Seq last_reply_seq = 0;
  std::int64_t last_reply_at_ms = 0;
};

struct PinRecord {
  Seq seq = 0;
  UserId pinned_by = 0;
  std::int64_t pinned_at_ms = 0;
};

// What append_event did.
struct AppendOutcome {
  EventRecord event;       // the stored event (the original one if duplicate)
  bool duplicate = false;  // this sender used this client_msg_id before: nothing was stored
  bool reused_elsewhere = false;  // ... and that was in another conversation (`event` is there)
};

}  // namespace parley::store
