// parley_disk_floor: the floor under every durable-write latency figure (docs/benchmarks.md):
// how long an append of N bytes plus fdatasync takes on the disk of a directory (put it on the
// data dir's), one after another, as a group commit's WAL append does. Optionally a second
// thread writes and fsyncs another file meanwhile, as a checkpoint does, to show what that does
// to the first.
//
//   parley_disk_floor [--dir DIR] [--bytes 8192] [--count 2000] [--background-kb 0]
//
// Prints one JSON object: p50/p90/p99/p999/max of the append + fdatasync in microseconds,
// appends per second back to back, and the CPU time (user + system) of this thread per append:
// what one group commit's fsync costs the writer before any database work (on a VM, the
// virtual disk's doorbell and interrupt are exits to the hypervisor, and cost far more CPU
// than the same call on bare metal).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string dir = ".";
  std::size_t bytes = 8192;
  int count = 2000;
  std::size_t background_kb = 0;  // per background write (then fsync), 0 = none
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--dir") o.dir = value;
    else if (flag == "--bytes") o.bytes = std::strtoull(value, nullptr, 10);
    else if (flag == "--count") o.count = std::atoi(value);
    else if (flag == "--background-kb") o.background_kb = std::strtoull(value, nullptr, 10);
    else return false;
  }
  return argc % 2 == 1 && o.bytes > 0 && o.count > 0;
}

int open_scratch(const std::string& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
  return fd;
}

void write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      std::perror("write");
      std::exit(1);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

// User + system CPU time of the calling thread, in microseconds.
double thread_cpu_us() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  const auto us = [](const timeval& t) { return t.tv_sec * 1e6 + t.tv_usec; };
  return us(usage.ru_utime) + us(usage.ru_stime);
}

double percentile(std::vector<double>& sorted, double p) {
  const std::size_t at = std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())));
  return sorted[at];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: parley_disk_floor [--dir DIR] [--bytes N] [--count N] [--background-kb N]\n");
    return 2;
  }
  const std::string log_path = o.dir + "/parley-disk-floor-" + std::to_string(::getpid()) + ".log";
  const std::string other_path = o.dir + "/parley-disk-floor-" + std::to_string(::getpid()) + ".db";
  const int log = open_scratch(log_path);
  std::vector<char> block(o.bytes, 'x');

  std::atomic<bool> stop{false};
  std::thread background;
  if (o.background_kb > 0) {
    background = std::thread([&] {
      const int fd = open_scratch(other_path);
      std::vector<char> chunk(o.background_kb * 1024, 'y');
      off_t at = 0;
      while (!stop.load()) {  // rewrite the same region, as a checkpoint rewrites pages in place
        if (::pwrite(fd, chunk.data(), chunk.size(), at) < 0) break;
        ::fsync(fd);
        at = (at + static_cast<off_t>(chunk.size())) % (64 << 20);
      }
      ::close(fd);
    });
  }

  std::vector<double> micros;
  micros.reserve(static_cast<std::size_t>(o.count));
  const double cpu_start = thread_cpu_us();
  const auto start = Clock::now();
  for (int i = 0; i < o.count; ++i) {
    const auto t0 = Clock::now();
    write_all(log, block.data(), block.size());
    if (::fdatasync(log) != 0) {
      std::perror("fdatasync");
      return 1;
    }
    micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_per_append = (thread_cpu_us() - cpu_start) / o.count;
  stop.store(true);
  if (background.joinable()) background.join();
  ::close(log);
  ::unlink(log_path.c_str());
  ::unlink(other_path.c_str());

  std::sort(micros.begin(), micros.end());
  std::printf(
      "{\"dir\": \"%s\", \"bytes\": %zu, \"count\": %d, \"background_kb\": %zu, \"p50_us\": %.0f, \"p90_us\": %.0f, "
      "\"p99_us\": %.0f, \"p999_us\": %.0f, \"max_us\": %.0f, \"appends_per_s\": %.0f, \"cpu_us_per_append\": %.1f}\n",
      o.dir.c_str(), o.bytes, o.count, o.background_kb, percentile(micros, 0.5), percentile(micros, 0.9),
      percentile(micros, 0.99), percentile(micros, 0.999), micros.back(), o.count / seconds, cpu_per_append);
  return 0;
}
