// ff-deployment-controller: the harness's Deployment controller, a client of the API server.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "deployment_controller.h"
#include "featureforge/k8s/config.h"

int main(int argc, char** argv) {
  CLI::App app{"ff-deployment-controller: keeps the pods of Deployments"};
  std::string kubeconfig;
  app.add_option("--kubeconfig", kubeconfig, "kubeconfig of the API server")->required();
  CLI11_PARSE(app, argc, argv);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  auto config = featureforge::k8s::LoadKubeconfig(kubeconfig);
  if (!config.ok()) {
    std::cerr << "ff-deployment-controller: " << config.status().ToString() << "\n";
    return 1;
  }
  config->user_agent = "ff-deployment-controller";
  auto client = featureforge::k8s::Client::Create(*config);
  if (!client.ok()) {
    std::cerr << "ff-deployment-controller: " << client.status().ToString() << "\n";
    return 1;
  }
  ffharness::controllers::DeploymentController controller(*client);
  controller.Start();
  std::cout << "ff-deployment-controller running" << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  controller.Stop();
  return 0;
}
