// ff_test_manager: a controller manager process for leader-election tests. Its one controller
// annotates every ConfigMap in --namespace with the identity of the replica that reconciled it.
// Exits 0 after a graceful SIGTERM shutdown (the Lease is released).
#include <cstdio>
#include <cstdlib>
#include <string>

#include "featureforge/runtime/manager.h"

using namespace featureforge;

namespace {

class AnnotatingReconciler : public runtime::Reconciler {
 public:
  AnnotatingReconciler(runtime::Manager* manager, std::string identity)
      : manager_(manager), identity_(std::move(identity)) {}

  Result<runtime::ReconcileResult> Reconcile(const k8s::ObjectKey& key) override {
    const auto& cms = k8s::resources::ConfigMaps();
    runtime::ObjectPtr cached = manager_->GetInformer(cms)->store().Get(key);
    if (cached == nullptr) return runtime::ReconcileResult{};
    const k8s::Json& meta = (*cached)["metadata"];
    std::string mark = "featureforge.dev/seen-by-" + identity_;
    if (meta.contains("annotations") && meta["annotations"].contains(mark)) {
      return runtime::ReconcileResult{};
    }
    k8s::Json patch = {
        {"metadata", {{"annotations", {{"reconciled-by", identity_}, {mark, "true"}}}}}};
    auto patched = manager_->client().Patch(cms, key.ns, key.name, k8s::PatchType::kMerge, patch);
    if (!patched.ok() && !k8s::IsNotFound(patched.status())) return patched.status();
    return runtime::ReconcileResult{};
  }

 private:
  runtime::Manager* manager_;
  std::string identity_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig, identity, ns = "default", lease = "ff-test-lease";
  long lease_ms = 15000, renew_ms = 10000, retry_ms = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--kubeconfig")
      kubeconfig = value;
    else if (flag == "--identity")
      identity = value;
    else if (flag == "--namespace")
      ns = value;
    else if (flag == "--lease-name")
      lease = value;
    else if (flag == "--lease-ms")
      lease_ms = std::stol(value);
    else if (flag == "--renew-ms")
      renew_ms = std::stol(value);
    else if (flag == "--retry-ms")
      retry_ms = std::stol(value);
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto config = k8s::LoadKubeconfig(kubeconfig);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 1;
  }
  auto client = k8s::Client::Create(*config);
  if (!client.ok()) return 1;
  runtime::ManagerOptions options;
  options.watch_namespace = ns;
  options.metrics_bind_address = "127.0.0.1:0";
  options.identity = identity;
  options.lease_namespace = ns;
  options.lease_name = lease;
  options.lease_duration = lease_ms * 1000;
  options.renew_deadline = renew_ms * 1000;
  options.retry_period = retry_ms * 1000;
  auto manager = runtime::Manager::Create(*client, options);
  if (!manager.ok()) {
    std::fprintf(stderr, "%s\n", manager.status().ToString().c_str());
    return 1;
  }
  runtime::ControllerOptions controller;
  controller.name = "annotator";
  controller.primary = k8s::resources::ConfigMaps();
  controller.reconciler = std::make_shared<AnnotatingReconciler>(manager->get(), identity);
  Status added = (*manager)->AddController(controller);
  if (!added.ok()) {
    std::fprintf(stderr, "%s\n", added.ToString().c_str());
    return 1;
  }
  Status ran = (*manager)->Run();
  if (!ran.ok()) {
    std::fprintf(stderr, "%s\n", ran.ToString().c_str());
    return 1;
  }
  return 0;
}
