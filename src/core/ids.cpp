#include "core/ids.hpp"

namespace parley {

MessageId SnowflakeGenerator::next(std::int64_t now_ms) {
  std::int64_t ms = now_ms - kEpochMs;
  if (ms < 0) ms = 0;
  if (ms <= last_ms_) {
    // Same millisecond (or the clock went back): keep counting within the last one; when the
    // counter overflows, borrow the next millisecond so ids stay strictly increasing.
    ms = last_ms_;
    if (++counter_ >= (1u << kCounterBits)) {
      counter_ = 0;
      ++ms;
    }
  } else {
    counter_ = 0;
  }
  last_ms_ = ms;
  return (static_cast<MessageId>(ms) << (kNodeBits + kCounterBits)) |
         (static_cast<MessageId>(node_id_) << kCounterBits) | counter_;
}

void SnowflakeGenerator::advance_past(MessageId id) {
  const auto ms = static_cast<std::int64_t>(id >> (kNodeBits + kCounterBits));
  const auto counter = static_cast<std::uint32_t>(id & ((1u << kCounterBits) - 1));
  if (ms > last_ms_ || (ms == last_ms_ && counter > counter_)) {
    last_ms_ = ms;
    counter_ = counter;
  }
}

}  // namespace parley
