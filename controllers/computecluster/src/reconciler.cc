// The ComputeCluster reconciler: head Service, head pod, worker groups, autoscaling, status.
#include "featureforge/controllers/computecluster/reconciler.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "featureforge/k8s/errors.h"
#include "featureforge/runtime/object_util.h"

namespace featureforge::controllers::cc {
namespace {

constexpr DurationMicros kPoll = 2 * kMicrosPerSecond;          // converging or autoscaling
constexpr DurationMicros kSteady = 10 * kMicrosPerSecond;       // Ready, fixed size
constexpr DurationMicros kExpectation = 30 * kMicrosPerSecond;  // cache catch-up limit

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string Plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

const k8s::ResourceType& ComputeClusters() {
  static const k8s::ResourceType type{"featureforge.dev", "v1alpha1", "computeclusters",
                                      "ComputeCluster", true};
  return type;
}

ComputeClusterReconciler::ComputeClusterReconciler(ReconcilerDeps deps)
    : deps_(std::move(deps)), rng_(deps_.seed) {
  if (!deps_.head_clients) {
    auto timeout = deps_.head_timeout;
    deps_.head_clients = [timeout](const std::string& address) {
      return std::shared_ptr<cluster::HeadClient>(cluster::NewGrpcHeadClient(address, timeout));
    };
  }
}

void ComputeClusterReconciler::Event(const Json& cluster, bool warning, const std::string& reason,
                                     const std::string& message) {
  spdlog::info("controller=computecluster cluster={}/{} reason={} msg=\"{}\"",
               cluster["metadata"].value("namespace", ""), cluster["metadata"].value("name", ""),
               reason, message);
  if (deps_.events == nullptr) return;
  Status s = deps_.events->Record(
      cluster, warning ? runtime::EventType::kWarning : runtime::EventType::kNormal, reason,
      message);
  if (!s.ok()) {
    spdlog::warn("controller=computecluster msg=\"event not recorded\" error=\"{}\"", s.ToString());
  }
}

Status ComputeClusterReconciler::WriteStatus(const Json& cluster, const Json& status) {
  if (cluster.value("status", Json::object()) == status) return Status::OK();
  Json updated = cluster;
  updated["status"] = status;
  auto result = deps_.client->UpdateStatus(ComputeClusters(), updated);
  if (!result.ok()) {
    return result.status().WithContext("update status of " +
                                       k8s::ObjectKey::Of(cluster).ToString());
  }
  return Status::OK();
}

std::string ComputeClusterReconciler::NewPodName(const std::string& prefix) {
  static const char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";  // as Kubernetes' suffixes
  std::lock_guard<std::mutex> lock(mu_);
  std::string name = prefix;
  for (int i = 0; i < 5; ++i) name += kAlphabet[rng_() % (sizeof(kAlphabet) - 1)];
  return name;
}

std::shared_ptr<cluster::HeadClient> ComputeClusterReconciler::HeadClientFor(
    const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& client = clients_[address];
  if (!client) client = deps_.head_clients(address);
  return client;
}

Status ComputeClusterReconciler::CreatePod(const Json& cluster, const Json& pod) {
  auto created = deps_.client->Create(k8s::resources::Pods(), pod);
  if (!created.ok() && !k8s::IsAlreadyExists(created.status())) return created.status();
  PodView placeholder = ViewOfPod(pod);  // counts as a pod that has not started
  placeholder.created = deps_.clock->Now();
  std::lock_guard<std::mutex> lock(mu_);
  pending_[k8s::ObjectKey::Of(cluster).ToString()].created[placeholder.name] = placeholder;
  return Status::OK();
}

Status ComputeClusterReconciler::DeletePod(const Json& cluster, const std::string& name) {
  Status s = deps_.client->Delete(k8s::resources::Pods(),
                                  cluster["metadata"].value("namespace", "default"), name);
  if (!s.ok() && !k8s::IsNotFound(s)) return s;
  std::lock_guard<std::mutex> lock(mu_);
  pending_[k8s::ObjectKey::Of(cluster).ToString()].deleted[name] = deps_.clock->Now();
  return Status::OK();
}

// The cluster's pods from the cache, corrected by what this process created or deleted and the
// cache has not shown yet (so a stale cache never makes it create or delete twice).
std::vector<PodView> ComputeClusterReconciler::ObservePods(const Json& cluster) {
  const std::string name = cluster["metadata"].value("name", "");
  const std::string uid = cluster["metadata"].value("uid", "");
  const TimestampMicros now = deps_.clock->Now();
  std::vector<PodView> pods;
  std::set<std::string> seen;
  if (deps_.pods != nullptr) {
    for (const auto& p : deps_.pods->ByOwnerUid(uid)) {
      const Json labels = (*p)["metadata"].value("labels", Json::object());
      if (labels.value(kClusterLabel, "") != name) continue;
      pods.push_back(ViewOfPod(*p));
      seen.insert(pods.back().name);
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Pending& pending = pending_[k8s::ObjectKey::Of(cluster).ToString()];
  for (auto it = pending.created.begin(); it != pending.created.end();) {
    if (seen.count(it->first) || now - it->second.created > kExpectation) {
      it = pending.created.erase(it);
      continue;
    }
    pods.push_back(it->second);
    ++it;
  }
  for (auto it = pending.deleted.begin(); it != pending.deleted.end();) {
    auto pod = std::find_if(pods.begin(), pods.end(),
                            [&](const PodView& v) { return v.name == it->first; });
    if (pod == pods.end() || pod->deleting || now - it->second > kExpectation) {
      it = pending.deleted.erase(it);
      continue;
    }
    pod->deleting = true;
    ++it;
  }
  return pods;
}

Result<runtime::ReconcileResult> ComputeClusterReconciler::Reconcile(const k8s::ObjectKey& key) {
  auto cluster = deps_.client->Get(ComputeClusters(), key.ns, key.name);
  if (!cluster.ok()) {
    if (k8s::IsNotFound(cluster.status())) {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.erase(key.ToString());
      return runtime::ReconcileResult{};
    }
    return cluster.status();
  }
  if (runtime::IsBeingDeleted(*cluster)) return runtime::ReconcileResult{};
  auto spec = ParseClusterSpec(*cluster);
  if (!spec.ok()) return FailInvalid(*cluster, spec.status().message());
  return ReconcileCluster(*cluster, *spec);
}

Result<runtime::ReconcileResult> ComputeClusterReconciler::FailInvalid(const Json& cluster,
                                                                       const std::string& message) {
  const Json previous = cluster.value("status", Json::object());
  StatusInputs in;
  in.generation = runtime::GenerationOf(cluster);
  in.invalid_spec = message;
  Json status = BuildStatus(previous, in, deps_.clock->Now());
  if (previous.value("message", "") != message || previous.value("state", "") != "Failed") {
    Event(cluster, true, "InvalidSpec", message);
  }
  FF_RETURN_IF_ERROR(WriteStatus(cluster, status));
  // Pods of the last valid spec keep running; a spec edit brings the next reconcile.
  return runtime::ReconcileResult{};
}

Result<Json> ComputeClusterReconciler::EnsureService(const Json& cluster, const ClusterSpec& spec) {
  Json wanted = MakeHeadService(cluster, spec, deps_.config);
  const std::string ns = wanted["metadata"].value("namespace", "default");
  const std::string name = wanted["metadata"].value("name", "");
  runtime::ObjectPtr cached =
      deps_.services != nullptr ? deps_.services->Get({ns, name}) : runtime::ObjectPtr();
  Json current;
  if (cached) {
    current = *cached;
  } else {
    auto got = deps_.client->Get(k8s::resources::Services(), ns, name);
    if (got.ok()) {
      current = *got;
    } else if (k8s::IsNotFound(got.status())) {
      auto created = deps_.client->Create(k8s::resources::Services(), wanted);
      if (!created.ok()) return created.status().WithContext("create Service " + name);
      Event(cluster, false, "CreatedService",
            "created head Service " + name + " (" + spec.head.service_type + ", clusterIP " +
                (*created)["spec"].value("clusterIP", "") + ", port " +
                std::to_string(spec.head.port) + ")");
      return *created;
    } else {
      return got.status();
    }
  }
  const std::string owner = runtime::ControllerUidOf(current).value_or("");
  if (owner != cluster["metadata"].value("uid", "")) {
    return Status::FailedPrecondition("Service " + name +
                                      " exists and is not owned by this ComputeCluster");
  }
  const Json& cur = current["spec"];
  if (cur.value("type", "ClusterIP") != spec.head.service_type ||
      cur.value("ports", Json::array()) != wanted["spec"]["ports"] ||
      cur.value("selector", Json::object()) != wanted["spec"]["selector"]) {
    Json patch = {{"spec",
                   {{"type", spec.head.service_type},
                    {"ports", wanted["spec"]["ports"]},
                    {"selector", wanted["spec"]["selector"]}}}};
    auto patched =
        deps_.client->Patch(k8s::resources::Services(), ns, name, k8s::PatchType::kMerge, patch);
    if (!patched.ok()) return patched.status().WithContext("update Service " + name);
    Event(cluster, false, "UpdatedService", "updated head Service " + name + " to the spec");
    return *patched;
  }
  return current;
}

Result<runtime::ReconcileResult> ComputeClusterReconciler::Suspend(const Json& cluster,
                                                                   std::vector<PodView>& pods) {
  std::vector<std::string> deleted;
  for (const auto& pod : pods) {
    if (pod.deleting) continue;
    FF_RETURN_IF_ERROR(DeletePod(cluster, pod.name));
    deleted.push_back(pod.name);
  }
  if (!deleted.empty()) {
    Event(cluster, false, "Suspended",
          "spec.suspend: deleted " + Plural(deleted.size(), "pod") + ": " + Join(deleted));
  }
  StatusInputs in;
  in.generation = runtime::GenerationOf(cluster);
  in.suspended = true;
  const Json previous = cluster.value("status", Json::object());
  in.service_name = ServiceName(cluster["metadata"].value("name", ""));
  Json status = BuildStatus(previous, in, deps_.clock->Now());
  FF_RETURN_IF_ERROR(WriteStatus(cluster, status));
  bool remaining = std::any_of(pods.begin(), pods.end(), [](const PodView&) { return true; });
  return runtime::ReconcileResult{false, remaining ? kPoll : kSteady * 6};
}

}  // namespace featureforge::controllers::cc
