// ReaderPool: threads that each own a reader connection and run read tasks in a snapshot
// transaction. Reads (history, sync, lists, login) never run on I/O threads and never block
// the writer (WAL).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace parley::store {

class ReaderPool {
 public:
  // `task` runs on a reader thread inside one read transaction. If the store fails (before
  // the task or by a StoreFailure thrown out of it) the task is called with nullptr and must
  // report an error to its requester; so a task replies only after its last store call.
  using Task = std::function<void(ReadTxn* txn)>;

  ReaderPool(Engine& engine, int threads, std::size_t max_queue);
  ~ReaderPool();

  // Thread-safe. False if the queue is full or the pool stopped (the task is not run).
  bool submit(Task task);
  // Runs what is queued, then joins the threads.
  void stop();

 private:
  void run(ReaderConnection* connection);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> queue_;
  std::size_t max_queue_;
  bool stopping_ = false;
  std::vector<std::unique_ptr<ReaderConnection>> connections_;
  std::vector<std::thread> threads_;
};

}  // namespace parley::store
