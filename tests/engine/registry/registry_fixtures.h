// Shared by the registry tests: a one-view repo and the two updates they race with.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
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

// `processes` forked children each Record `each` distinct intervals (the first failure is
// printed to stderr); true when every child succeeded. Fork before this process talks to the
// store over the network, so no pooled connection is shared with the children.
inline bool RecordFromProcesses(const std::string& uri, int processes, int each) {
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    pid_t child = fork();
    if (child < 0) return false;
    if (child == 0) {
      for (int i = 0; i < each; ++i) {
        Status status = Record(uri, (p * each + i) * 100);
        if (!status.ok()) {
          std::fprintf(stderr, "process %d update %d: %s\n", p, i, status.ToString().c_str());
          _exit(1);
        }
      }
      _exit(0);
    }
    children.push_back(child);
  }
  bool ok = true;
  for (pid_t child : children) {
    int status = 0;
    ok = waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0 && ok;
  }
  return ok;
}

// `threads` threads each Record `each` distinct intervals; returns how many updates failed.
inline int RecordFromThreads(const std::string& uri, int threads, int each) {
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < each; ++i) {
        if (!Record(uri, (t * each + i) * 100).ok()) ++failures;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  return failures.load();
}

}  // namespace featureforge::registry::testing
