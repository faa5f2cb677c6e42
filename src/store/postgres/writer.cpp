// The PostgreSQL engine's write side: one writer connection per node, in pipeline mode.
//
// Every batch locks the one row of writer_state first (UPDATE ... RETURNING), so the batches of
// all nodes sharing the database run one after another: `seq` comes from the conversation's
// head as the previous batch left it (gap-free), and `pos` from writer_state.last_pos, so
// positions become visible in commit order (the lock is released only after the commit is
// visible). See docs/architecture.md "PostgreSQL engine".
//
// Round trips per batch: one to lock and read what the batch's sends need (their
// client_msg_ids), one to send every event row (one multi-row INSERT), the conversation heads,
// the members' positions and COMMIT. Reads an op makes in between (a membership not in the
// cache, an edit's target) cost one more each.
#include "store/postgres/writer.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>
#include <unordered_set>

#include "core/clock.hpp"
#include "core/hash.hpp"
#include "store/postgres/reads.hpp"

namespace parley::store::postgres {
namespace {

struct MemberKey {
  ConversationId conversation;
  UserId user;
  bool operator==(const MemberKey&) const = default;
};
using MemberKeyHash = IdPairHash<MemberKey, &MemberKey::conversation, &MemberKey::user>;

struct ClientMsgKey {
  UserId sender;
  std::string client_msg_id;
  bool operator==(const ClientMsgKey&) const = default;
};
struct ClientMsgKeyHash {
  std::size_t operator()(const ClientMsgKey& k) const {
    return std::hash<std::string>()(k.client_msg_id) ^ (std::hash<std::int64_t>()(k.sender) * 0x9e3779b97f4a7c15ULL);
  }
};

// Event rows appended in this batch and not sent yet, one array literal per column.
struct PendingEvents {
  ArrayLiteral conversation_id, seq, pos, id, sender_id, kind, client_msg_id, body, meta, created_at, reply_to,
      thread_root, target_seq;
  int count = 0;

  void add(const EventRecord& e) {
    conversation_id.add(e.conversation_id);
    seq.add(e.seq);
    pos.add(e.pos);
    id.add(static_cast<std::int64_t>(e.id));
    sender_id.add(e.sender_id);
    kind.add(static_cast<std::int64_t>(e.kind));
    client_msg_id.add_optional_text(e.client_msg_id);
    body.add_text(e.body);
    meta.add_optional_text(e.meta_json);
    created_at.add(e.created_at_ms);
    reply_to.add_optional_id(e.reply_to);
    thread_root.add_optional_id(e.thread_root);
    target_seq.add_optional_id(e.target_seq);
    ++count;
  }
  Params params() const {
    Params p;
    for (const ArrayLiteral* a : {&conversation_id, &seq, &pos, &id, &sender_id, &kind, &client_msg_id, &body, &meta,
                                  &created_at, &reply_to, &thread_root, &target_seq})
      p.add(a->finish());
    return p;
  }
};

constexpr const char* kInsertEvents =
    "INSERT INTO events(conversation_id, seq, pos, id, sender_id, kind, client_msg_id, body, meta, created_at, "
    "reply_to, thread_root, target_seq) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], "
    "$5::bigint[], $6::smallint[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], "
    "$13::bigint[])";

class PgWriter final : public WriterConnection, public PgReads<WriteTxn> {
 public:
  PgWriter(Connection& connection, const EngineOptions& options, ReconnectPolicy& policy)
      : PgReads<WriteTxn>(connection), policy_(policy), ids_(options.node_id) {
    connect();
  }

  // --- WriterConnection ---
  bool wants_preview() const override { return true; }

  WriteTxn& begin_batch(const BatchPreview& preview) override {
    if (!connection_.check_alive()) connect();
    if (conversations_.size() > kMaxCachedConversations) conversations_.clear();
    if (members_.size() > kMaxCachedMembers) members_.clear();
    connection_.queue_simple("BEGIN");
    const long lock = connection_.queue(
        "UPDATE writer_state SET generation = generation + 1 WHERE id = 1 RETURNING generation, last_pos", {}, true);
    long known = -1;
    if (!preview.client_msg_ids.empty()) {
      ArrayLiteral senders, ids;
      for (const auto& [sender, id] : preview.client_msg_ids) {
        senders.add(sender);
        ids.add_text(id);
      }
      known = connection_.queue(
          // One index probe per id (LATERAL ... LIMIT 1 keeps it a nested loop: a generic plan
          // once chose a hash join over every stored event).
          "SELECT w.sender, w.cmid FROM unnest($1::bigint[], $2::text[]) AS w(sender, cmid) CROSS JOIN LATERAL "
          "(SELECT 1 FROM events e WHERE e.sender_id = w.sender AND e.client_msg_id = w.cmid "
          "AND e.client_msg_id IS NOT NULL LIMIT 1) AS found",
          Params().add(senders.finish()).add(ids.finish()), true);
    }
    connection_.sync();
    Rows state = connection_.take(lock);
    if (state.empty()) throw StoreFailure("writer_state row missing");
    const std::int64_t generation = state.integer(0, 0);
    // Another node wrote since this node's last batch: what this node cached may be stale.
    if (generation != last_generation_ + 1) {
      conversations_.clear();
      members_.clear();
    }
    batch_generation_ = generation;
    committed_pos_ = state.integer(0, 1);
    next_pos_ = committed_pos_ + 1;
    checked_.clear();
    if (known >= 0) {
      for (const auto& [sender, id] : preview.client_msg_ids) checked_[ClientMsgKey{sender, id}] = false;
      Rows found = connection_.take(known);
      for (int i = 0; i < found.size(); ++i) checked_[ClientMsgKey{found.integer(i, 0), found.text(i, 1)}] = true;
    }
    return *this;
  }

  void commit_batch() override {
    flush();
    if (!touched_.empty()) {
      // Publish each touched conversation's new head, and (direct and group conversations)
      // each active member's newest visible pos: sync finds changed conversations by it.
      ArrayLiteral ids, seqs, poss, ats, push_ids, push_poss;
      for (ConversationId id : touched_) {
        auto& state = conversations_.at(id);
        state.touched = false;
        ids.add(id);
        seqs.add(state.last_seq);
        poss.add(state.last_pos);
        ats.add(state.last_event_at_ms);
        if (state.kind != ConversationKind::channel) {
          push_ids.add(id);
          push_poss.add(state.last_pos);
        }
      }
      connection_.queue(
          "UPDATE conversations c SET last_seq = v.seq, last_pos = v.pos, last_event_at = v.at FROM "
          "unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS v(id, seq, pos, at) WHERE c.id = v.id",
          Params().add(ids.finish()).add(seqs.finish()).add(poss.finish()).add(ats.finish()));
      if (!push_ids.empty())
        connection_.queue(
            "UPDATE members m SET last_pos = v.pos FROM unnest($1::bigint[], $2::bigint[]) AS v(id, pos) "
            "WHERE m.conversation_id = v.id AND m.left_seq IS NULL",
            Params().add(push_ids.finish()).add(push_poss.finish()));
      connection_.queue("UPDATE writer_state SET last_pos = $1 WHERE id = 1", Params().add(next_pos_ - 1));
    }
    connection_.queue_simple("COMMIT");
    connection_.sync();
    touched_.clear();
    checked_.clear();
    committed_pos_ = next_pos_ - 1;
    last_generation_ = batch_generation_;
  }

  void rollback_batch() noexcept override {
    if (!connection_.broken()) {
      try {
        connection_.queue_simple("ROLLBACK");
        connection_.sync();
      } catch (const std::exception& failure) {
        spdlog::warn("store.postgres_rollback_failed error=\"{}\"", failure.what());
        connection_.close();
      }
    }
    pending_ = PendingEvents();
    touched_.clear();
    conversations_.clear();
    members_.clear();
    checked_.clear();
    last_generation_ = -1;
  }

  Pos committed_pos() const override { return committed_pos_; }

  bool probe() noexcept override {
    try {
      if (!connection_.check_alive()) connect();
      connection_.run("SELECT 1");
      return true;
    } catch (const std::exception&) {
      return false;  // the committer logs the change
    }
  }

  // --- WriteTxn ---
  std::optional<UserRecord> create_user(const std::string& username, const std::string& display_name,
                                        const std::string& password_hash, const std::string& external_id,
                                        const std::string& name_skeleton) override {
    const std::int64_t now = wall_clock_ms();
    Rows r = fetch("INSERT INTO users(username, display_name, password_hash, external_id, created_at, name_skeleton) "
                   "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id",
                   Params().add(username).add(display_name).add_optional_text(password_hash)
                       .add_optional_text(external_id).add(now).add_optional_text(name_skeleton));
    if (r.empty()) return std::nullopt;
    UserRecord user;
    user.id = r.integer(0, 0);
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
    Rows r = fetch("INSERT INTO conversations(kind, title, topic, direct_key, created_by, created_at, last_event_at) "
                   "VALUES($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                   Params().add(static_cast<std::int64_t>(kind)).add(title).add(topic).add_optional_text(key)
                       .add(created_by).add(now));
    ConversationRecord c;
    c.id = r.integer(0, 0);
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
    write("UPDATE conversations SET title = $2 WHERE id = $1", Params().add(conversation).add(title));
  }

  void add_member(ConversationId conversation, ConversationKind kind, UserId user, Role role, Seq visible_from_seq,
                  Pos last_pos) override {
    auto existing = member(conversation, user);
    if (existing && existing->active()) return;
    members_.erase({conversation, user});
    if (existing)  // a new membership after an ended one: its hides go with it
      write("DELETE FROM hidden_messages WHERE conversation_id = $1 AND user_id = $2",
            Params().add(conversation).add(user));
    write("INSERT INTO members(conversation_id, user_id, role, visible_from_seq, left_seq, last_pos, pull, joined_at, "
          "joined_pos) VALUES($1, $2, $3, $4, NULL, $5, $6, $7, $5) ON CONFLICT(conversation_id, user_id) DO UPDATE SET "
          "role = excluded.role, visible_from_seq = excluded.visible_from_seq, left_seq = NULL, left_title = NULL, "
          "last_pos = excluded.last_pos, pull = excluded.pull, joined_at = excluded.joined_at, "
          "joined_pos = excluded.joined_pos, muted_until = 0, archived = false, pin_rank = 0, marked_unread = false, "
          "cleared_seq = 0, notify = 0",
          Params().add(conversation).add(user).add(static_cast<std::int64_t>(role)).add(visible_from_seq).add(last_pos)
              .add(kind == ConversationKind::channel ? "true" : "false").add(wall_clock_ms()));
    write("UPDATE conversations SET member_count = member_count + 1 WHERE id = $1", Params().add(conversation));
  }

  void end_member(ConversationId conversation, UserId user, Seq left_seq, Pos last_pos,
                  const std::string& title) override {
    members_.erase({conversation, user});
    // A membership's own settings end with it (a re-join starts from the defaults); its
    // cleared_seq stays while the former member may read.
    write("WITH ended AS (UPDATE members SET left_seq = $3, last_pos = $4, pull = false, left_title = $5, "
          "muted_until = 0, archived = false, pin_rank = 0, marked_unread = false, notify = 0 "
          "WHERE conversation_id = $1 AND user_id = $2 AND left_seq IS NULL RETURNING 1) "
          "UPDATE conversations SET member_count = member_count - (SELECT count(*) FROM ended) WHERE id = $1",
          Params().add(conversation).add(user).add(left_seq).add(last_pos).add(title));
  }

  void set_role(ConversationId conversation, UserId user, Role role) override {
    members_.erase({conversation, user});
    write("UPDATE members SET role = $3 WHERE conversation_id = $1 AND user_id = $2",
          Params().add(conversation).add(user).add(static_cast<std::int64_t>(role)));
  }

  void set_conversation_settings(ConversationId conversation, UserId user,
                                 const ConversationSettings& settings) override {
    members_.erase({conversation, user});
    write("UPDATE members SET muted_until = $3, archived = $4, pin_rank = $5, marked_unread = $6, cleared_seq = $7, "
          "notify = $8 WHERE conversation_id = $1 AND user_id = $2 AND left_seq IS NULL",
          Params().add(conversation).add(user).add(settings.muted_until).add(settings.archived ? "true" : "false")
              .add(settings.pin_rank).add(settings.marked_unread ? "true" : "false").add(settings.cleared_seq)
              .add(static_cast<std::int64_t>(settings.notify)));
  }

  // Under the writer lock nobody else writes: ON CONFLICT only skips what was hidden before.
  void hide_messages(UserId user, ConversationId conversation, const std::vector<Seq>& seqs) override {
    if (seqs.empty()) return;
    ArrayLiteral list;
    for (Seq seq : seqs) list.add(seq);
    write("INSERT INTO hidden_messages(conversation_id, user_id, seq) SELECT $1, $2, unnest($3::bigint[]) "
          "ON CONFLICT DO NOTHING",
          Params().add(conversation).add(user).add(list.finish()));
  }

  AppendOutcome append_event(EventRecord draft) override {
    ConversationState& state = state_of(draft.conversation_id);
    if (!draft.client_msg_id.empty()) {
      ClientMsgKey key{draft.sender_id, draft.client_msg_id};
      auto it = checked_.find(key);
      // Known absent (looked up when the batch began, not used since): no lookup needed.
      const bool known_new = it != checked_.end() && !it->second;
      if (!known_new) {
        if (auto original = event_by_client_msg_id(draft.sender_id, draft.client_msg_id)) {
          AppendOutcome outcome{std::move(*original), true, false};
          outcome.reused_elsewhere = outcome.event.conversation_id != draft.conversation_id;
          return outcome;
        }
      }
      checked_[std::move(key)] = true;  // used from now on
    }
    draft.seq = state.last_seq + 1;
    draft.pos = next_pos_;
    draft.created_at_ms = wall_clock_ms();
    draft.id = ids_.next(draft.created_at_ms);
    pending_.add(draft);
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

  // Memberships are read on every send; the writer keeps the ones it read (every membership
  // change goes through a writer, and a batch after another node's drops the cache).
  std::optional<MemberRecord> member(ConversationId conversation, UserId user) override {
    const MemberKey key{conversation, user};
    if (auto it = members_.find(key); it != members_.end()) return it->second;
    auto record = PgReads<WriteTxn>::member(conversation, user);
    members_.emplace(key, record);
    return record;
  }

  // The conversations row is brought up to date at commit; inside a batch the cached head is
  // the truth.
  std::optional<ConversationRecord> conversation(ConversationId id) override {
    auto record = PgReads<WriteTxn>::conversation(id);
    if (!record) return record;
    if (auto it = conversations_.find(id); it != conversations_.end() && it->second.touched) {
      record->last_seq = it->second.last_seq;
      record->last_pos = it->second.last_pos;
      record->last_event_at_ms = it->second.last_event_at_ms;
    }
    return record;
  }

  void revoke_token(const std::string& token_id, UserId user, std::int64_t expires_at_s) override {
    write("INSERT INTO revoked_tokens(token_id, user_id, expires_at) VALUES($1, $2, $3) ON CONFLICT DO NOTHING",
          Params().add(token_id).add(user).add(expires_at_s));
  }

  // --- message state ---
  void set_edited(ConversationId conversation, Seq seq, const std::string& text, std::int64_t at_ms) override {
    write("UPDATE events SET edited_body = $3, edited_at = $4 WHERE conversation_id = $1 AND seq = $2",
          Params().add(conversation).add(seq).add(text).add(at_ms));
  }
  void erase_message(ConversationId conversation, Seq seq, std::int64_t at_ms) override {
    const Params key = Params().add(conversation).add(seq);
    write("UPDATE events SET body = '', edited_body = NULL, meta = NULL, deleted_at = $3 "
          "WHERE conversation_id = $1 AND seq = $2",
          Params().add(conversation).add(seq).add(at_ms));
    write("UPDATE events SET meta = NULL WHERE conversation_id = $1 AND target_seq = $2 AND kind = 9", key);
    write("DELETE FROM reactions WHERE conversation_id = $1 AND seq = $2", key);
    write("DELETE FROM mentions WHERE conversation_id = $1 AND seq = $2", key);
    write("DELETE FROM pins WHERE conversation_id = $1 AND seq = $2", key);
    // SET expressions read the row as it was: the last carrier gone releases the media.
    write("UPDATE media SET ref_count = ref_count - 1, released = (ref_count = 1) OR released, "
          "expires_at = CASE WHEN ref_count = 1 THEN 0 ELSE expires_at END "
          "WHERE id IN (SELECT media_id FROM message_media WHERE conversation_id = $1 AND seq = $2)",
          key);
    write("DELETE FROM message_media WHERE conversation_id = $1 AND seq = $2", key);
  }
  bool add_reaction(ConversationId conversation, Seq seq, UserId user, const std::string& emoji,
                    Pos added_pos) override {
    return fetch("INSERT INTO reactions(conversation_id, seq, emoji, user_id, created_at, added_pos) "
                 "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                 Params().add(conversation).add(seq).add(emoji).add(user).add(wall_clock_ms()).add(added_pos))
               .affected() > 0;
  }
  bool remove_reaction(ConversationId conversation, Seq seq, UserId user, const std::string& emoji) override {
    return fetch("DELETE FROM reactions WHERE conversation_id = $1 AND seq = $2 AND emoji = $3 AND user_id = $4",
                 Params().add(conversation).add(seq).add(emoji).add(user))
               .affected() > 0;
  }
  int reaction_count(ConversationId conversation, Seq seq, UserId user) override {
    return static_cast<int>(
        fetch("SELECT count(*) FROM reactions WHERE conversation_id = $1 AND seq = $2 AND user_id = $3",
              Params().add(conversation).add(seq).add(user))
            .integer(0, 0));
  }
  bool add_pin(ConversationId conversation, Seq seq, UserId user) override {
    return fetch("INSERT INTO pins(conversation_id, seq, pinned_by, pinned_at) VALUES($1, $2, $3, $4) "
                 "ON CONFLICT DO NOTHING",
                 Params().add(conversation).add(seq).add(user).add(wall_clock_ms()))
               .affected() > 0;
  }
  bool remove_pin(ConversationId conversation, Seq seq) override {
    return fetch("DELETE FROM pins WHERE conversation_id = $1 AND seq = $2", Params().add(conversation).add(seq))
               .affected() > 0;
  }
  void add_thread_reply(ConversationId conversation, Seq root_seq, Seq reply_seq, std::int64_t at_ms) override {
    write("INSERT INTO threads(conversation_id, root_seq, reply_count, last_reply_seq, last_reply_at) "
          "VALUES($1, $2, 1, $3, $4) ON CONFLICT(conversation_id, root_seq) DO UPDATE SET "
          "reply_count = threads.reply_count + 1, last_reply_seq = excluded.last_reply_seq, "
          "last_reply_at = excluded.last_reply_at",
          Params().add(conversation).add(root_seq).add(reply_seq).add(at_ms));
  }
  void add_mentions(ConversationId conversation, Seq seq, const std::vector<UserId>& users) override {
    if (users.empty()) return;
    auto event = this->event(conversation, seq);
    const UserId sender = event ? event->sender_id : 0;
    ArrayLiteral ids;
    for (UserId user : users) ids.add(user);
    write("INSERT INTO mentions(conversation_id, user_id, seq, sender_id) SELECT $1, u, $3, $4 FROM "
          "unnest($2::bigint[]) AS u ON CONFLICT DO NOTHING",
          Params().add(conversation).add(ids.finish()).add(seq).add(sender));
  }
  std::optional<MemberRecord> advance_receipts(ConversationId conversation, UserId user, Seq delivered_seq,
                                               Seq read_seq) override {
    members_.erase({conversation, user});
    write("UPDATE members SET delivered_seq = greatest(delivered_seq, $3, $4), read_seq = greatest(read_seq, $4) "
          "WHERE conversation_id = $1 AND user_id = $2",
          Params().add(conversation).add(user).add(delivered_seq).add(read_seq));
    return member(conversation, user);
  }
  void set_last_seen(UserId user, std::int64_t at_ms) override {
    write("UPDATE users SET last_seen_at = $2 WHERE id = $1", Params().add(user).add(at_ms));
  }
  void set_privacy(UserId user, bool share_read_receipts, bool share_last_seen, bool discoverable) override {
    write("UPDATE users SET share_read_receipts = $2, share_last_seen = $3, discoverable = $4 WHERE id = $1",
          Params().add(user).add(share_read_receipts ? "true" : "false").add(share_last_seen ? "true" : "false")
              .add(discoverable ? "true" : "false"));
  }

  // --- accounts ---
  void add_token(const TokenRecord& t) override {
    write("INSERT INTO tokens(token_id, user_id, created_at, expires_at, device, address, last_active_at) "
          "VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(token_id) DO UPDATE SET user_id = excluded.user_id, "
          "created_at = excluded.created_at, expires_at = excluded.expires_at, device = excluded.device, "
          "address = excluded.address, last_active_at = excluded.last_active_at",
          Params().add(t.token_id).add(t.user_id).add(t.created_at_ms).add(t.expires_at_s).add(t.device).add(t.address)
              .add(t.last_active_at_ms));
  }
  bool delete_token(const std::string& token_id) override {
    write("DELETE FROM push_jobs WHERE subscription_id IN (SELECT id FROM push_subscriptions WHERE token_id = $1)",
          Params().add(token_id));
    write("DELETE FROM push_subscriptions WHERE token_id = $1", Params().add(token_id));
    return fetch("DELETE FROM tokens WHERE token_id = $1", Params().add(token_id)).affected() > 0;
  }
  std::vector<TokenRecord> delete_tokens_of(UserId user, const std::string& except_token_id) override {
    std::vector<TokenRecord> gone;
    for (auto& t : tokens_of(user, 0))
      if (t.token_id != except_token_id) gone.push_back(std::move(t));
    for (const auto& t : gone) delete_token(t.token_id);
    return gone;
  }
  void touch_token(const std::string& token_id, std::int64_t at_ms) override {
    write("UPDATE tokens SET last_active_at = greatest(last_active_at, $2) WHERE token_id = $1",
          Params().add(token_id).add(at_ms));
  }
  void set_password_hash(UserId user, const std::string& password_hash) override {
    write("UPDATE users SET password_hash = $2 WHERE id = $1", Params().add(user).add(password_hash));
  }
  void set_display_name(UserId user, const std::string& display_name) override {
    write("UPDATE users SET display_name = $2 WHERE id = $1", Params().add(user).add(display_name));
  }
  void set_token_cutoff(const TokenCutoff& cutoff) override {
    write("UPDATE users SET tokens_valid_after = $2, kept_token_id = $3 WHERE id = $1",
          Params().add(cutoff.user_id).add(cutoff.valid_after_s).add_optional_text(cutoff.kept_token_id));
  }
  void set_name_skeleton(UserId user, const std::string& skeleton) override {
    write("UPDATE users SET name_skeleton = $2 WHERE id = $1", Params().add(user).add(skeleton));
  }
  void set_search_terms(UserId user, const std::vector<std::string>& terms) override {
    ArrayLiteral list;
    for (const std::string& term : terms) list.add_text(term);
    write("DELETE FROM user_terms WHERE user_id = $1", Params().add(user));
    write("INSERT INTO user_terms(term, user_id) SELECT unnest($2::text[]), $1 ON CONFLICT DO NOTHING",
          Params().add(user).add(list.finish()));
    write("UPDATE users SET search_terms_done = true WHERE id = $1", Params().add(user));
  }
  void add_invite(const InviteRecord& i) override {
    write("INSERT INTO invites(id, code_hash, created_at, expires_at, uses_left, note) VALUES($1, $2, $3, $4, $5, $6)",
          Params().add(i.id).add(i.code_hash).add(i.created_at_ms).add(i.expires_at_s).add(i.uses_left).add(i.note));
  }
  bool delete_invite(const std::string& id) override {
    return fetch("DELETE FROM invites WHERE id = $1", Params().add(id)).affected() > 0;
  }
  bool use_invite(const std::string& code_hash, std::int64_t now_s) override {
    return fetch("UPDATE invites SET uses_left = uses_left - 1 WHERE code_hash = $1 AND uses_left > 0 AND "
                 "(expires_at = 0 OR expires_at > $2)",
                 Params().add(code_hash).add(now_s))
               .affected() > 0;
  }
  bool add_media(const MediaRecord& m) override {
    return fetch("INSERT INTO media(id, owner_id, state, declared_size, declared_type, file_name, sha256, created_at, "
                 "expires_at) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                 Params().add(m.id).add(m.owner_id).add(static_cast<std::int64_t>(m.state)).add(m.declared_size)
                     .add(m.declared_type).add(m.file_name).add(m.sha256).add(m.created_at_ms).add(m.expires_at_s))
               .affected() > 0;
  }
  bool complete_media(const MediaRecord& m) override {
    return fetch("UPDATE media SET state = 1, size = $2, content_type = $3, width = $4, height = $5, "
                 "has_thumbnail = $6, preview = $7, completed_at = $8, expires_at = $9 WHERE id = $1 AND state = 0",
                 Params().add(m.id).add(m.size).add(m.content_type).add(m.width).add(m.height)
                     .add(m.has_thumbnail ? "true" : "false").add(m.preview).add(m.completed_at_ms).add(m.expires_at_s))
               .affected() > 0;
  }
  bool delete_media(const std::string& id) override {
    return fetch("DELETE FROM media WHERE id = $1 AND ref_count = 0", Params().add(id)).affected() > 0;
  }
  void attach_media(ConversationId conversation, Seq seq, const std::vector<std::string>& media_ids) override {
    // One statement: the carriers not recorded yet are added and counted (a writable CTE).
    std::string ids = "{";  // a text[] literal, each element quoted
    for (std::size_t i = 0; i < media_ids.size(); ++i) {
      ids += i ? ",\"" : "\"";
      for (char c : media_ids[i]) {
        if (c == '"' || c == '\\') ids += '\\';
        ids += c;
      }
      ids += '"';
    }
    ids += "}";
    write("WITH added AS (INSERT INTO message_media(media_id, conversation_id, seq) "
          "SELECT unnest($1::text[]), $2, $3 ON CONFLICT DO NOTHING RETURNING media_id) "
          "UPDATE media SET ref_count = ref_count + 1 WHERE id IN (SELECT media_id FROM added)",
          Params().add(ids).add(conversation).add(seq));
  }
  std::int64_t save_push_subscription(const PushSubscriptionRecord& p) override {
    Rows r = fetch("INSERT INTO push_subscriptions(user_id, token_id, kind, endpoint, p256dh, auth, options, created_at) "
                   "VALUES($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT(user_id, kind, endpoint) DO UPDATE SET "
                   "token_id = excluded.token_id, p256dh = excluded.p256dh, auth = excluded.auth, "
                   "options = excluded.options RETURNING id",
                   Params().add(p.user_id).add(p.token_id).add(p.kind).add(p.endpoint).add(p.p256dh).add(p.auth)
                       .add(p.options).add(p.created_at_ms));
    return r.integer(0, 0);
  }
  bool delete_push_subscription(UserId user, std::int64_t id) override {
    if (fetch("DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2", Params().add(id).add(user)).affected() == 0)
      return false;
    write("DELETE FROM push_jobs WHERE subscription_id = $1", Params().add(id));
    return true;
  }
  // As the SQLite engine's (sqlite/writer.cpp): one row per subscription of the audience.
  // Pipelined, so whether a row was written is not known here: always "maybe" (true), as
  // asking would cost a round trip per message.
  bool queue_push(ConversationId conversation, Seq seq, UserId sender, PushAudience audience,
                  std::int64_t now_ms) override {
    write("INSERT INTO push_jobs(subscription_id, conversation_id, user_id, seq, count, mention, first_at, due_at, "
          "attempts) SELECT s.id, $1, s.user_id, $2, 1, q.mentioned, $4, $4, 0 "
          "FROM members m JOIN push_subscriptions s ON s.user_id = m.user_id "
          "CROSS JOIN LATERAL (SELECT EXISTS(SELECT 1 FROM mentions x WHERE x.conversation_id = $1 AND x.seq = $2 "
          "AND x.user_id IN (0, m.user_id)) AS mentioned) q "
          "WHERE m.conversation_id = $1 AND m.left_seq IS NULL AND m.user_id <> $3 AND CASE m.notify WHEN 1 THEN true "
          "WHEN 2 THEN q.mentioned WHEN 3 THEN false ELSE ($5::int = 0 OR q.mentioned) END "
          "ON CONFLICT(subscription_id, conversation_id) DO UPDATE SET seq = greatest(push_jobs.seq, excluded.seq), "
          "count = push_jobs.count + 1, mention = push_jobs.mention OR excluded.mention",
          Params().add(conversation).add(seq).add(sender).add(now_ms).add(std::int64_t{audience == PushAudience::mentioned ? 1 : 0}));
    return true;
  }
  bool queue_push_to(UserId user, ConversationId conversation, Seq seq, std::int64_t now_ms) override {
    write("INSERT INTO push_jobs(subscription_id, conversation_id, user_id, seq, count, mention, first_at, due_at, "
          "attempts) SELECT id, $1, user_id, $2, 1, false, $4, $4, 0 FROM push_subscriptions WHERE user_id = $3 "
          "AND NOT EXISTS(SELECT 1 FROM members WHERE conversation_id = $1 AND user_id = $3 AND notify = 3) "
          "ON CONFLICT(subscription_id, conversation_id) DO UPDATE SET seq = greatest(push_jobs.seq, excluded.seq), "
          "count = push_jobs.count + 1",
          Params().add(conversation).add(seq).add(user).add(now_ms));
    return true;
  }
  NotificationSettings notification_settings(UserId user) override {
    NotificationSettings n;
    Rows r = fetch("SELECT dnd_until, timezone, quiet_start, quiet_end FROM notification_settings WHERE user_id = $1",
                   Params().add(user));
    if (r.size() == 1) {
      n.dnd_until = r.integer(0, 0);
      n.timezone = r.text(0, 1);
      n.quiet_start_min = static_cast<int>(r.integer(0, 2));
      n.quiet_end_min = static_cast<int>(r.integer(0, 3));
    }
    return n;
  }
  void set_notification_settings(UserId user, const NotificationSettings& n) override {
    write("INSERT INTO notification_settings(user_id, dnd_until, timezone, quiet_start, quiet_end) "
          "VALUES($1, $2, $3, $4, $5) ON CONFLICT(user_id) DO UPDATE SET dnd_until = excluded.dnd_until, "
          "timezone = excluded.timezone, quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end",
          Params().add(user).add(n.dnd_until).add(n.timezone).add(std::int64_t{n.quiet_start_min})
              .add(std::int64_t{n.quiet_end_min}));
  }
  // Nodes claim at once: SKIP LOCKED lets each take rows the others have not locked, and a row
  // another node claimed is no longer due (its due_at is that node's lease end).
  std::vector<PushJobRecord> claim_push_jobs(std::int64_t now_ms, std::int64_t lease_until_ms, int limit) override {
    Rows r = fetch("WITH due AS (SELECT subscription_id, conversation_id FROM push_jobs WHERE due_at <= $1 "
                   "ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED), "
                   "claimed AS (UPDATE push_jobs j SET due_at = $2 FROM due WHERE j.subscription_id = due.subscription_id "
                   "AND j.conversation_id = due.conversation_id RETURNING j.*, j.due_at AS lease) "
                   "SELECT c.subscription_id, c.conversation_id, c.user_id, c.seq, c.count, c.mention, c.first_at, $1, "
                   "c.attempts, s.id, s.user_id, s.token_id, s.kind, s.endpoint, s.p256dh, s.auth, s.options, s.created_at "
                   "FROM claimed c JOIN push_subscriptions s ON s.id = c.subscription_id ORDER BY c.first_at",
                   Params().add(now_ms).add(lease_until_ms).add(limit));
    std::vector<PushJobRecord> jobs;
    for (int i = 0; i < r.size(); ++i) {
      PushJobRecord j;
      j.key = {r.integer(i, 0), r.integer(i, 1)};
      j.user_id = r.integer(i, 2);
      j.seq = r.integer(i, 3);
      j.count = r.integer(i, 4);
      j.mention = r.boolean(i, 5);
      j.first_at_ms = r.integer(i, 6);
      j.due_at_ms = r.integer(i, 7);
      j.attempts = static_cast<int>(r.integer(i, 8));
      j.subscription = read_push_subscription(r, i, 9);
      jobs.push_back(std::move(j));
    }
    return jobs;
  }
  void finish_push_job(const PushJobKey& key, Seq sent_seq, std::int64_t sent_count, std::int64_t now_ms) override {
    write("DELETE FROM push_jobs WHERE subscription_id = $1 AND conversation_id = $2 AND seq = $3",
          Params().add(key.subscription_id).add(key.conversation_id).add(sent_seq));
    write("UPDATE push_jobs SET count = greatest(count - $3, 1), due_at = $4, attempts = 0, first_at = $4 "
          "WHERE subscription_id = $1 AND conversation_id = $2",
          Params().add(key.subscription_id).add(key.conversation_id).add(sent_count).add(now_ms));
  }
  void defer_push_job(const PushJobKey& key, std::int64_t due_at_ms, int attempts) override {
    write("UPDATE push_jobs SET due_at = $3, attempts = $4 WHERE subscription_id = $1 AND conversation_id = $2",
          Params().add(key.subscription_id).add(key.conversation_id).add(due_at_ms).add(attempts));
  }
  void purge_expired(std::int64_t now_s) override {
    const Params now = Params().add(now_s);
    write("DELETE FROM push_jobs WHERE subscription_id IN (SELECT s.id FROM push_subscriptions s JOIN tokens t "
          "ON t.token_id = s.token_id WHERE t.expires_at <= $1)", now);
    write("DELETE FROM push_subscriptions WHERE token_id IN (SELECT token_id FROM tokens WHERE expires_at <= $1)", now);
    write("DELETE FROM tokens WHERE expires_at <= $1", now);
    write("DELETE FROM revoked_tokens WHERE expires_at <= $1", now);
    write("DELETE FROM invites WHERE uses_left <= 0 OR (expires_at != 0 AND expires_at <= $1)", now);
  }

 protected:
  // Every statement of the batch runs after the event rows appended before it.
  Rows fetch(std::string_view statement, const Params& params = {}) override {
    flush();
    return connection_.run(statement, params);
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

  // A write whose result nobody needs: queued, checked at the batch's next round trip.
  void write(std::string_view statement, const Params& params) {
    flush();
    connection_.queue(statement, params);
  }

  void flush() {
    if (pending_.count == 0) return;
    connection_.queue(kInsertEvents, pending_.params());
    pending_ = PendingEvents();
  }

  ConversationState& state_of(ConversationId id) {
    auto it = conversations_.find(id);
    if (it != conversations_.end()) return it->second;
    Rows r = fetch("SELECT kind, last_seq, last_pos FROM conversations WHERE id = $1", Params().add(id));
    if (r.empty()) throw StoreFailure("append to unknown conversation " + std::to_string(id));
    ConversationState state{static_cast<ConversationKind>(r.integer(0, 0)), r.integer(0, 1), r.integer(0, 2), 0, false};
    return conversations_.emplace(id, state).first->second;
  }

  // (Re)connects and seeds the id generator: new ids sort after every stored one even if the
  // clock stepped back across a restart.
  void connect() {
    policy_.before_attempt(retry_at_ms_, failed_at_ms_);
    try {
      connection_.connect();
      Rows newest = connection_.run("SELECT id FROM events ORDER BY pos DESC LIMIT 1");
      if (!newest.empty()) ids_.advance_past(static_cast<MessageId>(newest.integer(0, 0)));
      Rows state = connection_.run("SELECT last_pos FROM writer_state WHERE id = 1");
      if (!state.empty()) committed_pos_ = state.integer(0, 0);
      policy_.succeeded(backoff_ms_, retry_at_ms_);
      if (reconnected_) spdlog::info("store.postgres_reconnected role=writer");
      reconnected_ = true;
    } catch (const StoreFailure&) {
      policy_.failed(backoff_ms_, retry_at_ms_, failed_at_ms_);
      connection_.close();
      throw;
    }
  }

  ReconnectPolicy& policy_;
  SnowflakeGenerator ids_;
  std::unordered_map<ConversationId, ConversationState> conversations_;
  std::unordered_map<MemberKey, std::optional<MemberRecord>, MemberKeyHash> members_;
  // client_msg_ids of this batch: false = known unused when the batch began, true = used.
  std::unordered_map<ClientMsgKey, bool, ClientMsgKeyHash> checked_;
  PendingEvents pending_;
  std::vector<ConversationId> touched_;  // conversations with new events in this batch, each once
  Pos next_pos_ = 1;
  Pos committed_pos_ = 0;
  std::int64_t last_generation_ = -1;  // writer_state.generation of this node's last committed batch
  std::int64_t batch_generation_ = 0;
  std::int64_t backoff_ms_ = 0;
  std::int64_t retry_at_ms_ = 0;
  std::int64_t failed_at_ms_ = 0;
  bool reconnected_ = false;
};

// Owns the writer's Connection so it outlives the PgWriter built on it.
class OwnedWriter final : public WriterConnection {
 public:
  OwnedWriter(const ConnectionOptions& connection, const EngineOptions& options, ReconnectPolicy& policy)
      : connection_(std::make_unique<Connection>(connection)),
        writer_(std::make_unique<PgWriter>(*connection_, options, policy)) {}
  bool wants_preview() const override { return true; }
  WriteTxn& begin_batch(const BatchPreview& preview) override { return writer_->begin_batch(preview); }
  void commit_batch() override { writer_->commit_batch(); }
  void rollback_batch() noexcept override { writer_->rollback_batch(); }
  Pos committed_pos() const override { return writer_->committed_pos(); }
  bool probe() noexcept override { return writer_->probe(); }

 private:
  std::unique_ptr<Connection> connection_;
  std::unique_ptr<PgWriter> writer_;
};

}  // namespace

std::unique_ptr<WriterConnection> open_postgres_writer(const ConnectionOptions& connection,
                                                       const EngineOptions& options, ReconnectPolicy& policy) {
  return std::make_unique<OwnedWriter>(connection, options, policy);
}

}  // namespace parley::store::postgres
