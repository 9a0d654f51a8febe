// What every cluster component of the harness (ff-kubelet, ff-deployment-controller,
// ff-kube-proxy) does around its own work: take SIGTERM/SIGINT through sigwait, ignore SIGPIPE,
// and connect to the API server of a kubeconfig as its own user agent.
#pragma once

#include <signal.h>

#include <memory>
#include <string>

#include "featureforge/k8s/client.h"
#include "featureforge/k8s/config.h"

namespace ffharness {

class Component {
 public:
  // Blocks SIGTERM and SIGINT in this thread (threads started later inherit the mask, so only
  // WaitForStop sees them) and ignores SIGPIPE. Call first in main().
  explicit Component(std::string name);

  // Loads `kubeconfig` and creates a client with user agent `name`. On failure prints
  // "<name>: <error>" to stderr and returns nullptr.
  std::shared_ptr<featureforge::k8s::Client> Connect(const std::string& kubeconfig);
  // The REST config Connect used (the API server's address, for components that pass it on).
  const featureforge::k8s::RestConfig& config() const { return config_; }

  // Prints "<name>: <message>" to stderr; returns 1 (the exit code of a failed start).
  int Fail(const std::string& message) const;
  // Blocks until SIGTERM or SIGINT.
  void WaitForStop() const;

 private:
  std::string name_;
  sigset_t stop_signals_{};
  featureforge::k8s::RestConfig config_;
};

}  // namespace ffharness
