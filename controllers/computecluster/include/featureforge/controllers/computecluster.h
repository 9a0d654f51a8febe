// The ComputeCluster controller: a head pod behind a ClusterIP Service and groups of worker
// pods that register with it, kept healthy, rolled out on spec edits and (optionally)
// autoscaled from the head's pending task queue. See controllers/computecluster/README.md.
#pragma once

#include "featureforge/common/status.h"
#include "featureforge/controllers/operator_config.h"
#include "featureforge/runtime/manager.h"

namespace featureforge::controllers {

// Registers the controller (primary ComputeCluster; owned Pods and Services) with `manager`,
// before manager.Start().
Status RegisterComputeClusterController(runtime::Manager& manager, const OperatorConfig& config);

}  // namespace featureforge::controllers
