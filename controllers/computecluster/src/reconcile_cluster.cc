// One convergence step of a valid, running ComputeCluster: Service, head pod, the head's view,
// worker groups (replacement, roll-out, scale), status. Suspension and invalid specs are in
// reconciler.cc.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "featureforge/controllers/computecluster/reconciler.h"
#include "featureforge/k8s/errors.h"
#include "featureforge/runtime/object_util.h"

namespace featureforge::controllers::cc {
namespace {

constexpr DurationMicros kPoll = 2 * kMicrosPerSecond;
constexpr DurationMicros kSteady = 10 * kMicrosPerSecond;

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string Plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

int PreviousTarget(const Json& status, const std::string& group, int fallback) {
  for (const auto& g : status.value("workerGroups", Json::array())) {
    if (g.value("groupName", "") == group) return g.value("desiredReplicas", fallback);
  }
  return fallback;
}

}  // namespace

Result<runtime::ReconcileResult> ComputeClusterReconciler::ReconcileCluster(
    const Json& cluster, const ClusterSpec& spec) {
  const TimestampMicros now = deps_.clock->Now();
  const std::string name = cluster["metadata"].value("name", "");
  const Json previous = cluster.value("status", Json::object());
  std::vector<PodView> pods = ObservePods(cluster);
  if (spec.suspend) return Suspend(cluster, pods);
  if (previous.value("state", "") == "Suspended") {
    Event(cluster, false, "Resumed", "spec.suspend is false: starting the head and workers");
  }

  StatusInputs in;
  in.generation = runtime::GenerationOf(cluster);
  in.port = spec.head.port;
  in.service_name = ServiceName(name);
  auto fail_create = [&](const std::string& what, const Status& s) {
    in.replica_failure_reason = "FailedCreate";
    in.replica_failure_message = what + ": " + s.message();
    Event(cluster, true, "FailedCreate", in.replica_failure_message);
  };

  // 1. The head's Service: its clusterIP is the address every worker dials.
  auto service = EnsureService(cluster, spec);
  if (!service.ok()) {
    if (service.status().code() != StatusCode::kFailedPrecondition &&
        !k8s::IsInvalid(service.status()) && !k8s::IsForbidden(service.status())) {
      return service.status();
    }
    fail_create("head Service " + in.service_name, service.status());
    FF_RETURN_IF_ERROR(WriteStatus(cluster, BuildStatus(previous, in, now)));
    return runtime::ReconcileResult{false, kSteady};
  }
  in.service_ip = (*service)["spec"].value("clusterIP", "");
  const std::string head_address = in.service_ip + ":" + std::to_string(spec.head.port);

  // 2. The head pod: replace a dead one, roll an outdated one when it has no work.
  const std::string head_hash = TemplateHash(MakeHeadPod(cluster, spec, deps_.config, "x"));
  std::vector<const PodView*> heads;
  for (const auto& pod : pods) {
    if (pod.node_type != "head" || pod.deleting) continue;
    if (Terminated(pod)) {
      Event(cluster, true, "HeadPodFailed",
            "head pod " + pod.name + " ended (" + pod.failure + "); replacing it");
      in.replica_failure_reason = "HeadPodFailed";
      in.replica_failure_message = "head pod " + pod.name + " ended: " + pod.failure;
      FF_RETURN_IF_ERROR(DeletePod(cluster, pod.name));
      continue;
    }
    heads.push_back(&pod);
  }
  // More than one live head (e.g. a lost status write): keep the ready/oldest one.
  std::sort(heads.begin(), heads.end(), [](const PodView* a, const PodView* b) {
    return std::make_tuple(!a->ready, a->created, a->name) <
           std::make_tuple(!b->ready, b->created, b->name);
  });
  for (size_t i = 1; i < heads.size(); ++i) {
    FF_RETURN_IF_ERROR(DeletePod(cluster, heads[i]->name));
    Event(cluster, false, "DeletedExtraHead", "deleted extra head pod " + heads[i]->name);
  }
  const PodView* head = heads.empty() ? nullptr : heads[0];
  if (head != nullptr && !head->failure.empty()) {
    in.replica_failure_reason = "HeadPod" + head->failure.substr(0, head->failure.find(':'));
    in.replica_failure_message = "head pod " + head->name + ": " + head->failure;
  }

  // 3. Ask the head (only when its pod is ready: a pod starting up is not an outage).
  cluster::v1::ClusterStatus head_status;
  if (head != nullptr && head->ready && !in.service_ip.empty()) {
    auto got = HeadClientFor(head_address)->GetClusterStatus();
    if (got.ok()) {
      head_status = std::move(*got);
      in.head_reachable = true;
      in.head_id = head_status.head_id();
      in.pending_tasks = head_status.pending_tasks();
      in.running_tasks = head_status.running_tasks();
      const std::string old_id =
          previous.value("head", Json::object()).value("headId", std::string());
      if (!old_id.empty() && old_id != in.head_id) {
        Event(cluster, false, "HeadRestarted",
              "head at " + head_address + " restarted (head id " + old_id + " -> " + in.head_id +
                  "); workers register again");
      }
    } else {
      in.head_error = got.status().message();
      const Json* ready =
          runtime::FindStatusCondition(previous.value("conditions", Json::array()), "Ready");
      if (ready == nullptr || ready->value("reason", "") != "HeadUnreachable") {
        Event(cluster, true, "HeadUnreachable", in.head_error);
      }
    }
  }
  const auto registered = WorkersByPod(head_status);
  const std::map<std::string, RegisteredWorker>* known = in.head_reachable ? &registered : nullptr;

  if (head != nullptr && head->template_hash != head_hash) {
    if (in.head_reachable && in.pending_tasks == 0 && in.running_tasks == 0) {
      FF_RETURN_IF_ERROR(DeletePod(cluster, head->name));
      Event(cluster, false, "RollingHead",
            "head pod " + head->name + " has an outdated template and no tasks; replacing it");
      head = nullptr;
      in.head_reachable = false;
      in.head_error = "the head is being replaced";
    } else {
      Event(cluster, false, "HeadUpdateDeferred",
            "head pod " + head->name +
                " has an outdated template; it is replaced once the head has no tasks");
    }
  }
  if (head == nullptr) {
    Json pod = MakeHeadPod(cluster, spec, deps_.config, NewPodName(HeadPodPrefix(name)));
    const std::string pod_name = pod["metadata"].value("name", "");
    Status created = CreatePod(cluster, pod);
    if (!created.ok()) {
      if (!k8s::IsInvalid(created) && !k8s::IsForbidden(created)) return created;
      fail_create("head pod " + pod_name, created);
    } else {
      Event(cluster, false, "CreatedHead",
            "created head pod " + pod_name + " (featureforge head --port " +
                std::to_string(spec.head.port) + ", Service " + in.service_name + " at " +
                head_address + ")");
      in.head_pod = pod_name;
    }
  } else {
    in.head_pod = head->name;
    in.head_pod_ready = head->ready;
    if (deps_.pods != nullptr) {
      if (auto obj =
              deps_.pods->Get({cluster["metadata"].value("namespace", "default"), head->name})) {
        in.head_pod_ip = (*obj).value("status", Json::object()).value("podIP", "");
      }
    }
  }

  // 4. Worker groups.
  std::map<std::string, std::vector<PodView>> by_group;
  std::vector<std::string> orphans;
  for (const auto& pod : pods) {
    if (pod.node_type != "worker" || pod.deleting) continue;
    bool known_group = std::any_of(spec.groups.begin(), spec.groups.end(),
                                   [&](const WorkerGroupSpec& g) { return g.name == pod.group; });
    if (!known_group) {
      FF_RETURN_IF_ERROR(DeletePod(cluster, pod.name));
      orphans.push_back(pod.name + " (group " + pod.group + ")");
      continue;
    }
    by_group[pod.group].push_back(pod);
  }
  if (!orphans.empty()) {
    Event(cluster, false, "RemovedUnknownGroup",
          "deleted worker pods of groups no longer in spec.workerGroupSpecs: " + Join(orphans));
  }
  std::map<std::string, GroupDemand> demand;
  if (spec.autoscaling.enabled && in.head_reachable) {
    demand = AutoscaleTargets(spec, head_status, by_group);
  }
  const DurationMicros idle_timeout =
      spec.autoscaling.enabled ? spec.autoscaling.idle_timeout_seconds * kMicrosPerSecond : 0;
  bool changed = false;
  for (const auto& group : spec.groups) {
    std::vector<PodView>& group_pods = by_group[group.name];
    const std::string hash =
        TemplateHash(MakeWorkerPod(cluster, group, spec, deps_.config, "x", head_address));
    for (auto& pod : group_pods) {
      // Started against another head address (the Service was recreated): outdated.
      if (!pod.head_address.empty() && pod.head_address != head_address) pod.template_hash = "";
    }
    int desired = group.replicas;
    if (spec.autoscaling.enabled) {
      const int before = PreviousTarget(previous, group.name, group.replicas);
      desired = std::clamp(before, group.min_replicas, group.max_replicas);
      if (auto it = demand.find(group.name); it != demand.end()) desired = it->second.target;
      if (desired != before) {
        Event(cluster, false, desired > before ? "ScaledUp" : "ScaledDown",
              "autoscaler: group " + group.name + " " + std::to_string(before) + " -> " +
                  std::to_string(desired) + " workers (" + std::to_string(in.pending_tasks) +
                  " pending, " + std::to_string(in.running_tasks) + " running tasks; min " +
                  std::to_string(group.min_replicas) + ", max " +
                  std::to_string(group.max_replicas) + ")");
      }
    }
    GroupPlan plan = PlanGroup(group_pods, desired, hash, known, idle_timeout, now);
    // Workers need the head's address; without a head pod there is nothing to dial yet.
    if (in.head_pod.empty()) plan.create = 0;
    for (const auto& pod_name : plan.delete_terminated) {
      auto pod = std::find_if(group_pods.begin(), group_pods.end(),
                              [&](const PodView& p) { return p.name == pod_name; });
      const std::string why = pod != group_pods.end() ? pod->failure : "ended";
      FF_RETURN_IF_ERROR(DeletePod(cluster, pod_name));
      Event(cluster, true, "ReplacedFailedWorker",
            "worker pod " + pod_name + " of group " + group.name + " failed (" + why +
                "); replacing it");
      in.replica_failure_reason = "WorkerPodFailed";
      in.replica_failure_message = "worker pod " + pod_name + " failed: " + why;
    }
    for (const auto& pod : group_pods) {
      if (!pod.failure.empty() && !Terminated(pod)) {
        in.replica_failure_reason = pod.failure.substr(0, pod.failure.find(':'));
        in.replica_failure_message = "worker pod " + pod.name + ": " + pod.failure;
      }
    }
    if (!plan.delete_scale_down.empty()) {
      for (const auto& pod_name : plan.delete_scale_down) {
        FF_RETURN_IF_ERROR(DeletePod(cluster, pod_name));
      }
      Event(cluster, false, "RemovedIdleWorkers",
            "group " + group.name + ": removed " +
                Plural(plan.delete_scale_down.size(), "idle worker") + " (" +
                Join(plan.delete_scale_down) + ") to reach " + std::to_string(desired));
    }
    if (!plan.delete_outdated.empty()) {
      for (const auto& pod_name : plan.delete_outdated) {
        FF_RETURN_IF_ERROR(DeletePod(cluster, pod_name));
      }
      Event(cluster, false, "RollingWorkers",
            "group " + group.name + ": replacing " +
                Plural(plan.delete_outdated.size(), "idle outdated worker") + " (" +
                Join(plan.delete_outdated) + ")" +
                (plan.kept_busy_outdated > 0 ? "; " + std::to_string(plan.kept_busy_outdated) +
                                                   " busy ones follow when their tasks finish"
                                             : ""));
    }
    std::vector<std::string> created;
    for (int i = 0; i < plan.create; ++i) {
      Json pod = MakeWorkerPod(cluster, group, spec, deps_.config,
                               NewPodName(WorkerPodPrefix(name, group.name)), head_address);
      const std::string pod_name = pod["metadata"].value("name", "");
      Status s = CreatePod(cluster, pod);
      if (!s.ok()) {
        if (!k8s::IsInvalid(s) && !k8s::IsForbidden(s)) return s;
        fail_create("worker pod of group " + group.name, s);
        break;
      }
      created.push_back(pod_name);
    }
    if (!created.empty()) {
      Event(cluster, false, "CreatedWorkers",
            "group " + group.name + ": created " + Plural(created.size(), "worker pod") + " (" +
                Join(created) + ") for " + std::to_string(desired) + " desired");
    }
    changed = changed || !created.empty() || !plan.delete_terminated.empty() ||
              !plan.delete_scale_down.empty() || !plan.delete_outdated.empty();

    GroupObservation obs;
    obs.name = group.name;
    obs.desired = desired;
    for (const auto& pod : group_pods) {
      if (Terminated(pod)) continue;
      ++obs.replicas;
      if (pod.ready) ++obs.ready;
      if (pod.template_hash == hash) ++obs.updated;
      auto w = registered.find(pod.name);
      if (in.head_reachable && w != registered.end()) {
        ++obs.available;
        if (w->second.running_tasks > 0) ++obs.busy;
      }
    }
    in.groups.push_back(obs);
  }

  Json status = BuildStatus(previous, in, now);
  FF_RETURN_IF_ERROR(WriteStatus(cluster, status));
  const bool ready = status.value("state", "") == "Ready";
  return runtime::ReconcileResult{
      false, (!ready || changed || spec.autoscaling.enabled) ? kPoll : kSteady};
}

}  // namespace featureforge::controllers::cc
