// ff-kube-proxy: the harness's Service proxy, a client of the API server given by --kubeconfig.
#include <CLI/CLI.hpp>
#include <iostream>

#include "component.h"
#include "service_proxy.h"

int main(int argc, char** argv) {
  ffharness::Component component("ff-kube-proxy");
  CLI::App app{"ff-kube-proxy: forwards Service clusterIP:port (loopback) to ready pods"};
  std::string kubeconfig;
  app.add_option("--kubeconfig", kubeconfig, "kubeconfig of the API server")->required();
  CLI11_PARSE(app, argc, argv);
  auto client = component.Connect(kubeconfig);
  if (!client) return 1;
  ffharness::proxy::ServiceProxy proxy(client);
  proxy.Start();
  std::cout << "ff-kube-proxy running" << std::endl;
  component.WaitForStop();
  proxy.Stop();
  std::cout << "ff-kube-proxy stopped" << std::endl;
  return 0;
}
