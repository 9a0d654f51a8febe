// Pod volumes for local processes: configMap, secret, projected (configMap/secret sources),
// emptyDir, persistentVolumeClaim and hostPath volumes are materialized as host directories, and
// paths under a container's mountPaths in its args, env values and workingDir are rewritten to
// them (a local process cannot see /etc/... mounts).
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/k8s/client.h"

namespace ffharness::kubelet {

using nlohmann::json;

// mountPath -> host path for one container.
using MountMap = std::map<std::string, std::string>;

// Materializes the volumes `container` mounts under `pod_dir`/volumes (PVCs under
// `root_dir`/pvc/<ns>/<claim>, shared by pods) and returns its mount map.
featureforge::Result<MountMap> PrepareMounts(featureforge::k8s::Client& client, const json& pod,
                                             const json& container, const std::string& pod_dir,
                                             const std::string& root_dir);

// Rewrites every occurrence of a mountPath (at the start of the text or after '=', ':', ',', a
// space or a quote, followed by '/' or the end) to its host path.
std::string MapMountedPaths(const std::string& text, const MountMap& mounts);

}  // namespace ffharness::kubelet
