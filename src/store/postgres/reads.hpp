// PgReads: every read of the store on one PostgreSQL connection, shared by reader connections
// and by the writer (which reads inside its batch). `Base` is ReadTxn or WriteTxn. The same
// queries and orders as the SQLite engine's SqliteReads.
#pragma once

#include <algorithm>
#include <utility>

#include "store/postgres/rows.hpp"
#include "store/store.hpp"

namespace parley::store::postgres {

template <typename Base>
class PgReads : public Base {
 public:
  explicit PgReads(Connection& connection) : connection_(connection) {}

  std::optional<UserRecord> user(UserId id) override {
    return one_user(fetch(sql({"SELECT ", kUserColumns, " FROM users WHERE id = $1"}), Params().add(id)));
  }
  std::optional<UserRecord> user_by_username(const std::string& name) override {
    return one_user(fetch(sql({"SELECT ", kUserColumns, " FROM users WHERE username = $1"}), Params().add(name)));
  }
  std::optional<UserCredentials> credentials(const std::string& name) override {
    Rows r = fetch("SELECT id, coalesce(password_hash, '') FROM users WHERE username = $1", Params().add(name));
    if (r.empty()) return std::nullopt;
    return UserCredentials{r.integer(0, 0), r.text(0, 1)};
  }
  std::optional<UserRecord> user_by_external_id(const std::string& external_id) override {
    return one_user(
        fetch(sql({"SELECT ", kUserColumns, " FROM users WHERE external_id = $1"}), Params().add(external_id)));
  }

  std::optional<ConversationRecord> conversation(ConversationId id) override {
    Rows r = fetch(sql({"SELECT ", kConversationColumns, " FROM conversations c WHERE c.id = $1"}), Params().add(id));
    if (r.empty()) return std::nullopt;
    return read_conversation(r, 0);
  }
  std::optional<ConversationId> direct_conversation(UserId a, UserId b) override {
    Rows r = fetch("SELECT id FROM conversations WHERE direct_key = $1", Params().add(direct_key(a, b)));
    if (r.empty()) return std::nullopt;
    return r.integer(0, 0);
  }
  std::vector<ConversationRecord> channels(const std::string& prefix, ConversationId after_id, int limit) override {
    std::string pattern;
    for (char c : prefix) {
      if (c == '%' || c == '_' || c == '\\') pattern.push_back('\\');
      pattern.push_back(c);
    }
    pattern.push_back('%');
    // ASCII letters match in either case, everything else exactly (as SQLite's LIKE does).
    Rows r = fetch(sql({"SELECT ", kConversationColumns, " FROM conversations c WHERE c.kind = 3 AND c.id > $1 AND ",
                        kAsciiLower, "(c.title) LIKE ", kAsciiLower, "($2) ESCAPE '\\' ORDER BY c.id LIMIT $3"}),
                   Params().add(after_id).add(pattern).add(limit));
    std::vector<ConversationRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_conversation(r, i));
    return out;
  }

  std::optional<MemberRecord> member(ConversationId conversation, UserId user) override {
    Rows r = fetch(sql({"SELECT ", kMemberColumns, " FROM members m WHERE m.conversation_id = $1 AND m.user_id = $2"}),
                   Params().add(conversation).add(user));
    if (r.empty()) return std::nullopt;
    return read_member(r, 0);
  }
  std::vector<MemberRecord> active_members(ConversationId conversation) override {
    return members(fetch(sql({"SELECT ", kMemberColumns, " FROM members m WHERE m.conversation_id = $1 AND "
                              "m.left_seq IS NULL ORDER BY m.joined_pos, m.joined_at, m.user_id"}),
                         Params().add(conversation)));
  }
  std::vector<MemberRecord> active_members_page(ConversationId conversation, UserId after_user, int limit) override {
    return members(fetch(sql({"SELECT ", kMemberColumns, " FROM members m WHERE m.conversation_id = $1 AND "
                              "m.user_id > $2 AND m.left_seq IS NULL ORDER BY m.user_id LIMIT $3"}),
                         Params().add(conversation).add(after_user).add(limit)));
  }
  std::vector<ChangedConversation> user_conversations(UserId user) override {
    return changed(fetch(sql({"SELECT ", kConversationColumns, ", ", kMemberColumns,
                              " FROM members m JOIN conversations c ON c.id = m.conversation_id "
                              "WHERE m.user_id = $1 AND m.left_seq IS NULL ORDER BY c.last_event_at DESC, c.id DESC"}),
                         Params().add(user)));
  }
  std::vector<ConversationId> active_conversation_ids(UserId user) override {
    Rows r = fetch("SELECT conversation_id FROM members WHERE user_id = $1 AND left_seq IS NULL", Params().add(user));
    std::vector<ConversationId> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(r.integer(i, 0));
    return out;
  }
  std::vector<ChangedConversation> changed_conversations(UserId user, Pos cursor) override {
    return changed(fetch(sql({"SELECT ", kConversationColumns, ", ", kMemberColumns,
                              " FROM members m JOIN conversations c ON c.id = m.conversation_id "
                              "WHERE m.user_id = $1 AND m.last_pos > $2 "
                              "UNION ALL SELECT ", kConversationColumns, ", ", kMemberColumns,
                              " FROM members m JOIN conversations c ON c.id = m.conversation_id "
                              "WHERE m.user_id = $1 AND m.pull AND m.last_pos <= $2 AND c.last_pos > $2"}),
                         Params().add(user).add(cursor)));
  }

  std::vector<EventRecord> events(ConversationId conversation, Seq from_seq, Seq to_seq, int limit,
                                  bool newest_first) override {
    if (from_seq > to_seq || limit <= 0) return {};
    return events_of(fetch(sql({"SELECT ", kEventColumns, " FROM events WHERE conversation_id = $1 AND "
                                "seq BETWEEN $2 AND $3 ORDER BY seq ", newest_first ? "DESC" : "", " LIMIT $4"}),
                           Params().add(conversation).add(from_seq).add(to_seq).add(limit)),
                     newest_first);
  }
  std::vector<EventRecord> thread_events(ConversationId conversation, Seq root_seq, Seq from_seq, Seq to_seq,
                                         int limit, bool newest_first) override {
    if (from_seq > to_seq || limit <= 0) return {};
    return events_of(
        fetch(sql({"SELECT ", kEventColumns, " FROM events WHERE conversation_id = $1 AND thread_root = $2 AND "
                   "seq BETWEEN $3 AND $4 ORDER BY seq ", newest_first ? "DESC" : "", " LIMIT $5"}),
              Params().add(conversation).add(root_seq).add(from_seq).add(to_seq).add(limit)),
        newest_first);
  }
  std::optional<EventRecord> event(ConversationId conversation, Seq seq) override {
    return one_event(fetch(sql({"SELECT ", kEventColumns, " FROM events WHERE conversation_id = $1 AND seq = $2"}),
                           Params().add(conversation).add(seq)));
  }
  // Newest first, skipping what the viewer hid (one probe of its hidden_messages key each).
  std::optional<EventRecord> last_text_event(ConversationId conversation, Seq after_seq, Seq up_to,
                                             UserId viewer) override {
    return one_event(fetch(sql({"SELECT ", kEventColumns, " FROM events e WHERE conversation_id = $1 AND seq <= $2 AND "
                                "seq > $3 AND kind = 1 AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE "
                                "h.conversation_id = $1 AND h.user_id = $4 AND h.seq = e.seq) ORDER BY seq DESC LIMIT 1"}),
                           Params().add(conversation).add(up_to).add(after_seq).add(viewer)));
  }
  std::vector<EventRecord> events_at(ConversationId conversation, const std::vector<Seq>& seqs) override {
    if (seqs.empty()) return {};
    ArrayLiteral list;
    for (Seq seq : seqs) list.add(seq);
    return events_of(fetch(sql({"SELECT ", kEventColumns, " FROM events WHERE conversation_id = $1 AND "
                                "seq = ANY($2::bigint[]) ORDER BY seq"}),
                           Params().add(conversation).add(list.finish())),
                     false);
  }
  std::vector<Seq> hidden_seqs(UserId user, ConversationId conversation, Seq from_seq, Seq to_seq) override {
    Rows r = fetch("SELECT seq FROM hidden_messages WHERE conversation_id = $1 AND user_id = $2 AND "
                   "seq BETWEEN $3 AND $4 ORDER BY seq",
                   Params().add(conversation).add(user).add(from_seq).add(to_seq));
    std::vector<Seq> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(r.integer(i, 0));
    return out;
  }
  std::vector<EventRecord> events_by_pos(Pos after, Pos up_to, int limit) override {
    if (after >= up_to || limit <= 0) return {};
    return events_of(fetch(sql({"SELECT ", kEventColumns, " FROM events WHERE pos > $1 AND pos <= $2 ORDER BY pos "
                                "LIMIT $3"}),
                           Params().add(after).add(up_to).add(limit)),
                     false);
  }
  // writer_state.last_pos moves with every commit (under the writer lock), in the same
  // snapshot as the events.
  Pos head_pos() override {
    Rows r = fetch("SELECT last_pos FROM writer_state", Params());
    return r.size() > 0 ? r.integer(0, 0) : 0;
  }
  std::vector<EventRecord> edits_of(ConversationId conversation, Seq target_seq) override {
    return events_of(fetch(sql({"SELECT ", kEventColumns, " FROM events WHERE conversation_id = $1 AND "
                                "target_seq = $2 AND kind = 9 ORDER BY seq"}),
                           Params().add(conversation).add(target_seq)),
                     false);
  }

  // A binary search over seq on the server (pos grows with seq inside a conversation and seqs
  // are gap-free): one round trip, a few index probes.
  std::optional<ReadTxn::EventPosition> first_event_after(ConversationId conversation_id, Seq from_seq, Seq to_seq,
                                                         Pos cursor) override {
    from_seq = std::max<Seq>(from_seq, 1);
    if (from_seq > to_seq) return std::nullopt;
    if (auto c = this->conversation(conversation_id)) to_seq = std::min(to_seq, c->last_seq);
    if (from_seq > to_seq) return std::nullopt;
    Rows r = fetch("SELECT seq, pos FROM parley_first_event_after($1, $2, $3, $4)",
                   Params().add(conversation_id).add(from_seq).add(to_seq).add(cursor));
    if (r.empty() || r.is_null(0, 0)) return std::nullopt;
    return ReadTxn::EventPosition{r.integer(0, 0), r.integer(0, 1)};
  }

  std::optional<EventRecord> event_by_client_msg_id(UserId sender, const std::string& client_msg_id) override {
    return one_event(fetch(sql({"SELECT ", kEventColumns, " FROM events WHERE sender_id = $1 AND client_msg_id = $2"}),
                           Params().add(sender).add(client_msg_id)));
  }

  std::vector<ReactionRecord> reactions(ConversationId conversation, Seq from_seq, Seq to_seq) override {
    Rows r = fetch("SELECT seq, emoji, user_id FROM reactions WHERE conversation_id = $1 AND seq BETWEEN $2 AND $3 "
                   "ORDER BY seq, added_pos, emoji COLLATE \"C\", user_id",
                   Params().add(conversation).add(from_seq).add(to_seq));
    std::vector<ReactionRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(ReactionRecord{r.integer(i, 0), r.text(i, 1), r.integer(i, 2)});
    return out;
  }
  std::vector<ThreadRecord> threads(ConversationId conversation, Seq from_seq, Seq to_seq) override {
    Rows r = fetch("SELECT root_seq, reply_count, last_reply_seq, last_reply_at FROM threads "
                   "WHERE conversation_id = $1 AND root_seq BETWEEN $2 AND $3 ORDER BY root_seq",
                   Params().add(conversation).add(from_seq).add(to_seq));
    std::vector<ThreadRecord> out;
    for (int i = 0; i < r.size(); ++i)
      out.push_back(ThreadRecord{r.integer(i, 0), static_cast<int>(r.integer(i, 1)), r.integer(i, 2), r.integer(i, 3)});
    return out;
  }
  std::vector<PinRecord> pins(ConversationId conversation) override {
    Rows r = fetch("SELECT seq, pinned_by, pinned_at FROM pins WHERE conversation_id = $1 ORDER BY pinned_at, seq",
                   Params().add(conversation));
    std::vector<PinRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(PinRecord{r.integer(i, 0), r.integer(i, 1), r.integer(i, 2)});
    return out;
  }
  int unread_count(ConversationId conversation, UserId user, Seq after_seq, Seq up_to_seq, int cap) override {
    Rows r = fetch("SELECT count(*) FROM (SELECT 1 FROM events WHERE conversation_id = $1 AND seq > $2 AND seq <= $5 "
                   "AND kind = 1 AND sender_id != $3 AND deleted_at IS NULL LIMIT $4) AS unread",
                   Params().add(conversation).add(after_seq).add(user).add(cap).add(up_to_seq));
    return static_cast<int>(r.integer(0, 0));
  }
  int mention_count(ConversationId conversation, UserId user, Seq after_seq, Seq up_to_seq) override {
    // A message that names the user and @all counts once.
    Rows r = fetch("SELECT count(DISTINCT seq) FROM mentions WHERE conversation_id = $1 AND user_id IN ($2, 0) AND "
                   "seq > $3 AND seq <= $4 AND sender_id != $2",
                   Params().add(conversation).add(user).add(after_seq).add(up_to_seq));
    return static_cast<int>(r.integer(0, 0));
  }
  PinnedConversations pinned_conversations(UserId user) override {
    Rows r = fetch("SELECT count(*), coalesce(max(pin_rank), 0) FROM members WHERE user_id = $1 AND pin_rank > 0",
                   Params().add(user));
    return PinnedConversations{static_cast<int>(r.integer(0, 0)), r.integer(0, 1)};
  }
  std::vector<UserId> peers(UserId user) override {
    return ids(fetch("SELECT DISTINCT m2.user_id FROM members m1 JOIN conversations c ON c.id = m1.conversation_id "
                     "JOIN members m2 ON m2.conversation_id = m1.conversation_id WHERE m1.user_id = $1 AND "
                     "m1.left_seq IS NULL AND c.kind IN (1, 2) AND m2.left_seq IS NULL AND m2.user_id != $1",
                     Params().add(user)));
  }

  std::vector<PresenceAudience> presence_audiences(const std::vector<UserId>& users) override {
    std::vector<PresenceAudience> out;
    if (users.empty()) return out;
    ArrayLiteral ids;
    for (UserId u : users) ids.add(u);
    // LATERAL: one index walk per user (members_by_user, then the conversations' members), the
    // plan peers() gets, whatever the statistics say about the id list.
    Rows r = fetch(
        "SELECT u.id, u.share_last_seen, p.peer FROM users u LEFT JOIN LATERAL (SELECT DISTINCT m2.user_id AS peer "
        "FROM members m1 JOIN conversations c ON c.id = m1.conversation_id JOIN members m2 ON "
        "m2.conversation_id = m1.conversation_id WHERE m1.user_id = u.id AND m1.left_seq IS NULL AND "
        "c.kind IN (1, 2) AND m2.left_seq IS NULL AND m2.user_id != u.id) p ON true "
        "WHERE u.id = ANY($1::bigint[]) ORDER BY u.id, p.peer",
        Params().add(ids.finish()));
    for (int i = 0; i < r.size(); ++i) {
      const UserId user = r.integer(i, 0);
      if (out.empty() || out.back().user != user) out.push_back(PresenceAudience{user, r.boolean(i, 1), {}});
      if (!r.is_null(i, 2)) out.back().peers.push_back(r.integer(i, 2));
    }
    return out;
  }

  std::vector<std::string> revoked_token_ids(std::int64_t now_s) override {
    Rows r = fetch("SELECT token_id FROM revoked_tokens WHERE expires_at > $1", Params().add(now_s));
    std::vector<std::string> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(r.text(i, 0));
    return out;
  }

  std::vector<PushSubscriptionRecord> push_subscriptions(UserId user) override {
    Rows r = fetch(sql({"SELECT ", columns::kPushSubscription, " FROM push_subscriptions WHERE user_id = $1 ORDER BY id"}),
                   Params().add(user));
    std::vector<PushSubscriptionRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_push_subscription(r, i));
    return out;
  }

  // --- accounts ---
  std::vector<TokenRecord> tokens_of(UserId user, std::int64_t now_s) override {
    Rows r = fetch(sql({"SELECT ", kTokenColumns, " FROM tokens WHERE user_id = $1 AND expires_at > $2 "
                        "ORDER BY created_at DESC, token_id COLLATE \"C\""}),
                   Params().add(user).add(now_s));
    std::vector<TokenRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_token(r, i));
    return out;
  }
  std::optional<TokenRecord> token(const std::string& token_id) override {
    Rows r = fetch(sql({"SELECT ", kTokenColumns, " FROM tokens WHERE token_id = $1"}), Params().add(token_id));
    if (r.empty()) return std::nullopt;
    return read_token(r, 0);
  }
  std::vector<TokenCutoff> token_cutoffs() override {
    Rows r = fetch("SELECT id, tokens_valid_after, coalesce(kept_token_id, '') FROM users WHERE tokens_valid_after > 0");
    std::vector<TokenCutoff> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(TokenCutoff{r.integer(i, 0), r.integer(i, 1), r.text(i, 2)});
    return out;
  }
  std::vector<UserId> users_with_skeleton(const std::string& skeleton, int limit) override {
    return ids(fetch("SELECT id FROM users WHERE name_skeleton = $1 ORDER BY id LIMIT $2",
                     Params().add(skeleton).add(limit)));
  }
  std::vector<std::pair<UserId, std::string>> users_without_skeleton(int limit) override {
    Rows r = fetch("SELECT id, username FROM users WHERE name_skeleton IS NULL ORDER BY id LIMIT $1",
                   Params().add(limit));
    std::vector<std::pair<UserId, std::string>> out;
    for (int i = 0; i < r.size(); ++i) out.emplace_back(r.integer(i, 0), r.text(i, 1));
    return out;
  }
  std::vector<UserSearchHit> search_contacts(UserId user, const std::string& low, const std::string& high) override {
    return hits(fetch(sql({"SELECT min(t.term), ", kUserColumns, " FROM (SELECT DISTINCT m2.user_id AS peer_id FROM "
                           "members m1 JOIN conversations c ON c.id = m1.conversation_id JOIN members m2 ON "
                           "m2.conversation_id = m1.conversation_id WHERE m1.user_id = $1 AND m1.left_seq IS NULL AND "
                           "c.kind IN (1, 2) AND m2.left_seq IS NULL AND m2.user_id != $1) p "
                           "JOIN user_terms t ON t.user_id = p.peer_id AND t.term >= $2 AND t.term < $3 "
                           "JOIN users ON users.id = p.peer_id GROUP BY users.id"}),
                      Params().add(user).add(low).add(high)));
  }
  std::vector<UserSearchHit> search_directory(const std::string& low, const std::string& high,
                                              const std::string& after_term, UserId after_user, UserId except,
                                              int limit) override {
    return hits(fetch(sql({"SELECT t.term, ", kUserColumns, " FROM user_terms t JOIN users ON users.id = t.user_id "
                           "WHERE t.term >= $1 AND t.term < $2 AND (t.term, t.user_id) > ($3, $4) AND t.user_id != $5 "
                           "AND users.discoverable AND NOT EXISTS (SELECT 1 FROM user_terms s WHERE "
                           "s.user_id = t.user_id AND s.term >= $1 AND s.term < t.term) "
                           "ORDER BY t.term, t.user_id LIMIT $6"}),
                      Params().add(low).add(high).add(after_term).add(after_user).add(except).add(limit)));
  }
  std::vector<UserRecord> users_without_search_terms(int limit) override {
    Rows r = fetch(sql({"SELECT ", kUserColumns, " FROM users WHERE NOT search_terms_done ORDER BY id LIMIT $1"}),
                   Params().add(limit));
    std::vector<UserRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_user(r, i));
    return out;
  }
  std::optional<MediaRecord> media(const std::string& id) override {
    Rows r = fetch(sql({"SELECT ", columns::kMedia, " FROM media WHERE id = $1"}), Params().add(id));
    if (r.empty()) return std::nullopt;
    return read_media(r, 0);
  }
  MediaUsage media_usage(UserId owner) override {
    Rows r = fetch("SELECT coalesce(sum(CASE state WHEN 0 THEN declared_size ELSE size END), 0), "
                   "count(*) FILTER (WHERE state = 0) FROM media WHERE owner_id = $1",
                   Params().add(owner));
    return MediaUsage{r.integer(0, 0), static_cast<int>(r.integer(0, 1))};
  }
  std::vector<MediaRecord> expired_uploads(std::int64_t now_s, int limit) override {
    Rows r = fetch(sql({"SELECT ", columns::kMedia, " FROM media WHERE ref_count = 0 AND expires_at <= $1 "
                        "ORDER BY expires_at, id LIMIT $2"}),
                   Params().add(now_s).add(limit));
    std::vector<MediaRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_media(r, i));
    return out;
  }
  bool media_visible_to(UserId user, const std::string& media_id) override {
    return !fetch("SELECT 1 FROM message_media r JOIN members m ON m.conversation_id = r.conversation_id AND "
                  "m.user_id = $2 WHERE r.media_id = $1 AND r.seq >= m.visible_from_seq AND "
                  "(m.left_seq IS NULL OR r.seq <= m.left_seq) LIMIT 1",
                  Params().add(media_id).add(user))
                .empty();
  }
  std::vector<InviteRecord> invites(std::int64_t now_s) override {
    Rows r = fetch("SELECT id, code_hash, created_at, expires_at, uses_left, note FROM invites WHERE uses_left > 0 AND "
                   "(expires_at = 0 OR expires_at > $1) ORDER BY created_at DESC, id COLLATE \"C\"",
                   Params().add(now_s));
    std::vector<InviteRecord> out;
    for (int i = 0; i < r.size(); ++i)
      out.push_back(InviteRecord{r.text(i, 0), r.text(i, 1), r.integer(i, 2), r.integer(i, 3),
                                 static_cast<int>(r.integer(i, 4)), r.text(i, 5)});
    return out;
  }

 protected:
  // ASCII-only lower case (SQLite's LIKE folds ASCII letters only).
  static constexpr const char* kAsciiLower = "parley_ascii_lower";

  static std::string direct_key(UserId a, UserId b) { return columns::direct_key(a, b); }

  // Runs one read and waits for it. The writer overrides it to send its pending writes first.
  virtual Rows fetch(std::string_view statement, const Params& params = {}) { return connection_.run(statement, params); }

  Connection& connection_;

 private:
  static MediaRecord read_media(const Rows& r, int row) {
    MediaRecord m;
    m.id = r.text(row, 0);
    m.owner_id = r.integer(row, 1);
    m.state = static_cast<MediaState>(r.integer(row, 2));
    m.declared_size = r.integer(row, 3);
    m.declared_type = r.text(row, 4);
    m.file_name = r.text(row, 5);
    m.sha256 = r.text(row, 6);
    m.size = r.integer(row, 7);
    m.content_type = r.text(row, 8);
    m.width = static_cast<int>(r.integer(row, 9));
    m.height = static_cast<int>(r.integer(row, 10));
    m.has_thumbnail = r.boolean(row, 11);
    m.preview = r.text(row, 12);
    m.created_at_ms = r.integer(row, 13);
    m.expires_at_s = r.integer(row, 14);
    m.completed_at_ms = r.integer(row, 15);
    m.ref_count = static_cast<int>(r.integer(row, 16));
    m.released = r.boolean(row, 17);
    return m;
  }
  static std::optional<UserRecord> one_user(const Rows& r) {
    if (r.empty()) return std::nullopt;
    return read_user(r, 0);
  }
  static std::optional<EventRecord> one_event(const Rows& r) {
    if (r.empty()) return std::nullopt;
    return read_event(r, 0);
  }
  static std::vector<MemberRecord> members(const Rows& r) {
    std::vector<MemberRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_member(r, i));
    return out;
  }
  static std::vector<ChangedConversation> changed(const Rows& r) {
    std::vector<ChangedConversation> out;
    for (int i = 0; i < r.size(); ++i) out.push_back({read_conversation(r, i), read_member(r, i, kConversationColumnCount)});
    return out;
  }
  static std::vector<EventRecord> events_of(const Rows& r, bool newest_first) {
    std::vector<EventRecord> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(read_event(r, i));
    if (newest_first) std::reverse(out.begin(), out.end());
    return out;
  }
  static std::vector<UserSearchHit> hits(const Rows& r) {
    std::vector<UserSearchHit> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(UserSearchHit{r.text(i, 0), read_user(r, i, 1)});
    return out;
  }
  static std::vector<UserId> ids(const Rows& r) {
    std::vector<UserId> out;
    for (int i = 0; i < r.size(); ++i) out.push_back(r.integer(i, 0));
    return out;
  }
};

}  // namespace parley::store::postgres
