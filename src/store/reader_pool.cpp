#include "store/reader_pool.hpp"

#include <spdlog/spdlog.h>

#include "core/clock.hpp"

namespace parley::store {
namespace {

// While the store is down every read fails: log one line per second at most.
bool should_log_failure() {
  static std::atomic<std::int64_t> last_ms{-1000000};
  const std::int64_t now = monotonic_ms();
  std::int64_t last = last_ms.load(std::memory_order_relaxed);
  return now - last >= 1000 && last_ms.compare_exchange_strong(last, now, std::memory_order_relaxed);
}

}  // namespace

ReaderPool::ReaderPool(Engine& engine, int threads, std::size_t max_queue) : max_queue_(max_queue) {
  for (int i = 0; i < std::max(1, threads); ++i) connections_.push_back(engine.open_reader());
  for (auto& connection : connections_)
    threads_.emplace_back([this, c = connection.get(), n = threads_.size()] {
      name_this_thread("reader-" + std::to_string(n));
      run(c);
    });
}

ReaderPool::~ReaderPool() { stop(); }

bool ReaderPool::submit(Task task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

void ReaderPool::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
}

void ReaderPool::run(ReaderConnection* connection) {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    ReadTxn* txn = nullptr;
    try {
      txn = &connection->begin_read();
    } catch (const StoreFailure& failure) {
      if (should_log_failure()) spdlog::error("store.read_begin_failed error=\"{}\"", failure.what());
    }
    if (!txn) {
      task(nullptr);
      continue;
    }
    bool failed = false;
    try {
      task(txn);
    } catch (const StoreFailure& failure) {
      if (should_log_failure()) spdlog::error("store.read_failed error=\"{}\"", failure.what());
      failed = true;
    }
    try {
      connection->end_read();
    } catch (const StoreFailure& failure) {
      spdlog::error("store.read_end_failed error=\"{}\"", failure.what());
    }
    if (failed) task(nullptr);
  }
}

}  // namespace parley::store
