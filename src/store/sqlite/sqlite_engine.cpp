#include "store/sqlite/sqlite_engine.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/clock.hpp"
#include "store/sqlite/db.hpp"
#include "store/sqlite/schema.hpp"

namespace parley::store::sqlite {
namespace {

constexpr const char* kUserColumns = "id, username, display_name, created_at";
constexpr const char* kConversationColumns =
    "c.id, c.kind, c.title, c.topic, c.created_by, c.created_at, c.last_seq, c.last_pos, c.last_event_at, "
    "c.member_count";
constexpr const char* kMemberColumns =
    "m.conversation_id, m.user_id, m.role, m.visible_from_seq, m.left_seq, m.last_pos, m.joined_at, "
    "coalesce(m.left_title, '')";
constexpr const char* kEventColumns =
    "conversation_id, seq, pos, id, sender_id, kind, client_msg_id, body, meta, created_at";
constexpr int kConversationColumnCount = 10;

UserRecord read_user(const Statement& s, int at = 0) {
  return UserRecord{s.integer(at), s.text(at + 1), s.text(at + 2), s.integer(at + 3)};
}

ConversationRecord read_conversation(const Statement& s, int at = 0) {
  ConversationRecord c;
  c.id = s.integer(at);
  c.kind = static_cast<ConversationKind>(s.integer(at + 1));
  c.title = s.text(at + 2);
  c.topic = s.text(at + 3);
  c.created_by = s.integer(at + 4);
  c.created_at_ms = s.integer(at + 5);
  c.last_seq = s.integer(at + 6);
  c.last_pos = s.integer(at + 7);
  c.last_event_at_ms = s.integer(at + 8);
  c.member_count = static_cast<int>(s.integer(at + 9));
  return c;
}

MemberRecord read_member(const Statement& s, int at = 0) {
  MemberRecord m;
  m.conversation_id = s.integer(at);
  m.user_id = s.integer(at + 1);
  m.role = static_cast<Role>(s.integer(at + 2));
  m.visible_from_seq = s.integer(at + 3);
  m.left_seq = s.optional_integer(at + 4);
  m.last_pos = s.integer(at + 5);
  m.joined_at_ms = s.integer(at + 6);
  m.left_title = s.text(at + 7);
  return m;
}

EventRecord read_event(const Statement& s) {
  EventRecord e;
  e.conversation_id = s.integer(0);
  e.seq = s.integer(1);
  e.pos = s.integer(2);
  e.id = static_cast<MessageId>(s.integer(3));
  e.sender_id = s.integer(4);
  e.kind = static_cast<EventKind>(s.integer(5));
  e.client_msg_id = s.text(6);
  e.body = s.text(7);
  e.meta_json = s.text(8);
  e.created_at_ms = s.integer(9);
  return e;
}

std::string sql(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) out += p;
  return out;
}

void configure_connection(Database& db, const EngineOptions& options) {
  db.exec("PRAGMA cache_size = -" + std::to_string(options.cache_mb * 1024));
  db.exec("PRAGMA temp_store = MEMORY");
  db.exec("PRAGMA foreign_keys = OFF");
}

// The read operations, shared by reader connections and the writer (which reads inside its
// batch). `Base` is ReadTxn or WriteTxn.
template <typename Base>
class SqliteReads : public Base {
 public:
  explicit SqliteReads(Database& db)
      : db_(db),
        user_(db.prepare(sql({"SELECT ", kUserColumns, " FROM users WHERE id = ?1"}))),
        user_by_name_(db.prepare(sql({"SELECT ", kUserColumns, " FROM users WHERE username = ?1"}))),
        credentials_(db.prepare("SELECT id, coalesce(password_hash, '') FROM users WHERE username = ?1")),
        user_by_external_(db.prepare(sql({"SELECT ", kUserColumns, " FROM users WHERE external_id = ?1"}))),
        conversation_(db.prepare(sql({"SELECT ", kConversationColumns, " FROM conversations c WHERE c.id = ?1"}))),
        direct_(db.prepare("SELECT id FROM conversations WHERE direct_key = ?1")),
        channels_(db.prepare(sql({"SELECT ", kConversationColumns,
                                  " FROM conversations c WHERE c.kind = 3 AND c.id > ?1 AND c.title LIKE ?2 "
                                  "ESCAPE '\\' ORDER BY c.id LIMIT ?3"}))),
        member_(db.prepare(sql({"SELECT ", kMemberColumns,
                                " FROM members m WHERE m.conversation_id = ?1 AND m.user_id = ?2"}))),
        active_members_(db.prepare(sql({"SELECT ", kMemberColumns,
                                        " FROM members m WHERE m.conversation_id = ?1 AND m.left_seq IS NULL "
                                        "ORDER BY m.joined_at, m.user_id"}))),
        members_page_(db.prepare(sql({"SELECT ", kMemberColumns,
                                      " FROM members m WHERE m.conversation_id = ?1 AND m.user_id > ?2 AND "
                                      "m.left_seq IS NULL ORDER BY m.user_id LIMIT ?3"}))),
        user_conversations_(db.prepare(sql({"SELECT ", kConversationColumns, ", ", kMemberColumns,
                                            " FROM members m JOIN conversations c ON c.id = m.conversation_id "
                                            "WHERE m.user_id = ?1 AND m.left_seq IS NULL "
                                            "ORDER BY c.last_event_at DESC, c.id DESC"}))),
        active_ids_(db.prepare(
            "SELECT conversation_id FROM members WHERE user_id = ?1 AND left_seq IS NULL")),
        changed_(db.prepare(sql({"SELECT ", kConversationColumns, ", ", kMemberColumns,
                                 " FROM members m JOIN conversations c ON c.id = m.conversation_id "
                                 "WHERE m.user_id = ?1 AND m.last_pos > ?2 "
                                 "UNION ALL SELECT ", kConversationColumns, ", ", kMemberColumns,
                                 " FROM members m JOIN conversations c ON c.id = m.conversation_id "
                                 "WHERE m.user_id = ?1 AND m.pull = 1 AND m.last_pos <= ?2 AND c.last_pos > ?2"}))),
        events_asc_(db.prepare(sql({"SELECT ", kEventColumns,
                                    " FROM events WHERE conversation_id = ?1 AND seq BETWEEN ?2 AND ?3 "
                                    "ORDER BY seq LIMIT ?4"}))),
        events_desc_(db.prepare(sql({"SELECT ", kEventColumns,
                                     " FROM events WHERE conversation_id = ?1 AND seq BETWEEN ?2 AND ?3 "
                                     "ORDER BY seq DESC LIMIT ?4"}))),
        event_pos_(db.prepare("SELECT pos FROM events WHERE conversation_id = ?1 AND seq = ?2")),
        by_client_msg_id_(db.prepare(sql({"SELECT ", kEventColumns,
                                          " FROM events WHERE sender_id = ?1 AND client_msg_id = ?2"}))),
        revoked_(db.prepare("SELECT token_id FROM revoked_tokens WHERE expires_at > ?1")) {}

  std::optional<UserRecord> user(UserId id) override { return one_user(user_, id); }
  std::optional<UserRecord> user_by_username(const std::string& name) override {
    StatementScope s(user_by_name_);
    s->bind(1, name);
    if (!s->step()) return std::nullopt;
    return read_user(*s);
  }
  std::optional<UserCredentials> credentials(const std::string& name) override {
    StatementScope s(credentials_);
    s->bind(1, name);
    if (!s->step()) return std::nullopt;
    return UserCredentials{s->integer(0), s->text(1)};
  }
  std::optional<UserRecord> user_by_external_id(const std::string& external_id) override {
    StatementScope s(user_by_external_);
    s->bind(1, external_id);
    if (!s->step()) return std::nullopt;
    return read_user(*s);
  }

  std::optional<ConversationRecord> conversation(ConversationId id) override {
    StatementScope s(conversation_);
    s->bind(1, id);
    if (!s->step()) return std::nullopt;
    return read_conversation(*s);
  }
  std::optional<ConversationId> direct_conversation(UserId a, UserId b) override {
    const std::string key = direct_key(a, b);
    StatementScope s(direct_);
    s->bind(1, key);
    if (!s->step()) return std::nullopt;
    return s->integer(0);
  }
  std::vector<ConversationRecord> channels(const std::string& prefix, ConversationId after_id, int limit) override {
    std::string pattern;
    for (char c : prefix) {
      if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
      pattern.push_back(c);
    }
    pattern.push_back('%');
    StatementScope s(channels_);
    s->bind(1, after_id).bind(2, pattern).bind(3, static_cast<std::int64_t>(limit));
    std::vector<ConversationRecord> out;
    while (s->step()) out.push_back(read_conversation(*s));
    return out;
  }

  std::optional<MemberRecord> member(ConversationId conversation, UserId user) override {
    StatementScope s(member_);
    s->bind(1, conversation).bind(2, user);
    if (!s->step()) return std::nullopt;
    return read_member(*s);
  }
  std::vector<MemberRecord> active_members(ConversationId conversation) override {
    StatementScope s(active_members_);
    s->bind(1, conversation);
    std::vector<MemberRecord> out;
    while (s->step()) out.push_back(read_member(*s));
    return out;
  }
  std::vector<MemberRecord> active_members_page(ConversationId conversation, UserId after_user, int limit) override {
    StatementScope s(members_page_);
    s->bind(1, conversation).bind(2, after_user).bind(3, static_cast<std::int64_t>(limit));
    std::vector<MemberRecord> out;
    while (s->step()) out.push_back(read_member(*s));
    return out;
  }
  std::vector<ChangedConversation> user_conversations(UserId user) override {
    StatementScope s(user_conversations_);
    s->bind(1, user);
    std::vector<ChangedConversation> out;
    while (s->step()) out.push_back({read_conversation(*s), read_member(*s, kConversationColumnCount)});
    return out;
  }
  std::vector<ConversationId> active_conversation_ids(UserId user) override {
    StatementScope s(active_ids_);
    s->bind(1, user);
    std::vector<ConversationId> out;
    while (s->step()) out.push_back(s->integer(0));
    return out;
  }
  std::vector<ChangedConversation> changed_conversations(UserId user, Pos cursor) override {
    StatementScope s(changed_);
    s->bind(1, user).bind(2, cursor);
    std::vector<ChangedConversation> out;
    while (s->step()) out.push_back({read_conversation(*s), read_member(*s, kConversationColumnCount)});
    return out;
  }

  std::vector<EventRecord> events(ConversationId conversation, Seq from_seq, Seq to_seq, int limit,
                                  bool newest_first) override {
    std::vector<EventRecord> out;
    if (from_seq > to_seq || limit <= 0) return out;
    StatementScope s(newest_first ? events_desc_ : events_asc_);
    s->bind(1, conversation).bind(2, from_seq).bind(3, to_seq).bind(4, static_cast<std::int64_t>(limit));
    while (s->step()) out.push_back(read_event(*s));
    if (newest_first) std::reverse(out.begin(), out.end());
    return out;
  }

  // Binary search over seq: pos grows with seq inside a conversation, and seqs are gap-free,
  // so a few primary-key probes find the boundary without an index on pos.
  std::optional<ReadTxn::EventPosition> first_event_after(ConversationId conversation_id, Seq from_seq, Seq to_seq,
                                                         Pos cursor) override {
    from_seq = std::max<Seq>(from_seq, 1);
    if (from_seq > to_seq) return std::nullopt;
    if (auto c = conversation(conversation_id)) to_seq = std::min(to_seq, c->last_seq);
    if (from_seq > to_seq) return std::nullopt;
    auto pos_of = [&](Seq seq) -> Pos {
      StatementScope s(event_pos_);
      s->bind(1, conversation_id).bind(2, seq);
      if (!s->step())
        throw StoreFailure("event " + std::to_string(conversation_id) + "/" + std::to_string(seq) + " missing");
      return s->integer(0);
    };
    Pos high_pos = pos_of(to_seq);
    if (high_pos <= cursor) return std::nullopt;
    Seq low = from_seq, high = to_seq;  // invariant: pos(high) > cursor
    while (low < high) {
      const Seq mid = low + (high - low) / 2;
      const Pos mid_pos = pos_of(mid);
      if (mid_pos > cursor) {
        high = mid;
        high_pos = mid_pos;
      } else {
        low = mid + 1;
      }
    }
    if (low != high) return std::nullopt;
    return ReadTxn::EventPosition{high, high_pos};
  }

  std::optional<EventRecord> event_by_client_msg_id(UserId sender, const std::string& client_msg_id) override {
    StatementScope s(by_client_msg_id_);
    s->bind(1, sender).bind(2, client_msg_id);
    if (!s->step()) return std::nullopt;
    return read_event(*s);
  }

  std::vector<std::string> revoked_token_ids(std::int64_t now_s) override {
    StatementScope s(revoked_);
    s->bind(1, now_s);
    std::vector<std::string> out;
    while (s->step()) out.push_back(s->text(0));
    return out;
  }

 protected:
  static std::string direct_key(UserId a, UserId b) {
    if (a > b) std::swap(a, b);
    return std::to_string(a) + ":" + std::to_string(b);
  }

  std::optional<UserRecord> one_user(Statement& statement, UserId id) {
    StatementScope s(statement);
    s->bind(1, id);
    if (!s->step()) return std::nullopt;
    return read_user(*s);
  }

  Database& db_;

 private:
  Statement user_, user_by_name_, credentials_, user_by_external_, conversation_, direct_, channels_, member_,
      active_members_, members_page_, user_conversations_, active_ids_, changed_, events_asc_, events_desc_, event_pos_,
      by_client_msg_id_, revoked_;
};

class SqliteReader final : public ReaderConnection {
 public:
  SqliteReader(const std::string& path, const EngineOptions& options)
      : db_(path, false), reads_(db_), begin_(db_.prepare("BEGIN")), end_(db_.prepare("COMMIT")) {
    configure_connection(db_, options);
  }

  ReadTxn& begin_read() override {
    begin_.run();
    begin_.reset();
    return reads_;
  }
  void end_read() override {
    end_.run();
    end_.reset();
  }

 private:
  Database db_;
  SqliteReads<ReadTxn> reads_;
  Statement begin_, end_;
};

class SqliteWriter final : public WriterConnection, public SqliteReads<WriteTxn> {
 public:
  SqliteWriter(Database& db, const EngineOptions& options)
      : SqliteReads<WriteTxn>(db),
        ids_(options.node_id),
        begin_(db.prepare("BEGIN IMMEDIATE")),
        commit_(db.prepare("COMMIT")),
        insert_user_(db.prepare("INSERT INTO users(username, display_name, password_hash, external_id, created_at) "
                                "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING")),
        insert_conversation_(db.prepare(
            "INSERT INTO conversations(kind, title, topic, direct_key, created_by, created_at, last_event_at) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)")),
        set_title_(db.prepare("UPDATE conversations SET title = ?2 WHERE id = ?1")),
        conversation_state_(db.prepare("SELECT kind, last_seq, last_pos FROM conversations WHERE id = ?1")),
        upsert_member_(db.prepare(
            "INSERT INTO members(conversation_id, user_id, role, visible_from_seq, left_seq, last_pos, pull, joined_at) "
            "VALUES(?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7) ON CONFLICT(conversation_id, user_id) DO UPDATE SET "
            "role = excluded.role, visible_from_seq = excluded.visible_from_seq, left_seq = NULL, left_title = NULL, "
            "last_pos = excluded.last_pos, pull = excluded.pull, joined_at = excluded.joined_at")),
        end_member_(db.prepare("UPDATE members SET left_seq = ?3, last_pos = ?4, pull = 0, left_title = ?5 "
                               "WHERE conversation_id = ?1 AND user_id = ?2 AND left_seq IS NULL")),
        set_role_(db.prepare("UPDATE members SET role = ?3 WHERE conversation_id = ?1 AND user_id = ?2")),
        member_count_(db.prepare("UPDATE conversations SET member_count = member_count + ?2 WHERE id = ?1")),
        insert_event_(db.prepare(
            "INSERT INTO events(conversation_id, seq, pos, id, sender_id, kind, client_msg_id, body, meta, created_at) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
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
  WriteTxn& begin_batch() override {
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

  // --- WriteTxn ---
  std::optional<UserRecord> create_user(const std::string& username, const std::string& display_name,
                                        const std::string& password_hash, const std::string& external_id) override {
    const std::int64_t now = wall_clock_ms();
    StatementScope s(insert_user_);
    s->bind(1, username).bind(2, display_name).bind_optional_text(3, password_hash).bind_optional_text(4, external_id);
    s->bind(5, now);
    if (s->run() == 0) return std::nullopt;
    return UserRecord{sqlite3_last_insert_rowid(db_.handle()), username, display_name, now};
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
    if (auto existing = member(conversation, user); existing && existing->active()) return;
    members_.erase({conversation, user});
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
  struct MemberKeyHash {
    std::size_t operator()(const MemberKey& k) const {
      return std::hash<std::uint64_t>()(static_cast<std::uint64_t>(k.conversation) * 0x9E3779B97F4A7C15ULL ^
                                        static_cast<std::uint64_t>(k.user));
    }
  };

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
  std::unordered_map<ConversationId, ConversationState> conversations_;
  std::unordered_map<MemberKey, std::optional<MemberRecord>, MemberKeyHash> members_;
  // Conversations with new events in this batch, each once.
  std::vector<ConversationId> touched_;
  Pos next_pos_ = 1;
  Pos committed_pos_ = 0;
  bool in_batch_ = false;
};

// Copies committed WAL frames into the database file on its own thread and connection, so the
// writer never pays for checkpoints (its auto-checkpoint is off). PASSIVE checkpoints never
// block the writer or readers; when the WAL passes `wal_max_bytes` a TRUNCATE checkpoint
// (which waits for readers) brings it back to zero.
class Checkpointer {
 public:
  Checkpointer(const std::string& path, std::int64_t wal_max_bytes)
      : db_(path, false), wal_path_(path + "-wal"), wal_max_bytes_(wal_max_bytes) {
    // A connection learns the database is in WAL mode only once it reads it; until then a
    // checkpoint call does nothing (and reports -1 frames).
    db_.exec("SELECT count(*) FROM sqlite_master");
    thread_ = std::thread([this] { run(); });
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
      lock.unlock();
      std::error_code ec;
      const auto wal_bytes = static_cast<std::int64_t>(std::filesystem::file_size(wal_path_, ec));
      const int mode = !ec && wal_bytes > wal_max_bytes_ ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE;
      int frames = 0, copied = 0;
      const int rc = sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, mode, &frames, &copied);
      if (frames < 0) spdlog::error("store.checkpoint_not_in_wal_mode");
      if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        spdlog::warn("store.checkpoint_failed code={} error=\"{}\"", rc, sqlite3_errmsg(db_.handle()));
      lock.lock();
    }
  }

  Database db_;
  std::string wal_path_;
  std::int64_t wal_max_bytes_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// Owns the writer's Database so it outlives the SqliteWriter built on it.
class OwnedWriter final : public WriterConnection {
 public:
  OwnedWriter(const std::string& path, const EngineOptions& options)
      : db_(std::make_unique<Database>(path, false)) {
    configure_connection(*db_, options);
    db_->exec(std::string("PRAGMA synchronous = ") + (options.synchronous_full ? "FULL" : "NORMAL"));
    db_->exec("PRAGMA wal_autocheckpoint = 0");  // the Checkpointer does it
    writer_ = std::make_unique<SqliteWriter>(*db_, options);
    checkpointer_ = std::make_unique<Checkpointer>(path, static_cast<std::int64_t>(options.wal_max_mb) << 20);
  }
  WriteTxn& begin_batch() override { return writer_->begin_batch(); }
  void commit_batch() override { writer_->commit_batch(); }
  void rollback_batch() noexcept override { writer_->rollback_batch(); }
  Pos committed_pos() const override { return writer_->committed_pos(); }

 private:
  std::unique_ptr<Database> db_;
  std::unique_ptr<SqliteWriter> writer_;
  std::unique_ptr<Checkpointer> checkpointer_;
};

class SqliteEngine final : public Engine {
 public:
  SqliteEngine(std::string path, EngineOptions options) : path_(std::move(path)), options_(std::move(options)) {
    Database db(path_, false);
    db.exec("PRAGMA journal_mode = WAL");
    migrate(db);
  }
  std::unique_ptr<ReaderConnection> open_reader() override { return std::make_unique<SqliteReader>(path_, options_); }
  std::unique_ptr<WriterConnection> open_writer() override { return std::make_unique<OwnedWriter>(path_, options_); }
  std::string describe() const override { return "sqlite:" + path_; }

 private:
  std::string path_;
  EngineOptions options_;
};

}  // namespace

std::unique_ptr<Engine> open_sqlite_engine(const std::string& path, const EngineOptions& options) {
  return std::make_unique<SqliteEngine>(path, options);
}

}  // namespace parley::store::sqlite
