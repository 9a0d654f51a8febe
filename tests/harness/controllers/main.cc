// ff-deployment-controller: the harness's Deployment controller, a client of the API server.
#include <CLI/CLI.hpp>
#include <iostream>

#include "component.h"
#include "deployment_controller.h"

int main(int argc, char** argv) {
  ffharness::Component component("ff-deployment-controller");
  CLI::App app{"ff-deployment-controller: keeps the pods of Deployments"};
  std::string kubeconfig;
  app.add_option("--kubeconfig", kubeconfig, "kubeconfig of the API server")->required();
  CLI11_PARSE(app, argc, argv);
  auto client = component.Connect(kubeconfig);
  if (!client) return 1;
  ffharness::controllers::DeploymentController controller(client);
  controller.Start();
  std::cout << "ff-deployment-controller running" << std::endl;
  component.WaitForStop();
  controller.Stop();
  return 0;
}
