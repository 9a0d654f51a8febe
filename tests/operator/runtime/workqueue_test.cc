#include "featureforge/runtime/workqueue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

namespace featureforge::runtime {
namespace {

constexpr DurationMicros kMs = 1000;

std::unique_ptr<RateLimiter> Exponential() {
  return std::make_unique<ItemExponentialRateLimiter>(5 * kMs, 1000 * kMicrosPerSecond);
}

TEST(WorkQueueTest, DedupsPendingKeys) {
  ManualClock clock(0);
  WorkQueue queue(Exponential(), clock);
  queue.Add("a");
  queue.Add("b");
  queue.Add("a");
  EXPECT_EQ(queue.Len(), 2u);
  EXPECT_EQ(*queue.TryGet(), "a");
  EXPECT_EQ(*queue.TryGet(), "b");
  EXPECT_FALSE(queue.TryGet().has_value());
}

TEST(WorkQueueTest, KeyAddedWhileProcessingWaitsForDone) {
  ManualClock clock(0);
  WorkQueue queue(Exponential(), clock);
  queue.Add("a");
  auto key = queue.TryGet();
  ASSERT_EQ(*key, "a");
  queue.Add("a");
  queue.Add("a");
  // Not handed out again while "a" is being processed.
  EXPECT_FALSE(queue.TryGet().has_value());
  EXPECT_EQ(queue.Len(), 0u);
  queue.Done("a");
  EXPECT_EQ(queue.Len(), 1u);
  EXPECT_EQ(*queue.TryGet(), "a");
  queue.Done("a");
  EXPECT_FALSE(queue.TryGet().has_value());
}

TEST(WorkQueueTest, AddAfterWaitsForTheClockAndKeepsTheEarliest) {
  ManualClock clock(1'000'000);
  WorkQueue queue(Exponential(), clock);
  queue.AddAfter("a", 100 * kMs);
  queue.AddAfter("a", 50 * kMs);   // earlier wins
  queue.AddAfter("a", 500 * kMs);  // later is ignored
  queue.AddAfter("now", 0);
  EXPECT_EQ(*queue.TryGet(), "now");
  EXPECT_EQ(queue.WaitingLen(), 1u);
  clock.Advance(49 * kMs);
  EXPECT_FALSE(queue.TryGet().has_value());
  clock.Advance(1 * kMs);
  EXPECT_EQ(*queue.TryGet(), "a");
  EXPECT_EQ(queue.WaitingLen(), 0u);
}

TEST(WorkQueueTest, RateLimitedBacksOffPerItemAndForgetResets) {
  ManualClock clock(0);
  WorkQueue queue(Exponential(), clock);
  queue.AddRateLimited("a");  // 5 ms
  queue.AddRateLimited("b");  // 5 ms
  clock.Advance(5 * kMs);
  EXPECT_EQ(*queue.TryGet(), "a");
  EXPECT_EQ(*queue.TryGet(), "b");
  queue.Done("a");
  queue.Done("b");
  queue.AddRateLimited("a");  // 10 ms now
  clock.Advance(9 * kMs);
  EXPECT_FALSE(queue.TryGet().has_value());
  clock.Advance(1 * kMs);
  EXPECT_EQ(*queue.TryGet(), "a");
  EXPECT_EQ(queue.NumRequeues("a"), 2);
  queue.Forget("a");
  EXPECT_EQ(queue.NumRequeues("a"), 0);
  EXPECT_EQ(queue.retries_total(), 3u);
}

TEST(WorkQueueTest, ShutDownWakesGettersAndIgnoresAdds) {
  WorkQueue queue;
  std::atomic<int> returned{0};
  std::vector<std::thread> getters;
  for (int i = 0; i < 3; ++i) {
    getters.emplace_back([&] {
      EXPECT_FALSE(queue.Get().has_value());
      ++returned;
    });
  }
  queue.ShutDown();
  for (auto& t : getters) t.join();
  EXPECT_EQ(returned.load(), 3);
  queue.Add("late");
  EXPECT_EQ(queue.Len(), 0u);
  EXPECT_TRUE(queue.ShuttingDown());
}

TEST(WorkQueueTest, BlockingGetReturnsDelayedKeyOnRealClock) {
  WorkQueue queue;
  queue.AddAfter("later", 20 * kMs);
  auto key = queue.Get();
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(*key, "later");
}

// Many workers, many adds of few keys: a key is never processed by two workers at once and
// every add that happened after a key was last picked up is followed by another processing.
TEST(WorkQueueTest, NeverProcessesOneKeyConcurrently) {
  WorkQueue queue;
  constexpr int kKeys = 5;
  std::mutex mu;
  std::map<std::string, int> in_flight;
  std::atomic<bool> violation{false};
  std::atomic<int> processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = queue.Get()) {
        {
          std::lock_guard<std::mutex> lock(mu);
          if (++in_flight[*key] > 1) violation = true;
        }
        std::this_thread::yield();
        {
          std::lock_guard<std::mutex> lock(mu);
          --in_flight[*key];
        }
        ++processed;
        queue.Done(*key);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) queue.Add("k" + std::to_string(i % kKeys));
  // Drain: wait until nothing is queued or processing.
  while (queue.Len() > 0 || queue.ProcessingLen() > 0) std::this_thread::yield();
  queue.ShutDown();
  for (auto& t : workers) t.join();
  EXPECT_FALSE(violation.load());
  EXPECT_GE(processed.load(), kKeys);
  EXPECT_LE(processed.load(), 2000);
}

}  // namespace
}  // namespace featureforge::runtime
