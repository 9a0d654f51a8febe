#include "featureforge/runtime/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace featureforge::runtime {

DurationMicros ItemExponentialRateLimiter::When(const std::string& item) {
  std::lock_guard<std::mutex> lock(mu_);
  int failures = failures_[item]++;
  // Computed in double so large failure counts cannot overflow.
  double delay = static_cast<double>(base_) * std::pow(2.0, std::min(failures, 62));
  return delay >= static_cast<double>(max_) ? max_ : static_cast<DurationMicros>(delay);
}

void ItemExponentialRateLimiter::Forget(const std::string& item) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(item);
}

int ItemExponentialRateLimiter::NumRequeues(const std::string& item) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(item);
  return it == failures_.end() ? 0 : it->second;
}

BucketRateLimiter::BucketRateLimiter(double qps, int burst, const Clock& clock)
    : qps_(qps), burst_(burst), clock_(clock), tokens_(burst), last_(clock.Now()) {}

DurationMicros BucketRateLimiter::When(const std::string&) {
  std::lock_guard<std::mutex> lock(mu_);
  TimestampMicros now = clock_.Now();
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - last_) / 1e6 * qps_);
    last_ = now;
  }
  tokens_ -= 1.0;
  if (tokens_ >= 0) return 0;
  return static_cast<DurationMicros>(std::ceil(-tokens_ / qps_ * 1e6));
}

DurationMicros MaxOfRateLimiter::When(const std::string& item) {
  DurationMicros longest = 0;
  for (auto& limiter : limiters_) longest = std::max(longest, limiter->When(item));
  return longest;
}

void MaxOfRateLimiter::Forget(const std::string& item) {
  for (auto& limiter : limiters_) limiter->Forget(item);
}

int MaxOfRateLimiter::NumRequeues(const std::string& item) {
  int most = 0;
  for (auto& limiter : limiters_) most = std::max(most, limiter->NumRequeues(item));
  return most;
}

std::unique_ptr<RateLimiter> DefaultControllerRateLimiter(const Clock& clock) {
  std::vector<std::unique_ptr<RateLimiter>> limiters;
  limiters.push_back(std::make_unique<ItemExponentialRateLimiter>(5'000, 1000 * kMicrosPerSecond));
  limiters.push_back(std::make_unique<BucketRateLimiter>(10.0, 100, clock));
  return std::make_unique<MaxOfRateLimiter>(std::move(limiters));
}

}  // namespace featureforge::runtime
