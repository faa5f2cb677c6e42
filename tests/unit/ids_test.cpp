// Unit tests for core/ids: snowflake ids are strictly increasing whatever the clock does, and
// their bit layout (41 bits ms | 10 bits node | 12 bits counter) is as documented.
#include "core/ids.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace parley {
namespace {

using Gen = SnowflakeGenerator;

constexpr std::int64_t kNow = Gen::kEpochMs + 123'456'789;  // some time after the epoch
constexpr int kCounterShift = 0;
constexpr int kNodeShift = Gen::kCounterBits;
constexpr int kTimeShift = Gen::kCounterBits + Gen::kNodeBits;
constexpr MessageId kCounterMask = (MessageId{1} << Gen::kCounterBits) - 1;
constexpr MessageId kNodeMask = (MessageId{1} << Gen::kNodeBits) - 1;

MessageId counter_of(MessageId id) { return (id >> kCounterShift) & kCounterMask; }
MessageId node_of(MessageId id) { return (id >> kNodeShift) & kNodeMask; }
std::int64_t ms_of(MessageId id) { return static_cast<std::int64_t>(id >> kTimeShift); }

TEST(Snowflake, LayoutMatchesDocumentation) {
  EXPECT_EQ(Gen::kNodeBits, 10);
  EXPECT_EQ(Gen::kCounterBits, 12);
  EXPECT_EQ(Gen::kEpochMs, 1767225600000);  // 2026-01-01T00:00:00Z
}

TEST(Snowflake, StrictlyIncreasingWithinOneMillisecond) {
  Gen gen(3);
  MessageId last = gen.next(kNow);
  for (int i = 0; i < 100; ++i) {
    const MessageId id = gen.next(kNow);
    EXPECT_GT(id, last);
    EXPECT_EQ(counter_of(id), counter_of(last) + 1);
    EXPECT_EQ(Gen::timestamp_ms(id), kNow);
    last = id;
  }
}

TEST(Snowflake, NewMillisecondRestartsTheCounter) {
  Gen gen(3);
  MessageId last = 0;
  for (int i = 0; i < 5; ++i) last = gen.next(kNow);
  EXPECT_EQ(counter_of(last), 4u);
  const MessageId later = gen.next(kNow + 1);
  EXPECT_GT(later, last);
  EXPECT_EQ(counter_of(later), 0u);
  EXPECT_EQ(Gen::timestamp_ms(later), kNow + 1);
  const MessageId much_later = gen.next(kNow + 86'400'000);
  EXPECT_GT(much_later, later);
  EXPECT_EQ(Gen::timestamp_ms(much_later), kNow + 86'400'000);
}

TEST(Snowflake, StrictlyIncreasingWhenTheClockGoesBackwards) {
  Gen gen(7);
  const MessageId before = gen.next(kNow);
  const MessageId back_1ms = gen.next(kNow - 1);
  const MessageId back_1h = gen.next(kNow - 3'600'000);
  const MessageId back_to_epoch = gen.next(Gen::kEpochMs - 1'000);
  EXPECT_GT(back_1ms, before);
  EXPECT_GT(back_1h, back_1ms);
  EXPECT_GT(back_to_epoch, back_1h);
  // The generator keeps the last millisecond rather than the clock's.
  EXPECT_EQ(Gen::timestamp_ms(back_1h), kNow);
  EXPECT_EQ(node_of(back_1h), 7u);
  // Once the clock passes the last millisecond again, ids follow it.
  const MessageId recovered = gen.next(kNow + 5);
  EXPECT_GT(recovered, back_to_epoch);
  EXPECT_EQ(Gen::timestamp_ms(recovered), kNow + 5);
  EXPECT_EQ(counter_of(recovered), 0u);
}

TEST(Snowflake, CounterOverflowBorrowsTheNextMillisecond) {
  Gen gen(1);
  const int per_ms = 1 << Gen::kCounterBits;
  std::vector<MessageId> ids;
  for (int i = 0; i < 3 * per_ms + 10; ++i) ids.push_back(gen.next(kNow));
  for (std::size_t i = 1; i < ids.size(); ++i) ASSERT_GT(ids[i], ids[i - 1]) << "at " << i;
  EXPECT_EQ(Gen::timestamp_ms(ids[per_ms - 1]), kNow);
  EXPECT_EQ(counter_of(ids[per_ms - 1]), kCounterMask);
  EXPECT_EQ(Gen::timestamp_ms(ids[per_ms]), kNow + 1);
  EXPECT_EQ(counter_of(ids[per_ms]), 0u);
  EXPECT_EQ(Gen::timestamp_ms(ids.back()), kNow + 3);
  for (MessageId id : ids) EXPECT_EQ(node_of(id), 1u);

  // The clock catching up with the borrowed millisecond must not reuse its ids.
  const MessageId caught_up = gen.next(kNow + 3);
  EXPECT_GT(caught_up, ids.back());
  const MessageId ahead = gen.next(kNow + 4);
  EXPECT_GT(ahead, caught_up);
}

TEST(Snowflake, NodeIdBitsLandBetweenTimeAndCounter) {
  for (unsigned node : {0u, 1u, 5u, 512u, 1023u}) {
    Gen gen(node);
    const MessageId id = gen.next(kNow);
    EXPECT_EQ(node_of(id), node) << node;
    EXPECT_EQ(counter_of(id), 0u) << node;
    EXPECT_EQ(ms_of(id), kNow - Gen::kEpochMs) << node;
    EXPECT_EQ(id, (static_cast<MessageId>(kNow - Gen::kEpochMs) << 22) | (MessageId{node} << 12)) << node;
  }
}

TEST(Snowflake, NodeIdIsTruncatedToTenBits) {
  Gen gen(1024 + 5);
  EXPECT_EQ(node_of(gen.next(kNow)), 5u);
  Gen all_ones(0xFFFFFFFFu);
  const MessageId id = all_ones.next(kNow);
  EXPECT_EQ(node_of(id), kNodeMask);
  EXPECT_EQ(Gen::timestamp_ms(id), kNow);  // the node must not spill into the time bits
}

TEST(Snowflake, DifferentNodesNeverCollideInTheSameMillisecond) {
  Gen a(1), b(2);
  std::vector<MessageId> ids;
  for (int i = 0; i < 5000; ++i) {
    ids.push_back(a.next(kNow));
    ids.push_back(b.next(kNow));
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
}

TEST(Snowflake, TimestampRoundTrip) {
  const std::int64_t max_ms = (std::int64_t{1} << 41) - 1;
  for (std::int64_t now : {Gen::kEpochMs, Gen::kEpochMs + 1, kNow, std::int64_t{1798761600000},  // 2027-01-01
                           Gen::kEpochMs + max_ms}) {
    Gen gen(1023);
    const MessageId id = gen.next(now);
    EXPECT_EQ(Gen::timestamp_ms(id), now) << now;
  }
}

TEST(Snowflake, ClockBeforeTheEpochIsClampedToIt) {
  Gen gen(2);
  const MessageId first = gen.next(0);
  const MessageId second = gen.next(Gen::kEpochMs - 1);
  EXPECT_EQ(Gen::timestamp_ms(first), Gen::kEpochMs);
  EXPECT_GT(second, first);
  EXPECT_GT(gen.next(Gen::kEpochMs + 1), second);
}

TEST(Snowflake, RandomClockWalkStaysStrictlyIncreasing) {
  std::mt19937_64 random(12345);
  std::uniform_int_distribution<int> step(-20, 3);  // often backwards, often the same ms
  Gen gen(77);
  std::int64_t now = kNow;
  std::int64_t max_now = now;
  MessageId last = 0;
  for (int i = 0; i < 200'000; ++i) {
    now += step(random);
    max_now = std::max(max_now, now);
    const MessageId id = gen.next(now);
    ASSERT_GT(id, last) << "at " << i;
    ASSERT_GE(Gen::timestamp_ms(id), now) << "at " << i;
    ASSERT_EQ(node_of(id), 77u);
    last = id;
  }
  // Borrowing runs ahead of the clock only by what the counter could not absorb.
  EXPECT_LE(Gen::timestamp_ms(last), max_now + 200'000 / (1 << Gen::kCounterBits) + 1);
}

// After a restart the writer seeds a fresh generator with the newest stored id: even with the
// clock stepped back, new ids sort after it.
TEST(SnowflakeTest, AdvancePastAStoredIdAfterRestart) {
  Gen before(3);
  MessageId stored = 0;
  for (int i = 0; i < 10; ++i) stored = before.next(kNow);
  Gen after(3);
  after.advance_past(stored);
  const MessageId next = after.next(kNow - 5000);  // clock went back 5 s
  EXPECT_GT(next, stored);
  Gen untouched(3);
  untouched.advance_past(stored);
  untouched.advance_past(stored - 100);  // an older id does not move it back
  EXPECT_GT(untouched.next(kNow - 5000), stored);
  EXPECT_GT(Gen(3).next(kNow + 1), stored);  // a later clock needs no seeding
}

}  // namespace
}  // namespace parley
