// Wall-clock and monotonic time helpers. Wall-clock time is informational only in Parley.
#pragma once

#include <pthread.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace parley {

inline std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Names the calling thread (shown by top -H, perf, gdb); at most 15 characters are kept.
inline void name_this_thread(const std::string& name) { pthread_setname_np(pthread_self(), name.substr(0, 15).c_str()); }

}  // namespace parley
