// The MaterializationJob reconciler (level-based): reads the job, its pods and children, and
// converges one step per call. Exposed (besides RegisterMaterializationJobController) so tests
// can drive it with their own clock and RepoAccess.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>

#include "featureforge/cluster/head_client.h"
#include "featureforge/controllers/materializationjob/cluster_dispatch.h"
#include "featureforge/controllers/materializationjob/job_logic.h"
#include "featureforge/controllers/materializationjob/repo_access.h"
#include "featureforge/controllers/operator_config.h"
#include "featureforge/runtime/events.h"
#include "featureforge/runtime/manager.h"
#include "featureforge/runtime/store.h"

namespace featureforge::controllers::mj {

const k8s::ResourceType& MaterializationJobs();
const k8s::ResourceType& ComputeClusters();

// A HeadClient for "host:port" (jobs with spec.computeClusterRef). The default keeps one gRPC
// client per address with a 2 s deadline per call.
using HeadClientFactory =
    std::function<std::shared_ptr<cluster::HeadClient>(const std::string& address)>;
HeadClientFactory DefaultHeadClientFactory();

struct ReconcilerDeps {
  std::shared_ptr<k8s::Client> client;
  const runtime::Store* pods = nullptr;  // informer cache of pods
  const runtime::Store* jobs = nullptr;  // informer cache of MaterializationJobs
  runtime::EventRecorder* events = nullptr;
  std::shared_ptr<RepoAccess> repos;
  const Clock* clock = &SystemClock();
  OperatorConfig config;
  uint64_t seed = std::random_device{}();
  HeadClientFactory head_clients = DefaultHeadClientFactory();
  // How often a job running on a ComputeCluster asks the head (there is no watch on tasks).
  DurationMicros cluster_poll = 2 * kMicrosPerSecond;
};

class MaterializationJobReconciler : public runtime::Reconciler {
 public:
  explicit MaterializationJobReconciler(ReconcilerDeps deps);
  Result<runtime::ReconcileResult> Reconcile(const k8s::ObjectKey& key) override;

 private:
  Result<runtime::ReconcileResult> ReconcileRun(const Json& job, const JobSpec& spec);
  Result<runtime::ReconcileResult> ReconcileSchedule(const Json& job, const JobSpec& spec);
  Result<runtime::ReconcileResult> FailInvalid(const Json& job, const std::string& reason,
                                               const std::string& message);
  Json MakePod(const Json& job, const JobSpec& spec, const StoreRepo& repo, const Json& window,
               int partition, int attempt) const;
  void Event(const Json& job, bool warning, const std::string& reason, const std::string& message);
  // ComputeCluster dispatch (cluster_reconcile.cc).
  Result<std::shared_ptr<cluster::HeadClient>> ConnectCluster(const std::string& ns,
                                                              const JobSpec& spec);
  Result<std::map<std::string, std::string>> ResolveEnv(const std::string& ns, const JobSpec& spec);
  // Cancels `head_job` on the job's ComputeCluster; a head or cluster that does not know it = ok.
  Status CancelOnCluster(const std::string& ns, const JobSpec& spec, const std::string& head_job);
  // ComputeClusterReady=False with `reason`, an Event when it changes, status written; the
  // caller returns the requeue.
  Result<runtime::ReconcileResult> WaitForCluster(const Json& job, Json status,
                                                  const std::string& reason,
                                                  const std::string& message);
  Status WriteStatus(const Json& job, const Json& status);

  ReconcilerDeps deps_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace featureforge::controllers::mj
