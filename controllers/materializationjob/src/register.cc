#include "featureforge/controllers/materializationjob.h"
#include "featureforge/controllers/materializationjob/reconciler.h"

namespace featureforge::controllers {

Status RegisterMaterializationJobController(runtime::Manager& manager,
                                            const OperatorConfig& config) {
  mj::ReconcilerDeps deps;
  deps.client = manager.shared_client();
  deps.pods = &manager.GetInformer(k8s::resources::Pods())->store();
  deps.jobs = &manager.GetInformer(mj::MaterializationJobs())->store();
  deps.events = &manager.events();
  deps.repos = mj::MakeClusterRepoAccess(manager.shared_client(), config.work_dir);
  deps.config = config;
  runtime::ControllerOptions options;
  options.name = "materializationjob";
  options.primary = mj::MaterializationJobs();
  options.owned = {k8s::resources::Pods(), mj::MaterializationJobs()};
  options.reconciler = std::make_shared<mj::MaterializationJobReconciler>(std::move(deps));
  options.workers = config.materializationjob_workers;
  return manager.AddController(std::move(options));
}

}  // namespace featureforge::controllers
