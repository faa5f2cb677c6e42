// FileThread: one thread for the blocking file work of media uploads and downloads (write,
// fsync, rename, read), so that a slow disk never stalls an I/O thread's sessions. Tasks run
// one at a time in the order posted; results go back to the connection's I/O thread by
// posting to its io_context.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <thread>

namespace parley::gateway {

class FileThread {
 public:
  FileThread();
  // Runs what is queued, then joins.
  ~FileThread();
  FileThread(const FileThread&) = delete;
  FileThread& operator=(const FileThread&) = delete;

  // Runs `task` on the file thread, after what is already queued. Any thread.
  void post(std::function<void()> task);

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace parley::gateway
