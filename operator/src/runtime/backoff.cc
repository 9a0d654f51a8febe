#include "featureforge/runtime/backoff.h"

#include <algorithm>

namespace featureforge::runtime {

Backoff::Backoff(DurationMicros initial, DurationMicros max, double factor, double jitter,
                 uint64_t seed)
    : initial_(initial),
      max_(max),
      factor_(factor),
      jitter_(jitter),
      current_(static_cast<double>(initial)),
      rng_(seed) {}

DurationMicros Backoff::Next() {
  std::lock_guard<std::mutex> lock(mu_);
  double base = std::min(current_, static_cast<double>(max_));
  current_ = std::min(current_ * factor_, static_cast<double>(max_));
  std::uniform_real_distribution<double> dist(0.0, jitter_);
  double delay = base * (1.0 + dist(rng_));
  return static_cast<DurationMicros>(std::min(delay, static_cast<double>(max_)));
}

void Backoff::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  current_ = static_cast<double>(initial_);
}

int64_t RandomBetween(int64_t lo, int64_t hi) {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard<std::mutex> lock(mu);
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

}  // namespace featureforge::runtime
