// The FeatureStore controller (featureforge.dev/v1alpha1, kind FeatureStore, short name fs).
//
// Level-based: each reconcile renders the store's feature repo (inline spec or a referenced
// ConfigMap) into an owned ConfigMap, validates it with the engine's repo loader, applies it to
// the registry, runs the feature server as an owned Deployment + Service, and writes status
// (observedGeneration, conditions Ready / RegistryApplied / ServerAvailable, per-view
// watermarks, serviceEndpoint, phase) through /status.
#pragma once

#include <map>
#include <string>

#include "featureforge/common/status.h"
#include "featureforge/controllers/operator_config.h"
#include "featureforge/k8s/resource.h"
#include "featureforge/runtime/manager.h"

namespace featureforge::controllers {

const k8s::ResourceType& FeatureStoreResource();

Status RegisterFeatureStoreController(runtime::Manager& manager, const OperatorConfig& config);

// ---- Pure rendering, exposed for unit tests ----

// The rendered repo: file name -> content (feature_store.yaml + definition files).
using RepoFiles = std::map<std::string, std::string>;

// Names of the objects a FeatureStore owns.
std::string RepoConfigMapName(const std::string& store_name);  // "<name>-repo"
std::string ServerName(const std::string& store_name);         // "<name>-server"

// The registry path a store uses: spec.registry.path, else
// <work_dir>/registries/<namespace>/<name>/registry.pb.
std::string RegistryPathOf(const k8s::Json& store, const OperatorConfig& config);

// Renders an inline spec (spec.featureStoreYaml + spec.definitions) into repo files, or, when
// `referenced_data` is given (the data of spec.repoConfigMapRef's ConfigMap), takes its files and
// overrides project and registry. InvalidArgument names the spec field.
Result<RepoFiles> RenderRepoFiles(const k8s::Json& store, const OperatorConfig& config,
                                  const k8s::Json* referenced_data);

// Desired owned objects (without ownerReferences).
k8s::Json BuildRepoConfigMap(const k8s::Json& store, const RepoFiles& files);
k8s::Json BuildServerDeployment(const k8s::Json& store, const OperatorConfig& config,
                                const std::string& repo_hash);
k8s::Json BuildServerService(const k8s::Json& store, const OperatorConfig& config);

// Stable FNV-1a hex digest of a JSON value's canonical dump (change detection annotations).
std::string HashJson(const k8s::Json& value);

}  // namespace featureforge::controllers
