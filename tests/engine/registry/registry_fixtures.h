// Shared by the registry tests: a one-view repo and the two updates they race with.
#pragma once

#include <sys/wait.h>

#include <string>
#include <vector>

#include "featureforge/registry/registry.h"

namespace featureforge::registry::testing {

// Project "rides": entity driver, source stats at `source_path`, view "hourly" (conv_rate).
inline repo::Repo OneViewRepo(const std::string& source_path = "data/stats.csv") {
  repo::Repo repo;
  repo.config.project = "rides";
  repo::Entity driver;
  driver.name = "driver";
  driver.join_keys = {"driver_id"};
  driver.value_type = ValueType::kInt64;
  repo.entities = {driver};
  repo::DataSource stats;
  stats.name = "stats";
  stats.path = source_path;
  stats.format =
      source_path.ends_with(".csv") ? repo::FileFormat::kCsv : repo::FileFormat::kParquet;
  repo.sources = {stats};
  repo::FeatureView view;
  view.name = "hourly";
  view.entities = {"driver"};
  view.ttl = 3600 * kMicrosPerSecond;
  view.features = {{"conv_rate", ValueType::kFloat, "", {}}};
  view.source = "stats";
  repo.feature_views = {view};
  return repo;
}

// `apply` of OneViewRepo through Registry::Update.
inline Status ApplySample(const std::string& uri) {
  return Registry::Update(uri, [](Registry& registry) {
    registry.Apply(OneViewRepo(), 1000);
    return Status::OK();
  });
}

// Records [start, start + 10] of "hourly" (1 row) through Registry::Update.
inline Status Record(const std::string& uri, TimestampMicros start) {
  return Registry::Update(uri, [&](Registry& registry) {
    return registry.RecordMaterialization("hourly", start, start + 10, 1, 2000);
  });
}

// Waits for every child; true when all exited 0.
inline bool AllChildrenSucceeded(const std::vector<pid_t>& children) {
  bool ok = true;
  for (pid_t child : children) {
    int status = 0;
    ok = waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0 && ok;
  }
  return ok;
}

}  // namespace featureforge::registry::testing
