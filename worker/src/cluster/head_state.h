// HeadState: the head's in-memory jobs, task queue and workers, independent of gRPC so that
// leases, heartbeat timeouts, reassignment, cancellation and deadlines are unit-tested with a
// fake clock. Thread-safe; every method takes the one mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "featureforge/cluster/v1/cluster.pb.h"
#include "featureforge/common/status.h"

namespace featureforge::cluster {

// Wall-clock milliseconds since the Unix epoch (the protocol's time unit).
using UnixMsClock = std::function<int64_t()>;

struct HeadStateOptions {
  std::string head_id;
  int64_t heartbeat_interval_ms = 1000;
  int64_t heartbeat_timeout_ms = 5000;
  int32_t default_max_lease_count = 3;  // when a job does not say (0)
  int64_t max_lease_wait_ms = 30000;    // caps a worker's long poll
  // A job whose tasks have all finished is forgotten this long after it was first seen
  // finished (GetJob then answers NOT_FOUND); 0 keeps jobs for the head's lifetime.
  int64_t finished_job_retention_ms = 24 * 3600 * 1000;
};

class HeadState {
 public:
  HeadState(HeadStateOptions options, UnixMsClock clock);

  const std::string& head_id() const { return options_.head_id; }

  // --- workers ---
  // kInvalidArgument without a worker_id. A worker that registers again (a restarted pod with
  // the same id) gets its old leases requeued: the new process does not run them.
  Result<v1::RegisterWorkerResponse> RegisterWorker(const v1::RegisterWorkerRequest& request);
  v1::HeartbeatResponse Heartbeat(const v1::HeartbeatRequest& request);
  // Leases the oldest queued task to the worker when it has a free slot. Waits (real time, on a
  // condition variable) up to min(wait_ms, max_lease_wait_ms) for one to be queued; wait_ms 0
  // answers at once (unit tests).
  v1::LeaseTaskResponse LeaseTask(const v1::LeaseTaskRequest& request);
  void ReportTaskResult(const v1::ReportTaskResultRequest& request);

  // --- clients ---
  Result<v1::SubmitJobResponse> SubmitJob(const v1::SubmitJobRequest& request);
  Result<v1::Job> GetJob(const std::string& job_id);
  Status CancelJob(const std::string& job_id);
  v1::ClusterStatus GetClusterStatus();

  // Declares workers without a heartbeat for heartbeat_timeout_ms lost (their tasks are
  // requeued or failed) and fails tasks whose deadline passed (also done at the start of every
  // call above); forgets finished jobs past their retention. Called periodically by the server.
  void Tick();

  // Wakes every long poll and makes further ones return at once (server shutdown).
  void Shutdown();

 private:
  struct TaskEntry {
    std::string job_id;
    std::string task_id;
    v1::TaskSpec spec;
    v1::TaskState state = v1::TASK_STATE_PENDING;
    std::string worker_id;  // current or last worker
    int32_t lease_count = 0;
    int64_t leased_at_ms = 0;
    v1::TaskResult result;
    std::string message;
  };
  struct JobEntry {
    std::string job_id;
    int64_t deadline_unix_ms = 0;
    int32_t max_lease_count = 3;
    std::vector<std::string> task_order;  // submission order, for GetJob
    std::map<std::string, TaskEntry> tasks;
    int64_t finished_since_ms = 0;  // when Tick first saw every task finished; 0 = not finished
  };
  struct WorkerEntry {
    std::string worker_id;
    std::string group_name;
    std::string pod_name;
    int32_t slots = 1;
    int64_t last_heartbeat_ms = 0;
    int64_t idle_since_ms = 0;  // 0 while it holds tasks
    // Tasks leased to it that it has not reported (the slots in use, as the head sees them).
    std::set<std::pair<std::string, std::string>> held;  // (job_id, task_id)
  };
  using TaskKey = std::pair<std::string, std::string>;  // (job_id, task_id)

  void TickLocked(int64_t now);
  TaskEntry* FindTask(const TaskKey& key);
  // Takes the task back from its worker: PENDING again (front of the queue) while the job's
  // max_lease_count allows another lease, else FAILED. `why` goes into the task's message.
  void RequeueOrFailLocked(TaskEntry& task, const std::string& why);
  void ReleaseLocked(WorkerEntry& worker, const TaskKey& key, int64_t now);
  void LoseWorkerLocked(const std::string& worker_id, const std::string& why, int64_t now);
  bool KnownWorkerLocked(const std::string& worker_id, const std::string& head_id) const;
  // Removes and returns the oldest queued task `worker` may take, or nullptr.
  TaskEntry* TakeQueuedLocked(const WorkerEntry& worker);
  static v1::TaskStatus StatusOf(const TaskEntry& task);

  const HeadStateOptions options_;
  const UnixMsClock clock_;
  std::mutex mu_;
  std::condition_variable queue_changed_;
  bool shutting_down_ = false;
  std::map<std::string, JobEntry> jobs_;
  std::deque<TaskKey> queue_;
  std::map<std::string, WorkerEntry> workers_;
};

// Random 16-hex-digit id: a new one per head start, so workers notice a restart.
std::string NewHeadId();

}  // namespace featureforge::cluster
