// The ComputeCluster controller's decisions as pure functions (no I/O), unit-tested without a
// cluster: spec parsing and validation, the pods and Service it wants, which worker pods to
// create or delete (replacement, roll-out, scale-down that never touches a busy worker), the
// autoscaler's target per group, and status/conditions.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "featureforge/cluster/v1/cluster.pb.h"
#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/controllers/operator_config.h"
#include "featureforge/k8s/resource.h"

namespace featureforge::controllers::cc {

using k8s::Json;

inline constexpr const char* kClusterLabel = "featureforge.dev/cluster";
inline constexpr const char* kGroupLabel = "featureforge.dev/group";
inline constexpr const char* kNodeTypeLabel = "featureforge.dev/node-type";
inline constexpr const char* kTemplateHashLabel = "featureforge.dev/template-hash";

struct HeadSpec {
  Json template_ = Json::object();
  std::string service_type = "ClusterIP";
  int port = 6380;
  std::map<std::string, std::string> start_params;
};

struct WorkerGroupSpec {
  std::string name;
  int replicas = 1;
  int min_replicas = 0;
  int max_replicas = 2147483647;
  Json template_ = Json::object();
  Json resources;  // null when not given
  std::map<std::string, std::string> start_params;
};

enum class UpscalingMode { kDefault, kAggressive, kConservative };

struct AutoscalingSpec {
  bool enabled = false;
  int64_t idle_timeout_seconds = 60;
  UpscalingMode upscaling_mode = UpscalingMode::kDefault;
};

struct ClusterSpec {
  HeadSpec head;
  std::vector<WorkerGroupSpec> groups;
  AutoscalingSpec autoscaling;
  bool suspend = false;
};

// Reads and validates spec (the schema's defaults applied again, for API servers that do not
// default or enforce CEL rules). Errors name the field:
// "spec.workerGroupSpecs[1] (group gpu): minReplicas 3 > maxReplicas 2".
Result<ClusterSpec> ParseClusterSpec(const Json& cluster);

// Names.
std::string ServiceName(const std::string& cluster);    // <cluster>-head
std::string HeadPodPrefix(const std::string& cluster);  // <cluster>-head-
std::string WorkerPodPrefix(const std::string& cluster, const std::string& group);

// The head's Service (ClusterIP unless spec says otherwise), selecting the head pod.
Json MakeHeadService(const Json& cluster, const ClusterSpec& spec, const OperatorConfig& config);
// The head pod / a worker pod, owned by the cluster, labelled with cluster, node-type, group and
// the template hash. `head_address` is "<service clusterIP>:<port>".
Json MakeHeadPod(const Json& cluster, const ClusterSpec& spec, const OperatorConfig& config,
                 const std::string& name);
Json MakeWorkerPod(const Json& cluster, const WorkerGroupSpec& group, const ClusterSpec& spec,
                   const OperatorConfig& config, const std::string& name,
                   const std::string& head_address);
// A stable hash of what the pod would be without its name (and, for workers, without the head
// address): a change means the spec changed and the pod is outdated.
std::string TemplateHash(const Json& pod);

// What the controller knows about one of its pods.
struct PodView {
  std::string name;
  std::string node_type;  // head | worker
  std::string group;
  std::string template_hash;
  std::string phase;  // Pending | Running | Succeeded | Failed | Unknown
  bool ready = false;
  bool deleting = false;
  std::string failure;       // why it failed / is crash-looping ("" when healthy)
  std::string head_address;  // workers: the --head argument they were started with
  TimestampMicros created = 0;
};
PodView ViewOfPod(const Json& pod);
bool Terminated(const PodView& pod);  // Failed or Succeeded: replace it

// One worker as the head sees it (from GetClusterStatus).
struct RegisteredWorker {
  std::string worker_id;
  int running_tasks = 0;
  int slots = 1;
  TimestampMicros idle_since = 0;  // 0 while busy
};
// The head's workers by pod name.
std::map<std::string, RegisteredWorker> WorkersByPod(const cluster::v1::ClusterStatus& status);

// Autoscaler target for every group: demand = tasks running on the group + the head's pending
// tasks (group-affine ones to their group, the rest to groups in spec order while they have
// room), in workers (tasks / slots, rounded up), clamped to [min, max]. Conservative mode also
// caps the group at 2 x its registered workers (at least 1 more): pods not yet registered never
// outnumber registered ones.
struct GroupDemand {
  int target = 0;
  int64_t pending_assigned = 0;
};
std::map<std::string, GroupDemand> AutoscaleTargets(
    const ClusterSpec& spec, const cluster::v1::ClusterStatus& head,
    const std::map<std::string, std::vector<PodView>>& pods_by_group);

// Worker-pod decisions for one group.
struct GroupPlan {
  std::vector<std::string> delete_terminated;  // failed/succeeded pods (replaced)
  std::vector<std::string> delete_outdated;    // template changed, idle
  std::vector<std::string> delete_scale_down;  // surplus, idle (never busy)
  int create = 0;
  int kept_busy_surplus = 0;   // surplus pods kept because they run tasks
  int kept_busy_outdated = 0;  // outdated pods kept until their tasks finish
};
// `head` is null when the head could not be asked: then only pods that are not running can be
// removed (nobody knows which worker is idle). `idle_timeout` > 0: a surplus worker is removed
// only after it was idle that long (autoscaling); 0: idle workers go at once.
GroupPlan PlanGroup(const std::vector<PodView>& pods, int desired, const std::string& current_hash,
                    const std::map<std::string, RegisteredWorker>* head,
                    DurationMicros idle_timeout, TimestampMicros now);

// Everything status reports, gathered by the reconciler.
struct GroupObservation {
  std::string name;
  int desired = 0;    // spec.replicas, or the autoscaler's target
  int replicas = 0;   // live pods
  int ready = 0;      // pods Ready
  int available = 0;  // pods registered with the current head
  int busy = 0;       // registered workers running tasks
  int updated = 0;    // pods with the current template
};
struct StatusInputs {
  int64_t generation = 0;
  bool suspended = false;
  std::string invalid_spec;  // non-empty: the spec is invalid (state Failed)
  std::string head_pod;      // "" when there is none
  std::string head_pod_ip;
  bool head_pod_ready = false;
  std::string service_name;
  std::string service_ip;
  int port = 0;
  bool head_reachable = false;
  std::string head_error;  // why GetClusterStatus failed
  std::string head_id;
  int64_t pending_tasks = 0;
  int64_t running_tasks = 0;
  std::vector<GroupObservation> groups;
  std::string replica_failure_reason;  // "" = none (PodFailed, CrashLoopBackOff, FailedCreate)
  std::string replica_failure_message;
};
// The new status from the previous one (conditions keep their transition times): state,
// observedGeneration, workers "available/desired", replica counts, head endpoint, task counts,
// workerGroups[] and conditions HeadPodReady, Ready, ReplicaFailure.
Json BuildStatus(const Json& previous, const StatusInputs& in, TimestampMicros now);

}  // namespace featureforge::controllers::cc
