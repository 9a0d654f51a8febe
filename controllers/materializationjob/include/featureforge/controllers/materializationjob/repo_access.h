// How the MaterializationJob controller reaches a FeatureStore's repo and registry: it reads the
// store's rendered repo ConfigMap ("<store>-repo", one key per repo file), writes the files to
// a folder under the operator's work dir, loads the repo (to check view names) and updates the
// registry the repo names (which must be absolute or a URI so executor pods and the operator
// share it). An interface so reconcile logic is testable with an in-memory fake.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/k8s/client.h"

namespace featureforge::controllers::mj {

std::string RepoConfigMapName(const std::string& feature_store);

struct StoreRepo {
  std::string config_map;                 // name of the rendered repo ConfigMap
  std::string registry_path;              // resolved registry location
  std::vector<std::string> online_views;  // views materialized when featureViews is empty
  std::vector<std::string> all_views;
  // The rendered repo's files (ConfigMap data: relative path -> content), shipped to
  // ComputeCluster workers in each MaterializePartition task.
  std::map<std::string, std::string> files;
  // The FeatureStore's spec.credentials (env / envFrom arrays; null when unset): executor pods
  // get them, so a job needs no copy of the store's Secrets.
  k8s::Json credentials_env;
  k8s::Json credentials_env_from;
};

class RepoAccess {
 public:
  virtual ~RepoAccess() = default;
  // NotFound when the FeatureStore or its ConfigMap does not exist (message says which),
  // InvalidArgument when the rendered repo does not load.
  virtual Result<StoreRepo> Resolve(const std::string& ns, const std::string& feature_store) = 0;
  // Records [start, end] for `view` unless the registry already has a watermark >= end
  // (so a repeated call after a lost status write records nothing twice). Returns whether it
  // recorded.
  virtual Result<bool> AdvanceWatermark(const StoreRepo& repo, const std::string& view,
                                        TimestampMicros start, TimestampMicros end,
                                        int64_t rows_written, TimestampMicros now) = 0;
};

// The real one, over the Kubernetes client and the engine's registry.
std::unique_ptr<RepoAccess> MakeClusterRepoAccess(std::shared_ptr<k8s::Client> client,
                                                  std::string work_dir);

}  // namespace featureforge::controllers::mj
