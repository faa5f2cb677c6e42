// Unit tests for core/throttle: token buckets, growing delays after failures, concurrency caps,
// and their memory bounds. The clock is a number the tests move.
#include "core/throttle.hpp"

#include <gtest/gtest.h>

#include <string>

namespace parley {
namespace {

TEST(RateLimiter, BurstThenRefillsAtTheRate) {
  RateLimiter limiter(/*per_second=*/2, /*burst=*/3, /*max_keys=*/100);
  std::int64_t retry = 0;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.take("a", 0, retry));
  EXPECT_FALSE(limiter.take("a", 0, retry));
  EXPECT_EQ(retry, 500);  // one token per 500 ms
  EXPECT_TRUE(limiter.take("b", 0, retry)) << "keys are independent";
  EXPECT_FALSE(limiter.take("a", 499, retry));
  EXPECT_EQ(retry, 1);
  EXPECT_TRUE(limiter.take("a", 500, retry));
  EXPECT_FALSE(limiter.take("a", 500, retry));
  EXPECT_TRUE(limiter.take("a", 10'000, retry));  // refilled, never past the burst
  EXPECT_TRUE(limiter.take("a", 10'000, retry));
  EXPECT_TRUE(limiter.take("a", 10'000, retry));
  EXPECT_FALSE(limiter.take("a", 10'000, retry));
}

TEST(RateLimiter, StaysBoundedInKeys) {
  RateLimiter limiter(1, 1, 10);
  std::int64_t retry = 0;
  for (int i = 0; i < 1000; ++i) limiter.take("k" + std::to_string(i), i, retry);
  // The newest keys are still limited (their buckets were kept), memory did not grow.
  EXPECT_FALSE(limiter.take("k999", 999, retry));
}

TEST(FailureThrottle, FreeFailuresThenDoublingDelaysUpToTheCap) {
  FailurePolicy policy;
  policy.free_failures = 3;
  policy.base_delay_ms = 1000;
  policy.max_delay_ms = 5000;
  policy.forget_after_ms = 60'000;
  FailureThrottle throttle(policy, 100);
  std::int64_t now = 0;
  for (int i = 0; i < 2; ++i) {
    throttle.record_failure("acct", now);
    EXPECT_EQ(throttle.wait_ms("acct", now), 0);
  }
  throttle.record_failure("acct", now);  // the third: the free ones are used up
  EXPECT_EQ(throttle.wait_ms("acct", now), 1000);
  EXPECT_EQ(throttle.wait_ms("acct", now + 400), 600);
  now += 1000;
  EXPECT_EQ(throttle.wait_ms("acct", now), 0);
  const std::int64_t expected[] = {2000, 4000, 5000, 5000};  // doubling, capped
  for (std::int64_t delay : expected) {
    throttle.record_failure("acct", now);
    EXPECT_EQ(throttle.wait_ms("acct", now), delay);
    now += delay;
  }
  EXPECT_EQ(throttle.failures("acct", now), 7);
  throttle.record_success("acct");
  EXPECT_EQ(throttle.failures("acct", now), 0);
  EXPECT_EQ(throttle.wait_ms("acct", now), 0);
}

TEST(FailureThrottle, FailuresAreForgottenAfterAQuietWindow) {
  FailurePolicy policy;
  policy.free_failures = 1;
  policy.forget_after_ms = 10'000;
  FailureThrottle throttle(policy, 100);
  throttle.record_failure("x", 0);
  EXPECT_GT(throttle.wait_ms("x", 0), 0);
  EXPECT_EQ(throttle.wait_ms("x", 10'001), 0);
  EXPECT_EQ(throttle.failures("x", 10'001), 0);
  throttle.record_failure("x", 20'000);  // counts from one again: a 1 s delay, not 2 s
  EXPECT_EQ(throttle.wait_ms("x", 20'000), 1000);
}

TEST(FailureThrottle, UnderPressureKeepsTheKeysWithTheMostFailures) {
  FailurePolicy policy;
  policy.free_failures = 1;
  FailureThrottle throttle(policy, 50);
  for (int i = 0; i < 5; ++i) throttle.record_failure("victim", i);
  for (int i = 0; i < 500; ++i) throttle.record_failure("noise" + std::to_string(i), 10);
  EXPECT_EQ(throttle.failures("victim", 10), 5);
}

TEST(ConcurrencyLimiter, CapsWorkInFlightPerKey) {
  ConcurrencyLimiter limiter(2);
  EXPECT_TRUE(limiter.acquire("a"));
  EXPECT_TRUE(limiter.acquire("a"));
  EXPECT_FALSE(limiter.acquire("a"));
  EXPECT_TRUE(limiter.acquire("b"));
  limiter.release("a");
  EXPECT_TRUE(limiter.acquire("a"));
  limiter.release("zzz");  // unknown: harmless
}

}  // namespace
}  // namespace parley
