// The MaterializationJob reconciler (level-based): reads the job, its pods and children, and
// converges one step per call. Exposed (besides RegisterMaterializationJobController) so tests
// can drive it with their own clock and RepoAccess.
#pragma once

#include <memory>
#include <mutex>
#include <random>

#include "featureforge/controllers/materializationjob/job_logic.h"
#include "featureforge/controllers/materializationjob/repo_access.h"
#include "featureforge/controllers/operator_config.h"
#include "featureforge/runtime/events.h"
#include "featureforge/runtime/manager.h"
#include "featureforge/runtime/store.h"

namespace featureforge::controllers::mj {

const k8s::ResourceType& MaterializationJobs();

struct ReconcilerDeps {
  std::shared_ptr<k8s::Client> client;
  const runtime::Store* pods = nullptr;  // informer cache of pods
  const runtime::Store* jobs = nullptr;  // informer cache of MaterializationJobs
  runtime::EventRecorder* events = nullptr;
  std::shared_ptr<RepoAccess> repos;
  const Clock* clock = &SystemClock();
  OperatorConfig config;
  uint64_t seed = std::random_device{}();
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
  Status WriteStatus(const Json& job, const Json& status);

  ReconcilerDeps deps_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace featureforge::controllers::mj
