// The store interface. One implementation per engine (sqlite/ today, postgres/ next), chosen by
// URL. The chat layer codes against ReadTxn/WriteTxn only.
//
// Threads: a ReaderConnection belongs to one reader thread; the WriterConnection belongs to the
// single writer thread (see Committer), which runs every write inside a group-commit batch.
// Sequencing lives in the engine: append_event assigns seq (gap-free per conversation), pos
// (global commit position) and the message id inside the batch's transaction, so a batch that
// fails to commit leaves no gap.
//
// Failures: expected outcomes (not found, duplicate, taken) are return values. Engine failures
// (I/O error, disk full, corruption) throw StoreFailure; the Committer then rolls the whole
// batch back and fails each of its operations.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/records.hpp"

namespace parley::store {

struct StoreFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A conversation with changes after a sync cursor, and the reader's membership in it.
struct ChangedConversation {
  ConversationRecord conversation;
  MemberRecord member;
};

// Reads. Every call in one transaction sees the same snapshot.
class ReadTxn {
 public:
  virtual ~ReadTxn() = default;

  virtual std::optional<UserRecord> user(UserId id) = 0;
  virtual std::optional<UserRecord> user_by_username(const std::string& lower_username) = 0;
  virtual std::optional<UserCredentials> credentials(const std::string& lower_username) = 0;
  virtual std::optional<UserRecord> user_by_external_id(const std::string& external_id) = 0;

  virtual std::optional<ConversationRecord> conversation(ConversationId id) = 0;
  virtual std::optional<ConversationId> direct_conversation(UserId a, UserId b) = 0;
  // Channels ordered by id, id > after_id, title starting with `title_prefix` (ASCII letters
  // match in either case; other characters exactly).
  virtual std::vector<ConversationRecord> channels(const std::string& title_prefix, ConversationId after_id,
                                                   int limit) = 0;

  virtual std::optional<MemberRecord> member(ConversationId conversation, UserId user) = 0;
  // Active members, longest-standing first (in the order they joined, by commit position).
  virtual std::vector<MemberRecord> active_members(ConversationId conversation) = 0;
  // Active members with user_id > after_user, ordered by user id, at most `limit`.
  virtual std::vector<MemberRecord> active_members_page(ConversationId conversation, UserId after_user, int limit) = 0;
  // Active memberships of a user with their conversations, most recent activity first.
  virtual std::vector<ChangedConversation> user_conversations(UserId user) = 0;
  // Ids of the conversations the user is an active member of.
  virtual std::vector<ConversationId> active_conversation_ids(UserId user) = 0;
  // Conversations with an event visible to `user` at pos > cursor (active or former member).
  // Cost grows with the number of such conversations plus the user's channel memberships.
  virtual std::vector<ChangedConversation> changed_conversations(UserId user, Pos cursor) = 0;

  // Events with from_seq <= seq <= to_seq, ascending, at most `limit`; or, if `newest_first`,
  // the newest `limit` of that range (still returned ascending).
  virtual std::vector<EventRecord> events(ConversationId conversation, Seq from_seq, Seq to_seq, int limit,
                                          bool newest_first) = 0;
  // The first event in [from_seq, to_seq] with pos > cursor, as {seq, pos}; nullopt if none.
  // The range is clamped to the conversation's events (1..last_seq).
  struct EventPosition {
    Seq seq;
    Pos pos;
  };
  virtual std::optional<EventPosition> first_event_after(ConversationId conversation, Seq from_seq, Seq to_seq,
                                                         Pos cursor) = 0;

  // One event, if it exists.
  virtual std::optional<EventRecord> event(ConversationId conversation, Seq seq) = 0;
  // Events of every conversation with after < pos <= up_to, in pos order, at most `limit`: what
  // a cluster node fills in when the bus lost a batch (docs/architecture.md "Cluster").
  virtual std::vector<EventRecord> events_by_pos(Pos after, Pos up_to, int limit) = 0;
  // The newest pos this read sees committed (every pos up to it is visible: commits are
  // ordered by pos).
  virtual Pos head_pos() = 0;
  // Events of one thread (thread_root = root_seq) in [from_seq, to_seq], like events().
  virtual std::vector<EventRecord> thread_events(ConversationId conversation, Seq root_seq, Seq from_seq, Seq to_seq,
                                                 int limit, bool newest_first) = 0;
  // The newest text event with after_seq < seq <= up_to that `viewer` has not hidden
  // (hide_messages; viewer 0 hides nothing): a conversation's preview for that user.
  virtual std::optional<EventRecord> last_text_event(ConversationId conversation, Seq after_seq, Seq up_to,
                                                     UserId viewer) = 0;
  // The events of one conversation with these seqs (those that exist), ascending by seq: one
  // read for a list of messages, not one per message.
  virtual std::vector<EventRecord> events_at(ConversationId conversation, const std::vector<Seq>& seqs) = 0;
  // The seqs in [from_seq, to_seq] of the messages `user` hid in a conversation
  // (hide_messages), ascending.
  virtual std::vector<Seq> hidden_seqs(UserId user, ConversationId conversation, Seq from_seq, Seq to_seq) = 0;
  // Edit events of a message, oldest first.
  virtual std::vector<EventRecord> edits_of(ConversationId conversation, Seq target_seq) = 0;

  // Reactions on messages with seq in [from_seq, to_seq], by seq, then in the order they were
  // added (commit order).
  virtual std::vector<ReactionRecord> reactions(ConversationId conversation, Seq from_seq, Seq to_seq) = 0;
  // Thread summaries of roots with seq in [from_seq, to_seq].
  virtual std::vector<ThreadRecord> threads(ConversationId conversation, Seq from_seq, Seq to_seq) = 0;
  virtual std::vector<PinRecord> pins(ConversationId conversation) = 0;
  // Undeleted text events from others with after_seq < seq <= up_to_seq, counted up to `cap`.
  virtual int unread_count(ConversationId conversation, UserId user, Seq after_seq, Seq up_to_seq, int cap) = 0;
  // Messages from others in after_seq < seq <= up_to_seq that mention `user` or everyone.
  virtual int mention_count(ConversationId conversation, UserId user, Seq after_seq, Seq up_to_seq) = 0;
  // The conversations `user` has pinned (pin_rank > 0): how many, and the highest rank. Reads
  // an index of the pinned memberships only, never all of the user's memberships.
  virtual PinnedConversations pinned_conversations(UserId user) = 0;
  // Users sharing an active direct or group conversation with `user` (presence audience).
  virtual std::vector<UserId> peers(UserId user) = 0;
  // The audience of each existing user of `users` (ascending by user; unknown ids left out): one
  // read for a whole presence window of changes, not two per change.
  virtual std::vector<PresenceAudience> presence_audiences(const std::vector<UserId>& users) = 0;

  // The event this sender sent with this client_msg_id, if any.
  virtual std::optional<EventRecord> event_by_client_msg_id(UserId sender, const std::string& client_msg_id) = 0;

  // Token ids revoked and not yet expired at `now_s`.
  virtual std::vector<std::string> revoked_token_ids(std::int64_t now_s) = 0;

  // --- accounts ---
  // The user's tokens not expired at `now_s`, most recently created first.
  virtual std::vector<TokenRecord> tokens_of(UserId user, std::int64_t now_s) = 0;
  virtual std::optional<TokenRecord> token(const std::string& token_id) = 0;
  // Every user's "log out everywhere" cut-off (users that never used it are absent).
  virtual std::vector<TokenCutoff> token_cutoffs() = 0;
  // Users whose username has this confusable skeleton (at most `limit`).
  virtual std::vector<UserId> users_with_skeleton(const std::string& skeleton, int limit) = 0;
  // Users without a stored skeleton yet (created before they were stored), at most `limit`.
  virtual std::vector<std::pair<UserId, std::string>> users_without_skeleton(int limit) = 0;
  // Invites not expired at `now_s` with uses left, newest first.
  virtual std::vector<InviteRecord> invites(std::int64_t now_s) = 0;

  // --- users.search (terms are stored by set_search_terms; [low, high) is "starts with") ---
  // Users sharing an active direct or group conversation with `user` that have a term in
  // [low, high), each once with its smallest such term (any order). Cost grows with the user's
  // contacts, not with the directory.
  virtual std::vector<UserSearchHit> search_contacts(UserId user, const std::string& low, const std::string& high) = 0;
  // Discoverable users but `except` with a term in [low, high), each at its smallest such term,
  // ordered by (term, user id), strictly after (after_term, after_user), at most `limit`. One
  // range of the terms index: it never reads the users that do not match.
  virtual std::vector<UserSearchHit> search_directory(const std::string& low, const std::string& high,
                                                      const std::string& after_term, UserId after_user, UserId except,
                                                      int limit) = 0;
  // Users whose search terms were never stored (created before they were), at most `limit`.
  virtual std::vector<UserRecord> users_without_search_terms(int limit) = 0;

  // --- media (issue 14) ---
  virtual std::optional<MediaRecord> media(const std::string& id) = 0;
  // One user's uploads: bytes and pending count (reads that user's rows only).
  virtual MediaUsage media_usage(UserId owner) = 0;
  // Uploads due for deletion: no message carries them (ref_count 0) and expires_at_s <= now_s
  // (pending ones never completed, completed ones never attached, released ones), oldest
  // expiry first, at most `limit` (reads an index of the unreferenced rows only).
  virtual std::vector<MediaRecord> expired_uploads(std::int64_t now_s, int limit) = 0;
  // Whether `user` can see a message carrying the media: its membership window (active or
  // former) includes that message's seq, and the message was not deleted (erase_message
  // releases its media). Reads the media's carriers only.
  virtual bool media_visible_to(UserId user, const std::string& media_id) = 0;

  // --- push (issue 15) ---
  // The user's push subscriptions, oldest first.
  virtual std::vector<PushSubscriptionRecord> push_subscriptions(UserId user) = 0;
};

// Reads and writes inside the writer's current batch. Writer thread only.
class WriteTxn : public ReadTxn {
 public:
  // nullopt if the username (or external id) is taken. `name_skeleton` is the username's
  // confusable skeleton (display names that look like it are refused).
  virtual std::optional<UserRecord> create_user(const std::string& lower_username, const std::string& display_name,
                                                const std::string& password_hash, const std::string& external_id,
                                                const std::string& name_skeleton) = 0;

  virtual ConversationRecord create_conversation(ConversationKind kind, const std::string& title,
                                                 const std::string& topic, UserId created_by,
                                                 std::optional<std::pair<UserId, UserId>> direct_pair) = 0;
  virtual void set_title(ConversationId conversation, const std::string& title) = 0;

  // Makes `user` an active member (new, or re-joining after leaving), with the given role and
  // first visible seq. `last_pos` must be the pos of the event announcing it. A new membership
  // starts without settings: an earlier membership's cleared_seq and hidden messages go.
  virtual void add_member(ConversationId conversation, ConversationKind kind, UserId user, Role role,
                          Seq visible_from_seq, Pos last_pos) = 0;
  // Ends a membership at `left_seq` (the removal event, whose pos is `last_pos`), keeping the
  // conversation's `title` of that moment for the former member's view. Resets the member's
  // settings but cleared_seq, and keeps its hidden messages: they shape what it still reads.
  virtual void end_member(ConversationId conversation, UserId user, Seq left_seq, Pos last_pos,
                          const std::string& title) = 0;
  virtual void set_role(ConversationId conversation, UserId user, Role role) = 0;
  // Stores a member's own settings of the conversation (an active membership; nothing for a
  // former one). add_member and end_member reset them to the defaults (see there).
  virtual void set_conversation_settings(ConversationId conversation, UserId user,
                                         const ConversationSettings& settings) = 0;
  // Hides messages from `user`'s own reads ("delete for me"); seqs already hidden stay as they
  // are. They belong to the user's membership (add_member of a new one drops them).
  virtual void hide_messages(UserId user, ConversationId conversation, const std::vector<Seq>& seqs) = 0;

  // Appends an event: assigns seq, pos, id and created time. If `draft.client_msg_id` is set
  // and this sender already used it (client_msg_ids are unique per sender), stores nothing and
  // returns the original event with duplicate = true (and reused_elsewhere if it belongs to
  // another conversation).
  virtual AppendOutcome append_event(EventRecord draft) = 0;

  virtual void revoke_token(const std::string& token_id, UserId user, std::int64_t expires_at_s) = 0;

  // --- message state (issue: live features) ---
  // Records the latest text of an edited message.
  virtual void set_edited(ConversationId conversation, Seq seq, const std::string& text, std::int64_t at_ms) = 0;
  // Turns a message into a tombstone: erases its text, its edits' texts, its reactions, its
  // mentions and its pin, and releases its attachments (attach_media).
  virtual void erase_message(ConversationId conversation, Seq seq, std::int64_t at_ms) = 0;
  // Records a reaction added by the event at `added_pos` (reactions are listed in the order of
  // that position, never by clock). False if that user already reacted with that emoji.
  virtual bool add_reaction(ConversationId conversation, Seq seq, UserId user, const std::string& emoji,
                            Pos added_pos) = 0;
  // False if there was no such reaction.
  virtual bool remove_reaction(ConversationId conversation, Seq seq, UserId user, const std::string& emoji) = 0;
  virtual int reaction_count(ConversationId conversation, Seq seq, UserId user) = 0;
  virtual bool add_pin(ConversationId conversation, Seq seq, UserId user) = 0;     // false if pinned already
  virtual bool remove_pin(ConversationId conversation, Seq seq) = 0;               // false if not pinned
  // Counts a reply under a thread root.
  virtual void add_thread_reply(ConversationId conversation, Seq root_seq, Seq reply_seq, std::int64_t at_ms) = 0;
  // Records who a message mentions (user id 0 = everyone).
  virtual void add_mentions(ConversationId conversation, Seq seq, const std::vector<UserId>& users) = 0;
  // Moves a member's receipt pointers forward (never back); returns the record after.
  virtual std::optional<MemberRecord> advance_receipts(ConversationId conversation, UserId user, Seq delivered_seq,
                                                       Seq read_seq) = 0;
  virtual void set_privacy(UserId user, bool share_read_receipts, bool share_last_seen, bool discoverable) = 0;
  virtual void set_last_seen(UserId user, std::int64_t at_ms) = 0;

  // --- accounts ---
  virtual void add_token(const TokenRecord& token) = 0;
  // Forgets a token (it is revoked separately) and the push subscriptions it registered;
  // false if there was no token.
  virtual bool delete_token(const std::string& token_id) = 0;
  // Forgets every token of `user` but `except_token_id` (as delete_token); returns the ones
  // forgotten.
  virtual std::vector<TokenRecord> delete_tokens_of(UserId user, const std::string& except_token_id) = 0;
  virtual void touch_token(const std::string& token_id, std::int64_t at_ms) = 0;
  virtual void set_password_hash(UserId user, const std::string& password_hash) = 0;
  // Replaces the user's display name (already normalized; the caller replaces its search terms
  // in the same batch).
  virtual void set_display_name(UserId user, const std::string& display_name) = 0;
  virtual void set_token_cutoff(const TokenCutoff& cutoff) = 0;
  virtual void set_name_skeleton(UserId user, const std::string& skeleton) = 0;
  // Replaces the user's users.search terms (already folded: auth::user_search_terms).
  virtual void set_search_terms(UserId user, const std::vector<std::string>& terms) = 0;
  virtual void add_invite(const InviteRecord& invite) = 0;
  // False if there is no invite with this id.
  virtual bool delete_invite(const std::string& id) = 0;
  // Takes one use of the invite with this code hash. False if there is none, it expired at
  // `now_s` or it has no use left.
  virtual bool use_invite(const std::string& code_hash, std::int64_t now_s) = 0;
  // --- media (issue 14) ---
  // Records a pending upload; false if the id is taken (nothing stored).
  virtual bool add_media(const MediaRecord& media) = 0;
  // Turns the pending upload `media.id` into a ready one with the size, type, dimensions,
  // thumbnail flag, preview, completed time and new expires_at_s (deleted then if never
  // attached) of `media`. False if there is no pending upload with that id (unknown, or
  // completed already).
  virtual bool complete_media(const MediaRecord& media) = 0;
  // Deletes the row of an upload no message carries (ref_count 0). False if there is no such
  // row, or a message carries it.
  virtual bool delete_media(const std::string& id) = 0;
  // The message (conversation, seq) carries these media (distinct, ready): counts each one's
  // carriers up. erase_message counts them down; a media left without carriers is released
  // (nobody may download it any more) and due for deletion at once.
  virtual void attach_media(ConversationId conversation, Seq seq, const std::vector<std::string>& media_ids) = 0;

  // --- push (issue 15) ---
  // Stores the subscription of (user, kind, endpoint), replacing the one there was (its token,
  // keys and options; it keeps its id and creation time). Returns its id.
  virtual std::int64_t save_push_subscription(const PushSubscriptionRecord& subscription) = 0;
  // Deletes one of the user's subscriptions and what is queued for it; false if the user has
  // none with this id.
  virtual bool delete_push_subscription(UserId user, std::int64_t id) = 0;
  // Queues a notification of event `seq` for every subscription of its `audience` (never the
  // sender; a member's own NotifyLevel, when set, instead of the audience; mention flags from
  // add_mentions, which runs first), collapsing into a job already queued for that subscription
  // and conversation (its seq moves on, count grows, due time stays). A no-op for users without
  // subscriptions. False if certainly nothing was queued (an engine that cannot tell cheaply
  // says true): the dispatcher is woken only when there may be something to send.
  virtual bool queue_push(ConversationId conversation, Seq seq, UserId sender, PushAudience audience,
                          std::int64_t now_ms) = 0;
  // The same for one user's subscriptions (a reaction to their message), unless their level
  // for the conversation is none. True as for queue_push.
  virtual bool queue_push_to(UserId user, ConversationId conversation, Seq seq, std::int64_t now_ms) = 0;
  // A user's do-not-disturb (the defaults if they never set it) and its change.
  virtual NotificationSettings notification_settings(UserId user) = 0;
  virtual void set_notification_settings(UserId user, const NotificationSettings& settings) = 0;
  // Takes up to `limit` jobs due at `now_ms`, earliest first, with their subscriptions, and
  // makes them due again only at `lease_until_ms`: a node that dies while sending leaves them
  // to whoever claims them after the lease (so at least once, never twice while the lease holds).
  virtual std::vector<PushJobRecord> claim_push_jobs(std::int64_t now_ms, std::int64_t lease_until_ms, int limit) = 0;
  // A claimed job was sent (or dropped) as of `sent_seq`, `sent_count` events: deleted, unless
  // newer events collapsed into it meanwhile: then it is due at `now_ms` for those.
  virtual void finish_push_job(const PushJobKey& key, Seq sent_seq, std::int64_t sent_count, std::int64_t now_ms) = 0;
  // A claimed job waits until `due_at_ms` (a retry after `attempts` failures, or a grace period).
  virtual void defer_push_job(const PushJobKey& key, std::int64_t due_at_ms, int attempts) = 0;

  // Deletes tokens (and their push subscriptions), revoked-token entries and invites that
  // expired before `now_s`.
  virtual void purge_expired(std::int64_t now_s) = 0;

  // Pos of the newest event appended so far, in this batch or before: a snapshot read now
  // reflects exactly the events up to it.
  virtual Pos last_assigned_pos() const = 0;
};

class ReaderConnection {
 public:
  virtual ~ReaderConnection() = default;
  // Starts a read transaction; valid until end_read(). Not reentrant.
  virtual ReadTxn& begin_read() = 0;
  virtual void end_read() = 0;
};

// What a batch's operations will look up, told before they run: an engine that pays a round
// trip per lookup (PostgreSQL) fetches it all at once when the batch begins.
struct BatchPreview {
  std::vector<std::pair<UserId, std::string>> client_msg_ids;  // (sender, client_msg_id) of sends
};

class WriterConnection {
 public:
  virtual ~WriterConnection() = default;
  // True if begin_batch() uses a BatchPreview (the Committer gathers one only then).
  virtual bool wants_preview() const { return false; }
  virtual WriteTxn& begin_batch(const BatchPreview& preview) = 0;
  WriteTxn& begin_batch() { return begin_batch(BatchPreview{}); }
  // Makes the batch durable (per the engine's synchronous setting). Throws StoreFailure.
  virtual void commit_batch() = 0;
  // Discards the batch and every cached state derived from it. Never throws.
  virtual void rollback_batch() noexcept = 0;
  // Highest pos made durable so far.
  virtual Pos committed_pos() const = 0;
  // Whether the database can be reached now (reconnecting if needed). The committer calls it
  // when idle and after a failed batch; /readyz reports it. Never throws.
  virtual bool probe() noexcept { return true; }
};

struct EngineOptions {
  std::string url;          // "sqlite:PATH" or "postgresql://..." (a libpq URI)
  bool synchronous_full = true;
  int cache_mb = 64;         // each reader's page cache
  int writer_cache_mb = 8;   // the writer's (see store.sqlite_writer_cache_mb)
  int wal_max_mb = 16;      // past this the WAL is checkpointed and starts over from its beginning
  int page_size = 1024;     // bytes; applies when the database file is created
  unsigned node_id = 0;
  // PostgreSQL
  int connect_timeout_s = 5;        // per connection attempt
  int statement_timeout_ms = 30000; // the server cancels a statement running longer
  int network_timeout_ms = 10000;   // a silent connection (a partition) is given up by both ends
  int start_timeout_s = 60;         // how long start-up waits for the server
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::unique_ptr<ReaderConnection> open_reader() = 0;
  virtual std::unique_ptr<WriterConnection> open_writer() = 0;
  virtual std::string describe() const = 0;
};

// Opens the engine named by options.url, creating and migrating the schema if needed.
// Throws StoreFailure (start-up only).
std::unique_ptr<Engine> open_engine(const EngineOptions& options);

}  // namespace parley::store
