// SqliteReads: every read of the store on one SQLite connection, shared by reader connections
// and by the writer (which reads inside its batch). `Base` is ReadTxn or WriteTxn. Statements
// are prepared on first use and kept for the connection's life.
#pragma once

#include <algorithm>
#include <array>
#include <optional>

#include "store/sqlite/rows.hpp"

namespace parley::store::sqlite {

template <typename Base>
class SqliteReads : public Base {
 public:
  explicit SqliteReads(Database& db) : db_(db) {}

  std::optional<UserRecord> user(UserId id) override {
    StatementScope s(q(Q::user));
    s->bind(1, id);
    if (!s->step()) return std::nullopt;
    return read_user(*s);
  }
  std::optional<UserRecord> user_by_username(const std::string& name) override {
    StatementScope s(q(Q::user_by_name));
    s->bind(1, name);
    if (!s->step()) return std::nullopt;
    return read_user(*s);
  }
  std::optional<UserCredentials> credentials(const std::string& name) override {
    StatementScope s(q(Q::credentials));
    s->bind(1, name);
    if (!s->step()) return std::nullopt;
    return UserCredentials{s->integer(0), s->text(1)};
  }
  std::optional<UserRecord> user_by_external_id(const std::string& external_id) override {
    StatementScope s(q(Q::user_by_external));
    s->bind(1, external_id);
    if (!s->step()) return std::nullopt;
    return read_user(*s);
  }

  std::optional<ConversationRecord> conversation(ConversationId id) override {
    StatementScope s(q(Q::conversation));
    s->bind(1, id);
    if (!s->step()) return std::nullopt;
    return read_conversation(*s);
  }
  std::optional<ConversationId> direct_conversation(UserId a, UserId b) override {
    const std::string key = direct_key(a, b);
    StatementScope s(q(Q::direct));
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
    StatementScope s(q(Q::channels));
    s->bind(1, after_id).bind(2, pattern).bind(3, static_cast<std::int64_t>(limit));
    std::vector<ConversationRecord> out;
    while (s->step()) out.push_back(read_conversation(*s));
    return out;
  }

  std::optional<MemberRecord> member(ConversationId conversation, UserId user) override {
    StatementScope s(q(Q::member));
    s->bind(1, conversation).bind(2, user);
    if (!s->step()) return std::nullopt;
    return read_member(*s);
  }
  std::vector<MemberRecord> active_members(ConversationId conversation) override {
    return members_of(Q::active_members, [&](Statement& s) { s.bind(1, conversation); });
  }
  std::vector<MemberRecord> active_members_page(ConversationId conversation, UserId after_user, int limit) override {
    return members_of(Q::members_page, [&](Statement& s) {
      s.bind(1, conversation).bind(2, after_user).bind(3, static_cast<std::int64_t>(limit));
    });
  }
  std::vector<ChangedConversation> user_conversations(UserId user) override {
    return conversations_of(Q::user_conversations, [&](Statement& s) { s.bind(1, user); });
  }
  std::vector<ConversationId> active_conversation_ids(UserId user) override {
    StatementScope s(q(Q::active_ids));
    s->bind(1, user);
    std::vector<ConversationId> out;
    while (s->step()) out.push_back(s->integer(0));
    return out;
  }
  std::vector<ChangedConversation> changed_conversations(UserId user, Pos cursor) override {
    return conversations_of(Q::changed, [&](Statement& s) { s.bind(1, user).bind(2, cursor); });
  }

  std::vector<EventRecord> events(ConversationId conversation, Seq from_seq, Seq to_seq, int limit,
                                  bool newest_first) override {
    if (from_seq > to_seq || limit <= 0) return {};
    return events_of(newest_first ? Q::events_desc : Q::events_asc, newest_first, [&](Statement& s) {
      s.bind(1, conversation).bind(2, from_seq).bind(3, to_seq).bind(4, static_cast<std::int64_t>(limit));
    });
  }
  std::vector<EventRecord> thread_events(ConversationId conversation, Seq root_seq, Seq from_seq, Seq to_seq,
                                         int limit, bool newest_first) override {
    if (from_seq > to_seq || limit <= 0) return {};
    return events_of(newest_first ? Q::thread_desc : Q::thread_asc, newest_first, [&](Statement& s) {
      s.bind(1, conversation).bind(2, root_seq).bind(3, from_seq).bind(4, to_seq).bind(5, static_cast<std::int64_t>(limit));
    });
  }
  std::optional<EventRecord> event(ConversationId conversation, Seq seq) override {
    StatementScope s(q(Q::event));
    s->bind(1, conversation).bind(2, seq);
    if (!s->step()) return std::nullopt;
    return read_event(*s);
  }
  std::optional<EventRecord> last_text_event(ConversationId conversation, Seq after_seq, Seq up_to,
                                             UserId viewer) override {
    StatementScope s(q(Q::last_text));
    s->bind(1, conversation).bind(2, up_to).bind(3, after_seq).bind(4, viewer);
    if (!s->step()) return std::nullopt;
    return read_event(*s);
  }
  // In-process and prepared: one probe of the (conversation_id, seq) index per seq.
  std::vector<EventRecord> events_at(ConversationId conversation, const std::vector<Seq>& seqs) override {
    std::vector<Seq> sorted = seqs;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    std::vector<EventRecord> out;
    for (Seq seq : sorted)
      if (auto e = event(conversation, seq)) out.push_back(std::move(*e));
    return out;
  }
  std::vector<Seq> hidden_seqs(UserId user, ConversationId conversation, Seq from_seq, Seq to_seq) override {
    StatementScope s(q(Q::hidden));
    s->bind(1, conversation).bind(2, user).bind(3, from_seq).bind(4, to_seq);
    std::vector<Seq> out;
    while (s->step()) out.push_back(s->integer(0));
    return out;
  }
  std::vector<EventRecord> events_by_pos(Pos after, Pos up_to, int limit) override {
    if (after >= up_to || limit <= 0) return {};
    return events_of(Q::by_pos, false, [&](Statement& s) { s.bind(1, after).bind(2, up_to).bind(3, limit); });
  }
  Pos head_pos() override {
    StatementScope s(q(Q::head_pos));
    return s->step() ? s->integer(0) : 0;
  }
  std::vector<EventRecord> edits_of(ConversationId conversation, Seq target_seq) override {
    return events_of(Q::edits, false, [&](Statement& s) { s.bind(1, conversation).bind(2, target_seq); });
  }

  // Binary search over seq: pos grows with seq inside a conversation and seqs are gap-free,
  // so a few probes of the (conversation_id, seq) index find the boundary.
  std::optional<ReadTxn::EventPosition> first_event_after(ConversationId conversation_id, Seq from_seq, Seq to_seq,
                                                         Pos cursor) override {
    from_seq = std::max<Seq>(from_seq, 1);
    if (from_seq > to_seq) return std::nullopt;
    if (auto c = this->conversation(conversation_id)) to_seq = std::min(to_seq, c->last_seq);
    if (from_seq > to_seq) return std::nullopt;
    auto pos_of = [&](Seq seq) -> Pos {
      StatementScope s(q(Q::event_pos));
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
    return ReadTxn::EventPosition{high, high_pos};
  }

  std::optional<EventRecord> event_by_client_msg_id(UserId sender, const std::string& client_msg_id) override {
    StatementScope s(q(Q::by_client_msg_id));
    s->bind(1, sender).bind(2, client_msg_id);
    if (!s->step()) return std::nullopt;
    return read_event(*s);
  }

  std::vector<ReactionRecord> reactions(ConversationId conversation, Seq from_seq, Seq to_seq) override {
    StatementScope s(q(Q::reactions));
    s->bind(1, conversation).bind(2, from_seq).bind(3, to_seq);
    std::vector<ReactionRecord> out;
    while (s->step()) out.push_back(ReactionRecord{s->integer(0), s->text(1), s->integer(2)});
    return out;
  }
  std::vector<ThreadRecord> threads(ConversationId conversation, Seq from_seq, Seq to_seq) override {
    StatementScope s(q(Q::threads));
    s->bind(1, conversation).bind(2, from_seq).bind(3, to_seq);
    std::vector<ThreadRecord> out;
    while (s->step())
      out.push_back(ThreadRecord{s->integer(0), static_cast<int>(s->integer(1)), s->integer(2), s->integer(3)});
    return out;
  }
  std::vector<PinRecord> pins(ConversationId conversation) override {
    StatementScope s(q(Q::pins));
    s->bind(1, conversation);
    std::vector<PinRecord> out;
    while (s->step()) out.push_back(PinRecord{s->integer(0), s->integer(1), s->integer(2)});
    return out;
  }
  int unread_count(ConversationId conversation, UserId user, Seq after_seq, Seq up_to_seq, int cap) override {
    StatementScope s(q(Q::unread));
    s->bind(1, conversation).bind(2, after_seq).bind(3, user).bind(4, static_cast<std::int64_t>(cap)).bind(5, up_to_seq);
    s->step();
    return static_cast<int>(s->integer(0));
  }
  int mention_count(ConversationId conversation, UserId user, Seq after_seq, Seq up_to_seq) override {
    StatementScope s(q(Q::mentions));
    s->bind(1, conversation).bind(2, user).bind(3, after_seq).bind(4, up_to_seq);
    s->step();
    return static_cast<int>(s->integer(0));
  }
  PinnedConversations pinned_conversations(UserId user) override {
    StatementScope s(q(Q::pinned));
    s->bind(1, user).step();
    return PinnedConversations{static_cast<int>(s->integer(0)), s->integer(1)};
  }
  std::vector<UserId> peers(UserId user) override {
    StatementScope s(q(Q::peers));
    s->bind(1, user);
    std::vector<UserId> out;
    while (s->step()) out.push_back(s->integer(0));
    return out;
  }

  // In-process and prepared: one statement per user costs microseconds, no round trip to save.
  std::vector<PresenceAudience> presence_audiences(const std::vector<UserId>& users) override {
    std::vector<UserId> sorted = users;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    std::vector<PresenceAudience> out;
    for (UserId u : sorted) {
      const auto record = user(u);
      if (!record) continue;
      auto peer_ids = peers(u);
      std::sort(peer_ids.begin(), peer_ids.end());
      out.push_back(PresenceAudience{u, record->share_last_seen, std::move(peer_ids)});
    }
    return out;
  }

  std::vector<std::string> revoked_token_ids(std::int64_t now_s) override {
    StatementScope s(q(Q::revoked));
    s->bind(1, now_s);
    std::vector<std::string> out;
    while (s->step()) out.push_back(s->text(0));
    return out;
  }

  // --- accounts ---
  std::vector<TokenRecord> tokens_of(UserId user, std::int64_t now_s) override {
    StatementScope s(q(Q::tokens_of));
    s->bind(1, user).bind(2, now_s);
    std::vector<TokenRecord> out;
    while (s->step()) out.push_back(read_token(*s));
    return out;
  }
  std::optional<TokenRecord> token(const std::string& token_id) override {
    StatementScope s(q(Q::token));
    s->bind(1, token_id);
    if (!s->step()) return std::nullopt;
    return read_token(*s);
  }
  std::vector<TokenCutoff> token_cutoffs() override {
    StatementScope s(q(Q::cutoffs));
    std::vector<TokenCutoff> out;
    while (s->step()) out.push_back(TokenCutoff{s->integer(0), s->integer(1), s->text(2)});
    return out;
  }
  std::vector<UserId> users_with_skeleton(const std::string& skeleton, int limit) override {
    StatementScope s(q(Q::by_skeleton));
    s->bind(1, skeleton).bind(2, limit);
    std::vector<UserId> out;
    while (s->step()) out.push_back(s->integer(0));
    return out;
  }
  std::vector<std::pair<UserId, std::string>> users_without_skeleton(int limit) override {
    StatementScope s(q(Q::no_skeleton));
    s->bind(1, limit);
    std::vector<std::pair<UserId, std::string>> out;
    while (s->step()) out.emplace_back(s->integer(0), s->text(1));
    return out;
  }
  std::vector<UserSearchHit> search_contacts(UserId user, const std::string& low, const std::string& high) override {
    StatementScope s(q(Q::search_contacts));
    s->bind(1, user).bind(2, low).bind(3, high);
    std::vector<UserSearchHit> out;
    while (s->step()) out.push_back(UserSearchHit{s->text(0), read_user(*s, 1)});
    return out;
  }
  std::vector<UserSearchHit> search_directory(const std::string& low, const std::string& high,
                                              const std::string& after_term, UserId after_user, UserId except,
                                              int limit) override {
    StatementScope s(q(Q::search_directory));
    s->bind(1, low).bind(2, high).bind(3, after_term).bind(4, after_user).bind(5, except).bind(6, limit);
    std::vector<UserSearchHit> out;
    while (s->step()) out.push_back(UserSearchHit{s->text(0), read_user(*s, 1)});
    return out;
  }
  std::vector<UserRecord> users_without_search_terms(int limit) override {
    StatementScope s(q(Q::without_terms));
    s->bind(1, limit);
    std::vector<UserRecord> out;
    while (s->step()) out.push_back(read_user(*s));
    return out;
  }
  std::optional<MediaRecord> media(const std::string& id) override {
    StatementScope s(q(Q::media));
    s->bind(1, id);
    if (!s->step()) return std::nullopt;
    return read_media(*s);
  }
  MediaUsage media_usage(UserId owner) override {
    StatementScope s(q(Q::media_usage));
    s->bind(1, owner);
    s->step();  // an aggregate: always one row
    return MediaUsage{s->integer(0), static_cast<int>(s->integer(1))};
  }
  std::vector<MediaRecord> expired_uploads(std::int64_t now_s, int limit) override {
    StatementScope s(q(Q::expired_uploads));
    s->bind(1, now_s).bind(2, limit);
    std::vector<MediaRecord> out;
    while (s->step()) out.push_back(read_media(*s));
    return out;
  }
  bool media_visible_to(UserId user, const std::string& media_id) override {
    StatementScope s(q(Q::media_visible));
    s->bind(1, media_id).bind(2, user);
    return s->step();
  }
  std::vector<PushSubscriptionRecord> push_subscriptions(UserId user) override {
    StatementScope s(q(Q::push_subscriptions));
    s->bind(1, user);
    std::vector<PushSubscriptionRecord> out;
    while (s->step()) out.push_back(read_push_subscription(*s));
    return out;
  }
  std::vector<InviteRecord> invites(std::int64_t now_s) override {
    StatementScope s(q(Q::invites));
    s->bind(1, now_s);
    std::vector<InviteRecord> out;
    while (s->step())
      out.push_back(InviteRecord{s->text(0), s->text(1), s->integer(2), s->integer(3), static_cast<int>(s->integer(4)),
                                 s->text(5)});
    return out;
  }

 protected:
  static std::string direct_key(UserId a, UserId b) { return columns::direct_key(a, b); }

  Database& db_;

 private:
  enum class Q {
    user, user_by_name, credentials, user_by_external, conversation, direct, channels, member, active_members,
    members_page, user_conversations, active_ids, changed, events_asc, events_desc, thread_asc, thread_desc, event,
    last_text, hidden, edits, by_pos, head_pos, event_pos, by_client_msg_id, reactions, threads, pins, unread, mentions, pinned, peers, revoked,
    tokens_of, token, cutoffs, by_skeleton, no_skeleton, invites, search_contacts, search_directory, without_terms,
    media, media_usage, expired_uploads, media_visible, push_subscriptions, count_
  };

  static std::string text_of(Q id) {
    switch (id) {
      case Q::user: return sql({"SELECT ", kUserColumns, " FROM users WHERE id = ?1"});
      case Q::user_by_name: return sql({"SELECT ", kUserColumns, " FROM users WHERE username = ?1"});
      case Q::credentials: return "SELECT id, coalesce(password_hash, '') FROM users WHERE username = ?1";
      case Q::user_by_external: return sql({"SELECT ", kUserColumns, " FROM users WHERE external_id = ?1"});
      case Q::conversation: return sql({"SELECT ", kConversationColumns, " FROM conversations c WHERE c.id = ?1"});
      case Q::direct: return "SELECT id FROM conversations WHERE direct_key = ?1";
      case Q::channels:
        return sql({"SELECT ", kConversationColumns,
                    " FROM conversations c WHERE c.kind = 3 AND c.id > ?1 AND c.title LIKE ?2 ESCAPE '\\' "
                    "ORDER BY c.id LIMIT ?3"});
      case Q::member:
        return sql({"SELECT ", kMemberColumns, " FROM members m WHERE m.conversation_id = ?1 AND m.user_id = ?2"});
      case Q::active_members:
        return sql({"SELECT ", kMemberColumns, " FROM members m WHERE m.conversation_id = ?1 AND m.left_seq IS NULL "
                    "ORDER BY m.joined_pos, m.joined_at, m.user_id"});
      case Q::members_page:
        return sql({"SELECT ", kMemberColumns, " FROM members m WHERE m.conversation_id = ?1 AND m.user_id > ?2 AND "
                    "m.left_seq IS NULL ORDER BY m.user_id LIMIT ?3"});
      case Q::user_conversations:
        return sql({"SELECT ", kConversationColumns, ", ", kMemberColumns,
                    " FROM members m JOIN conversations c ON c.id = m.conversation_id "
                    "WHERE m.user_id = ?1 AND m.left_seq IS NULL ORDER BY c.last_event_at DESC, c.id DESC"});
      case Q::active_ids: return "SELECT conversation_id FROM members WHERE user_id = ?1 AND left_seq IS NULL";
      case Q::changed:
        return sql({"SELECT ", kConversationColumns, ", ", kMemberColumns,
                    " FROM members m JOIN conversations c ON c.id = m.conversation_id "
                    "WHERE m.user_id = ?1 AND m.last_pos > ?2 "
                    "UNION ALL SELECT ", kConversationColumns, ", ", kMemberColumns,
                    " FROM members m JOIN conversations c ON c.id = m.conversation_id "
                    "WHERE m.user_id = ?1 AND m.pull = 1 AND m.last_pos <= ?2 AND c.last_pos > ?2"});
      case Q::events_asc:
        return sql({"SELECT ", kEventColumns, " FROM events WHERE conversation_id = ?1 AND seq BETWEEN ?2 AND ?3 "
                    "ORDER BY seq LIMIT ?4"});
      case Q::events_desc:
        return sql({"SELECT ", kEventColumns, " FROM events WHERE conversation_id = ?1 AND seq BETWEEN ?2 AND ?3 "
                    "ORDER BY seq DESC LIMIT ?4"});
      case Q::thread_asc:
        return sql({"SELECT ", kEventColumns, " FROM events WHERE conversation_id = ?1 AND thread_root = ?2 AND "
                    "seq BETWEEN ?3 AND ?4 ORDER BY seq LIMIT ?5"});
      case Q::thread_desc:
        return sql({"SELECT ", kEventColumns, " FROM events WHERE conversation_id = ?1 AND thread_root = ?2 AND "
                    "seq BETWEEN ?3 AND ?4 ORDER BY seq DESC LIMIT ?5"});
      case Q::event: return sql({"SELECT ", kEventColumns, " FROM events WHERE conversation_id = ?1 AND seq = ?2"});
      // Newest first, skipping what the viewer hid (one probe of its hidden_messages key each).
      case Q::last_text:
        return sql({"SELECT ", kEventColumns, " FROM events e WHERE conversation_id = ?1 AND seq <= ?2 AND seq > ?3 "
                    "AND kind = 1 AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.conversation_id = ?1 AND "
                    "h.user_id = ?4 AND h.seq = e.seq) ORDER BY seq DESC LIMIT 1"});
      case Q::hidden:
        return "SELECT seq FROM hidden_messages WHERE conversation_id = ?1 AND user_id = ?2 AND seq BETWEEN ?3 AND ?4 "
               "ORDER BY seq";
      case Q::edits:
        return sql({"SELECT ", kEventColumns, " FROM events WHERE conversation_id = ?1 AND target_seq = ?2 AND "
                    "kind = 9 ORDER BY seq"});
      case Q::by_pos:
        return sql({"SELECT ", kEventColumns, " FROM events WHERE pos > ?1 AND pos <= ?2 ORDER BY pos LIMIT ?3"});
      case Q::head_pos: return "SELECT coalesce(max(pos), 0) FROM events";
      case Q::event_pos: return "SELECT pos FROM events WHERE conversation_id = ?1 AND seq = ?2";
      case Q::by_client_msg_id:
        return sql({"SELECT ", kEventColumns, " FROM events WHERE sender_id = ?1 AND client_msg_id = ?2"});
      case Q::reactions:
        return "SELECT seq, emoji, user_id FROM reactions WHERE conversation_id = ?1 AND seq BETWEEN ?2 AND ?3 "
               "ORDER BY seq, added_pos, emoji, user_id";
      case Q::threads:
        return "SELECT root_seq, reply_count, last_reply_seq, last_reply_at FROM threads "
               "WHERE conversation_id = ?1 AND root_seq BETWEEN ?2 AND ?3";
      case Q::pins: return "SELECT seq, pinned_by, pinned_at FROM pins WHERE conversation_id = ?1 ORDER BY pinned_at, seq";
      case Q::unread:
        return "SELECT count(*) FROM (SELECT 1 FROM events WHERE conversation_id = ?1 AND seq > ?2 AND seq <= ?5 AND "
               "kind = 1 AND sender_id != ?3 AND deleted_at IS NULL LIMIT ?4)";
      case Q::mentions:
        // A message that names the user and @all counts once.
        return "SELECT count(DISTINCT seq) FROM mentions WHERE conversation_id = ?1 AND user_id IN (?2, 0) AND "
               "seq > ?3 AND seq <= ?4 AND sender_id != ?2";
      case Q::pinned:
        return "SELECT count(*), coalesce(max(pin_rank), 0) FROM members WHERE user_id = ?1 AND pin_rank > 0";
      case Q::peers:
        return "SELECT DISTINCT m2.user_id FROM members m1 JOIN conversations c ON c.id = m1.conversation_id "
               "JOIN members m2 ON m2.conversation_id = m1.conversation_id WHERE m1.user_id = ?1 AND "
               "m1.left_seq IS NULL AND c.kind IN (1, 2) AND m2.left_seq IS NULL AND m2.user_id != ?1";
      case Q::revoked: return "SELECT token_id FROM revoked_tokens WHERE expires_at > ?1";
      case Q::tokens_of:
        return sql({"SELECT ", kTokenColumns, " FROM tokens WHERE user_id = ?1 AND expires_at > ?2 "
                    "ORDER BY created_at DESC, token_id"});
      case Q::token: return sql({"SELECT ", kTokenColumns, " FROM tokens WHERE token_id = ?1"});
      case Q::cutoffs:
        return "SELECT id, tokens_valid_after, coalesce(kept_token_id, '') FROM users WHERE tokens_valid_after > 0";
      case Q::by_skeleton: return "SELECT id FROM users WHERE name_skeleton = ?1 ORDER BY id LIMIT ?2";
      case Q::no_skeleton: return "SELECT id, username FROM users WHERE name_skeleton IS NULL ORDER BY id LIMIT ?1";
      case Q::media: return sql({"SELECT ", kMediaColumns, " FROM media WHERE id = ?1"});
      case Q::push_subscriptions:
        return sql({"SELECT ", columns::kPushSubscription, " FROM push_subscriptions WHERE user_id = ?1 ORDER BY id"});
      case Q::media_usage:
        return "SELECT coalesce(sum(CASE state WHEN 0 THEN declared_size ELSE size END), 0), "
               "coalesce(sum(state = 0), 0) FROM media WHERE owner_id = ?1";
      case Q::expired_uploads:
        return sql({"SELECT ", kMediaColumns, " FROM media WHERE ref_count = 0 AND expires_at <= ?1 "
                    "ORDER BY expires_at, id LIMIT ?2"});
      case Q::media_visible:
        return "SELECT 1 FROM message_media r JOIN members m ON m.conversation_id = r.conversation_id AND "
               "m.user_id = ?2 WHERE r.media_id = ?1 AND r.seq >= m.visible_from_seq AND "
               "(m.left_seq IS NULL OR r.seq <= m.left_seq) LIMIT 1";
      case Q::invites:
        return "SELECT id, code_hash, created_at, expires_at, uses_left, note FROM invites WHERE uses_left > 0 AND "
               "(expires_at = 0 OR expires_at > ?1) ORDER BY created_at DESC, id";
      // The caller's contacts (its peers) first, then their terms in the range by the
      // (user_id, term) index: one row per contact, at its smallest matching term.
      case Q::search_contacts:
        return sql({"SELECT min(t.term), ", kUserColumns, " FROM (SELECT DISTINCT m2.user_id AS peer_id FROM members m1 "
                    "JOIN conversations c ON c.id = m1.conversation_id JOIN members m2 ON "
                    "m2.conversation_id = m1.conversation_id WHERE m1.user_id = ?1 AND m1.left_seq IS NULL AND "
                    "c.kind IN (1, 2) AND m2.left_seq IS NULL AND m2.user_id != ?1) p "
                    "CROSS JOIN user_terms t ON t.user_id = p.peer_id AND t.term >= ?2 AND t.term < ?3 "
                    "JOIN users ON users.id = p.peer_id GROUP BY users.id"});
      // A range of the terms index in (term, user_id) order; a user is taken at its smallest
      // term in the range only (the NOT EXISTS reads its few terms by user_terms_by_user).
      case Q::search_directory:
        return sql({"SELECT t.term, ", kUserColumns, " FROM user_terms t JOIN users ON users.id = t.user_id "
                    "WHERE t.term >= ?1 AND t.term < ?2 AND (t.term, t.user_id) > (?3, ?4) AND t.user_id != ?5 AND "
                    "users.discoverable = 1 AND NOT EXISTS (SELECT 1 FROM user_terms s WHERE s.user_id = t.user_id "
                    "AND s.term >= ?1 AND s.term < t.term) ORDER BY t.term, t.user_id LIMIT ?6"});
      case Q::without_terms:
        return sql({"SELECT ", kUserColumns, " FROM users WHERE search_terms_done = 0 ORDER BY id LIMIT ?1"});
      case Q::count_: break;
    }
    return {};
  }

  Statement& q(Q id) {
    auto& slot = statements_[static_cast<std::size_t>(id)];
    if (!slot) slot.emplace(db_.prepare(text_of(id)));
    return *slot;
  }

  template <typename Bind>
  std::vector<MemberRecord> members_of(Q id, Bind bind) {
    StatementScope s(q(id));
    bind(*s);
    std::vector<MemberRecord> out;
    while (s->step()) out.push_back(read_member(*s));
    return out;
  }
  template <typename Bind>
  std::vector<ChangedConversation> conversations_of(Q id, Bind bind) {
    StatementScope s(q(id));
    bind(*s);
    std::vector<ChangedConversation> out;
    while (s->step()) out.push_back({read_conversation(*s), read_member(*s, kConversationColumnCount)});
    return out;
  }
  template <typename Bind>
  std::vector<EventRecord> events_of(Q id, bool newest_first, Bind bind) {
    StatementScope s(q(id));
    bind(*s);
    std::vector<EventRecord> out;
    while (s->step()) out.push_back(read_event(*s));
    if (newest_first) std::reverse(out.begin(), out.end());
    return out;
  }

  std::array<std::optional<Statement>, static_cast<std::size_t>(Q::count_)> statements_;
};

}  // namespace parley::store::sqlite
