#include "gateway/io_threads.hpp"

#include <boost/asio/post.hpp>

#include "core/clock.hpp"
#include "gateway/ws_session.hpp"

namespace parley::gateway {

ThreadContext::ThreadContext(unsigned i)
    : index(i), io(1), sweep_timer(io), read_buffer(new std::uint8_t[kReadBufferSize + 64]) {}

void ThreadContext::schedule_flush(std::shared_ptr<WsSession> session) {
  flush_list_.push_back(std::move(session));
  if (flush_posted_) return;
  flush_posted_ = true;
  boost::asio::post(io, [this] {
    flush_posted_ = false;
    auto list = std::move(flush_list_);
    flush_list_.clear();
    for (auto& session : list) {
      session->flush_scheduled = false;
      session->flush();
    }
  });
}

IoThreads::IoThreads(unsigned count) : count_(std::max(1u, count)) {
  for (unsigned i = 0; i < std::max(1u, count); ++i) {
    contexts_.push_back(std::make_unique<ThreadContext>(i));
    guards_.push_back(std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
        contexts_.back()->io.get_executor()));
  }
}

IoThreads::~IoThreads() { stop(); }

void IoThreads::post(unsigned index, std::function<void()> task) {
  if (index < contexts_.size()) boost::asio::post(contexts_[index]->io, std::move(task));
}

std::string IoThreads::metrics_text() const {
  struct Row {
    const char* name;
    const char* help;
    std::atomic<std::uint64_t> ThreadCounters::*counter;
  };
  static constexpr Row kRows[] = {
      {"parley_ws_messages_received_total", "WebSocket text messages received", &ThreadCounters::messages_received},
      {"parley_ws_frames_sent_total", "WebSocket frames queued to clients", &ThreadCounters::frames_sent},
      {"parley_ws_bytes_sent_total", "bytes written to WebSocket clients", &ThreadCounters::bytes_sent},
      {"parley_ws_sessions_opened_total", "WebSocket sessions opened", &ThreadCounters::sessions_opened},
      {"parley_ws_slow_consumer_closes_total", "sessions closed with 4002 (outbound queue full)",
       &ThreadCounters::slow_consumer_closes},
      {"parley_ws_rate_limited_frames_total", "frames refused by the per-session rate limit",
       &ThreadCounters::rate_limited_frames},
      {"parley_ws_protocol_closes_total", "sessions closed for protocol violations (1002/1003/1007/1009)",
       &ThreadCounters::protocol_closes},
      {"parley_ws_write_timeouts_total", "sessions dropped because a write stalled", &ThreadCounters::write_timeouts},
  };
  std::string out;
  for (const auto& row : kRows) {
    std::uint64_t total = 0;
    for (const auto& context : contexts_) total += (context->counters.*row.counter).load(std::memory_order_relaxed);
    out += std::string("# HELP ") + row.name + " " + row.help + "\n# TYPE " + row.name + " counter\n" + row.name +
           " " + std::to_string(total) + "\n";
  }
  return out;
}

void IoThreads::post_after(unsigned index, int delay_ms, std::function<void()> task) {
  if (index >= contexts_.size()) return;
  auto timer = std::make_shared<boost::asio::steady_timer>(contexts_[index]->io, std::chrono::milliseconds(delay_ms));
  timer->async_wait([timer, task = std::move(task)](const boost::system::error_code& ec) {
    if (!ec) task();
  });
}

void IoThreads::start() {
  for (auto& context : contexts_)
    threads_.emplace_back([c = context.get()] {
      name_this_thread("io-" + std::to_string(c->index));
      c->io.run();
    });
}

void IoThreads::stop() {
  for (auto& guard : guards_) guard->reset();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  threads_.clear();
  // Destroy the io_contexts now, while the objects their pending handlers point to (server,
  // chat service) still exist: that runs the destructors of whatever those handlers own.
  guards_.clear();
  contexts_.clear();
}

}  // namespace parley::gateway
