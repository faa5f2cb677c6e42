#include "gateway/io_threads.hpp"

#include <boost/asio/post.hpp>

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

IoThreads::IoThreads(unsigned count) {
  for (unsigned i = 0; i < std::max(1u, count); ++i) {
    contexts_.push_back(std::make_unique<ThreadContext>(i));
    guards_.push_back(std::make_unique<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
        contexts_.back()->io.get_executor()));
  }
}

IoThreads::~IoThreads() { stop(); }

void IoThreads::post(unsigned index, std::function<void()> task) {
  boost::asio::post(contexts_[index]->io, std::move(task));
}

void IoThreads::start() {
  for (auto& context : contexts_) threads_.emplace_back([c = context.get()] { c->io.run(); });
}

void IoThreads::stop() {
  for (auto& guard : guards_) guard->reset();
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  threads_.clear();
}

}  // namespace parley::gateway
