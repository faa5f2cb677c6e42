// WorkerThread: one thread for slow blocking work that must stay off the I/O threads, the
// writer and the readers (media.complete: sniffing, libvips children). Tasks run one at a
// time in the order submitted.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace parley::chat {

class WorkerThread {
 public:
  WorkerThread(std::string name, std::size_t max_queue);
  // Runs what is queued, then joins.
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Thread-safe. False if the queue is full or the worker is stopping (the task is not run).
  bool submit(std::function<void()> task);
  // Runs what is queued, then joins (idempotent).
  void stop();

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::size_t max_queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace parley::chat
