#include "store/committer.hpp"

#include <spdlog/spdlog.h>

#include "core/clock.hpp"

namespace parley::store {

Committer::Committer(std::unique_ptr<WriterConnection> writer, int max_batch, int max_queue,
                     CommittedCallback on_committed)
    : writer_(std::move(writer)),
      max_batch_(static_cast<std::size_t>(max_batch)),
      max_queue_(static_cast<std::size_t>(max_queue)),
      on_committed_(std::move(on_committed)) {
  committed_pos_.store(writer_->committed_pos());
}

Committer::~Committer() { stop(); }

void Committer::start() {
  thread_ = std::thread([this] {
    name_this_thread("writer");
    run();
  });
}

bool Committer::submit(std::unique_ptr<WriteOp>& op) {
  {
    std::lock_guard lock(mutex_);
    if (!accepting_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(op));
  }
  wake_.notify_one();
  return true;
}

void Committer::stop() {
  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) {
    thread_.join();
    return;
  }
  // Never started: nothing will run the queued ops; tell each of them.
  Batch orphans;
  {
    std::lock_guard lock(mutex_);
    orphans.swap(queue_);
  }
  const Error error = make_error(ErrorCode::unavailable, "the store is shutting down");
  for (auto& op : orphans) op->abort(error);
}

std::size_t Committer::queue_length() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Committer::run() {
  Batch batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      // Idle: probe the database now and then (every 1 s, every 100 ms while it is unreachable),
      // so /readyz follows it even when nothing is written.
      while (queue_.empty() && !stopping_) {
        const auto wait = std::chrono::milliseconds(healthy_.load() ? 1000 : 100);
        if (wake_.wait_for(lock, wait, [&] { return !queue_.empty() || stopping_; })) break;
        lock.unlock();
        const bool reachable = writer_->probe();
        if (reachable != healthy_.load()) spdlog::info("store.reachable value={}", reachable);
        healthy_.store(reachable, std::memory_order_release);
        lock.lock();
      }
      if (queue_.empty()) return;  // stopping and drained
      if (queue_.size() <= max_batch_) {
        batch.swap(queue_);
      } else {
        auto split = queue_.begin() + static_cast<std::ptrdiff_t>(max_batch_);
        batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(split));
        queue_.erase(queue_.begin(), split);
      }
    }
    process(batch);
    batch.clear();
  }
}

void Committer::process(Batch& batch) {
  Pos start_pos = 0;
  try {
    BatchPreview preview;
    if (writer_->wants_preview())
      for (const auto& op : batch) op->preview(preview);
    WriteTxn& txn = writer_->begin_batch(preview);
    start_pos = txn.last_assigned_pos();  // with several nodes: the newest pos of any node
    if (batch_hooks_.begun) batch_hooks_.begun(start_pos);
    for (auto& op : batch) op->apply(txn);
    writer_->commit_batch();
  } catch (const std::exception& failure) {
    // StoreFailure (disk full, I/O error) or a bug in an op: either way nothing of the batch
    // may stay half-applied.
    // One line per second at most while the store stays down (every batch fails meanwhile).
    const std::int64_t now = monotonic_ms();
    if (now - last_failure_log_ms_ >= 1000) {
      spdlog::error("store.batch_failed ops={} error=\"{}\" failed_since_last_line={}", batch.size(), failure.what(),
                    failures_unlogged_);
      last_failure_log_ms_ = now;
      failures_unlogged_ = 0;
    } else {
      ++failures_unlogged_;
    }
    writer_->rollback_batch();
    if (batch_hooks_.failed) batch_hooks_.failed();
    healthy_.store(writer_->probe(), std::memory_order_release);
    const Error error = make_error(ErrorCode::unavailable, "the store could not commit; retry");
    for (auto& op : batch) op->abort(error);
    return;
  }
  healthy_.store(true, std::memory_order_release);
  const Pos pos = writer_->committed_pos();
  committed_pos_.store(pos, std::memory_order_release);
  batches_.fetch_add(1, std::memory_order_relaxed);
  ops_.fetch_add(batch.size(), std::memory_order_relaxed);
  on_committed_(batch, start_pos, pos);
}

}  // namespace parley::store
