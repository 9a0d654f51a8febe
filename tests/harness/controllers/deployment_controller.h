// The harness Deployment controller: a client of any API server (ff_k8s + informers) that keeps
// each Deployment's pods (owned directly by the Deployment, labelled pod-template-hash; there
// are no ReplicaSets) at spec.replicas, rolls pods when the template changes, and writes status.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "featureforge/k8s/client.h"
#include "featureforge/runtime/informer.h"

namespace ffharness::controllers {

class DeploymentController {
 public:
  explicit DeploymentController(std::shared_ptr<featureforge::k8s::Client> client);
  ~DeploymentController();
  void Start();
  void Stop();

 private:
  void Loop();
  void Reconcile(const std::string& key);
  void Enqueue(const std::string& key);

  std::shared_ptr<featureforge::k8s::Client> client_;
  std::unique_ptr<featureforge::runtime::Informer> deployments_;
  std::unique_ptr<featureforge::runtime::Informer> pods_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> dirty_;
  // Pods created but not yet seen by the pod informer, per deployment (avoids double creates).
  std::map<std::string, std::pair<std::set<std::string>, std::chrono::steady_clock::time_point>>
      expected_;
  std::atomic<bool> stop_{false};
  std::thread loop_;
};

}  // namespace ffharness::controllers
