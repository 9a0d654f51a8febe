// Pod bookkeeping, scale decisions and the autoscaler's targets. Pure; see cluster_logic.h.
#include "featureforge/controllers/computecluster/cluster_logic.h"

#include <algorithm>
#include <tuple>

namespace featureforge::controllers::cc {
namespace {

std::string Str(const Json& obj, const char* field) {
  if (obj.is_object() && obj.contains(field) && obj[field].is_string()) {
    return obj[field].get<std::string>();
  }
  return "";
}

}  // namespace

PodView ViewOfPod(const Json& pod) {
  PodView view;
  const Json& metadata = pod["metadata"];
  view.name = Str(metadata, "name");
  const Json labels = metadata.value("labels", Json::object());
  view.node_type = Str(labels, kNodeTypeLabel);
  view.group = Str(labels, kGroupLabel);
  view.template_hash = Str(labels, kTemplateHashLabel);
  view.deleting =
      metadata.contains("deletionTimestamp") && !metadata["deletionTimestamp"].is_null();
  auto created = ParseTimestamp(Str(metadata, "creationTimestamp"));
  if (created.ok()) view.created = *created;
  const Json status = pod.value("status", Json::object());
  view.phase = Str(status, "phase");
  if (view.phase.empty()) view.phase = "Pending";
  for (const auto& c : status.value("conditions", Json::array())) {
    if (Str(c, "type") == "Ready") view.ready = Str(c, "status") == "True";
  }
  if (view.phase == "Failed") {
    view.failure = Str(status, "reason");
    std::string message = Str(status, "message");
    for (const auto& cs : status.value("containerStatuses", Json::array())) {
      const Json term = cs.value("state", Json::object()).value("terminated", Json::object());
      if (term.empty()) continue;
      if (view.failure.empty()) view.failure = Str(term, "reason");
      if (message.empty()) message = Str(term, "message");
      if (message.empty() && term.contains("exitCode")) {
        message = "exit code " + std::to_string(term.value("exitCode", 0));
      }
    }
    if (view.failure.empty()) view.failure = "Failed";
    if (!message.empty()) view.failure += ": " + message;
  } else {
    for (const auto& cs : status.value("containerStatuses", Json::array())) {
      const Json waiting = cs.value("state", Json::object()).value("waiting", Json::object());
      std::string reason = Str(waiting, "reason");
      if (reason == "CrashLoopBackOff" || reason == "CreateContainerConfigError" ||
          reason == "ErrImagePull" || reason == "ImagePullBackOff") {
        view.failure = reason;
        std::string message = Str(waiting, "message");
        if (!message.empty()) view.failure += ": " + message;
      }
    }
  }
  const Json containers = pod.value("spec", Json::object()).value("containers", Json::array());
  if (!containers.empty()) {
    const Json args = containers[0].value("args", Json::array());
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i].is_string() && args[i] == "--head" && args[i + 1].is_string()) {
        view.head_address = args[i + 1].get<std::string>();
      }
    }
  }
  return view;
}

bool Terminated(const PodView& pod) { return pod.phase == "Failed" || pod.phase == "Succeeded"; }

std::map<std::string, RegisteredWorker> WorkersByPod(const cluster::v1::ClusterStatus& status) {
  std::map<std::string, RegisteredWorker> out;
  for (const auto& w : status.workers()) {
    RegisteredWorker r;
    r.worker_id = w.worker_id();
    r.running_tasks = w.running_task_ids_size();
    r.slots = std::max(1, w.slots());
    r.idle_since = w.idle_since_unix_ms() * 1000;
    out[w.pod_name().empty() ? w.worker_id() : w.pod_name()] = r;
  }
  return out;
}

std::map<std::string, GroupDemand> AutoscaleTargets(
    const ClusterSpec& spec, const cluster::v1::ClusterStatus& head,
    const std::map<std::string, std::vector<PodView>>& pods_by_group) {
  const auto workers = WorkersByPod(head);
  struct Load {
    int busy = 0;
    int registered = 0;
    int live = 0;
    int slots = 1;
  };
  std::map<std::string, Load> load;
  for (const auto& group : spec.groups) {
    Load& l = load[group.name];
    auto it = pods_by_group.find(group.name);
    if (it == pods_by_group.end()) continue;
    for (const auto& pod : it->second) {
      if (pod.deleting || Terminated(pod)) continue;
      ++l.live;
      auto w = workers.find(pod.name);
      if (w == workers.end()) continue;
      ++l.registered;
      l.slots = std::max(l.slots, w->second.slots);
      if (w->second.running_tasks > 0) ++l.busy;
    }
  }
  // Group-affine pending tasks first, the shared rest in spec order while groups have room.
  int64_t affine_total = 0;
  for (const auto& [group, n] : head.pending_tasks_by_group()) {
    if (!group.empty()) affine_total += n;
  }
  int64_t shared = std::max<int64_t>(0, head.pending_tasks() - affine_total);
  std::map<std::string, GroupDemand> out;
  for (const auto& group : spec.groups) {
    const Load& l = load[group.name];
    GroupDemand d;
    auto affine = head.pending_tasks_by_group().find(group.name);
    d.pending_assigned = affine == head.pending_tasks_by_group().end() ? 0 : affine->second;
    int64_t room_workers = std::max<int64_t>(0, int64_t(group.max_replicas) - l.busy);
    int64_t room_tasks = room_workers * l.slots - d.pending_assigned;
    if (room_tasks > 0 && shared > 0) {
      int64_t take = std::min(room_tasks, shared);
      d.pending_assigned += take;
      shared -= take;
    }
    int64_t wanted = l.busy + (d.pending_assigned + l.slots - 1) / l.slots;
    wanted = std::clamp<int64_t>(wanted, group.min_replicas, group.max_replicas);
    if (spec.autoscaling.upscaling_mode == UpscalingMode::kConservative && wanted > l.live) {
      // Pods not yet registered never outnumber registered ones (at least one at a time).
      int64_t unregistered = l.live - l.registered;
      int64_t allowed_new = std::max<int64_t>(0, std::max(1, l.registered) - unregistered);
      wanted =
          std::max<int64_t>(group.min_replicas, std::min<int64_t>(wanted, l.live + allowed_new));
    }
    d.target = static_cast<int>(wanted);
    out[group.name] = d;
  }
  return out;
}

GroupPlan PlanGroup(const std::vector<PodView>& pods, int desired, const std::string& current_hash,
                    const std::map<std::string, RegisteredWorker>* head,
                    DurationMicros idle_timeout, TimestampMicros now) {
  GroupPlan plan;
  std::vector<const PodView*> live;
  for (const auto& pod : pods) {
    if (pod.deleting) continue;
    if (Terminated(pod)) {
      plan.delete_terminated.push_back(pod.name);
      continue;
    }
    live.push_back(&pod);
  }
  auto busy = [&](const PodView& pod) {
    if (head == nullptr) return pod.phase != "Pending";  // unknown: only Pending pods are idle
    auto it = head->find(pod.name);
    return it != head->end() && it->second.running_tasks > 0;
  };
  // Removal order: pods that never started, then running pods the head does not know, then
  // registered idle workers, longest idle first; outdated before current within a class.
  // `ready_to_go` applies the idle timeout (a worker idle for less is kept).
  struct Candidate {
    const PodView* pod;
    int klass;
    bool current;
    TimestampMicros since;
  };
  std::vector<Candidate> removable;
  for (const PodView* pod : live) {
    if (busy(*pod)) continue;
    const bool current = pod->template_hash == current_hash;
    if (pod->phase == "Pending") {
      removable.push_back({pod, 0, current, pod->created});
      continue;
    }
    auto it = head->find(pod->name);
    if (it == head->end()) {
      if (idle_timeout > 0 && now - pod->created < idle_timeout) continue;
      removable.push_back({pod, 1, current, pod->created});
      continue;
    }
    TimestampMicros since = it->second.idle_since > 0 ? it->second.idle_since : now;
    if (idle_timeout > 0 && now - since < idle_timeout) continue;
    removable.push_back({pod, 2, current, since});
  }
  std::sort(removable.begin(), removable.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.klass, a.current, a.since, a.pod->name) <
           std::tie(b.klass, b.current, b.since, b.pod->name);
  });
  int surplus = static_cast<int>(live.size()) - desired;
  std::vector<std::string> removed;
  for (const auto& c : removable) {
    if (surplus <= 0) break;
    plan.delete_scale_down.push_back(c.pod->name);
    removed.push_back(c.pod->name);
    --surplus;
  }
  if (surplus > 0) plan.kept_busy_surplus = surplus;
  // Roll-out: outdated pods that are not busy are replaced now (the idle timeout does not
  // apply: they would run an old template); busy ones when their tasks finish.
  for (const PodView* pod : live) {
    if (pod->template_hash == current_hash) continue;
    if (std::find(removed.begin(), removed.end(), pod->name) != removed.end()) continue;
    if (busy(*pod)) {
      ++plan.kept_busy_outdated;
    } else {
      plan.delete_outdated.push_back(pod->name);
    }
  }
  int remaining =
      static_cast<int>(live.size() - plan.delete_scale_down.size() - plan.delete_outdated.size());
  plan.create = std::max(0, desired - remaining);
  return plan;
}

}  // namespace featureforge::controllers::cc
