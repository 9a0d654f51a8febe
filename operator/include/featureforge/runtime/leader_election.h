// Leader election on a coordination.k8s.io/v1 Lease (client-go's leaderelection contract):
// - a candidate acquires the Lease when it is free, released, or not renewed for
//   leaseDurationSeconds as observed on the candidate's own clock (no cross-node clock skew);
// - the leader renews every retry period; if it cannot renew within the renew deadline it stops
//   leading (OnStoppedLeading) and becomes a candidate again;
// - Stop() releases a held Lease so another replica takes over without waiting.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "featureforge/common/time.h"
#include "featureforge/k8s/client.h"

namespace featureforge::runtime {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per replica: pod name + random suffix
  DurationMicros lease_duration = 15 * kMicrosPerSecond;
  DurationMicros renew_deadline = 10 * kMicrosPerSecond;
  DurationMicros retry_period = 2 * kMicrosPerSecond;
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  std::function<void(const std::string& leader)> on_new_leader;
};

// "2024-01-31T12:00:00.000000Z" (metav1.MicroTime).
std::string FormatMicroTime(TimestampMicros ts);

class LeaderElector {
 public:
  LeaderElector(std::shared_ptr<k8s::Client> client, LeaderElectionConfig config,
                const Clock& clock = SystemClock());
  ~LeaderElector();

  Status Validate() const;
  void Start();
  // Stops campaigning; a leader releases the Lease (holderIdentity cleared) and gets
  // OnStoppedLeading before Stop returns.
  void Stop();
  bool IsLeader() const { return leading_.load(); }
  std::string identity() const { return config_.identity; }
  // Last successful acquire/renew on this replica's clock (0 if never): /healthz uses it.
  TimestampMicros last_renew() const { return last_renew_.load(); }

  // One attempt to acquire or renew; true when this replica holds the Lease afterwards.
  // Public so tests can drive elections step by step.
  Result<bool> TryAcquireOrRenew();

 private:
  void Run();
  bool SleepFor(DurationMicros d);  // false when stopping
  void SetLeading(bool leading);
  Status Release();

  std::shared_ptr<k8s::Client> client_;
  LeaderElectionConfig config_;
  const Clock& clock_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> leading_{false};
  std::atomic<TimestampMicros> last_renew_{0};
  // What we last saw in the Lease and when (on our clock).
  std::string observed_holder_;
  std::string observed_renew_time_;
  std::string observed_resource_version_;
  TimestampMicros observed_at_ = 0;
  std::string last_reported_leader_;
};

}  // namespace featureforge::runtime
