#include "featureforge/controllers/computecluster.h"
#include "featureforge/controllers/computecluster/reconciler.h"

namespace featureforge::controllers {

Status RegisterComputeClusterController(runtime::Manager& manager, const OperatorConfig& config) {
  cc::ReconcilerDeps deps;
  deps.client = manager.shared_client();
  deps.pods = &manager.GetInformer(k8s::resources::Pods())->store();
  deps.services = &manager.GetInformer(k8s::resources::Services())->store();
  deps.events = &manager.events();
  deps.config = config;
  runtime::ControllerOptions options;
  options.name = "computecluster";
  options.primary = cc::ComputeClusters();
  options.owned = {k8s::resources::Pods(), k8s::resources::Services()};
  options.reconciler = std::make_shared<cc::ComputeClusterReconciler>(std::move(deps));
  options.workers = config.computecluster_workers;
  return manager.AddController(std::move(options));
}

}  // namespace featureforge::controllers
