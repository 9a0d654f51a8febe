#include "component.h"

#include <iostream>

namespace ffharness {

Component::Component(std::string name) : name_(std::move(name)) {
  sigemptyset(&stop_signals_);
  sigaddset(&stop_signals_, SIGTERM);
  sigaddset(&stop_signals_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals_, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

std::shared_ptr<featureforge::k8s::Client> Component::Connect(const std::string& kubeconfig) {
  auto config = featureforge::k8s::LoadKubeconfig(kubeconfig);
  if (!config.ok()) {
    Fail(config.status().ToString());
    return nullptr;
  }
  config->user_agent = name_;
  config_ = *config;
  auto client = featureforge::k8s::Client::Create(*config);
  if (!client.ok()) {
    Fail(client.status().ToString());
    return nullptr;
  }
  return *client;
}

int Component::Fail(const std::string& message) const {
  std::cerr << name_ << ": " << message << "\n";
  return 1;
}

void Component::WaitForStop() const {
  int sig = 0;
  sigwait(&stop_signals_, &sig);
}

}  // namespace ffharness
