// A rate-limited, delaying work queue with client-go semantics:
// - a key waiting in the queue is there once, however often it is added (dedup);
// - a key is never handed to two workers at once: added while processing, it is queued again
//   only when Done() is called;
// - AddAfter() delays, AddRateLimited() delays by the rate limiter, Forget() resets it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>

#include "featureforge/common/time.h"
#include "featureforge/runtime/rate_limiter.h"

namespace featureforge::runtime {

class WorkQueue {
 public:
  // The clock decides when delayed items are due; blocking Get() also sleeps in real time, so
  // with a manual clock use TryGet().
  explicit WorkQueue(std::unique_ptr<RateLimiter> limiter = DefaultControllerRateLimiter(),
                     const Clock& clock = SystemClock());
  ~WorkQueue();

  void Add(const std::string& key);
  // Adds after `delay` (at once when delay <= 0). A key already waiting keeps the earlier time.
  void AddAfter(const std::string& key, DurationMicros delay);
  void AddRateLimited(const std::string& key);
  void Forget(const std::string& key);
  int NumRequeues(const std::string& key);

  // Blocks until a key is ready; nullopt once ShutDown() was called.
  std::optional<std::string> Get();
  // Non-blocking: a ready key (promoting due delayed keys first) or nullopt.
  std::optional<std::string> TryGet();
  // Marks the key processed; if it was added meanwhile it goes back into the queue.
  void Done(const std::string& key);
  // Wakes every Get() (they return nullopt) and ignores later adds. Keys being processed are
  // unaffected; their Done() still works.
  void ShutDown();
  bool ShuttingDown() const;

  // Keys ready to be handed out (Prometheus workqueue_depth).
  size_t Len() const;
  // Keys waiting for their delay.
  size_t WaitingLen() const;
  size_t ProcessingLen() const;
  uint64_t adds_total() const { return adds_total_.load(); }
  uint64_t retries_total() const { return retries_total_.load(); }

 private:
  void AddLocked(const std::string& key);
  void PromoteDueLocked();
  std::optional<std::string> PopLocked();

  std::unique_ptr<RateLimiter> limiter_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_set<std::string> processing_;
  std::set<std::pair<TimestampMicros, std::string>> waiting_;  // (ready at, key)
  std::map<std::string, TimestampMicros> waiting_by_key_;
  bool shutting_down_ = false;
  std::atomic<uint64_t> adds_total_{0};
  std::atomic<uint64_t> retries_total_{0};
};

}  // namespace featureforge::runtime
