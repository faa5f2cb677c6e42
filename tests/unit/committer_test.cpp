// Unit tests for the Committer (single writer thread, group commit) on a real SQLite engine:
// concurrent submitters, gap-free seqs, one outcome per op, the committed callback's order and
// position, batching and max_batch, the bounded queue, draining on stop, and a StoreFailure
// aborting exactly its own batch.
//
// Ops are owned by the Committer and destroyed after their batch, so every outcome is copied
// into a Journal (on the writer thread, under its mutex) and checked from the test thread.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/committer.hpp"
#include "scratch_dir.hpp"
#include "store/store.hpp"

namespace parley::store {
namespace {

using namespace std::chrono_literals;

using testing_support::ScratchDir;

// What happened to the ops, in the order it happened.
struct Journal {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<int> applied;                   // tags, in apply order (aborted batches included)
  std::vector<int> committed;                 // tags, in the callback's order
  std::map<int, int> committed_count;         // tag -> times reported committed
  std::map<int, int> aborted_count;           // tag -> times abort() was called
  std::map<int, EventRecord> events;          // tag -> committed event
  std::vector<std::size_t> batch_sizes;       // per committed batch
  std::vector<Pos> committed_positions;       // per committed batch
  std::vector<ErrorCode> abort_codes;

  // Waits (bounded) until `predicate` holds; the predicate runs under the mutex.
  template <typename P>
  bool wait_for(P predicate) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, [&] { return predicate(); });
  }
};

class TestOp final : public WriteOp {
 public:
  using Action = std::function<void(WriteTxn& txn, TestOp& op)>;
  TestOp(int tag, Journal& journal, Action action) : tag_(tag), journal_(journal), action_(std::move(action)) {}

  void apply(WriteTxn& txn) override {
    {
      std::lock_guard lock(journal_.mutex);
      journal_.applied.push_back(tag_);
    }
    action_(txn, *this);
  }
  void abort(const Error& error) override {
    std::lock_guard lock(journal_.mutex);
    ++journal_.aborted_count[tag_];
    journal_.abort_codes.push_back(error.code);
    journal_.changed.notify_all();
  }

  int tag() const { return tag_; }
  std::optional<EventRecord> event;  // set by an action that appended one

 private:
  int tag_;
  Journal& journal_;
  Action action_;
};

// Appends a text message; the op remembers the stored event.
TestOp::Action send(ConversationId conversation, UserId sender, std::string client_msg_id = {}) {
  return [=](WriteTxn& txn, TestOp& op) {
    EventRecord draft;
    draft.conversation_id = conversation;
    draft.sender_id = sender;
    draft.body = "m";
    draft.client_msg_id = client_msg_id;
    op.event = txn.append_event(draft).event;
  };
}

// Holds the writer thread inside apply() until opened, so that submissions pile up.
class Gate {
 public:
  TestOp::Action action(ConversationId conversation) {
    return [this, conversation](WriteTxn& txn, TestOp& op) {
      send(conversation, 1)(txn, op);
      entered_.set_value();
      opened_.wait();
    };
  }
  void wait_entered() { ASSERT_EQ(entered_future_.wait_for(5s), std::future_status::ready); }
  void open() { open_.set_value(); }

 private:
  std::promise<void> entered_;
  std::future<void> entered_future_ = entered_.get_future();
  std::promise<void> open_;
  std::shared_future<void> opened_ = open_.get_future().share();
};

class CommitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = open_engine({.url = "sqlite:" + dir_.path() + "/t.db", .synchronous_full = false});
  }
  void TearDown() override {
    if (committer_) committer_->stop();
    committer_.reset();
    engine_.reset();
  }

  // Creates `conversations` conversations, then a started committer on a new writer.
  void start(int max_batch, int max_queue, int conversations = 3, bool start_thread = true) {
    auto writer = engine_->open_writer();
    WriteTxn& txn = writer->begin_batch();
    for (int i = 0; i < conversations; ++i)
      conversations_.push_back(txn.create_conversation(ConversationKind::group, "", "", 1, std::nullopt).id);
    writer->commit_batch();
    committer_ = std::make_unique<Committer>(std::move(writer), max_batch, max_queue,
                                             [this](Committer::Batch& batch, Pos start, Pos pos) { on_committed(batch, start, pos); });
    if (start_thread) committer_->start();
  }

  void on_committed(Committer::Batch& batch, Pos start, Pos pos) {
    std::lock_guard lock(journal_.mutex);
    // Batches follow each other: each starts where the previous one ended.
    if (!journal_.committed_positions.empty()) {
      EXPECT_EQ(start, journal_.committed_positions.back());
    }
    EXPECT_LE(start, pos);
    journal_.batch_sizes.push_back(batch.size());
    journal_.committed_positions.push_back(pos);
    Pos last_event_pos = 0, first_event_pos = 0;
    for (auto& op : batch) {
      auto& test_op = static_cast<TestOp&>(*op);
      journal_.committed.push_back(test_op.tag());
      ++journal_.committed_count[test_op.tag()];
      if (test_op.event) {
        journal_.events[test_op.tag()] = *test_op.event;
        EXPECT_GT(test_op.event->pos, last_event_pos) << "ops not reported in apply order";
        if (first_event_pos == 0) first_event_pos = test_op.event->pos;
        last_event_pos = test_op.event->pos;
      }
    }
    if (last_event_pos != 0) {
      EXPECT_EQ(pos, last_event_pos);
      EXPECT_EQ(start + 1, first_event_pos);  // the batch's events are exactly (start, pos]
    }
    EXPECT_EQ(committer_->committed_pos(), pos);  // published before the callback
    journal_.changed.notify_all();
  }

  bool submit(int tag, TestOp::Action action) {
    std::unique_ptr<WriteOp> op = std::make_unique<TestOp>(tag, journal_, std::move(action));
    return committer_->submit(op);
  }

  std::vector<EventRecord> stored_events(ConversationId conversation) {
    auto reader = engine_->open_reader();
    ReadTxn& txn = reader->begin_read();
    auto events = txn.events(conversation, 1, 1'000'000, 1'000'000, false);
    reader->end_read();
    return events;
  }

  ScratchDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Committer> committer_;
  std::vector<ConversationId> conversations_;
  Journal journal_;
};

TEST_F(CommitterTest, ConcurrentSubmittersAllCommitGapFree) {
  constexpr int kThreads = 4, kOpsPerThread = 250, kMaxBatch = 32;
  start(kMaxBatch, 100000);
  std::vector<std::thread> threads;
  std::atomic<int> rejected{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOpsPerThread; ++i) {
        const int tag = t * kOpsPerThread + i;
        const ConversationId c = conversations_[static_cast<std::size_t>((t + i) % 3)];
        if (!submit(tag, send(c, t + 1, "cm-" + std::to_string(tag)))) ++rejected;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  committer_->stop();
  ASSERT_EQ(rejected.load(), 0);

  constexpr int kTotal = kThreads * kOpsPerThread;
  EXPECT_EQ(committer_->ops_committed(), static_cast<std::uint64_t>(kTotal));
  EXPECT_EQ(committer_->queue_length(), 0u);
  std::lock_guard lock(journal_.mutex);
  // Every op reported exactly once, as committed.
  ASSERT_EQ(journal_.committed_count.size(), static_cast<std::size_t>(kTotal));
  for (const auto& [tag, count] : journal_.committed_count) EXPECT_EQ(count, 1) << "op " << tag;
  EXPECT_TRUE(journal_.aborted_count.empty());
  // The callback reports ops in the order they were applied.
  EXPECT_EQ(journal_.committed, journal_.applied);
  for (std::size_t size : journal_.batch_sizes) EXPECT_LE(size, static_cast<std::size_t>(kMaxBatch));
  EXPECT_TRUE(std::is_sorted(journal_.committed_positions.begin(), journal_.committed_positions.end()));
  EXPECT_EQ(committer_->committed_pos(), journal_.committed_positions.back());

  // Each conversation's seqs are exactly 1..N, each submitter's ops are applied in its order
  // (the queue is FIFO), and positions are unique and cover everything committed.
  std::map<ConversationId, std::vector<Seq>> seqs;
  std::map<int, Pos> last_pos_of_thread;
  std::set<Pos> positions;
  for (int tag : journal_.committed) {
    const EventRecord& e = journal_.events.at(tag);
    seqs[e.conversation_id].push_back(e.seq);
    EXPECT_GT(e.pos, last_pos_of_thread[tag / kOpsPerThread]);
    last_pos_of_thread[tag / kOpsPerThread] = e.pos;
    positions.insert(e.pos);
  }
  EXPECT_EQ(positions.size(), static_cast<std::size_t>(kTotal));
  EXPECT_EQ(*positions.rbegin(), committer_->committed_pos());
  std::size_t stored_total = 0;
  for (ConversationId c : conversations_) {
    auto& list = seqs[c];
    for (std::size_t i = 0; i < list.size(); ++i) ASSERT_EQ(list[i], static_cast<Seq>(i + 1)) << "conversation " << c;
    const auto stored = stored_events(c);
    ASSERT_EQ(stored.size(), list.size());
    for (std::size_t i = 0; i < stored.size(); ++i) {
      EXPECT_EQ(stored[i].seq, static_cast<Seq>(i + 1));
      if (i > 0) {
        EXPECT_GT(stored[i].pos, stored[i - 1].pos);
      }
    }
    stored_total += stored.size();
  }
  EXPECT_EQ(stored_total, static_cast<std::size_t>(kTotal));
}

TEST_F(CommitterTest, BatchesWhileTheWriterIsBusyAndRespectsMaxBatch) {
  constexpr int kMaxBatch = 8, kQueued = 50;
  start(kMaxBatch, 1000);
  Gate gate;
  ASSERT_TRUE(submit(0, gate.action(conversations_[0])));
  gate.wait_entered();
  for (int i = 1; i <= kQueued; ++i) {
    // Some ops write nothing (e.g. failed validation): they still belong to the batch.
    ASSERT_TRUE(submit(i, i % 5 == 0 ? TestOp::Action([](WriteTxn&, TestOp&) {})
                                     : send(conversations_[static_cast<std::size_t>(i % 2)], 2)));
  }
  EXPECT_EQ(committer_->queue_length(), static_cast<std::size_t>(kQueued));
  gate.open();
  committer_->stop();

  EXPECT_EQ(committer_->ops_committed(), static_cast<std::uint64_t>(kQueued + 1));
  EXPECT_LT(committer_->batches_committed(), committer_->ops_committed());
  std::lock_guard lock(journal_.mutex);
  // The gate's batch alone, then the 50 queued ops in batches of at most 8, in submission order.
  EXPECT_EQ(journal_.batch_sizes, (std::vector<std::size_t>{1, 8, 8, 8, 8, 8, 8, 2}));
  EXPECT_EQ(committer_->batches_committed(), journal_.batch_sizes.size());
  std::vector<int> expected(kQueued + 1);
  for (int i = 0; i <= kQueued; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(journal_.committed, expected);
  EXPECT_EQ(journal_.applied, expected);
}

TEST_F(CommitterTest, FullQueueRejectsSubmissions) {
  start(4, 5);
  Gate gate;
  ASSERT_TRUE(submit(0, gate.action(conversations_[0])));
  gate.wait_entered();  // the writer took the gate's op: the queue is empty
  for (int i = 1; i <= 5; ++i) EXPECT_TRUE(submit(i, send(conversations_[0], 2)));
  EXPECT_FALSE(submit(99, send(conversations_[0], 2, "rejected")));
  EXPECT_EQ(committer_->queue_length(), 5u);
  gate.open();
  ASSERT_TRUE(journal_.wait_for([&] { return journal_.committed.size() == 6; }));
  EXPECT_TRUE(submit(6, send(conversations_[0], 2)));  // room again once drained
  committer_->stop();
  EXPECT_FALSE(submit(7, send(conversations_[0], 2)));  // stopped

  std::lock_guard lock(journal_.mutex);
  EXPECT_EQ(journal_.committed, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(journal_.committed_count.count(99), 0u);
  EXPECT_EQ(journal_.aborted_count.count(99), 0u);
  EXPECT_EQ(stored_events(conversations_[0]).size(), 7u);
}

TEST_F(CommitterTest, StopDrainsWhatWasQueued) {
  start(4, 1000);
  Gate gate;
  ASSERT_TRUE(submit(0, gate.action(conversations_[0])));
  gate.wait_entered();
  int accepted = 1;
  for (int i = 1; i <= 20; ++i) accepted += submit(i, send(conversations_[1], 2)) ? 1 : 0;
  ASSERT_EQ(accepted, 21);

  std::thread stopper([&] { committer_->stop(); });
  // Once stop() has begun, submissions are refused while the queue still holds the 20.
  int tag = 100;
  bool refused = false;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!refused && std::chrono::steady_clock::now() < deadline) {
    if (submit(tag++, send(conversations_[1], 2))) {
      ++accepted;
      std::this_thread::sleep_for(100us);
    } else {
      refused = true;
    }
  }
  EXPECT_TRUE(refused);
  EXPECT_GE(committer_->queue_length(), 20u);  // nothing was committed yet: the writer is held
  gate.open();
  stopper.join();

  EXPECT_EQ(committer_->queue_length(), 0u);
  EXPECT_EQ(committer_->ops_committed(), static_cast<std::uint64_t>(accepted));
  EXPECT_EQ(stored_events(conversations_[1]).size(), static_cast<std::size_t>(accepted - 1));
  std::lock_guard lock(journal_.mutex);
  EXPECT_EQ(journal_.committed.size(), static_cast<std::size_t>(accepted));
  EXPECT_TRUE(journal_.aborted_count.empty());
}

TEST_F(CommitterTest, OpsSubmittedBeforeStartCommitOnStart) {
  start(16, 100, 1, /*start_thread=*/false);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(submit(i, send(conversations_[0], 1)));
  committer_->start();
  committer_->stop();
  EXPECT_EQ(committer_->ops_committed(), 3u);
  EXPECT_EQ(stored_events(conversations_[0]).size(), 3u);
}

TEST_F(CommitterTest, StoreFailureAbortsTheWholeBatch) {
  start(10, 100, 2);
  const ConversationId a = conversations_[0], b = conversations_[1];
  Gate gate;
  ASSERT_TRUE(submit(0, gate.action(a)));  // a: seq 1, committed alone
  gate.wait_entered();
  // The next batch: 1..4. Op 3 fails after writing; op 4 is never applied. All four abort.
  ASSERT_TRUE(submit(1, send(a, 2, "cm-1")));
  ASSERT_TRUE(submit(2, [b](WriteTxn& txn, TestOp& op) {
    txn.create_user("ghost", "", "", "", "");
    send(b, 2)(txn, op);
  }));
  ASSERT_TRUE(submit(3, [a](WriteTxn& txn, TestOp& op) {
    send(a, 3)(txn, op);
    throw StoreFailure("disk full (simulated)");
  }));
  ASSERT_TRUE(submit(4, send(a, 4)));
  gate.open();
  ASSERT_TRUE(journal_.wait_for([&] { return journal_.aborted_count.size() == 4; }));
  const Pos pos_after_failure = committer_->committed_pos();

  // The next batch works and continues without a gap; the aborted client_msg_id is not a duplicate.
  ASSERT_TRUE(submit(5, send(a, 2, "cm-1")));
  ASSERT_TRUE(submit(6, send(b, 2)));
  committer_->stop();

  std::lock_guard lock(journal_.mutex);
  EXPECT_EQ(journal_.aborted_count, (std::map<int, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}}));
  for (ErrorCode code : journal_.abort_codes) EXPECT_EQ(code, ErrorCode::unavailable);
  for (int tag : {1, 2, 3, 4}) EXPECT_EQ(journal_.committed_count.count(tag), 0u) << "op " << tag;
  EXPECT_EQ(journal_.applied, (std::vector<int>{0, 1, 2, 3, 5, 6}));
  EXPECT_EQ(committer_->ops_committed(), 3u);
  // The gate's batch, then ops 5 and 6 (in one batch or two, as the writer picks them up).
  EXPECT_EQ(committer_->batches_committed(), journal_.batch_sizes.size());
  EXPECT_EQ(journal_.committed, (std::vector<int>{0, 5, 6}));
  EXPECT_EQ(journal_.batch_sizes.front(), 1u);

  const EventRecord& gate_event = journal_.events.at(0);
  EXPECT_EQ(pos_after_failure, gate_event.pos);  // the failed batch moved nothing
  EXPECT_EQ(journal_.events.at(5).seq, 2);
  EXPECT_EQ(journal_.events.at(5).pos, gate_event.pos + 1);
  EXPECT_EQ(journal_.events.at(6).seq, 1);
  EXPECT_EQ(journal_.events.at(6).pos, gate_event.pos + 2);
  EXPECT_EQ(committer_->committed_pos(), gate_event.pos + 2);

  const auto in_a = stored_events(a);
  ASSERT_EQ(in_a.size(), 2u);
  EXPECT_EQ(in_a[1].client_msg_id, "cm-1");
  EXPECT_EQ(in_a[1].sender_id, 2);
  EXPECT_EQ(stored_events(b).size(), 1u);
  auto reader = engine_->open_reader();
  ReadTxn& txn = reader->begin_read();
  EXPECT_FALSE(txn.user_by_username("ghost").has_value());
  EXPECT_EQ(txn.conversation(a)->last_seq, 2);
  reader->end_read();
}

}  // namespace
}  // namespace parley::store
