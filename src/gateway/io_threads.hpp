// IoThreads: one io_context per I/O thread (thread per core), and the per-thread state the
// gateway keeps: a shared receive buffer, the list of sessions for the timeout sweep, and the
// set of sessions with frames to flush at the end of the current event-loop turn.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "gateway/session.hpp"

namespace parley::gateway {

class WsSession;

struct ThreadContext {
  explicit ThreadContext(unsigned i);

  unsigned index;
  boost::asio::io_context io;
  boost::asio::steady_timer sweep_timer;

  // Every received byte lands here first; only an incomplete frame is copied to its session.
  static constexpr std::size_t kReadBufferSize = 64 * 1024;
  std::unique_ptr<std::uint8_t[]> read_buffer;

  std::vector<WsSession*> sessions;  // open sessions on this thread (sweep)

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

  unsigned thread_count() const override { return static_cast<unsigned>(contexts_.size()); }
  void post(unsigned index, std::function<void()> task) override;

  ThreadContext& context(unsigned index) { return *contexts_[index]; }

  // Starts the threads; each runs its io_context until stop().
  void start();
  // Lets the io_contexts finish what is queued and joins the threads.
  void stop();

 private:
  std::vector<std::unique_ptr<ThreadContext>> contexts_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>> guards_;
};

}  // namespace parley::gateway
