// ff-kube-proxy: the harness's Service proxy, a client of the API server given by --kubeconfig.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "featureforge/k8s/config.h"
#include "service_proxy.h"

int main(int argc, char** argv) {
  CLI::App app{"ff-kube-proxy: forwards Service clusterIP:port (loopback) to ready pods"};
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
    std::cerr << "ff-kube-proxy: " << config.status().ToString() << "\n";
    return 1;
  }
  config->user_agent = "ff-kube-proxy";
  auto client = featureforge::k8s::Client::Create(*config);
  if (!client.ok()) {
    std::cerr << "ff-kube-proxy: " << client.status().ToString() << "\n";
    return 1;
  }
  ffharness::proxy::ServiceProxy proxy(*client);
  proxy.Start();
  std::cout << "ff-kube-proxy running" << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  proxy.Stop();
  std::cout << "ff-kube-proxy stopped" << std::endl;
  return 0;
}
