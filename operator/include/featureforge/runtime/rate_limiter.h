// Rate limiters for the work queue (client-go's workqueue.RateLimiter): how long an item waits
// before it is retried.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "featureforge/common/time.h"

namespace featureforge::runtime {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // How long `item` should wait now; counts as one more failure of it.
  virtual DurationMicros When(const std::string& item) = 0;
  // The item succeeded: forget its failures.
  virtual void Forget(const std::string& item) = 0;
  virtual int NumRequeues(const std::string& item) = 0;
};

// base * 2^failures, capped at max (per item).
class ItemExponentialRateLimiter : public RateLimiter {
 public:
  ItemExponentialRateLimiter(DurationMicros base, DurationMicros max) : base_(base), max_(max) {}
  DurationMicros When(const std::string& item) override;
  void Forget(const std::string& item) override;
  int NumRequeues(const std::string& item) override;

 private:
  std::mutex mu_;
  DurationMicros base_;
  DurationMicros max_;
  std::unordered_map<std::string, int> failures_;
};

// A token bucket shared by all items: `qps` tokens per second, at most `burst` saved up.
// Like golang.org/x/time/rate's Reserve, a request beyond the bucket is given the delay until
// its token exists (tokens may go negative), so bursts are spread out rather than dropped.
class BucketRateLimiter : public RateLimiter {
 public:
  BucketRateLimiter(double qps, int burst, const Clock& clock = SystemClock());
  DurationMicros When(const std::string& item) override;
  void Forget(const std::string&) override {}
  int NumRequeues(const std::string&) override { return 0; }

 private:
  std::mutex mu_;
  double qps_;
  double burst_;
  const Clock& clock_;
  double tokens_;
  TimestampMicros last_;
};

// The longest delay of several limiters.
class MaxOfRateLimiter : public RateLimiter {
 public:
  explicit MaxOfRateLimiter(std::vector<std::unique_ptr<RateLimiter>> limiters)
      : limiters_(std::move(limiters)) {}
  DurationMicros When(const std::string& item) override;
  void Forget(const std::string& item) override;
  int NumRequeues(const std::string& item) override;

 private:
  std::vector<std::unique_ptr<RateLimiter>> limiters_;
};

// client-go's DefaultControllerRateLimiter: per item 5 ms .. 1000 s, overall 10 qps burst 100.
std::unique_ptr<RateLimiter> DefaultControllerRateLimiter(const Clock& clock = SystemClock());

}  // namespace featureforge::runtime
