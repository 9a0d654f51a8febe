// The ComputeCluster reconciler (level-based): reads the cluster, its pods and Service (informer
// caches) and the head's view of its workers (GetClusterStatus, short deadline), converges one
// step, writes status through /status and says when to look again. Exposed (besides
// RegisterComputeClusterController) so tests and tools can build it with their own deps.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>

#include "featureforge/cluster/head_client.h"
#include "featureforge/controllers/computecluster/cluster_logic.h"
#include "featureforge/controllers/operator_config.h"
#include "featureforge/runtime/events.h"
#include "featureforge/runtime/manager.h"
#include "featureforge/runtime/store.h"

namespace featureforge::controllers::cc {

const k8s::ResourceType& ComputeClusters();

using HeadClientFactory =
    std::function<std::shared_ptr<cluster::HeadClient>(const std::string& address)>;

struct ReconcilerDeps {
  std::shared_ptr<k8s::Client> client;
  const runtime::Store* pods = nullptr;      // informer cache of pods
  const runtime::Store* services = nullptr;  // informer cache of services
  runtime::EventRecorder* events = nullptr;
  // Default: NewGrpcHeadClient(address, head_timeout).
  HeadClientFactory head_clients;
  std::chrono::milliseconds head_timeout{2000};
  const Clock* clock = &SystemClock();
  OperatorConfig config;
  uint64_t seed = std::random_device{}();
};

class ComputeClusterReconciler : public runtime::Reconciler {
 public:
  explicit ComputeClusterReconciler(ReconcilerDeps deps);
  Result<runtime::ReconcileResult> Reconcile(const k8s::ObjectKey& key) override;

 private:
  struct Pending {
    std::map<std::string, PodView> created;          // created, not yet in the cache
    std::map<std::string, TimestampMicros> deleted;  // deleted, cache may still show them
  };
  Result<runtime::ReconcileResult> ReconcileCluster(const Json& cluster, const ClusterSpec& spec);
  Result<runtime::ReconcileResult> Suspend(const Json& cluster, std::vector<PodView>& pods);
  Result<runtime::ReconcileResult> FailInvalid(const Json& cluster, const std::string& message);
  Result<Json> EnsureService(const Json& cluster, const ClusterSpec& spec);
  std::vector<PodView> ObservePods(const Json& cluster);
  Status CreatePod(const Json& cluster, const Json& pod);
  Status DeletePod(const Json& cluster, const std::string& name);
  std::string NewPodName(const std::string& prefix);
  std::shared_ptr<cluster::HeadClient> HeadClientFor(const std::string& address);
  void Event(const Json& cluster, bool warning, const std::string& reason,
             const std::string& message);
  Status WriteStatus(const Json& cluster, const Json& status);

  ReconcilerDeps deps_;
  std::mutex mu_;  // guards rng_, pending_, clients_
  std::mt19937_64 rng_;
  std::map<std::string, Pending> pending_;  // by cluster key
  std::map<std::string, std::shared_ptr<cluster::HeadClient>> clients_;
};

}  // namespace featureforge::controllers::cc
