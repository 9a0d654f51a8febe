// ClusterWorker: a ComputeCluster worker as a library (what `featureforge worker` runs).
// Registers with the head, heartbeats on its own thread, leases up to `slots` tasks at once and
// runs them (materialization partitions as child `featureforge executor` processes), reports
// results. Survives head restarts and outages: it retries with capped backoff and registers
// again when the head's id changes. Link `ff_cluster_worker`.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace featureforge::cluster {

struct WorkerOptions {
  std::string head_address;  // host:port
  std::string worker_id;     // stable per process (the pod name in a cluster)
  std::string group_name;
  std::string pod_name;
  int slots = 1;
  // The binary whose `executor` subcommand runs materialization partitions.
  std::string executable = "/proc/self/exe";
  std::string work_dir;  // per-task temp folders go here ("" = $TMPDIR or /tmp)
  std::chrono::milliseconds rpc_timeout{10000};
  std::chrono::milliseconds lease_wait{10000};    // long-poll length
  std::chrono::milliseconds max_backoff{2000};    // retry cap while the head is away
  std::chrono::milliseconds grace_period{30000};  // Stop(): running tasks may finish this long
  std::chrono::milliseconds kill_grace{5000};     // SIGTERM -> SIGKILL of a task's process
};

class ClusterWorker {
 public:
  explicit ClusterWorker(WorkerOptions options);
  ~ClusterWorker();  // Stop()
  ClusterWorker(const ClusterWorker&) = delete;
  ClusterWorker& operator=(const ClusterWorker&) = delete;

  // Starts the heartbeat and lease threads; returns at once (the head may still be down).
  void Start();
  // Stops leasing, lets running tasks finish for up to grace_period, then kills the rest and
  // reports them failed; returns when every thread has ended. Idempotent.
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace featureforge::cluster
