#include "gateway/file_thread.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"

namespace parley::gateway {

FileThread::FileThread()
    : work_(boost::asio::make_work_guard(io_)), thread_([this] {
        name_this_thread("files");
        for (;;) {
          try {
            io_.run();
            return;
          } catch (const std::exception& e) {
            spdlog::error("file thread: {}", e.what());  // a task's bug; the next task still runs
          }
        }
      }) {}

FileThread::~FileThread() {
  work_.reset();
  thread_.join();
}

void FileThread::post(std::function<void()> task) { boost::asio::post(io_, std::move(task)); }

}  // namespace parley::gateway
