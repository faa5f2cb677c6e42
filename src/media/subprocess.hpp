// Runs an untrusted-input tool (libvips' command-line programs) as a child process in a
// small box: a wall-clock timeout (then SIGKILL), rlimits on address space, CPU time, the
// size of files it writes and its open files, no core dumps, no new privileges, killed if
// parleyd dies, an empty stdin and only the environment given. A crash or a hang in a
// decoder is then the child's failure, reported here, never parleyd's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace parley::media {

struct SandboxLimits {
  int timeout_ms = 10000;                 // wall clock; then SIGKILL
  std::int64_t address_space_bytes = 1LL << 30;  // RLIMIT_AS
  int cpu_seconds = 10;                   // RLIMIT_CPU
  std::int64_t max_file_bytes = 64LL << 20;     // RLIMIT_FSIZE: largest file it may write
  std::size_t max_output_bytes = 64 * 1024;     // stdout and stderr kept (each); the rest is dropped
};

struct SandboxOutcome {
  bool timed_out = false;
  int exit_code = -1;  // when it exited normally
  int signal = 0;      // when a signal ended it (SIGKILL after a timeout, SIGSEGV, SIGXCPU, ...)
  std::string out;     // stdout, at most max_output_bytes
  std::string err;     // stderr, at most max_output_bytes

  bool succeeded() const { return !timed_out && signal == 0 && exit_code == 0; }
};

// Runs `argv` (argv[0] an absolute path; no shell, no PATH lookup) with exactly `env`
// ("NAME=value" each) and waits for it, blocking the calling thread: call it from a worker
// thread, never an I/O thread. internal only when the child cannot be started (fork, pipe);
// everything the child does is in the outcome.
Result<SandboxOutcome> run_sandboxed(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                     const SandboxLimits& limits);

}  // namespace parley::media
