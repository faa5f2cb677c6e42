// Unit tests for the store interface on the SQLite engine: schema and migrations, users,
// conversations and memberships, event sequencing (seq gap-free per conversation, pos global,
// dedup by client_msg_id, rollback without gaps, durability across reopen), history windows,
// the sync queries (first_event_after, changed_conversations) against brute-force models,
// reader snapshots under WAL, revoked tokens, channel search, and the reader pool.
//
// Every test gets a fresh database in its own temporary directory.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/reader_pool.hpp"
#include "scratch_dir.hpp"
#include "test_databases.hpp"
#include "store/sqlite/schema.hpp"
#include "store/store.hpp"

namespace parley::store {
namespace {

using namespace std::chrono_literals;

using testing_support::ScratchDir;

EventRecord draft(ConversationId conversation, UserId sender, std::string body, std::string client_msg_id = {},
                  EventKind kind = EventKind::text) {
  EventRecord e;
  e.conversation_id = conversation;
  e.sender_id = sender;
  e.kind = kind;
  e.body = std::move(body);
  e.client_msg_id = std::move(client_msg_id);
  return e;
}

std::vector<Seq> seqs_of(const std::vector<EventRecord>& events) {
  std::vector<Seq> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

std::set<ConversationId> ids_of(const std::vector<ChangedConversation>& list) {
  std::set<ConversationId> out;
  for (const auto& c : list) out.insert(c.conversation.id);
  return out;
}

// Runs a query on the raw database file (schema checks only; the engine is the thing tested).
std::string query_text(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        if (!out.empty()) out += ",";
        const auto* text = sqlite3_column_text(stmt, 0);
        out += text ? reinterpret_cast<const char*>(text) : "NULL";
      }
      sqlite3_finalize(stmt);
    } else {
      out = std::string("prepare failed: ") + sqlite3_errmsg(db);
    }
  }
  sqlite3_close_v2(db);
  return out;
}

// The store's behaviour, the same on every engine: each test runs on SQLite and on PostgreSQL
// (StoreTest's parameter); StoreSchemaTest holds the SQLite engine's own schema tests.
class StoreFixture {
 protected:
  virtual ~StoreFixture() = default;
  virtual std::string engine_name() const = 0;

  void set_up() {
    PARLEY_SKIP_WITHOUT_POSTGRES(engine_name());
    database_ = std::make_unique<testing_support::TestDatabase>(engine_name());
    open();
  }
  void tear_down() {
    close();
    database_.reset();
  }

  std::string db_path() const { return database_->dir() + "/t.db"; }
  const std::string& url() const { return database_->url(); }

  void open(bool synchronous_full = false) {
    engine_ = open_engine({.url = url(), .synchronous_full = synchronous_full, .cache_mb = 4});
    writer_ = engine_->open_writer();
    reader_ = engine_->open_reader();
  }
  void close() {
    reader_.reset();
    writer_.reset();
    engine_.reset();
  }
  void reopen() {
    close();
    open();
  }

  // Runs `f(txn)` in one committed batch; rolls back and rethrows if it throws.
  template <typename F>
  auto batch(F&& f) {
    WriteTxn& txn = writer_->begin_batch();
    try {
      if constexpr (std::is_void_v<decltype(f(txn))>) {
        f(txn);
        writer_->commit_batch();
      } else {
        auto result = f(txn);
        writer_->commit_batch();
        return result;
      }
    } catch (...) {
      writer_->rollback_batch();
      throw;
    }
  }

  // Runs `f(txn)` in one read transaction of the test's reader connection.
  template <typename F>
  auto read(F&& f) {
    struct End {
      ReaderConnection& reader;
      ~End() { reader.end_read(); }
    };
    ReadTxn& txn = reader_->begin_read();
    End end{*reader_};
    return f(txn);
  }

  UserId make_user(const std::string& name) {
    return batch([&](WriteTxn& txn) { return txn.create_user(name, "User " + name, "hash-" + name, "", "")->id; });
  }

  ConversationId make_conversation(ConversationKind kind, const std::string& title = "",
                                   std::optional<std::pair<UserId, UserId>> pair = std::nullopt) {
    return batch([&](WriteTxn& txn) { return txn.create_conversation(kind, title, "", 1, pair).id; });
  }

  AppendOutcome append(ConversationId conversation, UserId sender, const std::string& body,
                       const std::string& client_msg_id = {}) {
    return batch([&](WriteTxn& txn) { return txn.append_event(draft(conversation, sender, body, client_msg_id)); });
  }

  // A group of `members` (the first one owns it) with `texts` sent by `sender`: seqs 1, 2, ...
  ConversationId make_group(const std::vector<UserId>& members, UserId sender, const std::vector<std::string>& texts) {
    const ConversationId g = make_conversation(ConversationKind::group, "G");
    batch([&](WriteTxn& txn) {
      for (std::size_t i = 0; i < members.size(); ++i)
        txn.add_member(g, ConversationKind::group, members[i], i == 0 ? Role::owner : Role::member, 1, 0);
      for (const auto& text : texts) txn.append_event(draft(g, sender, text));
    });
    return g;
  }

  std::vector<EventRecord> all_events(ConversationId conversation) {
    return read([&](ReadTxn& txn) { return txn.events(conversation, 1, 1'000'000, 1'000'000, false); });
  }

  std::unique_ptr<testing_support::TestDatabase> database_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<WriterConnection> writer_;
  std::unique_ptr<ReaderConnection> reader_;
};

class StoreTest : public StoreFixture, public ::testing::TestWithParam<const char*> {
 protected:
  std::string engine_name() const override { return GetParam(); }
  void SetUp() override { set_up(); }
  void TearDown() override { tear_down(); }
};

#define STORE_SUITE(name)  \
  using name = StoreTest; \
  INSTANTIATE_TEST_SUITE_P(Engines, name, ::testing::Values("sqlite", "postgres"))

// ------------------------------------------------------------------------------ schema

class StoreSchemaTest : public StoreFixture, public ::testing::Test {
 protected:
  std::string engine_name() const override { return "sqlite"; }
  void SetUp() override { set_up(); }
  void TearDown() override { tear_down(); }

  // Takes the database file (closed) back to before migration 7.
  void undo_migration_seven() {
    for (const char* undo : {"DROP TABLE hidden_messages", "ALTER TABLE members DROP COLUMN cleared_seq"})
      EXPECT_EQ(query_text(db_path(), undo), "") << undo;
  }
  // Takes the database file (closed) back to before migration 8 (and 9, 10 and 11: their
  // indexes and columns go with the tables, but members.notify).
  void undo_migration_eight() {
    for (const char* undo : {"DROP TABLE notification_settings", "ALTER TABLE members DROP COLUMN notify", "DROP TABLE push_jobs", "DROP TABLE push_subscriptions", "DROP TABLE message_media", "DROP TABLE media"})
      EXPECT_EQ(query_text(db_path(), undo), "") << undo;
  }
  // Takes the database file (closed) back to before migration 6.
  void undo_migration_six() {
    for (const char* undo : {"DROP TABLE user_terms", "DROP INDEX users_without_terms",
                             "ALTER TABLE users DROP COLUMN discoverable", "ALTER TABLE users DROP COLUMN search_terms_done"})
      EXPECT_EQ(query_text(db_path(), undo), "") << undo;
  }
  // Takes the database file (closed) back to before migration 5.
  void undo_migration_five() {
    for (const char* undo : {"DROP INDEX members_pinned", "ALTER TABLE members DROP COLUMN muted_until",
                             "ALTER TABLE members DROP COLUMN archived", "ALTER TABLE members DROP COLUMN pin_rank",
                             "ALTER TABLE members DROP COLUMN marked_unread"})
      EXPECT_EQ(query_text(db_path(), undo), "") << undo;
  }
};

TEST_F(StoreSchemaTest, MigrationsCreateTheSchemaInWalMode) {
  EXPECT_EQ(query_text(db_path(), "PRAGMA user_version"), std::to_string(sqlite::schema_version()));
  EXPECT_EQ(query_text(db_path(), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query_text(db_path(), "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
            "conversations,events,hidden_messages,invites,media,members,mentions,message_media,notification_settings,pins,push_jobs,push_subscriptions,"
            "reactions,revoked_tokens,threads,tokens,user_terms,users");
  EXPECT_NE(query_text(db_path(), "SELECT name FROM sqlite_master WHERE name = 'events_dedup'"), "");
  EXPECT_EQ(engine_->describe(), "sqlite:" + db_path());
}

// The page size is chosen when the file is created; reopening with another keeps the file's.
TEST_F(StoreSchemaTest, PageSizeAppliesToNewFilesOnly) {
  EXPECT_EQ(query_text(db_path(), "PRAGMA page_size"), "1024");  // the default
  close();
  ScratchDir other("page_size");
  const std::string path = other.path() + "/p.db";
  open_engine({.url = "sqlite:" + path, .page_size = 4096}).reset();
  EXPECT_EQ(query_text(path, "PRAGMA page_size"), "4096");
  open_engine({.url = "sqlite:" + path, .page_size = 2048}).reset();
  EXPECT_EQ(query_text(path, "PRAGMA page_size"), "4096");
}

// The writer never checkpoints itself; the engine's checkpointer thread copies the WAL into the
// database file and, once the WAL holds more than the configured size, starts it over: the WAL
// file keeps the size it reached (commits overwrite it from the start) instead of growing.
TEST_F(StoreSchemaTest, CheckpointerCopiesAndBoundsTheWal) {
  close();
  engine_ = open_engine({.url = "sqlite:" + db_path(), .cache_mb = 4, .wal_max_mb = 1});
  writer_ = engine_->open_writer();
  reader_ = engine_->open_reader();
  const ConversationId c = make_conversation(ConversationKind::group);
  const std::string body(2000, 'b');
  const auto wal = db_path() + "-wal";
  std::uintmax_t largest = 0;
  for (int b = 0; b < 120; ++b) {  // ~12 MB of events over 120 commits, the checkpointer ticking between
    batch([&](WriteTxn& txn) {
      for (int i = 0; i < 50; ++i) txn.append_event(draft(c, 1, body));
    });
    largest = std::max(largest, std::filesystem::file_size(wal));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Without restarts the WAL would hold all 12 MB; a restart is due past 1 MB, and the writer
  // may run one 50 ms tick (~3 commits, ~0.5 MB) and a restart's wait beyond it (more on a
  // starved machine: hence the margin).
  EXPECT_LT(largest, 6u << 20) << "the WAL was never started over";
  EXPECT_GT(std::filesystem::file_size(db_path()), 11u << 20);  // the events reached the database file
  EXPECT_EQ(all_events(c).size(), 6000u);
}

TEST_F(StoreSchemaTest, ReopeningKeepsSchemaVersionAndData) {
  const UserId alice = make_user("alice");
  reopen();
  reopen();  // a second reopen must not re-run (and fail on) the migrations either
  EXPECT_EQ(query_text(db_path(), "PRAGMA user_version"), std::to_string(sqlite::schema_version()));
  const auto user = read([&](ReadTxn& txn) { return txn.user(alice); });
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->username, "alice");
}

// Migration 3 orders reactions by the position of the event that added them: rows stored by
// version 2 (ordered by a millisecond clock) get that position from their reaction.added event.
TEST_F(StoreSchemaTest, MigrationThreeOrdersExistingReactionsByTheirEvents) {
  const ConversationId c = make_conversation(ConversationKind::group);
  const Seq message = append(c, 1, "react to me").event.seq;
  auto react = [&](UserId user, const std::string& emoji) {
    batch([&](WriteTxn& txn) {
      EventRecord e = draft(c, user, "", {}, EventKind::reaction_added);
      e.target_seq = message;
      e.meta_json = R"({"emoji":")" + emoji + R"("})";
      const Pos pos = txn.append_event(std::move(e)).event.pos;
      txn.add_reaction(c, message, user, emoji, pos);
    });
  };
  react(7, "\xf0\x9f\x91\x8d");  // thumbs up, bytes after the party popper's
  react(8, "\xf0\x9f\x8e\x89");
  react(9, "\xf0\x9f\x91\x8d");
  close();
  // Back to version 2: no positions; equal clock readings would sort by bytes.
  query_text(db_path(), "ALTER TABLE reactions DROP COLUMN added_pos");
  query_text(db_path(), "ALTER TABLE members DROP COLUMN joined_pos");
  for (const char* undo4 : {"DROP TABLE tokens", "DROP TABLE invites", "DROP INDEX users_by_skeleton",
                            "ALTER TABLE users DROP COLUMN tokens_valid_after", "ALTER TABLE users DROP COLUMN kept_token_id",
                            "ALTER TABLE users DROP COLUMN name_skeleton"})
    query_text(db_path(), undo4);
  undo_migration_eight();
  undo_migration_seven();
  undo_migration_six();
  undo_migration_five();
  query_text(db_path(), "UPDATE reactions SET created_at = 1");
  query_text(db_path(), "PRAGMA user_version = 2");
  open();
  const auto reactions = read([&](ReadTxn& txn) { return txn.reactions(c, message, message); });
  ASSERT_EQ(reactions.size(), 3u);
  EXPECT_EQ(reactions[0].user_id, 7);
  EXPECT_EQ(reactions[1].user_id, 8);
  EXPECT_EQ(reactions[2].user_id, 9);
}

// Migration 5 gives the members of an existing database their own conversation settings, at
// the defaults, and they can be set at once.
TEST_F(StoreSchemaTest, MigrationFiveAddsConversationSettingsToExistingMembers) {
  const UserId alice = make_user("alice");
  const ConversationId c = make_conversation(ConversationKind::group);
  batch([&](WriteTxn& txn) { txn.add_member(c, ConversationKind::group, alice, Role::owner, 1, 0); });
  close();
  undo_migration_eight();
  undo_migration_seven();
  undo_migration_six();
  undo_migration_five();
  query_text(db_path(), "PRAGMA user_version = 4");
  open();
  EXPECT_EQ(query_text(db_path(), "PRAGMA user_version"), std::to_string(sqlite::schema_version()));
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.member(c, alice)->settings; }), ConversationSettings{});
  const ConversationSettings pinned{.muted_until = -1, .archived = true, .pin_rank = 1, .marked_unread = false};
  batch([&](WriteTxn& txn) { txn.set_conversation_settings(c, alice, pinned); });
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.member(c, alice)->settings; }), pinned);
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.pinned_conversations(alice).count; }), 1);
}

// Migration 7 gives existing members a cleared_seq of 0 and a place for hidden messages.
TEST_F(StoreSchemaTest, MigrationSevenAddsHiddenMessagesToExistingMembers) {
  const UserId alice = make_user("alice");
  const ConversationId c = make_conversation(ConversationKind::group);
  batch([&](WriteTxn& txn) { txn.add_member(c, ConversationKind::group, alice, Role::owner, 1, 0); });
  append(c, alice, "one");
  close();
  undo_migration_eight();
  undo_migration_seven();
  query_text(db_path(), "PRAGMA user_version = 6");
  open();
  EXPECT_EQ(query_text(db_path(), "PRAGMA user_version"), std::to_string(sqlite::schema_version()));
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.member(c, alice)->settings.cleared_seq; }), 0);
  batch([&](WriteTxn& txn) { txn.hide_messages(alice, c, {1}); });
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.hidden_seqs(alice, c, 1, 1); }), std::vector<Seq>{1});
}

TEST_F(StoreSchemaTest, RefusesADatabaseFromANewerVersion) {
  close();
  EXPECT_EQ(query_text(db_path(), "PRAGMA user_version = 99"), "");
  EXPECT_THROW(open_engine({.url = "sqlite:" + db_path()}), StoreFailure);
}

TEST_F(StoreSchemaTest, UnsupportedUrlThrows) {
  EXPECT_THROW(open_engine({.url = "mysql://localhost/parley"}), StoreFailure);
}

// ------------------------------------------------------------------------------- media

STORE_SUITE(StoreMediaTest);

MediaRecord pending_upload(const std::string& id, UserId owner, std::int64_t declared_size, std::int64_t expires_at_s) {
  MediaRecord m;
  m.id = id;
  m.owner_id = owner;
  m.declared_size = declared_size;
  m.declared_type = "image/png";
  m.file_name = "holiday.png";
  m.sha256 = std::string(64, 'a');
  m.created_at_ms = 1'000;
  m.expires_at_s = expires_at_s;
  return m;
}

TEST_P(StoreMediaTest, UploadIsPendingUntilCompletedOnce) {
  EXPECT_TRUE(batch([&](WriteTxn& txn) { return txn.add_media(pending_upload("m1", 7, 5000, 100)); }));
  EXPECT_FALSE(batch([&](WriteTxn& txn) { return txn.add_media(pending_upload("m1", 8, 1, 100)); }));  // id taken
  auto stored = read([&](ReadTxn& txn) { return txn.media("m1"); });
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->owner_id, 7);  // the first one stays
  EXPECT_EQ(stored->state, MediaState::pending);
  EXPECT_EQ(stored->declared_size, 5000);
  EXPECT_EQ(stored->declared_type, "image/png");
  EXPECT_EQ(stored->file_name, "holiday.png");
  EXPECT_EQ(stored->sha256, std::string(64, 'a'));
  EXPECT_EQ(stored->content_type, "");
  EXPECT_FALSE(stored->has_thumbnail);

  MediaRecord done = *stored;
  done.size = 5000;
  done.content_type = "image/png";
  done.width = 640;
  done.height = 480;
  done.has_thumbnail = true;
  done.preview = "/9j/4AAQ";
  done.completed_at_ms = 2'000;
  EXPECT_TRUE(batch([&](WriteTxn& txn) { return txn.complete_media(done); }));
  EXPECT_FALSE(batch([&](WriteTxn& txn) { return txn.complete_media(done); }));  // completed already
  MediaRecord unknown = done;
  unknown.id = "nope";
  EXPECT_FALSE(batch([&](WriteTxn& txn) { return txn.complete_media(unknown); }));
  stored = read([&](ReadTxn& txn) { return txn.media("m1"); });
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->state, MediaState::ready);
  EXPECT_EQ(stored->size, 5000);
  EXPECT_EQ(stored->content_type, "image/png");
  EXPECT_EQ(stored->width, 640);
  EXPECT_EQ(stored->height, 480);
  EXPECT_TRUE(stored->has_thumbnail);
  EXPECT_EQ(stored->preview, "/9j/4AAQ");
  EXPECT_EQ(stored->created_at_ms, 1'000);
  EXPECT_EQ(stored->completed_at_ms, 2'000);

  EXPECT_TRUE(batch([&](WriteTxn& txn) { return txn.delete_media("m1"); }));
  EXPECT_FALSE(batch([&](WriteTxn& txn) { return txn.delete_media("m1"); }));
  EXPECT_FALSE(read([&](ReadTxn& txn) { return txn.media("m1"); }).has_value());
}

TEST_P(StoreMediaTest, UsageCountsPendingAtTheirDeclaredSize) {
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.media_usage(7).bytes; }), 0);
  batch([&](WriteTxn& txn) {
    txn.add_media(pending_upload("a", 7, 1000, 100));
    txn.add_media(pending_upload("b", 7, 3'000'000'000, 100));  // beyond 32 bits
    txn.add_media(pending_upload("c", 8, 50, 100));
  });
  MediaRecord a = pending_upload("a", 7, 1000, 100);
  a.size = 1000;
  a.content_type = "application/pdf";
  batch([&](WriteTxn& txn) { txn.complete_media(a); });
  const MediaUsage usage = read([&](ReadTxn& txn) { return txn.media_usage(7); });
  EXPECT_EQ(usage.bytes, 3'000'001'000);
  EXPECT_EQ(usage.pending, 1);
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.media_usage(8).pending; }), 1);
}

TEST_P(StoreMediaTest, ExpiredUploadsAreTheOnesNoMessageCarriesPastTheirExpiryOldestFirst) {
  const UserId alice = make_user("alice");
  const ConversationId g = make_group({alice}, alice, {"one"});
  batch([&](WriteTxn& txn) {
    txn.add_media(pending_upload("late", 7, 1, 300));
    txn.add_media(pending_upload("early", 7, 1, 100));
    txn.add_media(pending_upload("middle", 7, 1, 200));
    txn.add_media(pending_upload("done", 7, 1, 50));
    txn.add_media(pending_upload("sent", 7, 1, 60));
  });
  MediaRecord done = pending_upload("done", 7, 1, 250);  // completed: a new expiry, if never attached
  done.size = 1;
  MediaRecord sent = pending_upload("sent", 7, 1, 150);
  sent.size = 1;
  batch([&](WriteTxn& txn) {
    txn.complete_media(done);
    txn.complete_media(sent);
    txn.attach_media(g, 1, {"sent"});  // carried by a message: never expires
  });
  auto ids = [&](std::int64_t now_s, int limit) {
    std::vector<std::string> out;
    for (const auto& m : read([&](ReadTxn& txn) { return txn.expired_uploads(now_s, limit); })) out.push_back(m.id);
    return out;
  };
  EXPECT_EQ(ids(99, 10), std::vector<std::string>{});
  EXPECT_EQ(ids(200, 10), (std::vector<std::string>{"early", "middle"}));
  EXPECT_EQ(ids(1000, 2), (std::vector<std::string>{"early", "middle"}));
  EXPECT_EQ(ids(1000, 10), (std::vector<std::string>{"early", "middle", "done", "late"}));
  // A carried media is never deleted.
  EXPECT_FALSE(batch([&](WriteTxn& txn) { return txn.delete_media("sent"); }));
  EXPECT_TRUE(read([&](ReadTxn& txn) { return txn.media("sent"); }).has_value());
}

// Who can see a carried media: the windows of memberships, as for history; a deleted message
// releases its media once no other message carries it.
TEST_P(StoreMediaTest, CarriersDecideWhoSeesAMediaAndTheLastDeletionReleasesIt) {
  const UserId alice = make_user("alice"), bob = make_user("bob"), carol = make_user("carol"), dave = make_user("dave");
  const ConversationId g = make_group({alice, bob}, alice, {"one", "two", "three"});
  batch([&](WriteTxn& txn) {
    txn.add_member(g, ConversationKind::group, carol, Role::member, 3, 0);  // sees seq 3 on
    txn.end_member(g, bob, 2, 0, "G");                                      // saw seqs 1..2
  });
  const ConversationId other = make_group({dave}, dave, {"forwarded"});
  MediaRecord early = pending_upload("early", alice, 1, 100), late = pending_upload("late", alice, 1, 100);
  early.size = late.size = 1;
  batch([&](WriteTxn& txn) {
    txn.add_media(early);
    txn.add_media(late);
    txn.complete_media(early);
    txn.complete_media(late);
    txn.attach_media(g, 1, {"early"});
    txn.attach_media(g, 3, {"late", "early"});
    txn.attach_media(g, 3, {"late"});  // recorded already: counted once
  });
  auto visible = [&](UserId user, const std::string& id) {
    return read([&](ReadTxn& txn) { return txn.media_visible_to(user, id); });
  };
  EXPECT_TRUE(visible(alice, "early") && visible(alice, "late"));
  EXPECT_TRUE(visible(bob, "early"));    // a former member: up to its leaving
  EXPECT_FALSE(visible(bob, "late"));
  EXPECT_TRUE(visible(carol, "late") && visible(carol, "early"));  // early is also carried by seq 3
  EXPECT_FALSE(visible(dave, "early"));  // not a member
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.media("early")->ref_count; }), 2);
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.media("late")->ref_count; }), 1);

  batch([&](WriteTxn& txn) { txn.attach_media(other, 1, {"early"}); });  // forwarded
  EXPECT_TRUE(visible(dave, "early"));
  batch([&](WriteTxn& txn) { txn.erase_message(g, 3, 5'000); });
  EXPECT_FALSE(visible(carol, "late"));
  EXPECT_FALSE(visible(carol, "early"));  // seq 1 is before her window
  EXPECT_TRUE(visible(bob, "early"));
  auto late_now = read([&](ReadTxn& txn) { return txn.media("late"); });
  EXPECT_EQ(late_now->ref_count, 0);
  EXPECT_TRUE(late_now->released);
  EXPECT_EQ(late_now->expires_at_s, 0);  // due at once
  batch([&](WriteTxn& txn) { txn.erase_message(g, 3, 6'000); });  // again: nothing more to release
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.media("early")->ref_count; }), 2);
  batch([&](WriteTxn& txn) {
    txn.erase_message(g, 1, 7'000);
    txn.erase_message(other, 1, 7'000);
  });
  auto early_now = read([&](ReadTxn& txn) { return txn.media("early"); });
  EXPECT_EQ(early_now->ref_count, 0);
  EXPECT_TRUE(early_now->released);
  std::vector<std::string> due;
  for (const auto& m : read([&](ReadTxn& txn) { return txn.expired_uploads(1, 10); })) due.push_back(m.id);
  EXPECT_EQ(due, (std::vector<std::string>{"early", "late"}));
}

// ------------------------------------------------------------------------------- users

STORE_SUITE(StorePushTest);

PushSubscriptionRecord subscription(UserId user, const std::string& token_id, const std::string& endpoint) {
  PushSubscriptionRecord p;
  p.user_id = user;
  p.token_id = token_id;
  p.kind = "webpush";
  p.endpoint = endpoint;
  p.p256dh = "BPublicKey";
  p.auth = "secret";
  p.created_at_ms = 1'000;
  return p;
}

TokenRecord token_of(UserId user, const std::string& id, std::int64_t expires_at_s) {
  TokenRecord t;
  t.token_id = id;
  t.user_id = user;
  t.created_at_ms = 1'000;
  t.expires_at_s = expires_at_s;
  return t;
}

TEST_P(StorePushTest, OneSubscriptionPerUserKindAndEndpointReplacedInPlace) {
  const auto a = batch([&](WriteTxn& txn) { return txn.save_push_subscription(subscription(7, "t1", "https://push/a")); });
  const auto b = batch([&](WriteTxn& txn) { return txn.save_push_subscription(subscription(7, "t1", "https://push/b")); });
  EXPECT_NE(a, b);
  // The same endpoint again (a browser re-subscribing after a new sign-in): same id and
  // creation time, the new token and keys.
  auto again = subscription(7, "t2", "https://push/a");
  again.p256dh = "BOther";
  again.options = R"({"x":1})";
  again.created_at_ms = 5'000;
  EXPECT_EQ(batch([&](WriteTxn& txn) { return txn.save_push_subscription(again); }), a);
  // Another user may hold the same endpoint (two accounts in one browser profile).
  const auto c = batch([&](WriteTxn& txn) { return txn.save_push_subscription(subscription(8, "t3", "https://push/a")); });
  EXPECT_NE(c, a);
  auto mine = read([&](ReadTxn& txn) { return txn.push_subscriptions(7); });
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].id, a);
  EXPECT_EQ(mine[0].token_id, "t2");
  EXPECT_EQ(mine[0].p256dh, "BOther");
  EXPECT_EQ(mine[0].auth, "secret");
  EXPECT_EQ(mine[0].options, R"({"x":1})");
  EXPECT_EQ(mine[0].created_at_ms, 1'000);
  EXPECT_EQ(mine[0].kind, "webpush");
  EXPECT_EQ(mine[0].endpoint, "https://push/a");
  EXPECT_EQ(mine[1].id, b);
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.push_subscriptions(8); }).size(), 1u);
  // Only one's own can be deleted.
  EXPECT_FALSE(batch([&](WriteTxn& txn) { return txn.delete_push_subscription(8, a); }));
  EXPECT_TRUE(batch([&](WriteTxn& txn) { return txn.delete_push_subscription(7, a); }));
  EXPECT_FALSE(batch([&](WriteTxn& txn) { return txn.delete_push_subscription(7, a); }));
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.push_subscriptions(7); }).size(), 1u);
}

TEST_P(StorePushTest, SubscriptionsGoWithTheTokenThatRegisteredThem) {
  batch([&](WriteTxn& txn) {
    txn.add_token(token_of(7, "t1", 100));
    txn.add_token(token_of(7, "t2", 100));
    txn.add_token(token_of(7, "t3", 50));
    txn.save_push_subscription(subscription(7, "t1", "https://push/1"));
    txn.save_push_subscription(subscription(7, "t2", "https://push/2"));
    txn.save_push_subscription(subscription(7, "t3", "https://push/3"));
    txn.save_push_subscription(subscription(7, "host-jwt", "https://push/4"));  // a token with no row
  });
  auto endpoints = [&] {
    std::vector<std::string> out;
    for (const auto& p : read([&](ReadTxn& txn) { return txn.push_subscriptions(7); })) out.push_back(p.endpoint);
    return out;
  };
  EXPECT_TRUE(batch([&](WriteTxn& txn) { return txn.delete_token("t1"); }));  // logout
  EXPECT_EQ(endpoints(), (std::vector<std::string>{"https://push/2", "https://push/3", "https://push/4"}));
  batch([&](WriteTxn& txn) { txn.purge_expired(60); });  // t3 expired at 50
  EXPECT_EQ(endpoints(), (std::vector<std::string>{"https://push/2", "https://push/4"}));
  batch([&](WriteTxn& txn) { txn.delete_tokens_of(7, ""); });  // log out everywhere
  EXPECT_EQ(endpoints(), (std::vector<std::string>{"https://push/4"}));
}

// The jobs of each subscription, as "user:conversation:seq:count:mention", sorted.
std::vector<std::string> queued_jobs(std::vector<PushJobRecord> jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs)
    out.push_back(j.subscription.endpoint + ":" + std::to_string(j.key.conversation_id) + ":" + std::to_string(j.seq) +
                  ":" + std::to_string(j.count) + ":" + (j.mention ? "m" : "-"));
  std::sort(out.begin(), out.end());
  return out;
}

TEST_P(StorePushTest, EventsQueueOneCollapsingJobPerSubscriptionAndConversation) {
  const UserId alice = make_user("alice"), bob = make_user("bob"), carol = make_user("carol"), dave = make_user("dave");
  const ConversationId g = make_conversation(ConversationKind::group);
  const ConversationId h = make_conversation(ConversationKind::group);
  batch([&](WriteTxn& txn) {
    for (UserId u : {alice, bob, carol, dave}) txn.add_member(g, ConversationKind::group, u, Role::member, 1, 0);
    txn.add_member(h, ConversationKind::group, bob, Role::member, 1, 0);
    txn.save_push_subscription(subscription(alice, "ta", "a"));  // the sender: never notified
    txn.save_push_subscription(subscription(bob, "tb", "b1"));
    txn.save_push_subscription(subscription(bob, "tb", "b2"));
    txn.save_push_subscription(subscription(dave, "td", "d"));
    // carol has no subscription
    txn.end_member(g, dave, 1, 0, "");  // dave left
  });
  batch([&](WriteTxn& txn) {
    txn.queue_push(g, 2, alice, PushAudience::members, 100);
    txn.add_mentions(g, 3, {bob});
    txn.queue_push(g, 3, alice, PushAudience::members, 110);
    txn.queue_push(h, 1, alice, PushAudience::members, 120);  // alice is no member of h: bob still is
  });
  auto jobs = batch([&](WriteTxn& txn) { return txn.claim_push_jobs(1'000, 5'000, 100); });
  EXPECT_EQ(queued_jobs(jobs), (std::vector<std::string>{"b1:" + std::to_string(g) + ":3:2:m", "b1:" + std::to_string(h) + ":1:1:-",
                                                         "b2:" + std::to_string(g) + ":3:2:m", "b2:" + std::to_string(h) + ":1:1:-"}));
  for (const auto& j : jobs) {
    EXPECT_EQ(j.user_id, bob);
    EXPECT_EQ(j.subscription.user_id, bob);
    EXPECT_EQ(j.first_at_ms, j.key.conversation_id == g ? 100 : 120);
    EXPECT_EQ(j.attempts, 0);
  }
  // A channel notifies only those its message mentions; everyone (0) is everyone.
  const ConversationId c = make_conversation(ConversationKind::channel);
  batch([&](WriteTxn& txn) {
    for (UserId u : {alice, bob, carol}) txn.add_member(c, ConversationKind::channel, u, Role::member, 1, 0);
    txn.save_push_subscription(subscription(carol, "tc", "c"));
    txn.queue_push(c, 1, alice, PushAudience::mentioned, 200);
    txn.add_mentions(c, 2, {carol});
    txn.queue_push(c, 2, alice, PushAudience::mentioned, 210);
    txn.add_mentions(c, 3, {0});
    txn.queue_push(c, 3, carol, PushAudience::mentioned, 220);
  });
  jobs = batch([&](WriteTxn& txn) { return txn.claim_push_jobs(1'000, 5'000, 100); });
  // (carol sent the third: alice is notified of it, carol is not)
  EXPECT_EQ(queued_jobs(jobs), (std::vector<std::string>{"a:" + std::to_string(c) + ":3:1:m", "b1:" + std::to_string(c) + ":3:1:m",
                                                         "b2:" + std::to_string(c) + ":3:1:m", "c:" + std::to_string(c) + ":2:1:m"}));
  // One user's subscriptions (a reaction to their message).
  batch([&](WriteTxn& txn) { txn.queue_push_to(carol, g, 9, 300); });
  jobs = batch([&](WriteTxn& txn) { return txn.claim_push_jobs(1'000, 5'000, 100); });
  EXPECT_EQ(queued_jobs(jobs), (std::vector<std::string>{"c:" + std::to_string(g) + ":9:1:-"}));
}

// queue_push and queue_push_to say whether there may be a job to send: the service wakes the
// dispatcher only then. True whenever one was queued; an engine that can tell (SQLite) says
// false when nobody could be notified, so messages between users without push cost no claim.
TEST_P(StorePushTest, QueueingSaysWhetherAJobMayHaveBeenQueued) {
  const UserId alice = make_user("alice"), bob = make_user("bob"), carol = make_user("carol");
  const ConversationId quiet = make_conversation(ConversationKind::group);
  const ConversationId g = make_conversation(ConversationKind::group);
  batch([&](WriteTxn& txn) {
    for (UserId u : {alice, carol}) txn.add_member(quiet, ConversationKind::group, u, Role::member, 1, 0);
    for (UserId u : {alice, bob}) txn.add_member(g, ConversationKind::group, u, Role::member, 1, 0);
    txn.save_push_subscription(subscription(bob, "tb", "b"));
  });
  bool to_members = false, to_author = false, to_nobody = true, to_unsubscribed = true;
  batch([&](WriteTxn& txn) {
    to_members = txn.queue_push(g, 1, alice, PushAudience::members, 100);
    to_author = txn.queue_push_to(bob, g, 1, 100);
    to_nobody = txn.queue_push(quiet, 1, alice, PushAudience::members, 100);
    to_unsubscribed = txn.queue_push_to(carol, quiet, 1, 100);
  });
  EXPECT_TRUE(to_members);
  EXPECT_TRUE(to_author);
  const auto jobs = batch([&](WriteTxn& txn) { return txn.claim_push_jobs(1'000, 5'000, 100); });
  EXPECT_EQ(queued_jobs(jobs), (std::vector<std::string>{"b:" + std::to_string(g) + ":1:2:-"}));
  if (std::string(GetParam()) == "sqlite") {  // PostgreSQL pipelines the insert and says "maybe"
    EXPECT_FALSE(to_nobody);
    EXPECT_FALSE(to_unsubscribed);
  }
}

TEST_P(StorePushTest, AMembersNotifyLevelDecidesWhatIsQueuedAndEndsWithTheMembership) {
  const UserId alice = make_user("alice"), bob = make_user("bob"), carol = make_user("carol"), dave = make_user("dave");
  const ConversationId g = make_conversation(ConversationKind::group);
  const ConversationId c = make_conversation(ConversationKind::channel);
  auto level = [](NotifyLevel notify) {
    ConversationSettings settings;
    settings.notify = notify;
    return settings;
  };
  batch([&](WriteTxn& txn) {
    for (UserId u : {alice, bob, carol}) txn.add_member(g, ConversationKind::group, u, Role::member, 1, 0);
    for (UserId u : {alice, bob, dave}) txn.add_member(c, ConversationKind::channel, u, Role::member, 1, 0);
    txn.save_push_subscription(subscription(bob, "tb", "b"));
    txn.save_push_subscription(subscription(carol, "tc", "c"));
    txn.save_push_subscription(subscription(dave, "td", "d"));
    txn.set_conversation_settings(g, bob, level(NotifyLevel::mentions));
    txn.set_conversation_settings(g, carol, level(NotifyLevel::none));
    txn.set_conversation_settings(c, dave, level(NotifyLevel::all));
  });
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.member(g, bob); })->settings.notify, NotifyLevel::mentions);
  batch([&](WriteTxn& txn) {
    txn.queue_push(g, 2, alice, PushAudience::members, 100);  // bob: not mentioned; carol: none
    txn.add_mentions(g, 3, {bob, carol});
    txn.queue_push(g, 3, alice, PushAudience::members, 110);  // bob: mentioned; carol: still none
    txn.queue_push(c, 1, alice, PushAudience::mentioned, 120);  // dave takes every message; bob the default
    txn.queue_push_to(carol, g, 4, 130);                        // a reaction: carol's none holds
  });
  auto jobs = batch([&](WriteTxn& txn) { return txn.claim_push_jobs(1'000, 5'000, 100); });
  EXPECT_EQ(queued_jobs(jobs),
            (std::vector<std::string>{"b:" + std::to_string(g) + ":3:1:m", "d:" + std::to_string(c) + ":1:1:-"}));
  // The level ends with the membership, and the read of a former member shows the default.
  batch([&](WriteTxn& txn) {
    txn.end_member(g, carol, 4, 0, "");
    txn.add_member(g, ConversationKind::group, carol, Role::member, 5, 0);
  });
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.member(g, carol); })->settings.notify, NotifyLevel::kind_default);
}

TEST_P(StorePushTest, NotificationSettingsAreKeptPerUser) {
  const UserId alice = make_user("alice"), bob = make_user("bob");
  EXPECT_EQ(batch([&](WriteTxn& txn) { return txn.notification_settings(alice); }), NotificationSettings{});
  NotificationSettings quiet;
  quiet.dnd_until = -1;
  quiet.timezone = "Europe/Berlin";
  quiet.quiet_start_min = 22 * 60;
  quiet.quiet_end_min = 7 * 60 + 30;
  batch([&](WriteTxn& txn) { txn.set_notification_settings(alice, quiet); });
  EXPECT_EQ(batch([&](WriteTxn& txn) { return txn.notification_settings(alice); }), quiet);
  EXPECT_EQ(batch([&](WriteTxn& txn) { return txn.notification_settings(bob); }), NotificationSettings{});
  quiet.dnd_until = 0;
  quiet.timezone.clear();
  batch([&](WriteTxn& txn) { txn.set_notification_settings(alice, quiet); });
  EXPECT_EQ(batch([&](WriteTxn& txn) { return txn.notification_settings(alice); }), quiet);
}

TEST_P(StorePushTest, ClaimedJobsWaitForTheirLeaseAndFinishOnlyAsOfWhatWasSent) {
  const UserId alice = make_user("alice"), bob = make_user("bob");
  const ConversationId g = make_conversation(ConversationKind::group);
  std::int64_t sub = 0;
  batch([&](WriteTxn& txn) {
    for (UserId u : {alice, bob}) txn.add_member(g, ConversationKind::group, u, Role::member, 1, 0);
    sub = txn.save_push_subscription(subscription(bob, "tb", "b"));
    txn.queue_push(g, 1, alice, PushAudience::members, 100);
  });
  EXPECT_TRUE(batch([&](WriteTxn& txn) { return txn.claim_push_jobs(99, 5'000, 10); }).empty());  // not yet due
  auto jobs = batch([&](WriteTxn& txn) { return txn.claim_push_jobs(100, 5'000, 10); });
  ASSERT_EQ(jobs.size(), 1u);
  const PushJobKey key{sub, g};
  EXPECT_EQ(jobs[0].key, key);
  EXPECT_TRUE(batch([&](WriteTxn& txn) { return txn.claim_push_jobs(4'999, 9'000, 10); }).empty());  // leased
  // A newer event collapses into the claimed job while it is being sent: finishing as of seq 1
  // leaves it due at once for the one event not yet sent.
  batch([&](WriteTxn& txn) { txn.queue_push(g, 2, alice, PushAudience::members, 200); });
  batch([&](WriteTxn& txn) { txn.finish_push_job(key, 1, 1, 300); });
  jobs = batch([&](WriteTxn& txn) { return txn.claim_push_jobs(300, 5'000, 10); });
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].seq, 2);
  EXPECT_EQ(jobs[0].count, 1);
  // A failed send waits for its retry, attempts counted.
  batch([&](WriteTxn& txn) { txn.defer_push_job(key, 700, 1); });
  EXPECT_TRUE(batch([&](WriteTxn& txn) { return txn.claim_push_jobs(699, 5'000, 10); }).empty());
  jobs = batch([&](WriteTxn& txn) { return txn.claim_push_jobs(700, 5'000, 10); });
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].attempts, 1);
  // A lease that ran out (the node died): due again.
  jobs = batch([&](WriteTxn& txn) { return txn.claim_push_jobs(5'000, 9'000, 10); });
  ASSERT_EQ(jobs.size(), 1u);
  batch([&](WriteTxn& txn) { txn.finish_push_job(key, 2, 1, 5'100); });
  EXPECT_TRUE(batch([&](WriteTxn& txn) { return txn.claim_push_jobs(1'000'000, 2'000'000, 10); }).empty());
}

TEST_P(StorePushTest, JobsGoWithTheirSubscription) {
  const UserId alice = make_user("alice"), bob = make_user("bob");
  const ConversationId g = make_conversation(ConversationKind::group);
  std::int64_t removed = 0;
  batch([&](WriteTxn& txn) {
    for (UserId u : {alice, bob}) txn.add_member(g, ConversationKind::group, u, Role::member, 1, 0);
    txn.add_token(token_of(bob, "t1", 100));
    txn.add_token(token_of(bob, "t2", 50));
    txn.add_token(token_of(bob, "t3", 100));
    removed = txn.save_push_subscription(subscription(bob, "t1", "1"));
    txn.save_push_subscription(subscription(bob, "t2", "2"));
    txn.save_push_subscription(subscription(bob, "t3", "3"));
    txn.save_push_subscription(subscription(bob, "t3", "4"));
    txn.queue_push(g, 1, alice, PushAudience::members, 100);
  });
  batch([&](WriteTxn& txn) {
    txn.delete_push_subscription(bob, removed);
    txn.purge_expired(60);   // t2
    txn.delete_token("t3");  // logout
  });
  EXPECT_TRUE(batch([&](WriteTxn& txn) { return txn.claim_push_jobs(1'000, 5'000, 10); }).empty());
  // Nothing left behind to be claimed by a subscription created later with a reused id.
  batch([&](WriteTxn& txn) {
    txn.save_push_subscription(subscription(bob, "t9", "9"));
    txn.queue_push(g, 2, alice, PushAudience::members, 100);
  });
  EXPECT_EQ(queued_jobs(batch([&](WriteTxn& txn) { return txn.claim_push_jobs(1'000, 5'000, 10); })),
            (std::vector<std::string>{"9:" + std::to_string(g) + ":2:1:-"}));
}

STORE_SUITE(StoreUserTest);

TEST_P(StoreUserTest, CreateAndLookUp) {
  const auto created = batch([](WriteTxn& txn) { return txn.create_user("alice", "Alice A.", "$argon2id$x", "ext-1", ""); });
  ASSERT_TRUE(created.has_value());
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(created->username, "alice");
  EXPECT_EQ(created->display_name, "Alice A.");
  EXPECT_GT(created->created_at_ms, 0);
  const auto host_user = batch([](WriteTxn& txn) { return txn.create_user("bob", "Bob", "", "", ""); });
  ASSERT_TRUE(host_user.has_value());
  EXPECT_NE(host_user->id, created->id);

  read([&](ReadTxn& txn) {
    const auto by_id = txn.user(created->id);
    ASSERT_TRUE(by_id.has_value());
    EXPECT_EQ(by_id->username, "alice");
    EXPECT_EQ(by_id->display_name, "Alice A.");
    EXPECT_EQ(by_id->created_at_ms, created->created_at_ms);
    EXPECT_EQ(txn.user_by_username("alice")->id, created->id);
    EXPECT_EQ(txn.user_by_external_id("ext-1")->id, created->id);
    const auto credentials = txn.credentials("alice");
    ASSERT_TRUE(credentials.has_value());
    EXPECT_EQ(credentials->id, created->id);
    EXPECT_EQ(credentials->password_hash, "$argon2id$x");
    EXPECT_EQ(txn.credentials("bob")->password_hash, "");  // no password: empty, not absent
    EXPECT_FALSE(txn.user(created->id + 1000).has_value());
    EXPECT_FALSE(txn.user_by_username("carol").has_value());
    EXPECT_FALSE(txn.credentials("carol").has_value());
    EXPECT_FALSE(txn.user_by_external_id("ext-2").has_value());
    EXPECT_FALSE(txn.user_by_external_id("").has_value());  // "no external id" is not a key
  });
}

TEST_P(StoreUserTest, SameUsernameIsAConflict) {
  const UserId alice = make_user("alice");
  EXPECT_FALSE(batch([](WriteTxn& txn) { return txn.create_user("alice", "Impostor", "h", "ext-9", ""); }).has_value());
  // Within one batch too, and the batch still commits its other work.
  batch([](WriteTxn& txn) {
    EXPECT_TRUE(txn.create_user("carol", "Carol", "h", "", "").has_value());
    EXPECT_FALSE(txn.create_user("carol", "Carol 2", "h", "", "").has_value());
  });
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.user_by_username("alice")->id, alice);
    EXPECT_EQ(txn.user_by_username("alice")->display_name, "User alice");  // unchanged
    EXPECT_FALSE(txn.user_by_external_id("ext-9").has_value());           // nothing of the refused one
    EXPECT_EQ(txn.user_by_username("carol")->display_name, "Carol");
  });
}

TEST_P(StoreUserTest, SameExternalIdIsAConflict) {
  ASSERT_TRUE(batch([](WriteTxn& txn) { return txn.create_user("alice", "", "", "sub-42", ""); }).has_value());
  EXPECT_FALSE(batch([](WriteTxn& txn) { return txn.create_user("bob", "", "", "sub-42", ""); }).has_value());
  // Users without an external id never conflict with each other.
  EXPECT_TRUE(batch([](WriteTxn& txn) { return txn.create_user("carol", "", "h", "", ""); }).has_value());
  EXPECT_TRUE(batch([](WriteTxn& txn) { return txn.create_user("dave", "", "h", "", ""); }).has_value());
  read([&](ReadTxn& txn) {
    EXPECT_FALSE(txn.user_by_username("bob").has_value());
    EXPECT_EQ(txn.user_by_external_id("sub-42")->username, "alice");
  });
}

TEST_P(StoreUserTest, DisplayNameIsReplacedWithTheSearchTerms) {
  const UserId alice = make_user("alice"), bob = make_user("bob");
  batch([&](WriteTxn& txn) {
    txn.set_search_terms(alice, {"alice", "user alice"});
    txn.set_search_terms(bob, {"bob", "user bob"});
  });
  batch([&](WriteTxn& txn) {
    txn.set_display_name(alice, "Zed Quux");
    txn.set_search_terms(alice, {"alice", "zed quux", "quux"});
    EXPECT_EQ(txn.user(alice)->display_name, "Zed Quux");  // the batch reads its own write
  });
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.user(alice)->display_name, "Zed Quux");
    EXPECT_EQ(txn.user_by_username("alice")->display_name, "Zed Quux");
    EXPECT_EQ(txn.user(bob)->display_name, "User bob");  // nobody else changes
    const auto found = txn.search_directory("quux", "quuy", "", 0, 0, 10);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].user.id, alice);
    EXPECT_EQ(found[0].user.display_name, "Zed Quux");
    EXPECT_TRUE(txn.search_directory("user a", "user b", "", 0, 0, 10).empty());  // the old name is gone
  });
  // A rolled-back batch leaves the old name and terms.
  EXPECT_THROW(batch([&](WriteTxn& txn) {
                 txn.set_display_name(alice, "Never");
                 txn.set_search_terms(alice, {"never"});
                 throw StoreFailure("rolled back");
               }),
               StoreFailure);
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.user(alice)->display_name, "Zed Quux");
    EXPECT_TRUE(txn.search_directory("never", "nevf", "", 0, 0, 10).empty());
  });
}

// ----------------------------------------------------------------------- conversations

STORE_SUITE(StoreConversationTest);

TEST_P(StoreConversationTest, CreateAddEndAndRejoinMembers) {
  const UserId alice = make_user("alice"), bob = make_user("bob");
  const auto group = batch([&](WriteTxn& txn) {
    auto c = txn.create_conversation(ConversationKind::group, "Team", "plans", alice, std::nullopt);
    const auto created = txn.append_event(draft(c.id, alice, "", "", EventKind::conversation_created)).event;
    txn.add_member(c.id, ConversationKind::group, alice, Role::owner, created.seq, created.pos);
    const auto added = txn.append_event(draft(c.id, alice, "", "", EventKind::member_added)).event;
    txn.add_member(c.id, ConversationKind::group, bob, Role::member, created.seq, added.pos);
    return c;
  });
  EXPECT_GT(group.id, 0);
  EXPECT_EQ(group.kind, ConversationKind::group);
  EXPECT_EQ(group.title, "Team");
  EXPECT_EQ(group.topic, "plans");
  EXPECT_EQ(group.created_by, alice);

  read([&](ReadTxn& txn) {
    const auto c = txn.conversation(group.id);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->title, "Team");
    EXPECT_EQ(c->member_count, 2);
    EXPECT_EQ(c->last_seq, 2);
    const auto m = txn.member(group.id, bob);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->role, Role::member);
    EXPECT_EQ(m->visible_from_seq, 1);
    EXPECT_TRUE(m->active());
    EXPECT_EQ(m->last_pos, c->last_pos);  // maintained at commit for group members
    EXPECT_EQ(txn.member(group.id, alice)->role, Role::owner);
    EXPECT_FALSE(txn.member(group.id, alice + bob + 100).has_value());
    const auto members = txn.active_members(group.id);
    ASSERT_EQ(members.size(), 2u);
    EXPECT_EQ((std::set<UserId>{members[0].user_id, members[1].user_id}), (std::set<UserId>{alice, bob}));
    EXPECT_EQ(txn.active_conversation_ids(bob), std::vector<ConversationId>{group.id});
    const auto mine = txn.user_conversations(bob);
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].conversation.id, group.id);
    EXPECT_EQ(mine[0].member.user_id, bob);
  });

  batch([&](WriteTxn& txn) {
    txn.set_title(group.id, "Renamed");
    txn.set_role(group.id, bob, Role::admin);
    const auto removed = txn.append_event(draft(group.id, alice, "", "", EventKind::member_removed)).event;
    txn.end_member(group.id, bob, removed.seq, removed.pos, "g");
    txn.end_member(group.id, bob, removed.seq, removed.pos, "g");  // already ended: no double count
  });
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.conversation(group.id)->title, "Renamed");
    EXPECT_EQ(txn.conversation(group.id)->member_count, 1);
    const auto m = txn.member(group.id, bob);
    ASSERT_TRUE(m.has_value());
    EXPECT_FALSE(m->active());
    EXPECT_EQ(m->left_seq, 3);
    EXPECT_EQ(m->role, Role::admin);
    EXPECT_EQ(txn.active_members(group.id).size(), 1u);
    EXPECT_TRUE(txn.active_conversation_ids(bob).empty());
    EXPECT_TRUE(txn.user_conversations(bob).empty());
  });

  batch([&](WriteTxn& txn) {
    const auto added = txn.append_event(draft(group.id, alice, "", "", EventKind::member_added)).event;
    txn.add_member(group.id, ConversationKind::group, bob, Role::member, added.seq, added.pos);
  });
  read([&](ReadTxn& txn) {
    const auto m = txn.member(group.id, bob);
    ASSERT_TRUE(m.has_value());
    EXPECT_TRUE(m->active());
    EXPECT_EQ(m->visible_from_seq, 4);
    EXPECT_EQ(m->role, Role::member);
    EXPECT_EQ(txn.conversation(group.id)->member_count, 2);
    EXPECT_EQ(txn.active_conversation_ids(bob), std::vector<ConversationId>{group.id});
  });
}

TEST_P(StoreConversationTest, DirectConversationIsSymmetric) {
  const UserId a = make_user("a"), b = make_user("b"), c = make_user("c");
  // Created with the pair in descending order; found in either.
  const ConversationId direct = make_conversation(ConversationKind::direct, "", std::make_pair(b, a));
  const ConversationId other = make_conversation(ConversationKind::direct, "", std::make_pair(a, c));
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.direct_conversation(a, b), direct);
    EXPECT_EQ(txn.direct_conversation(b, a), direct);
    EXPECT_EQ(txn.direct_conversation(c, a), other);
    EXPECT_FALSE(txn.direct_conversation(b, c).has_value());
    EXPECT_EQ(txn.conversation(direct)->kind, ConversationKind::direct);
  });
}

// Presence audiences: users sharing an active direct or group conversation, never channel
// members, never a member who left; peers() and presence_audiences() agree.
TEST_P(StoreConversationTest, PeersAndPresenceAudiences) {
  const UserId a = make_user("a"), b = make_user("b"), c = make_user("c"), d = make_user("d"),
               e = make_user("e"), lonely = make_user("lonely");
  const ConversationId direct = make_conversation(ConversationKind::direct, "", std::make_pair(a, b));
  const ConversationId group = make_conversation(ConversationKind::group, "g");
  const ConversationId channel = make_conversation(ConversationKind::channel, "news");
  batch([&](WriteTxn& txn) {
    for (UserId u : {a, b}) txn.add_member(direct, ConversationKind::direct, u, Role::member, 1, 1);
    for (UserId u : {a, c, d}) txn.add_member(group, ConversationKind::group, u, Role::member, 1, 1);
    for (UserId u : {a, e}) txn.add_member(channel, ConversationKind::channel, u, Role::member, 1, 1);
    txn.end_member(group, d, 2, 2, "g");
    txn.set_privacy(c, true, false, true);
  });
  const std::vector<UserId> none;
  read([&](ReadTxn& txn) {
    auto sorted = [](std::vector<UserId> v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    EXPECT_EQ(sorted(txn.peers(a)), (std::vector<UserId>{b, c}));  // b once, not e (channel), not d (left)
    EXPECT_EQ(sorted(txn.peers(c)), std::vector<UserId>{a});
    EXPECT_EQ(txn.peers(d), none);
    EXPECT_EQ(txn.peers(e), none);
    // Unknown ids are left out, duplicates answered once, ascending by user.
    const UserId unknown = lonely + 1000;
    const auto audiences = txn.presence_audiences({unknown, c, a, lonely, a});
    ASSERT_EQ(audiences.size(), 3u);
    EXPECT_EQ(audiences[0].user, a);
    EXPECT_EQ(audiences[0].peers, (std::vector<UserId>{b, c}));
    EXPECT_TRUE(audiences[0].share_last_seen);
    EXPECT_EQ(audiences[1].user, c);
    EXPECT_EQ(audiences[1].peers, std::vector<UserId>{a});
    EXPECT_FALSE(audiences[1].share_last_seen);
    EXPECT_EQ(audiences[2].user, lonely);
    EXPECT_EQ(audiences[2].peers, none);
    EXPECT_EQ(find_audience(audiences, c), &audiences[1]);
    EXPECT_EQ(find_audience(audiences, unknown), nullptr);
    EXPECT_TRUE(txn.presence_audiences({}).empty());
  });
}

TEST_P(StoreConversationTest, UserConversationsMostRecentActivityFirst) {
  const UserId alice = make_user("alice");
  std::vector<ConversationId> ids;
  for (int i = 0; i < 3; ++i) {
    const ConversationId id = make_conversation(ConversationKind::group, "g" + std::to_string(i));
    batch([&](WriteTxn& txn) { txn.add_member(id, ConversationKind::group, alice, Role::member, 1, 0); });
    ids.push_back(id);
  }
  std::this_thread::sleep_for(3ms);  // last_event_at has millisecond resolution
  append(ids[0], alice, "wake up");
  auto order = [&] {
    std::vector<ConversationId> out;
    for (const auto& c : read([&](ReadTxn& txn) { return txn.user_conversations(alice); })) out.push_back(c.conversation.id);
    return out;
  };
  EXPECT_EQ(order().front(), ids[0]);
  std::this_thread::sleep_for(3ms);
  append(ids[1], alice, "me too");
  const auto now = order();
  ASSERT_EQ(now.size(), 3u);
  EXPECT_EQ(now[0], ids[1]);
  EXPECT_EQ(now[1], ids[0]);
  EXPECT_EQ(now[2], ids[2]);
}

// ----------------------------------------------------------------------------- events

STORE_SUITE(StoreEventTest);

TEST_P(StoreEventTest, SeqPerConversationPosGlobalIdsIncreasing) {
  const ConversationId c1 = make_conversation(ConversationKind::group), c2 = make_conversation(ConversationKind::group);
  std::vector<EventRecord> appended;
  const Pos before = writer_->committed_pos();
  for (int round = 0; round < 2; ++round) {
    batch([&](WriteTxn& txn) {
      appended.push_back(txn.append_event(draft(c1, 7, "a")).event);
      appended.push_back(txn.append_event(draft(c2, 7, "b")).event);
      appended.push_back(txn.append_event(draft(c1, 7, "c")).event);
      EXPECT_EQ(txn.last_assigned_pos(), appended.back().pos);
    });
  }
  std::vector<Seq> s1, s2;
  for (const auto& e : appended) (e.conversation_id == c1 ? s1 : s2).push_back(e.seq);
  EXPECT_EQ(s1, (std::vector<Seq>{1, 2, 3, 4}));
  EXPECT_EQ(s2, (std::vector<Seq>{1, 2}));
  EXPECT_EQ(appended.front().pos, before + 1);
  for (std::size_t i = 1; i < appended.size(); ++i) {
    EXPECT_GT(appended[i].pos, appended[i - 1].pos);
    EXPECT_GT(appended[i].id, appended[i - 1].id);
  }
  EXPECT_EQ(writer_->committed_pos(), appended.back().pos);

  // What was returned is what was stored.
  auto stored = all_events(c1);
  const auto stored2 = all_events(c2);
  stored.insert(stored.end(), stored2.begin(), stored2.end());
  std::sort(stored.begin(), stored.end(), [](const auto& x, const auto& y) { return x.pos < y.pos; });
  ASSERT_EQ(stored.size(), appended.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i].conversation_id, appended[i].conversation_id);
    EXPECT_EQ(stored[i].seq, appended[i].seq);
    EXPECT_EQ(stored[i].pos, appended[i].pos);
    EXPECT_EQ(stored[i].id, appended[i].id);
    EXPECT_EQ(stored[i].body, appended[i].body);
    EXPECT_EQ(stored[i].sender_id, 7);
    EXPECT_EQ(stored[i].created_at_ms, appended[i].created_at_ms);
  }
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.conversation(c1)->last_seq, 4);
    EXPECT_EQ(txn.conversation(c1)->last_pos, appended[5].pos);
    EXPECT_EQ(txn.conversation(c2)->last_seq, 2);
  });
}

// What a cluster node reads when the bus lost a batch: every conversation's events in a range
// of positions, in pos order, and the newest position.
TEST_P(StoreEventTest, EventsByPosAcrossConversationsAndHead) {
  const ConversationId c1 = make_conversation(ConversationKind::group), c2 = make_conversation(ConversationKind::group);
  const Pos before = writer_->committed_pos();
  read([&](ReadTxn& txn) { EXPECT_EQ(txn.head_pos(), before); });
  std::vector<EventRecord> appended;
  batch([&](WriteTxn& txn) {
    for (int i = 0; i < 5; ++i) appended.push_back(txn.append_event(draft(i % 2 ? c1 : c2, 7, "m" + std::to_string(i))).event);
  });
  batch([&](WriteTxn& txn) { appended.push_back(txn.append_event(draft(c1, 8, "last")).event); });
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.head_pos(), appended.back().pos);
    const auto all = txn.events_by_pos(before, appended.back().pos, 100);
    ASSERT_EQ(all.size(), appended.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].pos, appended[i].pos);
      EXPECT_EQ(all[i].conversation_id, appended[i].conversation_id);
      EXPECT_EQ(all[i].seq, appended[i].seq);
      EXPECT_EQ(all[i].body, appended[i].body);
    }
    // (after, up_to]: the lower end excluded, the upper included; the limit keeps the oldest.
    const auto middle = txn.events_by_pos(appended[1].pos, appended[3].pos, 100);
    ASSERT_EQ(middle.size(), 2u);
    EXPECT_EQ(middle[0].pos, appended[2].pos);
    EXPECT_EQ(middle[1].pos, appended[3].pos);
    const auto limited = txn.events_by_pos(before, appended.back().pos, 2);
    ASSERT_EQ(limited.size(), 2u);
    EXPECT_EQ(limited[1].pos, appended[1].pos);
    EXPECT_TRUE(txn.events_by_pos(appended.back().pos, appended.back().pos + 10, 100).empty());
    EXPECT_TRUE(txn.events_by_pos(appended[3].pos, appended[1].pos, 100).empty());
  });
}

TEST_P(StoreEventTest, EventFieldsRoundTrip) {
  const ConversationId c = make_conversation(ConversationKind::group);
  EventRecord e = draft(c, 42, "héllo \"world\"\n", "cm-1", EventKind::member_added);
  e.meta_json = R"({"user_ids":[1,2]})";
  e.seq = 999;  // the store assigns these; whatever the caller put there is ignored
  e.pos = 999;
  const auto out = batch([&](WriteTxn& txn) { return txn.append_event(e); });
  EXPECT_FALSE(out.duplicate);
  EXPECT_EQ(out.event.seq, 1);
  const auto stored = all_events(c);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].kind, EventKind::member_added);
  EXPECT_EQ(stored[0].body, e.body);
  EXPECT_EQ(stored[0].meta_json, e.meta_json);
  EXPECT_EQ(stored[0].client_msg_id, "cm-1");
  EXPECT_EQ(stored[0].pos, out.event.pos);
}

TEST_P(StoreEventTest, DuplicateClientMsgIdReturnsTheOriginal) {
  const ConversationId c = make_conversation(ConversationKind::group);
  const auto first = append(c, 1, "original", "cm-1");
  ASSERT_FALSE(first.duplicate);
  const auto retry = append(c, 1, "retry body", "cm-1");  // another batch
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.event.seq, first.event.seq);
  EXPECT_EQ(retry.event.pos, first.event.pos);
  EXPECT_EQ(retry.event.id, first.event.id);
  EXPECT_EQ(retry.event.body, "original");
  EXPECT_EQ(writer_->committed_pos(), first.event.pos);  // nothing consumed

  // Within one batch: the second append sees the first, uncommitted one.
  batch([&](WriteTxn& txn) {
    const auto a = txn.append_event(draft(c, 1, "two", "cm-2"));
    const auto b = txn.append_event(draft(c, 1, "two again", "cm-2"));
    const auto d = txn.append_event(draft(c, 1, "three", "cm-3"));
    EXPECT_FALSE(a.duplicate);
    EXPECT_TRUE(b.duplicate);
    EXPECT_EQ(b.event.seq, a.event.seq);
    EXPECT_EQ(b.event.pos, a.event.pos);
    EXPECT_EQ(b.event.body, "two");
    EXPECT_EQ(d.event.seq, a.event.seq + 1);  // no seq consumed by the duplicate
    EXPECT_EQ(d.event.pos, a.event.pos + 1);  // nor a pos
    EXPECT_EQ(txn.conversation(c)->last_seq, 3);
  });
  EXPECT_EQ(seqs_of(all_events(c)), (std::vector<Seq>{1, 2, 3}));
}

// client_msg_ids are unique per sender: another sender may use the same one; the same sender
// using it in another conversation gets the original back, flagged as reused elsewhere.
TEST_P(StoreEventTest, ClientMsgIdIsUniquePerSender) {
  const ConversationId c1 = make_conversation(ConversationKind::group), c2 = make_conversation(ConversationKind::group);
  const auto original = append(c1, 1, "x", "cm");
  const auto other_sender = append(c1, 2, "y", "cm");
  const auto other_conversation = append(c2, 1, "z", "cm");
  EXPECT_FALSE(other_sender.duplicate);
  EXPECT_EQ(other_sender.event.seq, original.event.seq + 1);
  EXPECT_TRUE(other_conversation.duplicate);
  EXPECT_TRUE(other_conversation.reused_elsewhere);
  EXPECT_EQ(other_conversation.event.conversation_id, c1);
  EXPECT_FALSE(original.reused_elsewhere);
  EXPECT_EQ(all_events(c2).size(), 0u);
  // No client_msg_id: never de-duplicated.
  EXPECT_FALSE(append(c1, 1, "same", "").duplicate);
  EXPECT_FALSE(append(c1, 1, "same", "").duplicate);
  EXPECT_EQ(all_events(c1).size(), 4u);
}

TEST_P(StoreEventTest, RollbackDiscardsTheBatchAndLeavesNoGap) {
  const ConversationId c = make_conversation(ConversationKind::group);
  append(c, 1, "one");
  append(c, 1, "two");
  const Pos committed = writer_->committed_pos();

  ConversationId discarded_conversation = 0;
  {
    WriteTxn& txn = writer_->begin_batch();
    EXPECT_EQ(txn.append_event(draft(c, 1, "three?", "cm-x")).event.seq, 3);
    EXPECT_EQ(txn.append_event(draft(c, 1, "four?")).event.seq, 4);
    discarded_conversation = txn.create_conversation(ConversationKind::group, "ghost", "", 1, std::nullopt).id;
    EXPECT_EQ(txn.append_event(draft(discarded_conversation, 1, "boo")).event.seq, 1);
    EXPECT_TRUE(txn.create_user("ghost", "", "", "", "").has_value());
    txn.revoke_token("jti-ghost", 1, 4'000'000'000);
    writer_->rollback_batch();
  }
  EXPECT_EQ(writer_->committed_pos(), committed);
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.conversation(c)->last_seq, 2);
    EXPECT_EQ(txn.conversation(c)->last_pos, committed);
    EXPECT_FALSE(txn.user_by_username("ghost").has_value());
    EXPECT_TRUE(txn.revoked_token_ids(0).empty());
  });
  EXPECT_EQ(seqs_of(all_events(c)), (std::vector<Seq>{1, 2}));

  // The next batch reuses the seqs and positions; the discarded client_msg_id is free again.
  const auto again = append(c, 1, "three", "cm-x");
  EXPECT_FALSE(again.duplicate);
  EXPECT_EQ(again.event.seq, 3);
  EXPECT_EQ(again.event.pos, committed + 1);
  EXPECT_EQ(append(c, 1, "four").event.seq, 4);
  const auto events = all_events(c);
  EXPECT_EQ(seqs_of(events), (std::vector<Seq>{1, 2, 3, 4}));
  EXPECT_EQ(events[2].body, "three");
  // A conversation created later does not inherit the discarded one's cached head.
  const ConversationId fresh = make_conversation(ConversationKind::group);
  EXPECT_EQ(append(fresh, 1, "first").event.seq, 1);
}

TEST_P(StoreEventTest, ConversationInsideABatchReflectsUncommittedAppends) {
  const ConversationId c = make_conversation(ConversationKind::group);
  append(c, 1, "one");
  WriteTxn& txn = writer_->begin_batch();
  const auto two = txn.append_event(draft(c, 1, "two")).event;
  const auto three = txn.append_event(draft(c, 1, "three")).event;
  const auto inside = txn.conversation(c);
  ASSERT_TRUE(inside.has_value());
  EXPECT_EQ(inside->last_seq, 3);
  EXPECT_EQ(inside->last_pos, three.pos);
  EXPECT_EQ(txn.last_assigned_pos(), three.pos);
  EXPECT_EQ(txn.events(c, 1, 10, 10, false).size(), 3u);  // the writer reads its own batch
  EXPECT_EQ(read([&](ReadTxn& r) { return r.conversation(c)->last_seq; }), 1);  // readers do not
  EXPECT_GT(three.pos, two.pos);
  writer_->commit_batch();
  EXPECT_EQ(read([&](ReadTxn& r) { return r.conversation(c)->last_seq; }), 3);
}

TEST_P(StoreEventTest, CommittedDataSurvivesReopen) {
  const ConversationId c1 = make_conversation(ConversationKind::group), c2 = make_conversation(ConversationKind::group);
  append(c1, 1, "a", "cm-a");
  append(c2, 1, "b");
  append(c1, 1, "c");
  const Pos committed = writer_->committed_pos();
  ASSERT_EQ(committed, 3);

  close();
  open(/*synchronous_full=*/true);
  EXPECT_EQ(writer_->committed_pos(), committed);
  const auto dup = append(c1, 1, "a again", "cm-a");
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(dup.event.seq, 1);
  const auto next1 = append(c1, 1, "d");
  const auto next2 = append(c2, 1, "e");
  EXPECT_EQ(next1.event.seq, 3);
  EXPECT_EQ(next1.event.pos, committed + 1);
  EXPECT_EQ(next2.event.seq, 2);
  EXPECT_EQ(next2.event.pos, committed + 2);

  reopen();
  EXPECT_EQ(writer_->committed_pos(), committed + 2);
  const auto events1 = all_events(c1);
  EXPECT_EQ(seqs_of(events1), (std::vector<Seq>{1, 2, 3}));
  EXPECT_EQ(events1[0].body, "a");
  EXPECT_EQ(seqs_of(all_events(c2)), (std::vector<Seq>{1, 2}));
  std::set<Pos> positions;
  for (auto id : {c1, c2})
    for (const auto& e : all_events(id)) positions.insert(e.pos);
  EXPECT_EQ(positions, (std::set<Pos>{1, 2, 3, 4, 5}));
}

TEST_P(StoreEventTest, EventsWindowsAndLimits) {
  const ConversationId c = make_conversation(ConversationKind::group), other = make_conversation(ConversationKind::group);
  batch([&](WriteTxn& txn) {
    for (int i = 1; i <= 10; ++i) {
      txn.append_event(draft(c, 1, "m" + std::to_string(i)));
      txn.append_event(draft(other, 1, "o"));
    }
  });
  read([&](ReadTxn& txn) {
    using V = std::vector<Seq>;
    EXPECT_EQ(seqs_of(txn.events(c, 1, 10, 100, false)), (V{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
    EXPECT_EQ(seqs_of(txn.events(c, 1, 10, 3, false)), (V{1, 2, 3}));
    EXPECT_EQ(seqs_of(txn.events(c, 1, 10, 3, true)), (V{8, 9, 10}));
    EXPECT_EQ(seqs_of(txn.events(c, 4, 7, 100, false)), (V{4, 5, 6, 7}));
    EXPECT_EQ(seqs_of(txn.events(c, 4, 7, 100, true)), (V{4, 5, 6, 7}));
    EXPECT_EQ(seqs_of(txn.events(c, 4, 7, 2, true)), (V{6, 7}));
    EXPECT_EQ(seqs_of(txn.events(c, 4, 7, 2, false)), (V{4, 5}));
    EXPECT_EQ(seqs_of(txn.events(c, 8, 50, 100, false)), (V{8, 9, 10}));
    EXPECT_EQ(seqs_of(txn.events(c, 5, 5, 1, true)), (V{5}));
    EXPECT_TRUE(txn.events(c, 7, 6, 100, false).empty());
    EXPECT_TRUE(txn.events(c, 1, 10, 0, false).empty());
    EXPECT_TRUE(txn.events(c, 11, 20, 10, true).empty());
    EXPECT_TRUE(txn.events(other + 100, 1, 10, 10, false).empty());
    const auto window = txn.events(c, 1, 10, 100, false);
    for (const auto& e : window) {
      EXPECT_EQ(e.conversation_id, c);
      EXPECT_EQ(e.body, "m" + std::to_string(e.seq));
    }
  });
}

// ------------------------------------------------------------------ first_event_after

STORE_SUITE(StoreFirstEventAfterTest);

TEST_P(StoreFirstEventAfterTest, MatchesBruteForceOnManyCursors) {
  std::mt19937 random(12345);
  std::vector<ConversationId> conversations;
  for (int i = 0; i < 4; ++i) conversations.push_back(make_conversation(ConversationKind::group));
  std::map<ConversationId, std::vector<Pos>> pos_by_seq;  // [seq - 1]
  // Interleaved across batches of random sizes, so each conversation's positions have gaps.
  for (int b = 0; b < 40; ++b) {
    batch([&](WriteTxn& txn) {
      const int count = 1 + static_cast<int>(random() % 12);
      for (int i = 0; i < count; ++i) {
        const ConversationId c = conversations[random() % 3];  // the fourth stays empty
        const auto e = txn.append_event(draft(c, 1, "x")).event;
        auto& list = pos_by_seq[c];
        ASSERT_EQ(e.seq, static_cast<Seq>(list.size()) + 1);
        list.push_back(e.pos);
      }
    });
  }
  for (int i = 0; i < 3; ++i) ASSERT_GT(pos_by_seq[conversations[i]].size(), 10u);
  const Pos max_pos = writer_->committed_pos();
  auto brute_force = [&](ConversationId c, Seq from, Seq to, Pos cursor) -> std::optional<ReadTxn::EventPosition> {
    const auto& list = pos_by_seq[c];
    for (Seq s = from; s <= to; ++s)
      if (list[s - 1] > cursor) return ReadTxn::EventPosition{s, list[s - 1]};
    return std::nullopt;
  };
  int checked = 0, found = 0;
  read([&](ReadTxn& txn) {
    for (int q = 0; q < 3000; ++q) {
      const ConversationId c = conversations[random() % 3];
      const Seq last = static_cast<Seq>(pos_by_seq[c].size());
      Seq from = 1 + static_cast<Seq>(random() % last);
      Seq to = 1 + static_cast<Seq>(random() % last);
      if (from > to) std::swap(from, to);
      // Half the cursors sit exactly on an event's pos (the boundary cases).
      const Pos cursor = (q % 2) ? static_cast<Pos>(random() % (max_pos + 2))
                                 : pos_by_seq[c][random() % last] - static_cast<Pos>(random() % 2);
      const auto expected = brute_force(c, from, to, cursor);
      const auto actual = txn.first_event_after(c, from, to, cursor);
      ASSERT_EQ(actual.has_value(), expected.has_value()) << "c=" << c << " [" << from << "," << to << "] > " << cursor;
      if (expected) {
        EXPECT_EQ(actual->seq, expected->seq);
        EXPECT_EQ(actual->pos, expected->pos);
        ++found;
      }
      ++checked;
    }
    // Whole ranges, every cursor.
    for (ConversationId c : {conversations[0], conversations[1], conversations[2]}) {
      const Seq last = static_cast<Seq>(pos_by_seq[c].size());
      for (Pos cursor = 0; cursor <= max_pos + 1; ++cursor) {
        const auto expected = brute_force(c, 1, last, cursor);
        const auto actual = txn.first_event_after(c, 1, last, cursor);
        ASSERT_EQ(actual.has_value(), expected.has_value());
        if (expected) {
          EXPECT_EQ(actual->seq, expected->seq);
        }
      }
    }
    EXPECT_FALSE(txn.first_event_after(conversations[3], 1, 0, 0).has_value());  // empty conversation
    EXPECT_FALSE(txn.first_event_after(conversations[0], 5, 4, 0).has_value());  // empty range
  });
  EXPECT_GT(found, 300);  // the random queries are not all trivially empty
  EXPECT_LT(found, checked);
}

TEST_P(StoreFirstEventAfterTest, RangeBeyondTheStoredEventsIsNotAnError) {
  const ConversationId c = make_conversation(ConversationKind::group);
  const Pos p1 = append(c, 1, "one").event.pos;
  const Pos p2 = append(c, 1, "two").event.pos;
  // The contract: "the first event in [from_seq, to_seq] with pos > cursor; nullopt if none".
  // Seqs outside 1..last_seq simply hold no event.
  struct Case {
    Seq from, to;
    Pos cursor;
    std::optional<Seq> expected_seq;
  };
  const std::vector<Case> cases = {{1, 100, 0, 1}, {1, 100, p1, 2}, {1, 100, p2, std::nullopt}, {0, 2, 0, 1},
                                   {3, 100, 0, std::nullopt}};
  std::string failures;
  read([&](ReadTxn& txn) {
    for (const Case& k : cases) {
      const std::string name = "[" + std::to_string(k.from) + "," + std::to_string(k.to) + "] > " +
                               std::to_string(k.cursor);
      try {
        const auto result = txn.first_event_after(c, k.from, k.to, k.cursor);
        EXPECT_EQ(result.has_value(), k.expected_seq.has_value()) << name;
        if (result && k.expected_seq) {
          EXPECT_EQ(result->seq, *k.expected_seq) << name;
          EXPECT_EQ(result->pos, *k.expected_seq == 1 ? p1 : p2) << name;
        }
      } catch (const StoreFailure& failure) {
        failures += name + ": " + failure.what() + "; ";
      }
    }
  });
  EXPECT_EQ(failures, "");
}

// --------------------------------------------------------------- changed_conversations

STORE_SUITE(StoreChangedConversationsTest);

// Appends an event announcing a membership change; returns it.
EventRecord announce(WriteTxn& txn, ConversationId c, UserId sender, EventKind kind) {
  return txn.append_event(draft(c, sender, "", "", kind)).event;
}

TEST_P(StoreChangedConversationsTest, DirectAndGroupMembersThroughMemberPos) {
  const UserId alice = make_user("alice"), bob = make_user("bob"), carol = make_user("carol");
  const ConversationId direct = batch([&](WriteTxn& txn) {
    const auto c = txn.create_conversation(ConversationKind::direct, "", "", alice, std::make_pair(alice, bob));
    txn.add_member(c.id, ConversationKind::direct, alice, Role::member, 1, 0);
    txn.add_member(c.id, ConversationKind::direct, bob, Role::member, 1, 0);
    return c.id;
  });
  // A direct conversation without events has nothing to sync.
  EXPECT_TRUE(read([&](ReadTxn& txn) { return txn.changed_conversations(bob, 0); }).empty());
  const Pos p1 = append(direct, alice, "hi").event.pos;
  const ConversationId group = batch([&](WriteTxn& txn) {
    const auto c = txn.create_conversation(ConversationKind::group, "g", "", bob, std::nullopt);
    const auto created = announce(txn, c.id, bob, EventKind::conversation_created);
    txn.add_member(c.id, ConversationKind::group, bob, Role::owner, created.seq, created.pos);
    txn.add_member(c.id, ConversationKind::group, carol, Role::member, created.seq, created.pos);
    return c.id;
  });
  const Pos p2 = read([&](ReadTxn& txn) { return txn.conversation(group)->last_pos; });
  const Pos p3 = append(direct, bob, "hello").event.pos;

  read([&](ReadTxn& txn) {
    using S = std::set<ConversationId>;
    EXPECT_EQ(ids_of(txn.changed_conversations(bob, 0)), (S{direct, group}));
    EXPECT_EQ(ids_of(txn.changed_conversations(bob, p1)), (S{direct, group}));
    EXPECT_EQ(ids_of(txn.changed_conversations(bob, p2)), (S{direct}));
    EXPECT_EQ(ids_of(txn.changed_conversations(bob, p3)), (S{}));
    EXPECT_EQ(ids_of(txn.changed_conversations(carol, 0)), (S{group}));
    EXPECT_EQ(ids_of(txn.changed_conversations(carol, p2)), (S{}));
    EXPECT_EQ(ids_of(txn.changed_conversations(alice, p2)), (S{direct}));
    const auto changed = txn.changed_conversations(bob, p2);
    ASSERT_EQ(changed.size(), 1u);
    EXPECT_EQ(changed[0].member.user_id, bob);
    EXPECT_EQ(changed[0].member.conversation_id, direct);
    EXPECT_EQ(changed[0].conversation.last_pos, p3);
    EXPECT_EQ(changed[0].member.last_pos, p3);
  });
}

TEST_P(StoreChangedConversationsTest, ChannelMembersThroughThePullPath) {
  const UserId owner = make_user("owner"), reader = make_user("reader");
  const ConversationId channel = batch([&](WriteTxn& txn) {
    const auto c = txn.create_conversation(ConversationKind::channel, "news", "", owner, std::nullopt);
    const auto created = announce(txn, c.id, owner, EventKind::conversation_created);
    txn.add_member(c.id, ConversationKind::channel, owner, Role::owner, 1, created.pos);
    return c.id;
  });
  append(channel, owner, "before the reader joined");
  const Pos joined = batch([&](WriteTxn& txn) {
    const auto e = announce(txn, channel, reader, EventKind::member_joined);
    txn.add_member(channel, ConversationKind::channel, reader, Role::member, 1, e.pos);
    return e.pos;
  });
  const Pos post1 = append(channel, owner, "post 1").event.pos;
  const Pos post2 = append(channel, owner, "post 2").event.pos;

  read([&](ReadTxn& txn) {
    // Channel posts do not touch the members rows: the reader's last_pos stays at its join.
    EXPECT_EQ(txn.member(channel, reader)->last_pos, joined);
    for (Pos cursor = 0; cursor <= post2 + 1; ++cursor) {
      const auto changed = txn.changed_conversations(reader, cursor);
      // Exactly once while anything is newer than the cursor (the two UNION parts are disjoint).
      ASSERT_EQ(changed.size(), cursor < post2 ? 1u : 0u) << "cursor " << cursor;
      if (!changed.empty()) {
        EXPECT_EQ(changed[0].conversation.id, channel);
        EXPECT_EQ(changed[0].conversation.last_pos, post2);
      }
    }
    EXPECT_EQ(txn.changed_conversations(owner, post1).size(), 1u);
    EXPECT_TRUE(txn.changed_conversations(owner, post2).empty());
  });
}

TEST_P(StoreChangedConversationsTest, RemovedMemberSeesUpToItsRemovalThenRejoins) {
  const UserId owner = make_user("owner"), bob = make_user("bob");
  for (ConversationKind kind : {ConversationKind::group, ConversationKind::channel}) {
    SCOPED_TRACE(kind == ConversationKind::group ? "group" : "channel");
    const ConversationId c = batch([&](WriteTxn& txn) {
      const auto conversation = txn.create_conversation(kind, "c", "", owner, std::nullopt);
      const auto created = announce(txn, conversation.id, owner, EventKind::conversation_created);
      txn.add_member(conversation.id, kind, owner, Role::owner, created.seq, created.pos);
      const auto added = announce(txn, conversation.id, owner, EventKind::member_added);
      txn.add_member(conversation.id, kind, bob, Role::member, created.seq, added.pos);
      return conversation.id;
    });
    const Pos before_removal = append(c, owner, "seen by bob").event.pos;
    const auto removal = batch([&](WriteTxn& txn) {
      const auto e = announce(txn, c, owner, EventKind::member_removed);
      txn.end_member(c, bob, e.seq, e.pos, "");
      // Events after the removal in the same batch are not bob's.
      txn.append_event(draft(c, owner, "same batch, after removal"));
      return e;
    });
    const Pos after_removal = append(c, owner, "not for bob").event.pos;

    read([&](ReadTxn& txn) {
      const auto member = txn.member(c, bob);
      ASSERT_TRUE(member.has_value());
      EXPECT_EQ(member->left_seq, removal.seq);
      EXPECT_EQ(member->last_pos, removal.pos);
      EXPECT_EQ(ids_of(txn.changed_conversations(bob, before_removal)), std::set<ConversationId>{c});
      EXPECT_EQ(txn.changed_conversations(bob, removal.pos - 1).size(), 1u);
      EXPECT_TRUE(txn.changed_conversations(bob, removal.pos).empty());
      EXPECT_TRUE(txn.changed_conversations(bob, after_removal - 1).empty());
      const auto changed = txn.changed_conversations(bob, before_removal);
      ASSERT_EQ(changed.size(), 1u);
      EXPECT_EQ(changed[0].member.left_seq, removal.seq);
      // Sync reads up to left_seq only.
      const auto first = txn.first_event_after(c, member->visible_from_seq, *member->left_seq, before_removal);
      ASSERT_TRUE(first.has_value());
      EXPECT_EQ(first->seq, removal.seq);
    });

    const auto rejoin = batch([&](WriteTxn& txn) {
      const auto e = announce(txn, c, owner, EventKind::member_added);
      txn.add_member(c, kind, bob, Role::member, e.seq, e.pos);
      return e;
    });
    const Pos later = append(c, owner, "bob is back").event.pos;
    read([&](ReadTxn& txn) {
      EXPECT_TRUE(txn.member(c, bob)->active());
      EXPECT_EQ(txn.changed_conversations(bob, after_removal).size(), 1u);
      EXPECT_EQ(txn.changed_conversations(bob, rejoin.pos).size(), 1u);
      EXPECT_TRUE(txn.changed_conversations(bob, later).empty());
    });
  }
}

// A model of conversations, memberships and event positions, built by random operations that
// use the store the way the chat layer does (membership events announce add/end_member), with
// random rollbacks. changed_conversations must return exactly the conversations with an event
// in the member's visible window at pos > cursor, each once.
TEST_P(StoreChangedConversationsTest, MatchesAModelUnderRandomOperations) {
  struct Membership {
    Seq visible_from = 1;
    std::optional<Seq> left;
  };
  struct Conversation {
    ConversationKind kind;
    std::vector<Pos> pos_by_seq;
    std::map<UserId, Membership> members;
  };
  using Model = std::map<ConversationId, Conversation>;

  std::vector<UserId> users;
  for (int i = 0; i < 6; ++i) users.push_back(make_user("u" + std::to_string(i)));
  std::mt19937 random(777);
  auto pick = [&](const auto& list) { return list[random() % list.size()]; };
  Model model;

  for (int b = 0; b < 90; ++b) {
    Model staged = model;
    WriteTxn& txn = writer_->begin_batch();
    auto append_to = [&](ConversationId c, UserId sender, EventKind kind) {
      const auto e = txn.append_event(draft(c, sender, "", "", kind)).event;
      auto& list = staged[c].pos_by_seq;
      EXPECT_EQ(e.seq, static_cast<Seq>(list.size()) + 1);
      list.push_back(e.pos);
      return e;
    };
    const int ops = 1 + static_cast<int>(random() % 5);
    for (int o = 0; o < ops; ++o) {
      const int choice = static_cast<int>(random() % 10);
      if (staged.size() < 3 || choice == 0) {
        const int k = static_cast<int>(random() % 3);
        const UserId creator = pick(users);
        if (k == 0) {  // direct: no event, members start at last_pos 0
          const UserId peer = pick(users);
          if (peer == creator || txn.direct_conversation(creator, peer)) continue;
          const auto c = txn.create_conversation(ConversationKind::direct, "", "", creator, std::make_pair(creator, peer));
          staged[c.id].kind = ConversationKind::direct;
          for (UserId u : {creator, peer}) {
            txn.add_member(c.id, ConversationKind::direct, u, Role::member, 1, 0);
            staged[c.id].members[u] = Membership{1, std::nullopt};
          }
        } else {
          const auto kind = k == 1 ? ConversationKind::group : ConversationKind::channel;
          const auto c = txn.create_conversation(kind, "", "", creator, std::nullopt);
          staged[c.id].kind = kind;
          const auto e = append_to(c.id, creator, EventKind::conversation_created);
          txn.add_member(c.id, kind, creator, Role::owner, e.seq, e.pos);
          staged[c.id].members[creator] = Membership{e.seq, std::nullopt};
        }
        continue;
      }
      auto it = staged.begin();
      std::advance(it, random() % staged.size());
      const ConversationId id = it->first;
      Conversation& conversation = it->second;
      std::vector<UserId> active;
      for (const auto& [u, m] : conversation.members)
        if (!m.left) active.push_back(u);
      if (active.empty()) continue;
      const UserId user = pick(users);
      const bool is_active = conversation.members.count(user) && !conversation.members[user].left;
      if (choice <= 5 || conversation.kind == ConversationKind::direct) {
        append_to(id, pick(active), EventKind::text);
      } else if (choice <= 7 && !is_active) {  // add or re-add; channels show all history
        const auto e = append_to(id, pick(active), EventKind::member_added);
        const Seq visible_from = conversation.kind == ConversationKind::channel ? 1 : e.seq;
        txn.add_member(id, conversation.kind, user, Role::member, visible_from, e.pos);
        conversation.members[user] = Membership{visible_from, std::nullopt};
      } else if (is_active && active.size() > 1) {  // remove (or leave)
        const auto e = append_to(id, pick(active), EventKind::member_removed);
        txn.end_member(id, user, e.seq, e.pos, "");
        conversation.members[user].left = e.seq;
      }
    }
    if (random() % 7 == 0) {
      writer_->rollback_batch();
    } else {
      writer_->commit_batch();
      model = std::move(staged);
    }
  }

  const Pos max_pos = writer_->committed_pos();
  ASSERT_GT(max_pos, 100);
  int nonempty = 0;
  read([&](ReadTxn& txn) {
    for (UserId user : users) {
      // Active memberships agree with the model.
      std::set<ConversationId> active;
      for (const auto& [id, c] : model)
        if (c.members.count(user) && !c.members.at(user).left) active.insert(id);
      const auto ids = txn.active_conversation_ids(user);
      EXPECT_EQ(std::set<ConversationId>(ids.begin(), ids.end()), active);
      EXPECT_EQ(ids_of(txn.user_conversations(user)), active);

      for (Pos cursor = 0; cursor <= max_pos; ++cursor) {
        std::set<ConversationId> expected;
        for (const auto& [id, c] : model) {
          auto m = c.members.find(user);
          if (m == c.members.end() || c.pos_by_seq.empty()) continue;
          const Seq high = m->second.left.value_or(static_cast<Seq>(c.pos_by_seq.size()));
          if (m->second.visible_from <= high && c.pos_by_seq[high - 1] > cursor) expected.insert(id);
        }
        const auto changed = txn.changed_conversations(user, cursor);
        ASSERT_EQ(changed.size(), ids_of(changed).size()) << "duplicates for user " << user << " cursor " << cursor;
        ASSERT_EQ(ids_of(changed), expected) << "user " << user << " cursor " << cursor;
        nonempty += !changed.empty();
        for (const auto& item : changed) {
          const Conversation& c = model.at(item.conversation.id);
          const Membership& m = c.members.at(user);
          EXPECT_EQ(item.member.user_id, user);
          EXPECT_EQ(item.member.visible_from_seq, m.visible_from);
          EXPECT_EQ(item.member.left_seq, m.left);
          EXPECT_EQ(item.conversation.last_seq, static_cast<Seq>(c.pos_by_seq.size()));
          // And sync's next step finds the first new visible event.
          const Seq high = m.left.value_or(static_cast<Seq>(c.pos_by_seq.size()));
          const auto first = txn.first_event_after(item.conversation.id, m.visible_from, high, cursor);
          ASSERT_TRUE(first.has_value());
          Seq expected_seq = m.visible_from;
          while (c.pos_by_seq[expected_seq - 1] <= cursor) ++expected_seq;
          EXPECT_EQ(first->seq, expected_seq);
        }
      }
    }
  });
  EXPECT_GT(nonempty, 200);
}

// ------------------------------------------------------------------------- snapshots

STORE_SUITE(StoreReaderTest);

TEST_P(StoreReaderTest, SnapshotIsConsistentAndUncommittedDataInvisible) {
  const ConversationId c = make_conversation(ConversationKind::group);
  append(c, 1, "one");
  append(c, 1, "two");

  ReadTxn& txn = reader_->begin_read();
  EXPECT_EQ(txn.conversation(c)->last_seq, 2);  // the snapshot starts here

  // An open writer batch is invisible to the reader...
  WriteTxn& write = writer_->begin_batch();
  write.append_event(draft(c, 1, "three"));
  write.create_user("zed", "", "", "", "");
  EXPECT_EQ(txn.conversation(c)->last_seq, 2);
  EXPECT_EQ(txn.events(c, 1, 10, 10, false).size(), 2u);
  EXPECT_FALSE(txn.user_by_username("zed").has_value());
  // ...and so is a committed one, until the read transaction ends.
  writer_->commit_batch();
  append(c, 1, "four");
  EXPECT_EQ(txn.conversation(c)->last_seq, 2);
  EXPECT_EQ(txn.events(c, 1, 10, 10, false).size(), 2u);
  EXPECT_FALSE(txn.user_by_username("zed").has_value());
  reader_->end_read();

  read([&](ReadTxn& fresh) {
    EXPECT_EQ(fresh.conversation(c)->last_seq, 4);
    EXPECT_EQ(fresh.events(c, 1, 10, 10, false).size(), 4u);
    EXPECT_TRUE(fresh.user_by_username("zed").has_value());
  });
}

TEST_P(StoreReaderTest, OpenReadersDoNotBlockTheWriter) {
  const ConversationId c = make_conversation(ConversationKind::group);
  append(c, 1, "one");
  auto second_reader = engine_->open_reader();
  ReadTxn& old_snapshot = reader_->begin_read();
  EXPECT_EQ(old_snapshot.conversation(c)->last_seq, 1);

  const auto start = std::chrono::steady_clock::now();
  WriteTxn& txn = writer_->begin_batch();
  for (int i = 0; i < 500; ++i) txn.append_event(draft(c, 1, "bulk"));
  // A reader starting while the write batch is open is not blocked either.
  ReadTxn& during = second_reader->begin_read();
  EXPECT_EQ(during.conversation(c)->last_seq, 1);
  EXPECT_NO_THROW(writer_->commit_batch());  // a blocked commit would wait out busy_timeout (5 s) and throw
  EXPECT_EQ(during.conversation(c)->last_seq, 1);
  second_reader->end_read();
  EXPECT_NO_THROW(append(c, 1, "and another batch"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 2s);
  EXPECT_EQ(old_snapshot.conversation(c)->last_seq, 1);
  reader_->end_read();
  EXPECT_EQ(read([&](ReadTxn& r) { return r.conversation(c)->last_seq; }), 502);
}

// ---------------------------------------------------------------------- revoked tokens

STORE_SUITE(StoreTokenTest);

TEST_P(StoreTokenTest, RevokedTokenIdsUntilExpiry) {
  batch([](WriteTxn& txn) {
    txn.revoke_token("jti-a", 1, 1000);
    txn.revoke_token("jti-b", 2, 2000);
    txn.revoke_token("jti-a", 1, 1000);  // revoking twice is harmless
  });
  read([](ReadTxn& txn) {
    auto sorted = [](std::vector<std::string> v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    EXPECT_EQ(sorted(txn.revoked_token_ids(500)), (std::vector<std::string>{"jti-a", "jti-b"}));
    EXPECT_EQ(sorted(txn.revoked_token_ids(999)), (std::vector<std::string>{"jti-a", "jti-b"}));
    EXPECT_EQ(txn.revoked_token_ids(1500), std::vector<std::string>{"jti-b"});
    EXPECT_TRUE(txn.revoked_token_ids(2500).empty());
  });
}

// ---------------------------------------------------------------------------- channels

STORE_SUITE(StoreChannelTest);

std::vector<std::string> titles_of(const std::vector<ConversationRecord>& list) {
  std::vector<std::string> out;
  for (const auto& c : list) out.push_back(c.title);
  return out;
}

TEST_P(StoreChannelTest, PrefixSearchIsCaseInsensitiveAndEscapesWildcards) {
  for (const char* title : {"Alpha", "alpine", "Beta", "100% real", "100 percent", "a_b", "axb", "%top", "back\\slash",
                            "backXslash"})
    make_conversation(ConversationKind::channel, title);
  make_conversation(ConversationKind::group, "Alps group");  // not a channel
  using V = std::vector<std::string>;
  read([&](ReadTxn& txn) {
    EXPECT_EQ(titles_of(txn.channels("al", 0, 100)), (V{"Alpha", "alpine"}));
    EXPECT_EQ(titles_of(txn.channels("ALP", 0, 100)), (V{"Alpha", "alpine"}));
    EXPECT_EQ(titles_of(txn.channels("alpha", 0, 100)), (V{"Alpha"}));
    EXPECT_EQ(titles_of(txn.channels("100%", 0, 100)), (V{"100% real"}));
    EXPECT_EQ(titles_of(txn.channels("a_", 0, 100)), (V{"a_b"}));
    EXPECT_EQ(titles_of(txn.channels("%", 0, 100)), (V{"%top"}));
    EXPECT_EQ(titles_of(txn.channels("back\\", 0, 100)), (V{"back\\slash"}));
    EXPECT_TRUE(txn.channels("zzz", 0, 100).empty());
    EXPECT_EQ(txn.channels("", 0, 100).size(), 10u);
    for (const auto& c : txn.channels("", 0, 100)) EXPECT_EQ(c.kind, ConversationKind::channel);
  });
}

// Documented behaviour: the prefix match folds ASCII letters only (SQLite's LIKE); other
// scripts match case-sensitively.
TEST_P(StoreChannelTest, PrefixSearchFoldsAsciiCaseOnly) {
  make_conversation(ConversationKind::channel, "Élan");
  make_conversation(ConversationKind::channel, "élite");
  make_conversation(ConversationKind::channel, "Ωmega");
  using V = std::vector<std::string>;
  EXPECT_EQ(read([](ReadTxn& txn) { return titles_of(txn.channels("Él", 0, 100)); }), (V{"Élan"}));
  EXPECT_EQ(read([](ReadTxn& txn) { return titles_of(txn.channels("él", 0, 100)); }), (V{"élite"}));
  EXPECT_EQ(read([](ReadTxn& txn) { return titles_of(txn.channels("ΩM", 0, 100)); }), (V{"Ωmega"}));
  EXPECT_EQ(read([](ReadTxn& txn) { return titles_of(txn.channels("ωm", 0, 100)); }), (V{}));
}

TEST_P(StoreChannelTest, PagesByIdAfter) {
  std::vector<ConversationId> expected;
  for (int i = 0; i < 7; ++i) {
    expected.push_back(make_conversation(ConversationKind::channel, "Room " + std::to_string(i)));
    make_conversation(ConversationKind::channel, "Other " + std::to_string(i));
  }
  std::vector<ConversationId> seen;
  int pages = 0;
  read([&](ReadTxn& txn) {
    ConversationId after = 0;
    for (;;) {
      const auto page = txn.channels("room", after, 3);
      ASSERT_LE(page.size(), 3u);
      ++pages;
      if (page.empty()) break;
      for (const auto& c : page) seen.push_back(c.id);
      after = page.back().id;
    }
    EXPECT_TRUE(txn.channels("room", 0, 0).empty());
  });
  EXPECT_EQ(seen, expected);  // ascending ids, no duplicates, nothing missed
  EXPECT_EQ(pages, 4);        // 3 + 3 + 1, then an empty page
}

// --------------------------------------------------------------- conversation settings

STORE_SUITE(StoreConversationSettingsTest);

// Each member has its own settings of a conversation; they end with the membership, and a new
// membership starts from the defaults.
TEST_P(StoreConversationSettingsTest, SettingsArePerMemberAndEndWithTheMembership) {
  const UserId alice = make_user("alice"), bob = make_user("bob");
  const ConversationId g = make_conversation(ConversationKind::group, "G");
  batch([&](WriteTxn& txn) {
    txn.add_member(g, ConversationKind::group, alice, Role::owner, 1, 0);
    txn.add_member(g, ConversationKind::group, bob, Role::member, 1, 0);
  });
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.member(g, alice)->settings; }), ConversationSettings{});
  const ConversationSettings set{.muted_until = -1, .archived = true, .pin_rank = 3, .marked_unread = true};
  batch([&](WriteTxn& txn) {
    EXPECT_EQ(txn.member(g, alice)->settings, ConversationSettings{});  // now cached by the writer
    txn.set_conversation_settings(g, alice, set);
    EXPECT_EQ(txn.member(g, alice)->settings, set);  // the batch sees its own write
  });
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.member(g, alice)->settings, set);
    EXPECT_EQ(txn.member(g, bob)->settings, ConversationSettings{});
    const auto mine = txn.user_conversations(alice);
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].member.settings, set);
    EXPECT_EQ(txn.active_members(g).size(), 2u);
  });
  // Leaving drops them; a former member's settings cannot be set.
  batch([&](WriteTxn& txn) {
    const auto left = txn.append_event(draft(g, alice, "", "", EventKind::member_left)).event;
    txn.end_member(g, alice, left.seq, left.pos, "G");
    EXPECT_EQ(txn.member(g, alice)->settings, ConversationSettings{});
    txn.set_conversation_settings(g, alice, set);
  });
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.member(g, alice)->settings; }), ConversationSettings{});
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.pinned_conversations(alice).count; }), 0);
  // Coming back starts fresh.
  batch([&](WriteTxn& txn) {
    const auto added = txn.append_event(draft(g, bob, "", "", EventKind::member_added)).event;
    txn.add_member(g, ConversationKind::group, alice, Role::member, added.seq, added.pos);
  });
  read([&](ReadTxn& txn) {
    EXPECT_TRUE(txn.member(g, alice)->active());
    EXPECT_EQ(txn.member(g, alice)->settings, ConversationSettings{});
  });
}

// pinned_conversations counts one user's pinned memberships and finds the highest rank.
TEST_P(StoreConversationSettingsTest, PinnedConversationsCountsAUsersPins) {
  const UserId alice = make_user("alice"), bob = make_user("bob");
  std::vector<ConversationId> groups;
  for (int i = 0; i < 3; ++i) {
    groups.push_back(make_conversation(ConversationKind::group, "G" + std::to_string(i)));
    batch([&](WriteTxn& txn) {
      txn.add_member(groups.back(), ConversationKind::group, alice, Role::owner, 1, 0);
      txn.add_member(groups.back(), ConversationKind::group, bob, Role::member, 1, 0);
    });
  }
  auto pinned = [&](UserId user) {
    return read([&](ReadTxn& txn) {
      const auto p = txn.pinned_conversations(user);
      return std::make_pair(p.count, p.max_rank);
    });
  };
  EXPECT_EQ(pinned(alice), std::make_pair(0, std::int64_t{0}));
  auto pin = [&](ConversationId c, UserId user, std::int64_t rank) {
    batch([&](WriteTxn& txn) {
      auto settings = txn.member(c, user)->settings;
      settings.pin_rank = rank;
      txn.set_conversation_settings(c, user, settings);
    });
  };
  pin(groups[0], alice, 1);
  pin(groups[2], alice, 2);
  pin(groups[1], bob, 7);
  EXPECT_EQ(pinned(alice), std::make_pair(2, std::int64_t{2}));
  EXPECT_EQ(pinned(bob), std::make_pair(1, std::int64_t{7}));
  pin(groups[2], alice, 0);
  EXPECT_EQ(pinned(alice), std::make_pair(1, std::int64_t{1}));
  // Inside a batch, after a write: what the batch wrote counts.
  batch([&](WriteTxn& txn) {
    auto settings = txn.member(groups[1], alice)->settings;
    settings.pin_rank = 5;
    txn.set_conversation_settings(groups[1], alice, settings);
    EXPECT_EQ(txn.pinned_conversations(alice).count, 2);
    EXPECT_EQ(txn.pinned_conversations(alice).max_rank, 5);
  });
}

// ---------------------------------------------------- hidden messages ("delete for me")

STORE_SUITE(StoreHiddenMessagesTest);

// Each user hides its own messages; hiding one again changes nothing; a batch sees its own hides.
TEST_P(StoreHiddenMessagesTest, HiddenSeqsArePerUserAndConversation) {
  const UserId alice = make_user("alice"), bob = make_user("bob");
  const std::vector<std::string> texts = {"m1", "m2", "m3", "m4", "m5", "m6"};
  const ConversationId g = make_group({alice, bob}, bob, texts);
  const ConversationId other = make_group({alice, bob}, bob, texts);
  batch([&](WriteTxn& txn) {
    txn.hide_messages(alice, g, {2, 4});
    EXPECT_EQ(txn.hidden_seqs(alice, g, 1, 6), (std::vector<Seq>{2, 4}));
    txn.hide_messages(alice, g, {5, 4});  // 4 again: nothing changes for it
  });
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.hidden_seqs(alice, g, 1, 6), (std::vector<Seq>{2, 4, 5}));
    EXPECT_EQ(txn.hidden_seqs(alice, g, 3, 4), std::vector<Seq>{4});
    EXPECT_TRUE(txn.hidden_seqs(alice, g, 6, 100).empty());
    EXPECT_TRUE(txn.hidden_seqs(bob, g, 1, 6).empty());
    EXPECT_TRUE(txn.hidden_seqs(alice, other, 1, 6).empty());
  });
}

// A conversation's preview for one user: the newest text event in its range that it did not hide.
TEST_P(StoreHiddenMessagesTest, LastTextEventSkipsWhatTheViewerHid) {
  const UserId alice = make_user("alice"), bob = make_user("bob");
  const ConversationId g = make_group({alice, bob}, bob, {"one", "two", "three"});
  batch([&](WriteTxn& txn) { txn.append_event(draft(g, bob, "", "", EventKind::member_left)); });  // seq 4: not text
  auto last = [&](Seq after, Seq up_to, UserId viewer) {
    return read([&](ReadTxn& txn) {
      auto e = txn.last_text_event(g, after, up_to, viewer);
      return e ? e->seq : Seq{0};
    });
  };
  EXPECT_EQ(last(0, 4, alice), 3);
  EXPECT_EQ(last(0, 2, alice), 2);
  EXPECT_EQ(last(3, 4, alice), 0);  // nothing after seq 3 is a message
  batch([&](WriteTxn& txn) { txn.hide_messages(alice, g, {3, 2}); });
  EXPECT_EQ(last(0, 4, alice), 1);
  EXPECT_EQ(last(1, 4, alice), 0);
  EXPECT_EQ(last(0, 4, bob), 3);  // bob hid nothing
  EXPECT_EQ(last(0, 4, 0), 3);    // nobody's view
}

TEST_P(StoreHiddenMessagesTest, EventsAtReadsTheListedSeqsAscending) {
  const ConversationId c = make_conversation(ConversationKind::group);
  for (int i = 0; i < 5; ++i) append(c, 1, "m" + std::to_string(i));
  read([&](ReadTxn& txn) {
    const auto events = txn.events_at(c, {4, 1, 4, 99});
    EXPECT_EQ(seqs_of(events), (std::vector<Seq>{1, 4}));  // once each, missing ones left out
    EXPECT_EQ(events[1].body, "m3");
    EXPECT_TRUE(txn.events_at(c, {}).empty());
  });
}

// cleared_seq and the hidden messages shape what a member reads, so they outlive its membership
// (a former member still reads its window) and end when a new membership begins.
TEST_P(StoreHiddenMessagesTest, ClearedSeqAndHidesLastUntilANewMembership) {
  const UserId alice = make_user("alice"), bob = make_user("bob");
  const ConversationId g = make_group({alice, bob}, alice, {"m1", "m2", "m3", "m4"});
  const ConversationSettings cleared{.muted_until = -1, .archived = true, .pin_rank = 1, .marked_unread = false,
                                     .cleared_seq = 2};
  batch([&](WriteTxn& txn) {
    txn.set_conversation_settings(g, bob, cleared);
    txn.hide_messages(bob, g, {3});
    txn.hide_messages(alice, g, {4});
  });
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.member(g, bob)->settings; }), cleared);
  batch([&](WriteTxn& txn) {
    const auto left = txn.append_event(draft(g, bob, "", "", EventKind::member_left)).event;
    txn.end_member(g, bob, left.seq, left.pos, "G");
    EXPECT_EQ(txn.member(g, bob)->settings, (ConversationSettings{.cleared_seq = 2}));
  });
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.member(g, bob)->settings, (ConversationSettings{.cleared_seq = 2}));
    EXPECT_EQ(txn.hidden_seqs(bob, g, 1, 10), std::vector<Seq>{3});
  });
  batch([&](WriteTxn& txn) {
    const auto added = txn.append_event(draft(g, alice, "", "", EventKind::member_added)).event;
    txn.add_member(g, ConversationKind::group, bob, Role::member, added.seq, added.pos);
    EXPECT_TRUE(txn.hidden_seqs(bob, g, 1, 10).empty());
  });
  read([&](ReadTxn& txn) {
    EXPECT_EQ(txn.member(g, bob)->settings, ConversationSettings{});
    EXPECT_TRUE(txn.hidden_seqs(bob, g, 1, 10).empty());
    EXPECT_EQ(txn.hidden_seqs(alice, g, 1, 10), std::vector<Seq>{4});  // another member's stay
  });
}

// ------------------------------------------------------------------------ users.search

STORE_SUITE(StoreUserSearchTest);

std::vector<std::pair<std::string, UserId>> hits_of(const std::vector<UserSearchHit>& hits) {
  std::vector<std::pair<std::string, UserId>> out;
  for (const auto& h : hits) out.emplace_back(h.term, h.user.id);
  std::sort(out.begin(), out.end());
  return out;
}

// The directory is one range of the terms, in (term, user) order, each user once at its
// smallest matching term; paging after (term, user) neither repeats nor skips anyone.
TEST_P(StoreUserSearchTest, DirectoryRangeIsOrderedDeduplicatedAndPaged) {
  const UserId ann = make_user("ann"), anna = make_user("anna"), bob = make_user("bob"), zoe = make_user("zoe");
  batch([&](WriteTxn& txn) {
    txn.set_search_terms(ann, {"ann", "ann smith", "smith"});
    txn.set_search_terms(anna, {"anna", "anna karenina", "karenina"});
    txn.set_search_terms(bob, {"bob", "bob annan", "annan"});
    txn.set_search_terms(zoe, {"zoe", "\xc3\xa4nne"});  // "änne": not an "an" prefix in bytes
  });
  const auto all = read([&](ReadTxn& txn) { return txn.search_directory("an", "ao", "", 0, 0, 100); });
  std::vector<std::pair<std::string, UserId>> got;
  for (const auto& h : all) got.emplace_back(h.term, h.user.id);
  EXPECT_EQ(got, (std::vector<std::pair<std::string, UserId>>{{"ann", ann}, {"anna", anna}, {"annan", bob}}));
  EXPECT_EQ(all[0].user.username, "ann");
  // Pages of one, each after the last one's (term, user).
  std::vector<UserId> paged;
  std::string term;
  UserId user = 0;
  for (int i = 0; i < 5; ++i) {
    const auto page = read([&](ReadTxn& txn) { return txn.search_directory("an", "ao", term, user, 0, 1); });
    if (page.empty()) break;
    term = page[0].term;
    user = page[0].user.id;
    paged.push_back(user);
  }
  EXPECT_EQ(paged, (std::vector<UserId>{ann, anna, bob}));
  // The caller is left out; so is a user who is not discoverable.
  batch([&](WriteTxn& txn) { txn.set_privacy(anna, true, true, false); });
  const auto visible = read([&](ReadTxn& txn) { return txn.search_directory("an", "ao", "", 0, ann, 100); });
  ASSERT_EQ(visible.size(), 1u);
  EXPECT_EQ(visible[0].user.id, bob);
  EXPECT_FALSE(read([&](ReadTxn& txn) { return txn.user(anna)->discoverable; }));
  // Terms are replaced, not added to.
  batch([&](WriteTxn& txn) { txn.set_search_terms(bob, {"bob"}); });
  EXPECT_TRUE(read([&](ReadTxn& txn) { return txn.search_directory("an", "ao", "", 0, ann, 100); }).empty());
}

// Contacts: users sharing an active direct or group conversation (not a channel), whether or
// not they are discoverable, each at its smallest matching term.
TEST_P(StoreUserSearchTest, ContactsAreActiveDirectAndGroupPeers) {
  const UserId me = make_user("me"), direct = make_user("dan"), grouped = make_user("dana"),
               channel_only = make_user("danny"), left = make_user("dave");
  batch([&](WriteTxn& txn) {
    for (auto [u, name] : std::vector<std::pair<UserId, std::string>>{
             {me, "me"}, {direct, "dan"}, {grouped, "dana"}, {channel_only, "danny"}, {left, "dave"}})
      txn.set_search_terms(u, {name, name + " x", "d" + name});
    txn.set_privacy(grouped, true, true, false);
    auto d = txn.create_conversation(ConversationKind::direct, "", "", me, std::make_pair(me, direct));
    txn.add_member(d.id, ConversationKind::direct, me, Role::member, 1, 0);
    txn.add_member(d.id, ConversationKind::direct, direct, Role::member, 1, 0);
    auto g = txn.create_conversation(ConversationKind::group, "g", "", me, std::nullopt);
    for (UserId u : {me, grouped, left}) txn.add_member(g.id, ConversationKind::group, u, Role::member, 1, 0);
    const auto gone = txn.append_event(draft(g.id, left, "", "", EventKind::member_left)).event;
    txn.end_member(g.id, left, gone.seq, gone.pos, "g");
    auto c = txn.create_conversation(ConversationKind::channel, "c", "", me, std::nullopt);
    for (UserId u : {me, channel_only}) txn.add_member(c.id, ConversationKind::channel, u, Role::member, 1, 0);
  });
  const auto contacts = read([&](ReadTxn& txn) { return txn.search_contacts(me, "da", "db"); });
  EXPECT_EQ(hits_of(contacts), (std::vector<std::pair<std::string, UserId>>{{"dan", direct}, {"dana", grouped}}));
  EXPECT_TRUE(read([&](ReadTxn& txn) { return txn.search_contacts(me, "zz", "z{"); }).empty());
}

TEST_P(StoreUserSearchTest, UsersWithoutTermsUntilTheyAreSet) {
  const UserId a = make_user("a1"), b = make_user("b1");
  auto missing = [&] {
    std::vector<UserId> ids;
    for (const auto& u : read([&](ReadTxn& txn) { return txn.users_without_search_terms(10); })) ids.push_back(u.id);
    return ids;
  };
  EXPECT_EQ(missing(), (std::vector<UserId>{a, b}));
  batch([&](WriteTxn& txn) { txn.set_search_terms(a, {"a1"}); });
  EXPECT_EQ(missing(), (std::vector<UserId>{b}));
  batch([&](WriteTxn& txn) { txn.set_search_terms(b, {}); });  // no terms is still done
  EXPECT_TRUE(missing().empty());
}

// ----------------------------------------------------------- several nodes, one database

// PostgreSQL only: several parleyd nodes commit into one database. (SQLite has one writer per
// file by design.)
class StoreNodesTest : public StoreFixture, public ::testing::Test {
 protected:
  std::string engine_name() const override { return "postgres"; }
  void SetUp() override { set_up(); }
  void TearDown() override { tear_down(); }
};

// The sync cursor under concurrent writers: three "nodes" (engines with their own writer
// connection) commit batches into the same conversations while a reader syncs in a loop the way
// the server does (changed conversations after the cursor, the first event after it in each,
// the events from there; the new cursor is the newest pos returned). A position handed out
// before commit (a plain sequence) fails this: a batch that took pos 99 but committed after the
// one that took pos 100 is skipped by a reader that synced to 100 in between. Here every event
// must be seen exactly once, and seq must stay gap-free per conversation.
TEST_F(StoreNodesTest, ConcurrentWritersNeverHideAnEventFromASyncingReader) {
  const UserId reader_user = make_user("reader");
  constexpr int kConversations = 4, kNodes = 3, kBatches = 60, kPerBatch = 5;
  std::vector<ConversationId> conversations;
  for (int i = 0; i < kConversations; ++i)
    conversations.push_back(batch([&](WriteTxn& txn) {
      const auto c = txn.create_conversation(ConversationKind::group, "g", "", reader_user, std::nullopt);
      txn.add_member(c.id, ConversationKind::group, reader_user, Role::owner, 1, 0);
      return c.id;
    }));

  std::atomic<int> writers_done{0};
  std::mutex appended_mutex;
  std::set<std::pair<ConversationId, Seq>> appended;
  std::vector<std::thread> nodes;
  for (int n = 0; n < kNodes; ++n)
    nodes.emplace_back([&, n] {
      auto engine = open_engine({.url = url(), .node_id = static_cast<unsigned>(n + 1)});
      auto writer = engine->open_writer();
      std::mt19937 random(n);
      for (int b = 0; b < kBatches; ++b) {
        std::vector<std::pair<ConversationId, Seq>> mine;
        WriteTxn& txn = writer->begin_batch();
        for (int i = 0; i < kPerBatch; ++i) {
          const ConversationId c = conversations[random() % kConversations];
          const auto out = txn.append_event(draft(c, 100 + n, "m", "n" + std::to_string(n) + "-" + std::to_string(b) +
                                                                       "-" + std::to_string(i)));
          mine.emplace_back(c, out.event.seq);
        }
        writer->commit_batch();
        std::lock_guard lock(appended_mutex);
        appended.insert(mine.begin(), mine.end());
      }
      ++writers_done;
    });

  std::map<std::pair<ConversationId, Seq>, int> seen;
  Pos cursor = 0;
  int syncs = 0;
  auto sync_once = [&] {
    ++syncs;
    read([&](ReadTxn& txn) {
      Pos newest = cursor;
      for (const auto& changed : txn.changed_conversations(reader_user, cursor)) {
        const ConversationId c = changed.conversation.id;
        auto first = txn.first_event_after(c, 1, INT64_MAX, cursor);
        if (!first) continue;
        for (const auto& e : txn.events(c, first->seq, INT64_MAX, 1'000'000, false)) {
          ASSERT_GT(e.pos, cursor);
          ++seen[{c, e.seq}];
          newest = std::max(newest, e.pos);
        }
      }
      cursor = newest;
    });
  };
  while (writers_done.load() < kNodes) sync_once();
  for (auto& node : nodes) node.join();
  sync_once();  // everything is committed now

  EXPECT_GT(syncs, 2);
  EXPECT_EQ(appended.size(), static_cast<std::size_t>(kNodes * kBatches * kPerBatch));
  for (const auto& [key, count] : seen) EXPECT_EQ(count, 1) << "conversation " << key.first << " seq " << key.second;
  std::set<std::pair<ConversationId, Seq>> seen_keys;
  for (const auto& [key, count] : seen) seen_keys.insert(key);
  EXPECT_EQ(seen_keys, appended);
  // Gap-free per conversation, and pos unique across everything.
  std::set<Pos> positions;
  for (ConversationId c : conversations) {
    const auto events = all_events(c);
    for (std::size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].seq, static_cast<Seq>(i + 1));
      EXPECT_TRUE(positions.insert(events[i].pos).second);
    }
  }
}

// Two nodes storing the same sender's client_msg_id at once: one stores it, the other gets the
// original back as a duplicate (the batch that commits second sees the first's row).
TEST_F(StoreNodesTest, TheSameClientMsgIdFromTwoNodesIsStoredOnce) {
  const ConversationId c = make_conversation(ConversationKind::group);
  for (int round = 0; round < 20; ++round) {
    const std::string id = "both-" + std::to_string(round);
    std::vector<AppendOutcome> outcomes(2);
    std::vector<std::thread> nodes;
    for (int n = 0; n < 2; ++n)
      nodes.emplace_back([&, n] {
        auto engine = open_engine({.url = url(), .node_id = static_cast<unsigned>(n + 1)});
        auto writer = engine->open_writer();
        BatchPreview preview;
        preview.client_msg_ids.emplace_back(7, id);
        WriteTxn& txn = writer->begin_batch(preview);
        outcomes[n] = txn.append_event(draft(c, 7, "node " + std::to_string(n), id));
        writer->commit_batch();
      });
    for (auto& node : nodes) node.join();
    EXPECT_NE(outcomes[0].duplicate, outcomes[1].duplicate) << "round " << round;
    EXPECT_EQ(outcomes[0].event.seq, outcomes[1].event.seq);
    EXPECT_EQ(outcomes[0].event.id, outcomes[1].event.id);
  }
  EXPECT_EQ(all_events(c).size(), 20u);
}

// Nodes starting together on an empty database: one migrates, the others wait for it.
TEST_F(StoreNodesTest, NodesStartingAtOnceMigrateOnce) {
  testing_support::TestDatabase fresh("postgres");
  std::vector<std::thread> nodes;
  std::atomic<int> opened{0};
  for (int n = 0; n < 4; ++n)
    nodes.emplace_back([&] {
      auto engine = open_engine({.url = fresh.url()});
      auto writer = engine->open_writer();
      writer->begin_batch().create_user("user" + std::to_string(opened.fetch_add(1)), "", "", "", "");
      writer->commit_batch();
    });
  for (auto& node : nodes) node.join();
  EXPECT_EQ(opened.load(), 4);
}

// PostgreSQL's own schema: an existing database upgrades.
class StorePostgresSchemaTest : public StoreFixture, public ::testing::Test {
 protected:
  std::string engine_name() const override { return "postgres"; }
  void SetUp() override { set_up(); }
  void TearDown() override { tear_down(); }

  // Runs statements on the test's database; throws with the server's message.
  void exec(const std::string& sql) {
    PGconn* conn = PQconnectdb(url().c_str());
    PGresult* result = PQexec(conn, sql.c_str());
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK || PQresultStatus(result) == PGRES_TUPLES_OK;
    const std::string message = PQresultErrorMessage(result);
    PQclear(result);
    PQfinish(conn);
    if (!ok) throw std::runtime_error(sql + ": " + message);
  }
};

// Migration 2 gives the members of an existing database their own conversation settings (and
// migrations 3 and 4 run after it on the same data).
TEST_F(StorePostgresSchemaTest, MigrationTwoAddsConversationSettingsToExistingMembers) {
  const UserId alice = make_user("alice");
  const ConversationId c = make_conversation(ConversationKind::group);
  batch([&](WriteTxn& txn) { txn.add_member(c, ConversationKind::group, alice, Role::owner, 1, 0); });
  close();
  exec("DROP TABLE notification_settings; ALTER TABLE members DROP COLUMN notify; "
       "DROP TABLE push_jobs; DROP TABLE push_subscriptions; DROP TABLE message_media; DROP TABLE media; DROP TABLE hidden_messages; ALTER TABLE members DROP COLUMN cleared_seq; "
       "DROP TABLE user_terms; ALTER TABLE users DROP COLUMN discoverable, DROP COLUMN search_terms_done; "
       "DROP INDEX members_pinned; ALTER TABLE members DROP COLUMN muted_until, DROP COLUMN archived, "
       "DROP COLUMN pin_rank, DROP COLUMN marked_unread; UPDATE parley_schema SET version = 1");
  open();
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.member(c, alice)->settings; }), ConversationSettings{});
  const ConversationSettings muted{.muted_until = 1795806133798, .archived = false, .pin_rank = 0, .marked_unread = true};
  batch([&](WriteTxn& txn) { txn.set_conversation_settings(c, alice, muted); });
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.member(c, alice)->settings; }), muted);
  // Migration 3: existing users are discoverable and wait for their search terms.
  const auto unindexed = read([&](ReadTxn& txn) { return txn.users_without_search_terms(10); });
  ASSERT_EQ(unindexed.size(), 1u);
  EXPECT_EQ(unindexed[0].id, alice);
  EXPECT_TRUE(unindexed[0].discoverable);
  // Migration 4: hidden messages.
  append(c, alice, "one");
  batch([&](WriteTxn& txn) { txn.hide_messages(alice, c, {1}); });
  EXPECT_EQ(read([&](ReadTxn& txn) { return txn.hidden_seqs(alice, c, 1, 1); }), std::vector<Seq>{1});
  // Migration 5: the media table.
  EXPECT_FALSE(read([&](ReadTxn& txn) { return txn.media("none"); }).has_value());
  // Migration 8: notification preferences (the level came back as the default above).
  EXPECT_EQ(batch([&](WriteTxn& txn) { return txn.notification_settings(alice); }), NotificationSettings{});
}

// ------------------------------------------------------------------------ reader pool

STORE_SUITE(StoreReaderPoolTest);

TEST_P(StoreReaderPoolTest, RunsTasksInReadTransactionsAndReportsFailures) {
  const ConversationId c = make_conversation(ConversationKind::group);
  append(c, 1, "one");
  std::atomic<int> seen_seq{-1};
  std::atomic<int> failures{0};
  std::atomic<int> calls{0};
  {
    ReaderPool pool(*engine_, 2, 16);
    EXPECT_TRUE(pool.submit([&](ReadTxn* txn) {
      if (txn) seen_seq = static_cast<int>(txn->conversation(c)->last_seq);
    }));
    // A StoreFailure thrown by a task: the task is called again with nullptr to report it.
    EXPECT_TRUE(pool.submit([&](ReadTxn* txn) {
      ++calls;
      if (!txn) {
        ++failures;
        return;
      }
      EXPECT_EQ(txn->conversation(c)->last_seq, 1);
      throw StoreFailure("simulated");
    }));
    pool.stop();  // runs what is queued first
    EXPECT_FALSE(pool.submit([](ReadTxn*) {}));
  }
  EXPECT_EQ(seen_seq.load(), 1);
  EXPECT_EQ(failures.load(), 1);
  EXPECT_EQ(calls.load(), 2);
}

TEST_P(StoreReaderPoolTest, QueueIsBounded) {
  ReaderPool pool(*engine_, 1, 3);
  std::promise<void> started, release;
  auto release_future = release.get_future().share();
  ASSERT_TRUE(pool.submit([&](ReadTxn*) {
    started.set_value();
    release_future.wait();
  }));
  started.get_future().wait();  // the only thread is busy, the queue is empty
  std::atomic<int> ran{0};
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(pool.submit([&](ReadTxn* txn) { ran += txn != nullptr; }));
  EXPECT_FALSE(pool.submit([&](ReadTxn*) { ran += 100; }));
  release.set_value();
  pool.stop();
  EXPECT_EQ(ran.load(), 3);
}

}  // namespace
}  // namespace parley::store
