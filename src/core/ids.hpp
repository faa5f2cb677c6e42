// Identifier types and the snowflake message-id generator.
#pragma once

#include <cstdint>
#include <string>

namespace parley {

using UserId = std::int64_t;          // users.id, assigned by the store
using ConversationId = std::int64_t;  // conversations.id, assigned by the store
using Seq = std::int64_t;             // per-conversation event number: 1, 2, 3 ... gap-free
using Pos = std::int64_t;             // global commit position; the sync cursor
using MessageId = std::uint64_t;      // snowflake, sortable by creation time
using SessionId = std::uint64_t;      // unique per process, never reused

// Snowflake ids: 41 bits of milliseconds since 2026-01-01T00:00:00Z, 10 bits of node id,
// 12 bits of counter. Sortable by time; unique per node as long as the clock does not step
// back by more than what the generator absorbs (it never goes below the last id it issued).
// Not thread-safe: one generator per thread that issues ids (the store writer).
class SnowflakeGenerator {
 public:
  static constexpr std::int64_t kEpochMs = 1767225600000;  // 2026-01-01T00:00:00Z
  static constexpr int kNodeBits = 10;
  static constexpr int kCounterBits = 12;

  explicit SnowflakeGenerator(unsigned node_id) : node_id_(node_id & ((1u << kNodeBits) - 1)) {}

  // Returns the next id for wall-clock time `now_ms`. Monotonic even if `now_ms` goes back.
  MessageId next(std::int64_t now_ms);

  // Makes every later id greater than `id` (e.g. the newest stored id after a restart).
  void advance_past(MessageId id);

  // The creation time (ms since the Unix epoch) encoded in an id.
  static std::int64_t timestamp_ms(MessageId id) {
    return static_cast<std::int64_t>(id >> (kNodeBits + kCounterBits)) + kEpochMs;
  }

 private:
  unsigned node_id_;
  std::int64_t last_ms_ = 0;
  std::uint32_t counter_ = 0;
};

}  // namespace parley
