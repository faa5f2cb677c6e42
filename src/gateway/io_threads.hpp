// IoThreads: one io_context per I/O thread (thread per core), and the per-thread state the
// gateway keeps: a shared receive buffer, the list of sessions for the timeout sweep, and the
// set of sessions with frames to flush at the end of the current event-loop turn.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "gateway/session.hpp"

namespace parley::gateway {

class WsSession;

// Counters of one I/O thread: written only by it (relaxed), read by /metrics from any thread.
struct ThreadCounters {
  std::atomic<std::uint64_t> messages_received{0};  // complete text messages
  std::atomic<std::uint64_t> frames_sent{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> sessions_opened{0};
  std::atomic<std::uint64_t> slow_consumer_closes{0};
  std::atomic<std::uint64_t> rate_limited_frames{0};
  std::atomic<std::uint64_t> protocol_closes{0};  // 1002, 1003, 1007, 1009
  std::atomic<std::uint64_t> write_timeouts{0};

  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

struct alignas(64) ThreadContext {
  explicit ThreadContext(unsigned i);

  unsigned index;
  boost::asio::io_context io;
  boost::asio::steady_timer sweep_timer;

  // Every received byte lands here first; only an incomplete frame is copied to its session.
  static constexpr std::size_t kReadBufferSize = 64 * 1024;
  std::unique_ptr<std::uint8_t[]> read_buffer;

  std::vector<WsSession*> sessions;  // open sessions on this thread (sweep)
  ThreadCounters counters;

  // Sessions that queued frames during this turn; flushed together by one posted task, so a
  // burst of frames to one session leaves in one write.
  void schedule_flush(std::shared_ptr<WsSession> session);

 private:
  std::vector<std::shared_ptr<WsSession>> flush_list_;
  bool flush_posted_ = false;
};

class IoThreads final : public ThreadPoster {
 public:
  explicit IoThreads(unsigned count);
  ~IoThreads() override;

  unsigned thread_count() const override { return count_; }
  void post(unsigned index, std::function<void()> task) override;
  void post_after(unsigned index, int delay_ms, std::function<void()> task) override;

  ThreadContext& context(unsigned index) { return *contexts_[index]; }

  // Prometheus text for the gateway's counters, summed over threads.
  std::string metrics_text() const;

  // Starts the threads; each runs its io_context until stop().
  void start();
  // Joins the threads (call after stopping each io_context or letting them run dry), then
  // destroys the io_contexts and what their pending handlers own. Call before destroying the
  // objects those handlers point to.
  void stop();

 private:
  unsigned count_;
  std::vector<std::unique_ptr<ThreadContext>> contexts_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>> guards_;
};

}  // namespace parley::gateway
