// ComputeCluster status and conditions from what the reconciler observed. Pure.
#include "featureforge/controllers/computecluster/cluster_logic.h"
#include "featureforge/runtime/object_util.h"

namespace featureforge::controllers::cc {

Json BuildStatus(const Json& previous, const StatusInputs& in, TimestampMicros now) {
  Json status = previous.is_object() ? previous : Json::object();
  status["observedGeneration"] = in.generation;
  Json conditions = status.value("conditions", Json::array());
  auto set = [&](const char* type, bool value, const std::string& reason,
                 const std::string& message) {
    runtime::SetStatusCondition(
        &conditions, {type, value ? "True" : "False", reason, message, in.generation}, now);
  };

  if (!in.invalid_spec.empty()) {
    status["state"] = "Failed";
    status["message"] = in.invalid_spec;
    set("Ready", false, "InvalidSpec", in.invalid_spec);
    set("ReplicaFailure", true, "InvalidSpec", in.invalid_spec);
    if (!runtime::FindStatusCondition(conditions, "HeadPodReady")) {
      set("HeadPodReady", false, "InvalidSpec", in.invalid_spec);
    }
    status["conditions"] = conditions;
    return status;
  }

  int desired = 0, replicas = 0, ready = 0, available = 0;
  Json groups = Json::array();
  std::string missing;
  for (const auto& g : in.groups) {
    desired += g.desired;
    replicas += g.replicas;
    ready += g.ready;
    available += std::min(g.available, g.desired);
    groups.push_back({{"groupName", g.name},
                      {"desiredReplicas", g.desired},
                      {"replicas", g.replicas},
                      {"readyReplicas", g.ready},
                      {"availableReplicas", g.available},
                      {"busyReplicas", g.busy},
                      {"updatedReplicas", g.updated}});
    if (g.available < g.desired) {
      missing += (missing.empty() ? "" : ", ") + std::string("group ") + g.name + ": " +
                 std::to_string(g.available) + "/" + std::to_string(g.desired) +
                 " workers registered";
    }
  }
  status["workerGroups"] = groups;
  status["desiredWorkerReplicas"] = desired;
  status["readyWorkerReplicas"] = ready;
  status["availableWorkerReplicas"] = available;
  status["workers"] = std::to_string(available) + "/" + std::to_string(desired);
  status["pendingTasks"] = in.pending_tasks;
  status["runningTasks"] = in.running_tasks;
  Json head = {{"serviceName", in.service_name}, {"port", in.port}};
  if (!in.service_ip.empty()) {
    head["serviceIP"] = in.service_ip;
    head["endpoint"] = in.service_ip + ":" + std::to_string(in.port);
  }
  if (!in.head_pod.empty()) head["podName"] = in.head_pod;
  if (!in.head_pod_ip.empty()) head["podIP"] = in.head_pod_ip;
  // The last known head id survives an outage, so a restart is noticed (Event HeadRestarted).
  const std::string last_id = status.value("head", Json::object()).value("headId", std::string());
  if (!in.head_id.empty()) {
    head["headId"] = in.head_id;
  } else if (!last_id.empty()) {
    head["headId"] = last_id;
  }
  status["head"] = head;

  bool is_ready = false;
  std::string message;
  if (in.suspended) {
    status["state"] = "Suspended";
    message = "suspended: no pods run (spec.suspend=true)";
    set("HeadPodReady", false, "Suspended", message);
    set("Ready", false, "Suspended", message);
  } else {
    if (in.head_pod.empty()) {
      set("HeadPodReady", false, "HeadPodMissing", "no head pod yet");
    } else if (!in.head_pod_ready) {
      set("HeadPodReady", false, "HeadPodNotReady", "head pod " + in.head_pod + " is not ready");
    } else {
      set("HeadPodReady", true, "HeadPodReady", "head pod " + in.head_pod + " is ready");
    }
    if (!in.head_pod_ready) {
      message = in.head_pod.empty() ? "waiting for the head pod"
                                    : "waiting for head pod " + in.head_pod + " to be ready";
      set("Ready", false, "HeadPodNotReady", message);
    } else if (!in.head_reachable) {
      message = "head unreachable: " + in.head_error;
      set("Ready", false, "HeadUnreachable", message);
    } else if (!missing.empty()) {
      message = missing;
      set("Ready", false, "WorkersNotRegistered", message);
    } else {
      is_ready = true;
      message = "head ready; " + std::to_string(available) + " workers registered";
      set("Ready", true, "AllWorkersRegistered", message);
    }
    status["state"] = in.replica_failure_reason == "FailedCreate" ? "Failed"
                      : is_ready                                  ? "Ready"
                                                                  : "Provisioning";
  }
  if (in.replica_failure_reason.empty()) {
    set("ReplicaFailure", false, "NoFailure", "no pod failed");
  } else {
    set("ReplicaFailure", true, in.replica_failure_reason, in.replica_failure_message);
    if (!is_ready) message += "; " + in.replica_failure_message;
  }
  status["message"] = message;
  status["conditions"] = conditions;
  return status;
}

}  // namespace featureforge::controllers::cc
