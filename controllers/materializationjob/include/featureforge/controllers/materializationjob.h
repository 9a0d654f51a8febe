// The MaterializationJob controller: runs partitioned executor pods for a window of feature
// views, retries failed partitions alone with capped exponential backoff, advances the
// FeatureStore's watermarks once every partition of a view succeeded, and turns jobs with
// spec.schedule into recurring schedules of child runs. See
// controllers/materializationjob/README.md.
#pragma once

#include <memory>

#include "featureforge/common/status.h"
#include "featureforge/controllers/operator_config.h"
#include "featureforge/runtime/manager.h"

namespace featureforge::controllers {

// Registers the controller (primary MaterializationJob; owned Pods and child
// MaterializationJobs) with `manager`, before manager.Start().
Status RegisterMaterializationJobController(runtime::Manager& manager,
                                            const OperatorConfig& config);

}  // namespace featureforge::controllers
