#include "chat/worker_thread.hpp"

#include <spdlog/spdlog.h>

#include "core/clock.hpp"

namespace parley::chat {

WorkerThread::WorkerThread(std::string name, std::size_t max_queue) : max_queue_(max_queue) {
  thread_ = std::thread([this, name = std::move(name)] {
    name_this_thread(name);
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      try {
        task();
      } catch (const std::exception& e) {
        spdlog::error("worker: {}", e.what());  // a task's bug; the next task still runs
      }
    }
  });
}

WorkerThread::~WorkerThread() { stop(); }

bool WorkerThread::submit(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

void WorkerThread::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace parley::chat
