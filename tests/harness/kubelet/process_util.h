// Process-level helpers of the process kubelet: how a container becomes a local process
// (command resolution, environment, $(VAR) expansion), spawning, and readiness probes.
#pragma once

#include <sys/types.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "featureforge/common/status.h"

namespace ffharness::kubelet {

using nlohmann::json;

struct RuntimeConfig {
  // Project binaries by command name ("featureforge", "featureforge-operator") -> host path.
  std::map<std::string, std::string> binaries;
  std::vector<std::string> image_prefixes;    // images the kubelet agrees to run
  std::vector<std::string> allowed_commands;  // other command[0] names (resolved through PATH)
};

// Empty when `image` is runnable, else why not.
std::string CheckImage(const RuntimeConfig& config, const std::string& image);

// argv for a container: command (default: the image's entrypoint, the last path part of its
// repository, e.g. `featureforge` or `featureforge-operator`) + args, with $(VAR) references
// expanded from `env`. Project binaries come from `binaries`; other commands must be allowed.
// Fails with a message naming the container.
featureforge::Result<std::vector<std::string>> ResolveArgv(
    const RuntimeConfig& config, const json& container,
    const std::map<std::string, std::string>& env);

// Kubernetes' $(VAR) expansion ($$ escapes).
std::string ExpandVariables(const std::string& text, const std::map<std::string, std::string>& env);

// Forks and execs argv in its own process group with stdout+stderr appended to log_path.
featureforge::Result<pid_t> SpawnProcess(const std::vector<std::string>& argv,
                                         const std::map<std::string, std::string>& env,
                                         const std::string& working_dir,
                                         const std::string& log_path);

// A readiness/liveness probe (httpGet, tcpSocket or exec) against a pod at `pod_ip`.
bool RunProbe(const json& probe, const json& container, const std::string& pod_ip,
              const std::map<std::string, std::string>& env, const std::string& working_dir);

// Last `max_bytes` of a file.
std::string ReadTail(const std::string& path, size_t max_bytes);

}  // namespace ffharness::kubelet
