// MaterializationJobs with spec.computeClusterRef: partitions run as MaterializePartition tasks
// on a ComputeCluster's head (worker/proto/featureforge/cluster/v1/cluster.proto) instead of
// executor pods. The head's task states are mapped to the same PodView the pod path observes, so
// ObservePods makes exactly the same decisions (success kept, a failed task is a failed attempt
// retried with the same backoff up to backoffLimit). A task whose worker was lost is requeued by
// the head itself (not an attempt); a head that restarted (GetJob NotFound) gets the unfinished
// tasks again, under the same task ids (level-based, idempotent on the head).
//
// No Kubernetes I/O here: the head is a cluster::HeadClient, so unit tests use MockHeadClient.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "featureforge/cluster/head_client.h"
#include "featureforge/controllers/materializationjob/job_logic.h"

namespace featureforge::controllers::mj {

// Task ids are "p<partition>-a<attempt>" (unique within a head job; a retry is a new task).
std::string TaskId(int partition, int attempt);
// Parses a task id; false when it is not one of ours.
bool ParseTaskId(const std::string& task_id, int* partition, int* attempt);

// The head's view of one task as the PodView ObservePods understands: PENDING/RUNNING ->
// Pending/Running, SUCCEEDED -> Succeeded with result_json as the termination message, FAILED
// -> Failed (exit code, error), CANCELLED -> Failed with reason "Cancelled" (not an attempt).
PodView ViewOfTask(const cluster::v1::TaskStatus& task);

// "host:port" of the head of `compute_cluster` (a ComputeCluster object): status.head.endpoint
// (a scheme such as grpc:// is stripped), else the head Service (`head_service`, may be null):
// spec.clusterIP and its port named "grpc" (else the first port). Unavailable (with the reason)
// when neither is known yet, or the cluster is Suspended or its HeadPodReady condition False.
Result<std::string> HeadAddress(const Json& compute_cluster, const Json& head_service);
std::string HeadServiceName(const std::string& compute_cluster);

// What every task of one run shares.
struct ClusterRun {
  std::string head_job_id;  // "<namespace>/<job>/<uid>[/<epoch>]"
  std::string job_name;
  JobSpec spec;
  Json window = Json::object();                   // status.window {start?, end}
  std::map<std::string, std::string> repo_files;  // the rendered repo ConfigMap's data
  std::map<std::string, std::string> env;         // spec.executor.env, resolved
  TimestampMicros deadline = 0;                   // activeDeadlineSeconds from startTime; 0 = none
};

// The MaterializePartition task of attempt `attempt` of `partition`.
cluster::v1::SubmittedTask MakePartitionTask(const ClusterRun& run, int partition, int attempt);

// The head-side steps of one reconcile. Every call is one short-deadline RPC (the HeadClient's).
class ClusterDispatch {
 public:
  ClusterDispatch(cluster::HeadClient* head, const ClusterRun* run) : head_(head), run_(run) {}

  // GetJob: the tasks of the Running records' current attempts as PodViews. NotFound (the head
  // restarted or never got the job) is not an error: no views, and head_lost() is true.
  Result<std::vector<PodView>> Observe(const std::vector<PartitionRecord>& records);
  bool head_lost() const { return head_lost_; }
  // Whether any call of this reconcile got an answer from the head.
  bool contacted() const { return contacted_; }

  // After ObservePods: resubmits the current task of every still-Running record the head does
  // not know (lost with a restarted head, or a submit whose reply was lost). Returns how many.
  Result<int> ResubmitUnknown(const std::vector<PartitionRecord>& records);

  // Submits the next attempt of each of `partitions` in one SubmitJob; on success marks them
  // Running (attempts+1, pod = task id). On failure nothing is marked.
  Status Start(const std::vector<int>& partitions, std::vector<PartitionRecord>* records);

  // CancelJob (idempotent).
  Status Cancel();

 private:
  cluster::HeadClient* head_;
  const ClusterRun* run_;
  bool head_lost_ = false;
  bool contacted_ = false;
  std::map<std::string, bool> known_;  // task ids the head reported
};

}  // namespace featureforge::controllers::mj
