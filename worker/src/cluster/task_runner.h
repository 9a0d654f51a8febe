// Runs one leased task on a worker: NoopTask in-process, MaterializePartition as a child
// `featureforge executor` process (the same binary, /proc/self/exe) on the task's repo files.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "featureforge/cluster/v1/cluster.pb.h"

namespace featureforge::cluster {

// Lets another thread stop a running task (cancel from the head, worker shutdown). The first
// reason given wins and becomes the task's error.
class TaskControl {
 public:
  void Stop(const std::string& reason);
  bool stopped() const { return stopped_.load(); }
  std::string reason() const;

 private:
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;
  std::string reason_;
};

struct TaskRunnerOptions {
  std::string executable = "/proc/self/exe";  // the binary whose `executor` runs partitions
  std::string work_dir;                       // parent of per-task temp dirs ("" = $TMPDIR or /tmp)
  std::chrono::milliseconds kill_grace{5000};  // SIGTERM -> SIGKILL of a task's process group
  std::string worker_id;                       // for messages
};

// Runs `task` to completion, failure, its deadline or control.Stop(). Never throws; every
// outcome is a TaskResult (ok, exit_code, error, result_json, start/finish times).
v1::TaskResult RunTask(const v1::Task& task, const TaskRunnerOptions& options,
                       TaskControl& control);

}  // namespace featureforge::cluster
