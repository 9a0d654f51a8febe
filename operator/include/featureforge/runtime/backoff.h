// Capped exponential backoff with jitter, for retrying lists, watches and lease renewals.
#pragma once

#include <mutex>
#include <random>

#include "featureforge/common/time.h"

namespace featureforge::runtime {

class Backoff {
 public:
  // Delays grow initial, initial*factor, ... up to max; each is stretched by a random fraction
  // in [0, jitter] (so concurrent clients do not retry in lockstep).
  Backoff(DurationMicros initial, DurationMicros max, double factor = 2.0, double jitter = 0.5,
          uint64_t seed = std::random_device{}());
  DurationMicros Next();
  void Reset();
  DurationMicros max() const { return max_; }

 private:
  std::mutex mu_;
  DurationMicros initial_;
  DurationMicros max_;
  double factor_;
  double jitter_;
  double current_;
  std::mt19937_64 rng_;
};

// Uniform random integer in [lo, hi], thread-safe (informer watch timeouts, lease jitter).
int64_t RandomBetween(int64_t lo, int64_t hi);

}  // namespace featureforge::runtime
