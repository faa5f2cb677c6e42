// The SQLite engine's write side: the single writer connection (sequencing caches, group-commit
// batches) and the checkpointer that keeps the WAL small.
#include "store/sqlite/writer.hpp"

#include <utility>

#include <spdlog/spdlog.h>

#include <array>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/clock.hpp"
#include "core/hash.hpp"
#include "store/sqlite/reads.hpp"

namespace parley::store::sqlite {
namespace {

class SqliteWriter final : public WriterConnection, public SqliteReads<WriteTxn> {
 public:
  SqliteWriter(Database& db, const EngineOptions& options)
      : SqliteReads<WriteTxn>(db),
        ids_(options.node_id),
        begin_(db.prepare("BEGIN IMMEDIATE")),
        commit_(db.prepare("COMMIT")),
        insert_user_(db.prepare("INSERT INTO users(username, display_name, password_hash, external_id, created_at, "
                                "name_skeleton) VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING")),
        insert_conversation_(db.prepare(
            "INSERT INTO conversations(kind, title, topic, direct_key, created_by, created_at, last_event_at) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)")),
        set_title_(db.prepare("UPDATE conversations SET title = ?2 WHERE id = ?1")),
        conversation_state_(db.prepare("SELECT kind, last_seq, last_pos FROM conversations WHERE id = ?1")),
        upsert_member_(db.prepare(
            "INSERT INTO members(conversation_id, user_id, role, visible_from_seq, left_seq, last_pos, pull, joined_at, "
            "joined_pos) VALUES(?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?5) ON CONFLICT(conversation_id, user_id) DO UPDATE SET "
            "role = excluded.role, visible_from_seq = excluded.visible_from_seq, left_seq = NULL, left_title = NULL, "
            "last_pos = excluded.last_pos, pull = excluded.pull, joined_at = excluded.joined_at, "
            "joined_pos = excluded.joined_pos, muted_until = 0, archived = 0, "
            "pin_rank = 0, marked_unread = 0, cleared_seq = 0, notify = 0")),
        // A membership's own settings end with it (a re-join starts from the defaults); its
        // cleared_seq stays while the former member may read.
        end_member_(db.prepare("UPDATE members SET left_seq = ?3, last_pos = ?4, pull = 0, left_title = ?5, "
                               "muted_until = 0, archived = 0, pin_rank = 0, marked_unread = 0, notify = 0 "
                               "WHERE conversation_id = ?1 AND user_id = ?2 AND left_seq IS NULL")),
        set_role_(db.prepare("UPDATE members SET role = ?3 WHERE conversation_id = ?1 AND user_id = ?2")),
        member_count_(db.prepare("UPDATE conversations SET member_count = member_count + ?2 WHERE id = ?1")),
        insert_event_(db.prepare(
            "INSERT INTO events(conversation_id, seq, pos, id, sender_id, kind, client_msg_id, body, meta, created_at, "
            "reply_to, thread_root, target_seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
            "ON CONFLICT(sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL DO NOTHING")),
        update_conversation_(db.prepare(
            "UPDATE conversations SET last_seq = ?2, last_pos = ?3, last_event_at = ?4 WHERE id = ?1")),
        update_member_pos_(db.prepare(
            "UPDATE members SET last_pos = ?2 WHERE conversation_id = ?1 AND left_seq IS NULL")),
        revoke_(db.prepare("INSERT OR IGNORE INTO revoked_tokens(token_id, user_id, expires_at) VALUES(?1, ?2, ?3)")),
        max_pos_(db.prepare("SELECT coalesce(max(pos), 0) FROM events")),
        newest_id_(db.prepare("SELECT id FROM events ORDER BY pos DESC LIMIT 1")) {
    load_committed_pos();
    seed_ids();
  }

  // --- WriterConnection ---
  WriteTxn& begin_batch(const BatchPreview&) override {
    if (conversations_.size() > kMaxCachedConversations) conversations_.clear();
    begin_.run();
    begin_.reset();
    in_batch_ = true;
    return *this;
  }

  void commit_batch() override {
    // Publish each touched conversation's new head, and (for direct and group conversations)
    // each active member's newest visible pos: sync finds changed conversations by it.
    for (ConversationId id : touched_) {
      auto& state = conversations_.at(id);
      state.touched = false;
      StatementScope u(update_conversation_);
      u->bind(1, id).bind(2, state.last_seq).bind(3, state.last_pos).bind(4, state.last_event_at_ms).run();
      if (state.kind != ConversationKind::channel) {
        StatementScope m(update_member_pos_);
        m->bind(1, id).bind(2, state.last_pos).run();
      }
    }
    commit_.run();
    commit_.reset();
    touched_.clear();
    in_batch_ = false;
    committed_pos_ = next_pos_ - 1;
  }

  void rollback_batch() noexcept override {
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
    erased_ = false;
    subscribed_conversations_.clear();
    touched_.clear();
    conversations_.clear();
    members_.clear();
    in_batch_ = false;
    try {
      load_committed_pos();
    } catch (...) {
      // The next batch will fail the same way and retry; keep the last known position.
      next_pos_ = committed_pos_ + 1;
    }
  }

  Pos committed_pos() const override { return committed_pos_; }

  // True once after a committed batch that erased message content (its old text may still sit
  // in the WAL until the WAL is truncated).
  bool take_erased() { return std::exchange(erased_, false); }

  // --- WriteTxn ---
  std::optional<UserRecord> create_user(const std::string& username, const std::string& display_name,
                                        const std::string& password_hash, const std::string& external_id,
                                        const std::string& name_skeleton) override {
    const std::int64_t now = wall_clock_ms();
    StatementScope s(insert_user_);
    s->bind(1, username).bind(2, display_name).bind_optional_text(3, password_hash).bind_optional_text(4, external_id);
    s->bind(5, now).bind_optional_text(6, name_skeleton);
    if (s->run() == 0) return std::nullopt;
    UserRecord user;
    user.id = sqlite3_last_insert_rowid(db_.handle());
    user.username = username;
    user.display_name = display_name;
    user.created_at_ms = now;
    return user;
  }

  ConversationRecord create_conversation(ConversationKind kind, const std::string& title, const std::string& topic,
                                         UserId created_by,
                                         std::optional<std::pair<UserId, UserId>> direct_pair) override {
    const std::int64_t now = wall_clock_ms();
    std::string key = direct_pair ? direct_key(direct_pair->first, direct_pair->second) : std::string();
    StatementScope s(insert_conversation_);
    s->bind(1, static_cast<std::int64_t>(kind)).bind(2, title).bind(3, topic).bind_optional_text(4, key);
    s->bind(5, created_by).bind(6, now).run();
    ConversationRecord c;
    c.id = sqlite3_last_insert_rowid(db_.handle());
    c.kind = kind;
    c.title = title;
    c.topic = topic;
    c.created_by = created_by;
    c.created_at_ms = now;
    c.last_event_at_ms = now;
    conversations_[c.id] = ConversationState{kind, 0, 0, now, false};
    return c;
  }

  void set_title(ConversationId conversation, const std::string& title) override {
    StatementScope s(set_title_);
    s->bind(1, conversation).bind(2, title).run();
  }

  void add_member(ConversationId conversation, ConversationKind kind, UserId user, Role role, Seq visible_from_seq,
                  Pos last_pos) override {
    auto existing = member(conversation, user);
    if (existing && existing->active()) return;
    members_.erase({conversation, user});
    subscribed_conversations_.erase(conversation);
    if (existing) {  // a new membership after an ended one: its hides go with it
      StatementScope drop(w(W::drop_hidden));
      drop->bind(1, conversation).bind(2, user).run();
    }
    StatementScope s(upsert_member_);
    s->bind(1, conversation).bind(2, user).bind(3, static_cast<std::int64_t>(role)).bind(4, visible_from_seq);
    s->bind(5, last_pos).bind(6, kind == ConversationKind::channel ? 1 : 0).bind(7, wall_clock_ms()).run();
    StatementScope count(member_count_);
    count->bind(1, conversation).bind(2, 1).run();
  }

  void end_member(ConversationId conversation, UserId user, Seq left_seq, Pos last_pos,
                  const std::string& title) override {
    members_.erase({conversation, user});
    StatementScope s(end_member_);
    if (s->bind(1, conversation).bind(2, user).bind(3, left_seq).bind(4, last_pos).bind(5, title).run() > 0) {
      StatementScope count(member_count_);
      count->bind(1, conversation).bind(2, -1).run();
    }
  }

  void set_role(ConversationId conversation, UserId user, Role role) override {
    members_.erase({conversation, user});
    StatementScope s(set_role_);
    s->bind(1, conversation).bind(2, user).bind(3, static_cast<std::int64_t>(role)).run();
  }

  void set_conversation_settings(ConversationId conversation, UserId user,
                                 const ConversationSettings& settings) override {
    members_.erase({conversation, user});
    StatementScope s(w(W::set_settings));
    s->bind(1, conversation).bind(2, user).bind(3, settings.muted_until).bind(4, settings.archived ? 1 : 0);
    s->bind(5, settings.pin_rank).bind(6, settings.marked_unread ? 1 : 0).bind(7, settings.cleared_seq);
    s->bind(8, static_cast<std::int64_t>(settings.notify)).run();
  }

  void hide_messages(UserId user, ConversationId conversation, const std::vector<Seq>& seqs) override {
    for (Seq seq : seqs) {
      StatementScope s(w(W::hide));
      s->bind(1, conversation).bind(2, user).bind(3, seq).run();
    }
  }

  AppendOutcome append_event(EventRecord draft) override {
    ConversationState& state = state_of(draft.conversation_id);
    draft.seq = state.last_seq + 1;
    draft.pos = next_pos_;
    draft.created_at_ms = wall_clock_ms();
    draft.id = ids_.next(draft.created_at_ms);
    StatementScope s(insert_event_);
    s->bind(1, draft.conversation_id).bind(2, draft.seq).bind(3, draft.pos);
    s->bind(4, static_cast<std::int64_t>(draft.id)).bind(5, draft.sender_id);
    s->bind(6, static_cast<std::int64_t>(draft.kind)).bind_optional_text(7, draft.client_msg_id);
    s->bind(8, draft.body).bind_optional_text(9, draft.meta_json).bind(10, draft.created_at_ms);
    bind_optional_seq(*s, 11, draft.reply_to);
    bind_optional_seq(*s, 12, draft.thread_root);
    bind_optional_seq(*s, 13, draft.target_seq);
    if (s->run() == 0) {
      // The dedup index refused it: this sender already used this client_msg_id.
      auto original = event_by_client_msg_id(draft.sender_id, draft.client_msg_id);
      if (!original) throw StoreFailure("duplicate event vanished");
      AppendOutcome outcome{std::move(*original), true, false};
      outcome.reused_elsewhere = outcome.event.conversation_id != draft.conversation_id;
      return outcome;
    }
    state.last_seq = draft.seq;
    state.last_pos = draft.pos;
    state.last_event_at_ms = draft.created_at_ms;
    ++next_pos_;
    if (!state.touched) {
      state.touched = true;
      touched_.push_back(draft.conversation_id);
    }
    return AppendOutcome{std::move(draft), false, false};
  }

  Pos last_assigned_pos() const override { return next_pos_ - 1; }

  // Memberships are read on every send; the writer keeps the ones it read (it makes every
  // membership change itself, so it can keep them exact). A cached record's last_pos may lag
  // (it moves at each commit); nothing on the writer reads it for active members.
  std::optional<MemberRecord> member(ConversationId conversation, UserId user) override {
    const MemberKey key{conversation, user};
    if (auto it = members_.find(key); it != members_.end()) return it->second;
    auto record = SqliteReads<WriteTxn>::member(conversation, user);
    if (members_.size() >= kMaxCachedMembers) members_.clear();
    members_.emplace(key, record);
    return record;
  }

  // The conversations row is brought up to date at commit; inside a batch the cached head is
  // the truth.
  std::optional<ConversationRecord> conversation(ConversationId id) override {
    auto record = SqliteReads<WriteTxn>::conversation(id);
    if (!record) return record;
    if (auto it = conversations_.find(id); it != conversations_.end() && it->second.touched) {
      record->last_seq = it->second.last_seq;
      record->last_pos = it->second.last_pos;
      record->last_event_at_ms = it->second.last_event_at_ms;
    }
    return record;
  }

  void revoke_token(const std::string& token_id, UserId user, std::int64_t expires_at_s) override {
    StatementScope s(revoke_);
    s->bind(1, token_id).bind(2, user).bind(3, expires_at_s).run();
  }

  // --- message state ---
  void set_edited(ConversationId conversation, Seq seq, const std::string& text, std::int64_t at_ms) override {
    StatementScope s(w(W::set_edited));
    s->bind(1, conversation).bind(2, seq).bind(3, text).bind(4, at_ms).run();
  }

  void erase_message(ConversationId conversation, Seq seq, std::int64_t at_ms) override {
    erased_ = true;
    for (W statement : {W::erase_message, W::erase_edits, W::erase_reactions, W::erase_mentions, W::erase_pin,
                        W::release_media, W::erase_carriers}) {
      StatementScope s(w(statement));
      s->bind(1, conversation).bind(2, seq);
      if (statement == W::erase_message) s->bind(3, at_ms);
      s->run();
    }
  }

  bool add_reaction(ConversationId conversation, Seq seq, UserId user, const std::string& emoji,
                    Pos added_pos) override {
    StatementScope s(w(W::add_reaction));
    return s->bind(1, conversation).bind(2, seq).bind(3, emoji).bind(4, user).bind(5, wall_clock_ms()).bind(6, added_pos).run() > 0;
  }
  bool remove_reaction(ConversationId conversation, Seq seq, UserId user, const std::string& emoji) override {
    StatementScope s(w(W::remove_reaction));
    return s->bind(1, conversation).bind(2, seq).bind(3, emoji).bind(4, user).run() > 0;
  }
  int reaction_count(ConversationId conversation, Seq seq, UserId user) override {
    StatementScope s(w(W::reaction_count));
    s->bind(1, conversation).bind(2, seq).bind(3, user).step();
    return static_cast<int>(s->integer(0));
  }
  bool add_pin(ConversationId conversation, Seq seq, UserId user) override {
    StatementScope s(w(W::add_pin));
    return s->bind(1, conversation).bind(2, seq).bind(3, user).bind(4, wall_clock_ms()).run() > 0;
  }
  bool remove_pin(ConversationId conversation, Seq seq) override {
    StatementScope s(w(W::remove_pin));
    return s->bind(1, conversation).bind(2, seq).run() > 0;
  }
  void add_thread_reply(ConversationId conversation, Seq root_seq, Seq reply_seq, std::int64_t at_ms) override {
    StatementScope s(w(W::thread_reply));
    s->bind(1, conversation).bind(2, root_seq).bind(3, reply_seq).bind(4, at_ms).run();
  }
  void add_mentions(ConversationId conversation, Seq seq, const std::vector<UserId>& users) override {
    auto event = this->event(conversation, seq);
    const UserId sender = event ? event->sender_id : 0;
    for (UserId user : users) {
      StatementScope s(w(W::add_mention));
      s->bind(1, conversation).bind(2, user).bind(3, seq).bind(4, sender).run();
    }
  }
  std::optional<MemberRecord> advance_receipts(ConversationId conversation, UserId user, Seq delivered_seq,
                                               Seq read_seq) override {
    members_.erase({conversation, user});
    StatementScope s(w(W::advance_receipts));
    s->bind(1, conversation).bind(2, user).bind(3, delivered_seq).bind(4, read_seq).run();
    return member(conversation, user);
  }
  void set_last_seen(UserId user, std::int64_t at_ms) override {
    StatementScope s(w(W::set_last_seen));
    s->bind(1, user).bind(2, at_ms).run();
  }
  void set_privacy(UserId user, bool share_read_receipts, bool share_last_seen, bool discoverable) override {
    StatementScope s(w(W::set_privacy));
    s->bind(1, user).bind(2, share_read_receipts ? 1 : 0).bind(3, share_last_seen ? 1 : 0).bind(4, discoverable ? 1 : 0);
    s->run();
  }

  // --- accounts ---
  void add_token(const TokenRecord& t) override {
    StatementScope s(w(W::add_token));
    s->bind(1, t.token_id).bind(2, t.user_id).bind(3, t.created_at_ms).bind(4, t.expires_at_s);
    s->bind(5, t.device).bind(6, t.address).bind(7, t.last_active_at_ms).run();
  }
  bool delete_token(const std::string& token_id) override {
    for (W statement : {W::delete_token_jobs, W::delete_token_subscriptions}) {
      StatementScope subscriptions(w(statement));
      subscriptions->bind(1, token_id).run();
    }
    StatementScope s(w(W::delete_token));
    return s->bind(1, token_id).run() > 0;
  }
  std::vector<TokenRecord> delete_tokens_of(UserId user, const std::string& except_token_id) override {
    std::vector<TokenRecord> gone;
    for (auto& t : tokens_of(user, 0))
      if (t.token_id != except_token_id) gone.push_back(std::move(t));
    for (const auto& t : gone) delete_token(t.token_id);
    return gone;
  }
  void touch_token(const std::string& token_id, std::int64_t at_ms) override {
    StatementScope s(w(W::touch_token));
    s->bind(1, token_id).bind(2, at_ms).run();
  }
  void set_password_hash(UserId user, const std::string& password_hash) override {
    StatementScope s(w(W::set_password));
    s->bind(1, user).bind(2, password_hash).run();
  }
  void set_display_name(UserId user, const std::string& display_name) override {
    StatementScope s(w(W::set_display_name));
    s->bind(1, user).bind(2, display_name).run();
  }
  void set_token_cutoff(const TokenCutoff& cutoff) override {
    StatementScope s(w(W::set_cutoff));
    s->bind(1, cutoff.user_id).bind(2, cutoff.valid_after_s).bind_optional_text(3, cutoff.kept_token_id).run();
  }
  void set_name_skeleton(UserId user, const std::string& skeleton) override {
    StatementScope s(w(W::set_skeleton));
    s->bind(1, user).bind(2, skeleton).run();
  }
  void set_search_terms(UserId user, const std::vector<std::string>& terms) override {
    {
      StatementScope s(w(W::delete_terms));
      s->bind(1, user).run();
    }
    for (const std::string& term : terms) {
      StatementScope s(w(W::add_term));
      s->bind(1, term).bind(2, user).run();
    }
    StatementScope s(w(W::terms_done));
    s->bind(1, user).run();
  }
  void add_invite(const InviteRecord& i) override {
    StatementScope s(w(W::add_invite));
    s->bind(1, i.id).bind(2, i.code_hash).bind(3, i.created_at_ms).bind(4, i.expires_at_s).bind(5, i.uses_left);
    s->bind(6, i.note).run();
  }
  bool delete_invite(const std::string& id) override {
    StatementScope s(w(W::delete_invite));
    return s->bind(1, id).run() > 0;
  }
  bool use_invite(const std::string& code_hash, std::int64_t now_s) override {
    StatementScope s(w(W::use_invite));
    return s->bind(1, code_hash).bind(2, now_s).run() > 0;
  }
  bool add_media(const MediaRecord& m) override {
    StatementScope s(w(W::add_media));
    s->bind(1, m.id).bind(2, m.owner_id).bind(3, static_cast<std::int64_t>(m.state)).bind(4, m.declared_size);
    s->bind(5, m.declared_type).bind(6, m.file_name).bind(7, m.sha256).bind(8, m.created_at_ms).bind(9, m.expires_at_s);
    return s->run() > 0;
  }
  bool complete_media(const MediaRecord& m) override {
    StatementScope s(w(W::complete_media));
    s->bind(1, m.id).bind(2, m.size).bind(3, m.content_type).bind(4, m.width).bind(5, m.height);
    s->bind(6, m.has_thumbnail ? 1 : 0).bind(7, m.preview).bind(8, m.completed_at_ms).bind(9, m.expires_at_s);
    return s->run() > 0;
  }
  bool delete_media(const std::string& id) override {
    StatementScope s(w(W::delete_media));
    return s->bind(1, id).run() > 0;
  }
  void attach_media(ConversationId conversation, Seq seq, const std::vector<std::string>& media_ids) override {
    for (const auto& id : media_ids) {
      StatementScope carrier(w(W::add_carrier));
      if (carrier->bind(1, id).bind(2, conversation).bind(3, seq).run() == 0) continue;  // carried already
      StatementScope count(w(W::count_carrier));
      count->bind(1, id).run();
    }
  }
  std::int64_t save_push_subscription(const PushSubscriptionRecord& p) override {
    StatementScope s(w(W::save_subscription));
    s->bind(1, p.user_id).bind(2, p.token_id).bind(3, p.kind).bind(4, p.endpoint).bind(5, p.p256dh).bind(6, p.auth);
    s->bind(7, p.options).bind(8, p.created_at_ms);
    if (!s->step()) throw StoreFailure("push subscription not saved");
    subscribed_conversations_.clear();
    return s->integer(0);
  }
  bool delete_push_subscription(UserId user, std::int64_t id) override {
    StatementScope s(w(W::delete_subscription));
    if (s->bind(1, id).bind(2, user).run() == 0) return false;
    StatementScope jobs(w(W::delete_subscription_jobs));
    jobs->bind(1, id).run();
    return true;
  }
  bool queue_push(ConversationId conversation, Seq seq, UserId sender, PushAudience audience,
                  std::int64_t now_ms) override {
    auto known = subscribed_conversations_.find(conversation);
    if (known == subscribed_conversations_.end()) {
      if (subscribed_conversations_.size() >= kMaxCachedConversations) subscribed_conversations_.clear();
      StatementScope any(w(W::conversation_subscribed));
      known = subscribed_conversations_.emplace(conversation, any->bind(1, conversation).step() && any->integer(0) != 0).first;
    }
    if (!known->second) return false;
    StatementScope s(w(W::queue_push));
    s->bind(1, conversation).bind(2, seq).bind(3, sender).bind(4, now_ms);
    return s->bind(5, audience == PushAudience::mentioned ? 1 : 0).run() > 0;
  }
  bool queue_push_to(UserId user, ConversationId conversation, Seq seq, std::int64_t now_ms) override {
    StatementScope s(w(W::queue_push_to));
    return s->bind(1, conversation).bind(2, seq).bind(3, user).bind(4, now_ms).run() > 0;
  }
  std::vector<PushJobRecord> claim_push_jobs(std::int64_t now_ms, std::int64_t lease_until_ms, int limit) override {
    std::vector<PushJobRecord> jobs;
    {
      StatementScope s(w(W::due_jobs));
      s->bind(1, now_ms).bind(2, limit);
      while (s->step()) {
        PushJobRecord j;
        j.key = {s->integer(0), s->integer(1)};
        j.user_id = s->integer(2);
        j.seq = s->integer(3);
        j.count = s->integer(4);
        j.mention = s->integer(5) != 0;
        j.first_at_ms = s->integer(6);
        j.due_at_ms = s->integer(7);
        j.attempts = static_cast<int>(s->integer(8));
        j.subscription = read_push_subscription(*s, 9);
        jobs.push_back(std::move(j));
      }
    }
    for (const auto& j : jobs) {
      StatementScope s(w(W::defer_job));
      s->bind(1, j.key.subscription_id).bind(2, j.key.conversation_id).bind(3, lease_until_ms).bind(4, j.attempts).run();
    }
    return jobs;
  }
  void finish_push_job(const PushJobKey& key, Seq sent_seq, std::int64_t sent_count, std::int64_t now_ms) override {
    StatementScope s(w(W::finish_job));
    s->bind(1, key.subscription_id).bind(2, key.conversation_id).bind(3, sent_seq).run();
    StatementScope rest(w(W::requeue_job));
    rest->bind(1, key.subscription_id).bind(2, key.conversation_id).bind(3, sent_count).bind(4, now_ms).run();
  }
  void defer_push_job(const PushJobKey& key, std::int64_t due_at_ms, int attempts) override {
    StatementScope s(w(W::defer_job));
    s->bind(1, key.subscription_id).bind(2, key.conversation_id).bind(3, due_at_ms).bind(4, attempts).run();
  }
  NotificationSettings notification_settings(UserId user) override {
    NotificationSettings n;
    StatementScope s(w(W::notification_settings));
    if (s->bind(1, user).step()) {
      n.dnd_until = s->integer(0);
      n.timezone = s->text(1);
      n.quiet_start_min = static_cast<int>(s->integer(2));
      n.quiet_end_min = static_cast<int>(s->integer(3));
    }
    return n;
  }
  void set_notification_settings(UserId user, const NotificationSettings& n) override {
    StatementScope s(w(W::set_notification_settings));
    s->bind(1, user).bind(2, n.dnd_until).bind(3, n.timezone).bind(4, n.quiet_start_min).bind(5, n.quiet_end_min).run();
  }
  void purge_expired(std::int64_t now_s) override {
    for (W statement : {W::purge_jobs, W::purge_subscriptions, W::purge_tokens, W::purge_revoked, W::purge_invites}) {
      StatementScope s(w(statement));
      s->bind(1, now_s).run();
    }
  }

 private:
  struct ConversationState {
    ConversationKind kind;
    Seq last_seq;
    Pos last_pos;
    std::int64_t last_event_at_ms;
    bool touched = false;  // has new events in the current batch
  };
  static constexpr std::size_t kMaxCachedConversations = 200000;
  static constexpr std::size_t kMaxCachedMembers = 500000;
  struct MemberKey {
    ConversationId conversation;
    UserId user;
    bool operator==(const MemberKey&) const = default;
  };
  using MemberKeyHash = IdPairHash<MemberKey, &MemberKey::conversation, &MemberKey::user>;

  // Statements of the message-state writes, prepared on first use.
  enum class W {
    set_edited, erase_message, erase_edits, erase_reactions, erase_mentions, erase_pin, add_reaction, remove_reaction,
    reaction_count, add_pin, remove_pin, thread_reply, add_mention, advance_receipts, set_privacy, set_last_seen,
    add_token, delete_token, touch_token, set_password, set_display_name, set_cutoff, set_skeleton, add_invite, delete_invite, use_invite,
    purge_tokens, purge_revoked, purge_invites, set_settings, hide, drop_hidden, delete_terms, add_term, terms_done, add_media,
    complete_media, delete_media, add_carrier, count_carrier, release_media, erase_carriers, save_subscription,
    delete_subscription, delete_token_subscriptions, purge_subscriptions, delete_subscription_jobs, delete_token_jobs,
    purge_jobs, conversation_subscribed, queue_push, queue_push_to, due_jobs, defer_job, finish_job, requeue_job,
    notification_settings, set_notification_settings, count_
  };
  static const char* text_of(W id) {
    switch (id) {
      case W::set_edited:
        return "UPDATE events SET edited_body = ?3, edited_at = ?4 WHERE conversation_id = ?1 AND seq = ?2";
      case W::erase_message:
        return "UPDATE events SET body = '', edited_body = NULL, meta = NULL, deleted_at = ?3 "
               "WHERE conversation_id = ?1 AND seq = ?2";
      case W::erase_edits:
        return "UPDATE events SET meta = NULL WHERE conversation_id = ?1 AND target_seq = ?2 AND kind = 9";
      case W::erase_reactions: return "DELETE FROM reactions WHERE conversation_id = ?1 AND seq = ?2";
      case W::erase_mentions: return "DELETE FROM mentions WHERE conversation_id = ?1 AND seq = ?2";
      case W::erase_pin: return "DELETE FROM pins WHERE conversation_id = ?1 AND seq = ?2";
      case W::add_reaction:
        return "INSERT OR IGNORE INTO reactions(conversation_id, seq, emoji, user_id, created_at, added_pos) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
      case W::remove_reaction:
        return "DELETE FROM reactions WHERE conversation_id = ?1 AND seq = ?2 AND emoji = ?3 AND user_id = ?4";
      case W::reaction_count:
        return "SELECT count(*) FROM reactions WHERE conversation_id = ?1 AND seq = ?2 AND user_id = ?3";
      case W::add_pin:
        return "INSERT OR IGNORE INTO pins(conversation_id, seq, pinned_by, pinned_at) VALUES(?1, ?2, ?3, ?4)";
      case W::remove_pin: return "DELETE FROM pins WHERE conversation_id = ?1 AND seq = ?2";
      case W::thread_reply:
        return "INSERT INTO threads(conversation_id, root_seq, reply_count, last_reply_seq, last_reply_at) "
               "VALUES(?1, ?2, 1, ?3, ?4) ON CONFLICT(conversation_id, root_seq) DO UPDATE SET "
               "reply_count = reply_count + 1, last_reply_seq = excluded.last_reply_seq, "
               "last_reply_at = excluded.last_reply_at";
      case W::add_mention:
        return "INSERT OR IGNORE INTO mentions(conversation_id, user_id, seq, sender_id) VALUES(?1, ?2, ?3, ?4)";
      case W::advance_receipts:
        return "UPDATE members SET delivered_seq = max(delivered_seq, ?3, ?4), read_seq = max(read_seq, ?4) "
               "WHERE conversation_id = ?1 AND user_id = ?2";
      case W::set_privacy:
        return "UPDATE users SET share_read_receipts = ?2, share_last_seen = ?3, discoverable = ?4 WHERE id = ?1";
      case W::set_last_seen: return "UPDATE users SET last_seen_at = ?2 WHERE id = ?1";
      case W::add_token:
        return "INSERT OR REPLACE INTO tokens(token_id, user_id, created_at, expires_at, device, address, last_active_at) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
      case W::delete_token: return "DELETE FROM tokens WHERE token_id = ?1";
      case W::save_subscription:
        return "INSERT INTO push_subscriptions(user_id, token_id, kind, endpoint, p256dh, auth, options, created_at) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(user_id, kind, endpoint) DO UPDATE SET "
               "token_id = excluded.token_id, p256dh = excluded.p256dh, auth = excluded.auth, "
               "options = excluded.options RETURNING id";
      case W::delete_subscription: return "DELETE FROM push_subscriptions WHERE id = ?1 AND user_id = ?2";
      case W::delete_token_subscriptions: return "DELETE FROM push_subscriptions WHERE token_id = ?1";
      case W::purge_subscriptions:
        return "DELETE FROM push_subscriptions WHERE token_id IN (SELECT token_id FROM tokens WHERE expires_at <= ?1)";
      case W::conversation_subscribed:
        return "SELECT EXISTS(SELECT 1 FROM members m JOIN push_subscriptions s ON s.user_id = m.user_id "
               "WHERE m.conversation_id = ?1 AND m.left_seq IS NULL)";
      case W::delete_subscription_jobs: return "DELETE FROM push_jobs WHERE subscription_id = ?1";
      case W::delete_token_jobs:
        return "DELETE FROM push_jobs WHERE subscription_id IN (SELECT id FROM push_subscriptions WHERE token_id = ?1)";
      case W::purge_jobs:
        return "DELETE FROM push_jobs WHERE subscription_id IN (SELECT s.id FROM push_subscriptions s JOIN tokens t "
               "ON t.token_id = s.token_id WHERE t.expires_at <= ?1)";
      // One row per subscription of each active member but the sender whose notification level
      // takes the event (?5 = 1: the kind's default takes only mentions); an existing job of that
      // subscription and conversation absorbs it.
      case W::queue_push:
        return "INSERT INTO push_jobs(subscription_id, conversation_id, user_id, seq, count, mention, first_at, due_at, "
               "attempts) SELECT s.id, ?1, s.user_id, ?2, 1, EXISTS(SELECT 1 FROM mentions x WHERE x.conversation_id = ?1 "
               "AND x.seq = ?2 AND x.user_id IN (0, m.user_id)) AS mentioned, ?4, ?4, 0 "
               "FROM members m JOIN push_subscriptions s ON s.user_id = m.user_id "
               "WHERE m.conversation_id = ?1 AND m.left_seq IS NULL AND m.user_id <> ?3 AND "
               "CASE m.notify WHEN 1 THEN 1 WHEN 2 THEN mentioned WHEN 3 THEN 0 ELSE (?5 = 0 OR mentioned) END "
               "ON CONFLICT(subscription_id, conversation_id) DO UPDATE SET seq = max(seq, excluded.seq), "
               "count = count + 1, mention = max(mention, excluded.mention)";
      case W::queue_push_to:
        return "INSERT INTO push_jobs(subscription_id, conversation_id, user_id, seq, count, mention, first_at, due_at, "
               "attempts) SELECT id, ?1, user_id, ?2, 1, 0, ?4, ?4, 0 FROM push_subscriptions WHERE user_id = ?3 "
               "AND NOT EXISTS(SELECT 1 FROM members WHERE conversation_id = ?1 AND user_id = ?3 AND notify = 3) "
               "ON CONFLICT(subscription_id, conversation_id) DO UPDATE SET seq = max(seq, excluded.seq), count = count + 1";
      case W::due_jobs:
        return "SELECT j.subscription_id, j.conversation_id, j.user_id, j.seq, j.count, j.mention, j.first_at, "
               "j.due_at, j.attempts, s.id, s.user_id, s.token_id, s.kind, s.endpoint, s.p256dh, s.auth, s.options, "
               "s.created_at FROM push_jobs j JOIN push_subscriptions s ON s.id = j.subscription_id "
               "WHERE j.due_at <= ?1 ORDER BY j.due_at LIMIT ?2";
      case W::defer_job:
        return "UPDATE push_jobs SET due_at = ?3, attempts = ?4 WHERE subscription_id = ?1 AND conversation_id = ?2";
      case W::finish_job:
        return "DELETE FROM push_jobs WHERE subscription_id = ?1 AND conversation_id = ?2 AND seq = ?3";
      case W::requeue_job:
        return "UPDATE push_jobs SET count = max(count - ?3, 1), due_at = ?4, attempts = 0, first_at = ?4 "
               "WHERE subscription_id = ?1 AND conversation_id = ?2";
      case W::notification_settings:
        return "SELECT dnd_until, timezone, quiet_start, quiet_end FROM notification_settings WHERE user_id = ?1";
      case W::set_notification_settings:
        return "INSERT INTO notification_settings(user_id, dnd_until, timezone, quiet_start, quiet_end) "
               "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(user_id) DO UPDATE SET dnd_until = excluded.dnd_until, "
               "timezone = excluded.timezone, quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end";
      case W::touch_token: return "UPDATE tokens SET last_active_at = max(last_active_at, ?2) WHERE token_id = ?1";
      case W::set_password: return "UPDATE users SET password_hash = ?2 WHERE id = ?1";
      case W::set_display_name: return "UPDATE users SET display_name = ?2 WHERE id = ?1";
      case W::set_cutoff: return "UPDATE users SET tokens_valid_after = ?2, kept_token_id = ?3 WHERE id = ?1";
      case W::set_skeleton: return "UPDATE users SET name_skeleton = ?2 WHERE id = ?1";
      case W::add_invite:
        return "INSERT INTO invites(id, code_hash, created_at, expires_at, uses_left, note) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
      case W::delete_invite: return "DELETE FROM invites WHERE id = ?1";
      case W::use_invite:
        return "UPDATE invites SET uses_left = uses_left - 1 WHERE code_hash = ?1 AND uses_left > 0 AND "
               "(expires_at = 0 OR expires_at > ?2)";
      case W::add_media:
        return "INSERT OR IGNORE INTO media(id, owner_id, state, declared_size, declared_type, file_name, sha256, "
               "created_at, expires_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
      case W::complete_media:
        return "UPDATE media SET state = 1, size = ?2, content_type = ?3, width = ?4, height = ?5, has_thumbnail = ?6, "
               "preview = ?7, completed_at = ?8, expires_at = ?9 WHERE id = ?1 AND state = 0";
      case W::delete_media: return "DELETE FROM media WHERE id = ?1 AND ref_count = 0";
      case W::add_carrier:
        return "INSERT OR IGNORE INTO message_media(media_id, conversation_id, seq) VALUES(?1, ?2, ?3)";
      case W::count_carrier: return "UPDATE media SET ref_count = ref_count + 1 WHERE id = ?1";
      // SET expressions read the row as it was: the last carrier gone releases the media.
      case W::release_media:
        return "UPDATE media SET ref_count = ref_count - 1, released = (ref_count = 1) OR released, "
               "expires_at = CASE WHEN ref_count = 1 THEN 0 ELSE expires_at END "
               "WHERE id IN (SELECT media_id FROM message_media WHERE conversation_id = ?1 AND seq = ?2)";
      case W::erase_carriers: return "DELETE FROM message_media WHERE conversation_id = ?1 AND seq = ?2";
      case W::purge_tokens: return "DELETE FROM tokens WHERE expires_at <= ?1";
      case W::purge_revoked: return "DELETE FROM revoked_tokens WHERE expires_at <= ?1";
      case W::purge_invites: return "DELETE FROM invites WHERE uses_left <= 0 OR (expires_at != 0 AND expires_at <= ?1)";
      case W::set_settings:
        return "UPDATE members SET muted_until = ?3, archived = ?4, pin_rank = ?5, marked_unread = ?6, "
               "cleared_seq = ?7, notify = ?8 WHERE conversation_id = ?1 AND user_id = ?2 AND left_seq IS NULL";
      case W::hide:
        return "INSERT OR IGNORE INTO hidden_messages(conversation_id, user_id, seq) VALUES(?1, ?2, ?3)";
      case W::drop_hidden: return "DELETE FROM hidden_messages WHERE conversation_id = ?1 AND user_id = ?2";
      case W::delete_terms: return "DELETE FROM user_terms WHERE user_id = ?1";
      case W::add_term: return "INSERT OR IGNORE INTO user_terms(term, user_id) VALUES(?1, ?2)";
      case W::terms_done: return "UPDATE users SET search_terms_done = 1 WHERE id = ?1";
      case W::count_: break;
    }
    return "";
  }
  Statement& w(W id) {
    auto& slot = write_statements_[static_cast<std::size_t>(id)];
    if (!slot) slot.emplace(db_.prepare(text_of(id)));
    return *slot;
  }
  static void bind_optional_seq(Statement& s, int index, Seq seq) {
    if (seq > 0) s.bind(index, seq);
    else s.bind_null(index);
  }

  ConversationState& state_of(ConversationId id) {
    auto it = conversations_.find(id);
    if (it != conversations_.end()) return it->second;
    StatementScope s(conversation_state_);
    s->bind(1, id);
    if (!s->step()) throw StoreFailure("append to unknown conversation " + std::to_string(id));
    ConversationState state{static_cast<ConversationKind>(s->integer(0)), s->integer(1), s->integer(2), 0, false};
    return conversations_.emplace(id, state).first->second;
  }

  void load_committed_pos() {
    StatementScope s(max_pos_);
    s->step();
    committed_pos_ = s->integer(0);
    next_pos_ = committed_pos_ + 1;
  }

  // New ids must sort after every stored one even if the clock stepped back across a restart:
  // the newest event (highest pos) carries the highest id this store issued.
  void seed_ids() {
    StatementScope s(newest_id_);
    if (s->step()) ids_.advance_past(static_cast<MessageId>(s->integer(0)));
  }

  SnowflakeGenerator ids_;
  Statement begin_, commit_, insert_user_, insert_conversation_, set_title_, conversation_state_, upsert_member_,
      end_member_, set_role_, member_count_, insert_event_, update_conversation_, update_member_pos_,
      revoke_, max_pos_, newest_id_;
  std::array<std::optional<Statement>, static_cast<std::size_t>(W::count_)> write_statements_;
  std::unordered_map<ConversationId, ConversationState> conversations_;
  std::unordered_map<MemberKey, std::optional<MemberRecord>, MemberKeyHash> members_;
  // Conversations with new events in this batch, each once.
  std::vector<ConversationId> touched_;
  Pos next_pos_ = 1;
  Pos committed_pos_ = 0;
  bool in_batch_ = false;
  bool erased_ = false;
  // Per conversation: whether an active member has a push subscription. False only while that
  // holds: cleared for a conversation that gains a member, and wholly when a subscription is
  // saved (a member that leaves or a subscription deleted can only make a true stale, which
  // costs one statement that finds nobody). Spares the queue statement for conversations of
  // users without subscriptions (docs/benchmarks.md, "Push").
  std::unordered_map<ConversationId, bool> subscribed_conversations_;
};

// Copies committed WAL frames into the database file on its own thread and connection, so the
// writer never pays for checkpoints (its auto-checkpoint is off). Every tick runs a PASSIVE
// checkpoint, which never blocks the writer or readers. Under steady load that alone never lets
// the WAL start over (the writer keeps appending past what was copied), so once the WAL holds
// more than `wal_max_bytes` of frames a RESTART checkpoint follows at once: it holds the
// writer's lock only while it copies what the passive one left (a few frames) and makes the
// next commit write from the WAL's start. The WAL file keeps its size, so commits overwrite
// blocks it already has: no allocation and no zeroing of new blocks on the commit path. After a
// message is erased the next tick TRUNCATEs instead (retried until it succeeds), so deleted
// text does not linger in the WAL file.
class Checkpointer {
 public:
  Checkpointer(const std::string& path, std::int64_t wal_max_bytes)
      : db_(path, false), wal_max_bytes_(wal_max_bytes) {
    // A connection learns the database is in WAL mode only once it reads it; until then a
    // checkpoint call does nothing (and reports -1 frames).
    db_.exec("SELECT count(*) FROM sqlite_master");
    auto page_size = db_.prepare("PRAGMA page_size");
    page_size.step();
    frame_bytes_ = 24 + page_size.integer(0);  // a WAL frame: its header and one page
    thread_ = std::thread([this] { run(); });
  }
  // Asks for a truncating checkpoint at the next tick (any thread).
  void request_truncate() {
    {
      std::lock_guard lock(mutex_);
      truncate_requested_ = true;
    }
    wake_.notify_one();
  }
  ~Checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

 private:
  void run() {
    name_this_thread("checkpointer");
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, std::chrono::milliseconds(50));
      const bool erase = truncate_requested_;
      lock.unlock();
      int frames = 0, copied = 0;
      int rc = sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
      if (frames < 0) spdlog::error("store.checkpoint_not_in_wal_mode");
      const bool full = static_cast<std::int64_t>(frames) * frame_bytes_ > wal_max_bytes_;
      if ((rc == SQLITE_OK || rc == SQLITE_BUSY) && (erase || full))
        rc = sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, erase ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_RESTART,
                                       &frames, &copied);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        spdlog::warn("store.checkpoint_failed code={} error=\"{}\"", rc, sqlite3_errmsg(db_.handle()));
      lock.lock();
      if (erase && rc == SQLITE_OK) truncate_requested_ = false;
    }
  }

  Database db_;
  std::int64_t wal_max_bytes_;
  std::int64_t frame_bytes_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool truncate_requested_ = false;
  std::thread thread_;
};

// Owns the writer's Database so it outlives the SqliteWriter built on it.
class OwnedWriter final : public WriterConnection {
 public:
  OwnedWriter(const std::string& path, const EngineOptions& options)
      : db_(std::make_unique<Database>(path, false)) {
    // The writer's own cache size. A commit after a page split that reordered sibling pages
    // scans the whole page cache (SQLite 3.40's balance_nonroot renumbers through the pending-
    // byte page, and the commit's pcache truncate then walks every bucket): with the readers'
    // 64 MiB that cost grew with the store to ~15% of a core at 10,000 msg/s. The writer's
    // working set (the tree edges it appends to) fits in a few MiB; misses are OS-cache reads.
    configure_connection(*db_, options.writer_cache_mb);
    db_->exec(std::string("PRAGMA synchronous = ") + (options.synchronous_full ? "FULL" : "NORMAL"));
    db_->exec("PRAGMA wal_autocheckpoint = 0");  // the Checkpointer does it
    writer_ = std::make_unique<SqliteWriter>(*db_, options);
    checkpointer_ = std::make_unique<Checkpointer>(path, static_cast<std::int64_t>(options.wal_max_mb) << 20);
  }
  WriteTxn& begin_batch(const BatchPreview& preview) override { return writer_->begin_batch(preview); }
  void commit_batch() override {
    writer_->commit_batch();
    if (writer_->take_erased()) checkpointer_->request_truncate();
  }
  void rollback_batch() noexcept override { writer_->rollback_batch(); }
  Pos committed_pos() const override { return writer_->committed_pos(); }

 private:
  std::unique_ptr<Database> db_;
  std::unique_ptr<SqliteWriter> writer_;
  std::unique_ptr<Checkpointer> checkpointer_;
};

}  // namespace

std::unique_ptr<WriterConnection> open_sqlite_writer(const std::string& path, const EngineOptions& options) {
  return std::make_unique<OwnedWriter>(path, options);
}

}  // namespace parley::store::sqlite
