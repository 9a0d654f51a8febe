#include "featureforge/runtime/rate_limiter.h"

#include <gtest/gtest.h>

#include "featureforge/runtime/backoff.h"

namespace featureforge::runtime {
namespace {

constexpr DurationMicros kMs = 1000;
constexpr DurationMicros kS = kMicrosPerSecond;

TEST(RateLimiterTest, ItemExponentialDoublesPerItemAndCaps) {
  ItemExponentialRateLimiter limiter(5 * kMs, 1000 * kS);
  EXPECT_EQ(limiter.When("a"), 5 * kMs);
  EXPECT_EQ(limiter.When("a"), 10 * kMs);
  EXPECT_EQ(limiter.When("a"), 20 * kMs);
  EXPECT_EQ(limiter.When("b"), 5 * kMs);  // per item
  EXPECT_EQ(limiter.NumRequeues("a"), 3);
  for (int i = 0; i < 100; ++i) limiter.When("a");
  EXPECT_EQ(limiter.When("a"), 1000 * kS);
  limiter.Forget("a");
  EXPECT_EQ(limiter.NumRequeues("a"), 0);
  EXPECT_EQ(limiter.When("a"), 5 * kMs);
}

TEST(RateLimiterTest, BucketAllowsBurstThenSpacesAtQps) {
  ManualClock clock(1'000'000'000);
  BucketRateLimiter bucket(10.0, 100, clock);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(bucket.When("x"), 0) << i;
  EXPECT_EQ(bucket.When("x"), 100 * kMs);  // 101st: one token at 10 qps
  EXPECT_EQ(bucket.When("x"), 200 * kMs);
  clock.Advance(1 * kS);  // 10 tokens back: the debt of 2 is paid, 8 left
  for (int i = 0; i < 8; ++i) ASSERT_EQ(bucket.When("x"), 0) << i;
  EXPECT_EQ(bucket.When("x"), 100 * kMs);
  clock.Advance(1000 * kS);  // refills only up to the burst
  for (int i = 0; i < 100; ++i) ASSERT_EQ(bucket.When("x"), 0) << i;
  EXPECT_GT(bucket.When("x"), 0);
}

TEST(RateLimiterTest, DefaultControllerLimiterIsTheMaxOfBoth) {
  ManualClock clock(0);
  auto limiter = DefaultControllerRateLimiter(clock);
  EXPECT_EQ(limiter->When("k"), 5 * kMs);
  EXPECT_EQ(limiter->When("k"), 10 * kMs);
  // Exhaust the bucket with other keys: then the bucket's delay dominates a fresh key.
  for (int i = 0; i < 200; ++i) limiter->When("other" + std::to_string(i));
  EXPECT_GT(limiter->When("fresh"), 5 * kMs);
  EXPECT_EQ(limiter->NumRequeues("k"), 2);
  limiter->Forget("k");
  EXPECT_EQ(limiter->NumRequeues("k"), 0);
}

TEST(BackoffTest, GrowsWithJitterAndCaps) {
  Backoff backoff(100, 1000, 2.0, 0.5, /*seed=*/42);
  DurationMicros first = backoff.Next();
  EXPECT_GE(first, 100);
  EXPECT_LE(first, 150);
  DurationMicros second = backoff.Next();
  EXPECT_GE(second, 200);
  EXPECT_LE(second, 300);
  for (int i = 0; i < 10; ++i) EXPECT_LE(backoff.Next(), 1000);
  backoff.Reset();
  EXPECT_LE(backoff.Next(), 150);
}

}  // namespace
}  // namespace featureforge::runtime
