// ff-kubelet: the harness's process kubelet. A client of the API server given by --kubeconfig.
#include <CLI/CLI.hpp>
#include <iostream>

#include "component.h"
#include "kubelet.h"

int main(int argc, char** argv) {
  ffharness::Component component("ff-kubelet");
  CLI::App app{"ff-kubelet: runs pods of featureforge images as local processes"};
  std::string kubeconfig;
  ffharness::kubelet::KubeletOptions options;
  options.runtime.image_prefixes = {"featureforge"};
  options.runtime.allowed_commands = {"sh",   "sleep", "true", "false",
                                      "echo", "cat",   "env",  "python3"};
  std::vector<std::string> prefixes, commands;
  app.add_option("--kubeconfig", kubeconfig, "kubeconfig of the API server")->required();
  app.add_option("--root-dir", options.root_dir,
                 "where pod logs, working dirs and termination messages go")
      ->required();
  app.add_option("--node-name", options.node_name, "the Node this kubelet registers");
  std::string featureforge_binary;
  std::vector<std::string> binaries;
  app.add_option("--featureforge-binary", featureforge_binary,
                 "what command `featureforge` runs (same as --binary featureforge=PATH)");
  app.add_option("--binary", binaries,
                 "NAME=PATH: what command (or image entrypoint) NAME runs, e.g. "
                 "featureforge-operator=... (repeatable)");
  app.add_option("--pod-kubeconfig", options.pod_kubeconfig,
                 "exported as KUBECONFIG to every pod (a local process cannot read service account "
                 "token mounts)");
  app.add_option("--image-prefix", prefixes,
                 "images (repository or its last path part) starting with this run (repeatable; "
                 "default featureforge)");
  app.add_option("--allow-command", commands,
                 "extra command[0] names allowed besides featureforge (repeatable; default sh "
                 "sleep true false echo cat env python3)");
  app.add_option("--ip-prefix", options.ip_prefix, "pod IPs are PREFIX.X.Y (default 127.0)");
  CLI11_PARSE(app, argc, argv);
  if (!prefixes.empty()) options.runtime.image_prefixes = prefixes;
  if (!featureforge_binary.empty()) options.runtime.binaries["featureforge"] = featureforge_binary;
  for (const auto& b : binaries) {
    auto eq = b.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "ff-kubelet: --binary " << b << ": expected NAME=PATH\n";
      return 2;
    }
    options.runtime.binaries[b.substr(0, eq)] = b.substr(eq + 1);
  }
  if (!commands.empty()) options.runtime.allowed_commands = commands;

  auto client = component.Connect(kubeconfig);
  if (!client) return 1;
  options.api_server = component.config().server;
  ffharness::kubelet::ProcessKubelet kubelet(client, options);
  auto started = kubelet.Start();
  if (!started.ok()) {
    return component.Fail(started.ToString());
  }
  std::cout << "ff-kubelet running node " << options.node_name << std::endl;
  component.WaitForStop();
  kubelet.Stop();
  std::cout << "ff-kubelet stopped" << std::endl;
  return 0;
}
