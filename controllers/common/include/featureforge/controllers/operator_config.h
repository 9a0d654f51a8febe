// OperatorConfig: the settings the featureforge-operator binary hands to every controller's
// Register<Kind>Controller(manager, config). Filled from flags and environment in the operator's
// main; controllers read it, never write it. Small shared helpers for controllers live next to
// it in this library (ff_controllers_common) — never controller logic.
#pragma once

#include <map>
#include <string>

#include "featureforge/common/status.h"

namespace featureforge::controllers {

struct OperatorConfig {
  // "" = watch every namespace; otherwise only this namespace.
  std::string watch_namespace;

  // Workers per controller (concurrent reconciles of distinct keys).
  int featurestore_workers = 2;
  int materializationjob_workers = 4;
  int computecluster_workers = 2;

  // Image for MaterializationJob executor pods when spec.executor.image is empty.
  std::string executor_image = "featureforge/featureforge:latest";
  // Image for the FeatureStore feature server Deployment when
  // spec.services.onlineStore.server.image is empty.
  std::string feature_server_image = "featureforge/featureforge:latest";
  // The command run in featureforge containers (the worker binary's name inside the image).
  std::string featureforge_command = "featureforge";
  // Port the feature server listens on inside its pod (and the Service's port).
  int feature_server_port = 6566;

  // Where the operator keeps local state it needs between reconciles (temp files for repo
  // validation, local registries of stores that use a relative registry path).
  std::string work_dir = "/tmp/featureforge-operator";

  // Default resync: how often a healthy object is looked at again without any change.
  int resync_seconds = 300;

  // Labels added to every object the operator creates (besides the per-kind labels).
  std::map<std::string, std::string> extra_labels;
};

// Checks ranges and required values; errors name the flag/field.
Status ValidateOperatorConfig(const OperatorConfig& config);

}  // namespace featureforge::controllers
