#include "store/sqlite/schema.hpp"

#include <string>
#include <vector>

#include "store/sqlite/db.hpp"
#include "store/store.hpp"

namespace parley::store::sqlite {
namespace {

const std::vector<std::string>& migrations() {
  static const std::vector<std::string> list = {
      // 1: users, conversations, members, events, revoked tokens.
      R"sql(
CREATE TABLE users(
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,          -- lower case
  display_name TEXT NOT NULL DEFAULT '',
  password_hash TEXT,                     -- NULL for users of a host application
  external_id TEXT UNIQUE,                -- "sub" of a host application's JWT
  created_at INTEGER NOT NULL             -- ms since the Unix epoch
);
CREATE TABLE conversations(
  id INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,                  -- 1 direct, 2 group, 3 channel
  title TEXT NOT NULL DEFAULT '',
  topic TEXT NOT NULL DEFAULT '',
  direct_key TEXT UNIQUE,                 -- "low:high" user ids, direct conversations only
  created_by INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0,
  last_pos INTEGER NOT NULL DEFAULT 0,
  last_event_at INTEGER NOT NULL,
  member_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_channels ON conversations(id) WHERE kind = 3;
CREATE TABLE members(
  conversation_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  role INTEGER NOT NULL,                  -- 0 member, 1 admin, 2 owner
  visible_from_seq INTEGER NOT NULL,
  left_seq INTEGER,                       -- NULL while a member
  left_title TEXT,                        -- the conversation's title when the member left
  last_pos INTEGER NOT NULL,              -- newest pos visible to this member (push conversations)
  pull INTEGER NOT NULL,                  -- 1 for active channel memberships: see conversations.last_pos
  joined_at INTEGER NOT NULL,
  PRIMARY KEY(conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX members_by_user ON members(user_id, last_pos);
CREATE INDEX members_pull ON members(user_id) WHERE pull = 1;
-- Rows are appended in commit order (pos is the rowid), so a group commit writes a few
-- sequential pages instead of one page per conversation it touches.
CREATE TABLE events(
  pos INTEGER PRIMARY KEY,                -- global commit position (sync cursor)
  conversation_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  id INTEGER NOT NULL,                    -- snowflake message id (bit pattern of an unsigned 64-bit)
  sender_id INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  client_msg_id TEXT,
  body TEXT NOT NULL DEFAULT '',
  meta TEXT,                              -- JSON details of membership and rename events
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX events_by_conversation ON events(conversation_id, seq);
-- A sender's client_msg_id identifies one message (idempotent sends). Time-ordered ids
-- (UUIDv7-like) keep this index's inserts at the end of each sender's range: cheaper commits.
CREATE UNIQUE INDEX events_dedup ON events(sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE TABLE revoked_tokens(
  token_id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL,
  expires_at INTEGER NOT NULL             -- seconds; rows past it may be purged
) WITHOUT ROWID;
)sql",
      // 2: receipts, privacy settings, replies and threads, edits and deletes, reactions,
      // mentions, pins.
      R"sql(
ALTER TABLE members ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN share_read_receipts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN share_last_seen INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN last_seen_at INTEGER;   -- ms; when the user last went offline
ALTER TABLE events ADD COLUMN reply_to INTEGER;      -- quoted seq
ALTER TABLE events ADD COLUMN thread_root INTEGER;   -- thread root seq
ALTER TABLE events ADD COLUMN target_seq INTEGER;    -- message an edit/delete/reaction/pin event acts on
ALTER TABLE events ADD COLUMN edited_body TEXT;      -- latest text of an edited message
ALTER TABLE events ADD COLUMN edited_at INTEGER;
ALTER TABLE events ADD COLUMN deleted_at INTEGER;    -- set: a tombstone
CREATE INDEX events_by_thread ON events(conversation_id, thread_root, seq) WHERE thread_root IS NOT NULL;
CREATE INDEX events_by_target ON events(conversation_id, target_seq) WHERE target_seq IS NOT NULL;
CREATE TABLE threads(
  conversation_id INTEGER NOT NULL,
  root_seq INTEGER NOT NULL,
  reply_count INTEGER NOT NULL,
  last_reply_seq INTEGER NOT NULL,
  last_reply_at INTEGER NOT NULL,
  PRIMARY KEY(conversation_id, root_seq)
) WITHOUT ROWID;
CREATE TABLE reactions(
  conversation_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  emoji TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY(conversation_id, seq, emoji, user_id)
) WITHOUT ROWID;
CREATE TABLE mentions(
  conversation_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,               -- 0: everyone (@all)
  seq INTEGER NOT NULL,
  sender_id INTEGER NOT NULL,
  PRIMARY KEY(conversation_id, user_id, seq)
) WITHOUT ROWID;
CREATE TABLE pins(
  conversation_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  pinned_by INTEGER NOT NULL,
  pinned_at INTEGER NOT NULL,
  PRIMARY KEY(conversation_id, seq)
) WITHOUT ROWID;
)sql",
      // 3: reactions, and members for "longest-standing", ordered by commit position instead
      // of a millisecond clock (two reactions within one millisecond came out in byte order).
      // Existing reactions take the position of the event that added them; existing members
      // keep their order by join time.
      R"sql(
ALTER TABLE members ADD COLUMN joined_pos INTEGER NOT NULL DEFAULT 0;  -- pos of the event that (re)joined
ALTER TABLE reactions ADD COLUMN added_pos INTEGER NOT NULL DEFAULT 0;
UPDATE reactions SET added_pos = coalesce((
  SELECT max(e.pos) FROM events e
  WHERE e.conversation_id = reactions.conversation_id AND e.target_seq = reactions.seq AND e.kind = 11
    AND e.sender_id = reactions.user_id AND json_extract(e.meta, '$.emoji') = reactions.emoji), 0);
)sql",
      // 4: accounts: the tokens a user holds (devices, revocable one by one), "log out
      // everywhere" cut-offs, username skeletons (display names may not imitate usernames),
      // invite codes.
      R"sql(
CREATE TABLE tokens(
  token_id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,            -- ms
  expires_at INTEGER NOT NULL,            -- seconds
  device TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL DEFAULT '',
  last_active_at INTEGER NOT NULL         -- ms
) WITHOUT ROWID;
CREATE INDEX tokens_by_user ON tokens(user_id, created_at);
ALTER TABLE users ADD COLUMN tokens_valid_after INTEGER NOT NULL DEFAULT 0;  -- seconds; 0 = never cut
ALTER TABLE users ADD COLUMN kept_token_id TEXT;
ALTER TABLE users ADD COLUMN name_skeleton TEXT;      -- NULL until computed (older users: at start-up)
CREATE INDEX users_by_skeleton ON users(name_skeleton);
CREATE TABLE invites(
  id TEXT PRIMARY KEY,
  code_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,            -- ms
  expires_at INTEGER NOT NULL,            -- seconds; 0 = never
  uses_left INTEGER NOT NULL,
  note TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
)sql",
      // 5: each member's own settings of a conversation (mute, archive, pin, marked unread).
      // Pins are ranked per user by a counter, never by a clock; the partial index holds only
      // pinned memberships, so counting a user's pins reads those rows alone.
      R"sql(
ALTER TABLE members ADD COLUMN muted_until INTEGER NOT NULL DEFAULT 0;  -- ms; 0 not muted, -1 until unmuted
ALTER TABLE members ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN pin_rank INTEGER NOT NULL DEFAULT 0;     -- 0 not pinned
ALTER TABLE members ADD COLUMN marked_unread INTEGER NOT NULL DEFAULT 0;
CREATE INDEX members_pinned ON members(user_id, pin_rank) WHERE pin_rank > 0;
)sql",
      // 6: users.search. Each user's folded name terms (username, display name, and the display
      // name from each later word on), keyed by term: a prefix is one range of that key. Users
      // from before get theirs from the upkeep op (search_terms_done = 0 until then).
      R"sql(
ALTER TABLE users ADD COLUMN discoverable INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN search_terms_done INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_without_terms ON users(id) WHERE search_terms_done = 0;
CREATE TABLE user_terms(
  term TEXT NOT NULL,                     -- folded (auth/search_terms.hpp); compared as bytes
  user_id INTEGER NOT NULL,
  PRIMARY KEY(term, user_id)
) WITHOUT ROWID;
CREATE INDEX user_terms_by_user ON user_terms(user_id, term);
)sql",
      // 7: "delete for me" and "clear chat": each member's own hidden messages, keyed like its
      // membership (a member's hides in a range of seqs are one range of the key), and its
      // cleared_seq (reads leave out what is at or below it).
      R"sql(
ALTER TABLE members ADD COLUMN cleared_seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE hidden_messages(
  conversation_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY(conversation_id, user_id, seq)
) WITHOUT ROWID;
)sql",
      // 8: media (issue 14): one row per upload, pending until completed. The partial index
      // holds only pending rows, so the cleanup of expired uploads never reads ready ones.
      R"sql(
CREATE TABLE media(
  id TEXT PRIMARY KEY,
  owner_id INTEGER NOT NULL,
  state INTEGER NOT NULL,                 -- 0 pending, 1 ready
  declared_size INTEGER NOT NULL,
  declared_type TEXT NOT NULL,
  file_name TEXT NOT NULL,
  sha256 TEXT NOT NULL DEFAULT '',
  size INTEGER NOT NULL DEFAULT 0,
  content_type TEXT NOT NULL DEFAULT '',
  width INTEGER NOT NULL DEFAULT 0,
  height INTEGER NOT NULL DEFAULT 0,
  has_thumbnail INTEGER NOT NULL DEFAULT 0,
  preview TEXT NOT NULL DEFAULT '',       -- base64 JPEG
  created_at INTEGER NOT NULL,            -- ms
  expires_at INTEGER NOT NULL,            -- seconds
  completed_at INTEGER NOT NULL DEFAULT 0 -- ms
) WITHOUT ROWID;
CREATE INDEX media_by_owner ON media(owner_id);
CREATE INDEX media_pending_by_expiry ON media(expires_at, id) WHERE state = 0;
)sql",
      // 9: attachments (issue 14). Which messages carry which media, keyed by media (who may
      // download it is one range of the key) and by message (a deletion releases its media).
      // Each media counts its carriers; the partial index holds only uploads no message
      // carries, the ones the cleanup looks at (pending, never attached, released).
      R"sql(
ALTER TABLE media ADD COLUMN ref_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE media ADD COLUMN released INTEGER NOT NULL DEFAULT 0;
DROP INDEX media_pending_by_expiry;
CREATE INDEX media_unreferenced_by_expiry ON media(expires_at, id) WHERE ref_count = 0;
CREATE TABLE message_media(
  media_id TEXT NOT NULL,
  conversation_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY(media_id, conversation_id, seq)
) WITHOUT ROWID;
CREATE INDEX message_media_by_message ON message_media(conversation_id, seq);
)sql",
      // 10: push subscriptions (issue 15): one per (user, kind, endpoint), each tied to the
      // sign-in that registered it; and the notifications owed to them.
      R"sql(
CREATE TABLE push_subscriptions(
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL,
  token_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  p256dh TEXT NOT NULL DEFAULT '',
  auth TEXT NOT NULL DEFAULT '',
  options TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,            -- ms
  UNIQUE(user_id, kind, endpoint)
);
CREATE INDEX push_subscriptions_by_token ON push_subscriptions(token_id);
-- Notifications owed, one per subscription and conversation (later events collapse into it).
CREATE TABLE push_jobs(
  subscription_id INTEGER NOT NULL,
  conversation_id INTEGER NOT NULL,
  user_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,                   -- the newest event it notifies of
  count INTEGER NOT NULL,                 -- events collapsed into it
  mention INTEGER NOT NULL,               -- 1: one of them mentions the user
  first_at INTEGER NOT NULL,              -- ms
  due_at INTEGER NOT NULL,                -- ms; a claim moves it to the end of the lease
  attempts INTEGER NOT NULL,
  PRIMARY KEY(subscription_id, conversation_id)
) WITHOUT ROWID;
CREATE INDEX push_jobs_due ON push_jobs(due_at);
)sql",
      // 11: notification preferences (issue 15): a member's level per conversation (0 the
      // kind's default, 1 all, 2 mentions, 3 none), and a user's do-not-disturb.
      R"sql(
ALTER TABLE members ADD COLUMN notify INTEGER NOT NULL DEFAULT 0;
CREATE TABLE notification_settings(
  user_id INTEGER PRIMARY KEY,
  dnd_until INTEGER NOT NULL,             -- ms; 0 off, -1 until turned off
  timezone TEXT NOT NULL,                 -- quiet hours: '' none, else an IANA zone
  quiet_start INTEGER NOT NULL,           -- minutes after local midnight
  quiet_end INTEGER NOT NULL
);
)sql",
  };
  return list;
}

}  // namespace

int schema_version() { return static_cast<int>(migrations().size()); }

void migrate(Database& db) {
  auto version_statement = db.prepare("PRAGMA user_version");
  version_statement.step();
  const auto applied = static_cast<std::size_t>(version_statement.integer(0));
  version_statement.reset();
  const auto& list = migrations();
  if (applied > list.size())
    throw StoreFailure("database schema version " + std::to_string(applied) + " is newer than this parleyd (" +
                       std::to_string(list.size()) + ")");
  for (std::size_t i = applied; i < list.size(); ++i) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(list[i]);
      db.exec("PRAGMA user_version = " + std::to_string(i + 1));
      db.exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

}  // namespace parley::store::sqlite
