// Committer: the single writer thread and its group commit. Operations submitted from any
// thread queue up while the previous transaction commits; the writer then applies everything
// queued (up to max_batch) in one transaction and makes it durable with one commit (one fsync
// with synchronous=FULL), so the cost of durability is shared by the whole batch.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace parley::store {

// One unit of work in a batch. Implemented by the chat layer.
class WriteOp {
 public:
  virtual ~WriteOp() = default;
  // Runs on the writer thread inside the batch transaction. An op that fails validation must
  // record its error and write nothing. May throw StoreFailure (the batch is then aborted).
  virtual void apply(WriteTxn& txn) = 0;
  // The batch this op was in did not commit: nothing of it is stored. Writer thread.
  virtual void abort(const Error& error) = 0;
  // Adds what apply() will look up to the batch's preview (see BatchPreview). Writer thread,
  // before the batch begins.
  virtual void preview(BatchPreview& preview) const {}
};

class Committer {
 public:
  using Batch = std::vector<std::unique_ptr<WriteOp>>;
  // Called on the writer thread after each successful commit, with the batch's ops in the
  // order they were applied, the pos before the batch and the new committed pos: the batch's
  // events are exactly the positions in (start_pos, committed_pos].
  using CommittedCallback = std::function<void(Batch& batch, Pos start_pos, Pos committed_pos)>;

  Committer(std::unique_ptr<WriterConnection> writer, int max_batch, int max_queue, CommittedCallback on_committed);
  ~Committer();

  // Optional, set before start(): told on the writer thread when a batch has begun (with its
  // start pos, known once the engine holds its writer lock) and when one failed. A cluster node
  // uses it to hold other nodes' later batches until its own is delivered.
  struct BatchHooks {
    std::function<void(Pos start_pos)> begun;
    std::function<void()> failed;
  };
  void set_batch_hooks(BatchHooks hooks) { batch_hooks_ = std::move(hooks); }

  void start();
  // Thread-safe. False (and `op` is dropped) if the queue is full or the committer stopped.
  bool submit(std::unique_ptr<WriteOp>& op);
  // Stops accepting, commits everything already queued, then joins the writer thread.
  void stop();

  // Highest pos known durable. Any thread.
  Pos committed_pos() const { return committed_pos_.load(std::memory_order_acquire); }
  std::uint64_t batches_committed() const { return batches_.load(std::memory_order_relaxed); }
  std::uint64_t ops_committed() const { return ops_.load(std::memory_order_relaxed); }
  std::size_t queue_length() const;
  // False after a batch failed or a probe found the database unreachable, until it is back.
  bool healthy() const { return healthy_.load(std::memory_order_acquire); }

 private:
  void run();
  void process(Batch& batch);

  std::unique_ptr<WriterConnection> writer_;
  const std::size_t max_batch_;
  const std::size_t max_queue_;
  CommittedCallback on_committed_;
  BatchHooks batch_hooks_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  Batch queue_;
  bool accepting_ = true;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<Pos> committed_pos_{0};
  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> ops_{0};
  std::atomic<bool> healthy_{true};
  std::int64_t last_failure_log_ms_ = -1000000;  // writer thread
  std::uint64_t failures_unlogged_ = 0;
};

}  // namespace parley::store
