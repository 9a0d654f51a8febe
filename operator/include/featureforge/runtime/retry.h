// client-go's retry.RetryOnConflict: re-run a read-modify-write when the write lost an
// optimistic-concurrency race.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

#include "featureforge/k8s/errors.h"
#include "featureforge/runtime/backoff.h"

namespace featureforge::runtime {

// Calls `attempt` until it returns something other than a Conflict, at most `max_attempts`
// times, sleeping a short jittered backoff (10 ms doubling, capped at 1 s) between tries.
inline Status RetryOnConflict(const std::function<Status()>& attempt, int max_attempts = 5) {
  Backoff backoff(10'000, 1'000'000, 2.0, 0.1);
  Status status;
  for (int i = 0; i < max_attempts; ++i) {
    status = attempt();
    if (!k8s::IsConflict(status)) return status;
    std::this_thread::sleep_for(std::chrono::microseconds(backoff.Next()));
  }
  return status;
}

}  // namespace featureforge::runtime
