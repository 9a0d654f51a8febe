// Turns user feature references ("view:feature", "view") and a feature service into the list of
// views and features a retrieval or online read needs.
#pragma once

#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/repo/model.h"

namespace featureforge::repo {

// Resolves `refs` ("view:feature" or "view" = every feature of the view) and, when
// `feature_service` is not empty, that service's projections (taken first). Projections of the
// same view are merged into one, views keep the order of their first mention, features keep
// their order and appear once. Unlike FeatureService::projections, every returned projection
// lists its features explicitly (never empty).
// Errors (InvalidArgument) name every unknown service, view or feature and malformed reference.
Result<std::vector<FeatureViewProjection>> ResolveFeatureRefs(const Repo& repo,
                                                              const std::vector<std::string>& refs,
                                                              const std::string& feature_service);

}  // namespace featureforge::repo
