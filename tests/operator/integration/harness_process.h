// Starts the cluster harness API server (tests/harness, `ff-apiserver`) as a child process on a
// free loopback port, for integration tests of the operator runtime.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/k8s/config.h"

namespace featureforge::k8s::testing {

class HarnessProcess {
 public:
  // `extra_args` go to ff-apiserver as given (e.g. {"--watch-history", "5"}).
  explicit HarnessProcess(std::vector<std::string> extra_args = {});
  ~HarnessProcess();

  // The binary: $FF_APISERVER, else $FEATUREFORGE_BINARY_DIR/tests/harness/ff-apiserver.
  static std::string BinaryPath();

  Status Start();
  // SIGTERM (the harness saves its state), then wait for exit.
  Status Stop();
  // SIGKILL without saving.
  void Kill();
  // Stop, then start again on the same port and directory (objects and resourceVersions
  // survive).
  Status Restart();

  const std::string& dir() const { return dir_; }
  std::string kubeconfig_path() const { return dir_ + "/kubeconfig"; }
  int port() const { return port_; }
  Result<RestConfig> Config() const { return LoadKubeconfig(kubeconfig_path()); }
  // POST to a /harness/... test endpoint ("compact", "drop-watches").
  Status HarnessCall(const std::string& endpoint) const;
  // Runs kubectl against this server; returns stdout (stderr appended on failure).
  Result<std::string> Kubectl(const std::string& args) const;

 private:
  std::vector<std::string> extra_args_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace featureforge::k8s::testing
