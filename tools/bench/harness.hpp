// What every parley-bench scenario shares: the target server (spawned or given), users created
// through the admin API, client threads, process statistics and the JSON report.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/client.hpp"
#include "histogram.hpp"

namespace parley::bench {

struct CommonOptions {
  // Targets: one, or several nodes of a cluster (clients spread over them; admin and REST calls
  // go to the first). Empty with spawn_server.
  std::vector<std::string> server_urls;
  std::string admin_token = "bench-admin-token-0123456789abcdef";
  std::string spawn_server;        // path to parleyd: start a fresh one with a temporary data dir
  std::vector<std::string> server_args;  // extra arguments for a spawned server
  std::vector<int> server_pids;    // for CPU and memory figures when not spawning (summed)
  int threads = 1;                 // client I/O threads
  std::string out;                 // JSON result file
  std::string plot;                // PNG of the latency distributions (gnuplot); empty = none
  bool quiet = false;              // no progress line
};

struct BenchUser {
  UserId id = 0;
  std::string username;
  std::string token;
};

// CPU time (user+system) and resident memory of a process, from /proc.
struct ProcessSample {
  double cpu_seconds = 0;
  std::int64_t rss_kb = 0;
};
ProcessSample sample_process(int pid);

// The server(s) under test. Spawns parleyd if asked, else uses the given URLs: with several, a
// scenario puts each client on one of them (endpoint(i)) and sends admin and REST calls to the
// first (url()).
class Target {
 public:
  explicit Target(const CommonOptions& options);
  ~Target();
  const std::string& url() const { return urls_.front(); }
  const std::vector<std::string>& urls() const { return urls_; }
  std::size_t server_count() const { return urls_.size(); }
  // The WebSocket endpoint of server `server % server_count()`.
  client::Endpoint endpoint(std::size_t server = 0) const;
  int pid() const { return pids_.empty() ? 0 : pids_.front(); }
  const std::vector<int>& pids() const { return pids_; }
  // CPU time and RSS of every server process, summed (zero when no pid is known).
  ProcessSample sample() const;
  // Creates `count` users "<prefix><n>" with tokens (admin API, batches of 1000). Throws on failure.
  std::vector<BenchUser> create_users(int count, const std::string& prefix);
  // Raw admin/REST call; throws on transport failure.
  std::string call(const std::string& method, const std::string& path, const std::string& body, const std::string& token);

 private:
  std::vector<std::string> urls_;
  std::string admin_token_;
  std::vector<int> pids_;
  bool spawned_ = false;
  std::string data_dir_;
};

// Client I/O threads: each runs an io_context; clients are spread round-robin.
class ClientThreads {
 public:
  explicit ClientThreads(int count);
  ~ClientThreads();
  boost::asio::io_context& next();
  boost::asio::io_context& at(std::size_t i) { return *contexts_[i % contexts_.size()]; }
  std::size_t size() const { return contexts_.size(); }
  // Runs `task` on every thread and waits for all of them.
  void run_everywhere(const std::function<void(std::size_t thread)>& task);
  void stop();

 private:
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::size_t next_ = 0;
};

// A JSON result: named numbers and strings, nested one level ("section.key").
class Report {
 public:
  explicit Report(std::string scenario) : scenario_(std::move(scenario)) {}
  void set(const std::string& section, const std::string& key, double value);
  void set_text(const std::string& section, const std::string& key, const std::string& value);
  void latency(const std::string& section, const Histogram& h);  // p50 .. max, in ms
  std::string json() const;
  // Prints the JSON to stdout and writes it to `options.out`; with `options.plot`, also draws
  // the latency distributions into that PNG (throws if gnuplot fails).
  void write(const CommonOptions& options) const;

 private:
  void plot(const std::string& png) const;

  std::string scenario_;
  std::map<std::string, std::map<std::string, std::string>> values_;  // JSON-ready values
  // Per latency section: (quantile, ms) points from the median to the max.
  std::map<std::string, std::vector<std::pair<double, double>>> curves_;
};

// Adds the machine, server process and bench process figures of a run to the report.
void report_run(Report& report, const Target& target, const ProcessSample& server_before,
                const ProcessSample& server_after, const ProcessSample& bench_before, const ProcessSample& bench_after,
                double seconds);

std::int64_t now_ns();  // CLOCK_MONOTONIC: comparable across processes on one machine

// Waits until `done()` or the timeout; prints a progress line each second from `progress()`.
bool wait_until(const std::function<bool()>& done, double timeout_s, const std::function<std::string()>& progress,
                bool quiet);

}  // namespace parley::bench
