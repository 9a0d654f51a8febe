// featureforge-operator: runs the featureforge controllers (FeatureStore, MaterializationJob,
// ComputeCluster) against a Kubernetes API server with leader election, /metrics /healthz
// /readyz and structured logs. Flags override environment variables (FF_OPERATOR_*), which override
// defaults. SIGTERM/SIGINT shut it down gracefully (in-flight reconciles finish, the Lease is
// released).
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <memory>
#include <string>

#include "featureforge/controllers/computecluster.h"
#include "featureforge/controllers/featurestore.h"
#include "featureforge/controllers/materializationjob.h"
#include "featureforge/controllers/operator_config.h"
#include "featureforge/k8s/client.h"
#include "featureforge/k8s/config.h"
#include "featureforge/runtime/manager.h"

namespace {

using featureforge::Status;
using featureforge::controllers::OperatorConfig;

struct Flags {
  std::string kubeconfig;
  std::string context;
  std::string watch_namespace;
  bool all_namespaces = false;
  bool leader_elect = true;
  std::string lease_name = "featureforge-operator";
  std::string lease_namespace;
  std::string identity;
  std::string metrics_bind_address = ":8080";
  std::string log_level = "info";
  std::string log_format = "text";
};

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

int EnvIntOr(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  try {
    return std::stoi(value);
  } catch (...) {
    return fallback;
  }
}

bool EnvBoolOr(const char* name, bool fallback) {
  std::string value = EnvOr(name, "");
  if (value.empty()) return fallback;
  return value == "1" || value == "true" || value == "True" || value == "yes";
}

// The namespace the operator's pod runs in (for the Lease), like controller-runtime's default.
std::string PodNamespace() {
  std::string ns = EnvOr("POD_NAMESPACE", "");
  if (!ns.empty()) return ns;
  FILE* f = std::fopen("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "r");
  if (f != nullptr) {
    char buf[256] = {0};
    size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    ns.assign(buf, n);
    while (!ns.empty() && (ns.back() == '\n' || ns.back() == ' ')) ns.pop_back();
    if (!ns.empty()) return ns;
  }
  return "default";
}

void SetUpLogging(const Flags& flags) {
  spdlog::set_default_logger(spdlog::stderr_logger_mt("featureforge-operator"));
  if (flags.log_format == "json") {
    spdlog::set_pattern(
        R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","thread":%t,"msg":"%v"})",
        spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ level=%l logger=%n %v",
                        spdlog::pattern_time_type::utc);
  }
  spdlog::set_level(spdlog::level::from_str(flags.log_level));
}

// One Register<Kind>Controller line per controller; each lives in controllers/<kind>/.
Status RegisterControllers(featureforge::runtime::Manager& manager, const OperatorConfig& config) {
  FF_RETURN_IF_ERROR(featureforge::controllers::RegisterFeatureStoreController(manager, config));
  FF_RETURN_IF_ERROR(
      featureforge::controllers::RegisterMaterializationJobController(manager, config));
  FF_RETURN_IF_ERROR(featureforge::controllers::RegisterComputeClusterController(manager, config));
  return Status::OK();
}

int Run(const Flags& flags, const OperatorConfig& config) {
  Status valid = featureforge::controllers::ValidateOperatorConfig(config);
  if (!valid.ok()) {
    spdlog::error("msg=\"invalid configuration\" error=\"{}\"", valid.ToString());
    return 2;
  }
  if (!flags.kubeconfig.empty()) setenv("KUBECONFIG", flags.kubeconfig.c_str(), 1);
  auto rest = featureforge::k8s::LoadDefaultConfig(flags.context);
  if (!rest.ok()) {
    spdlog::error("msg=\"cannot load Kubernetes client configuration\" error=\"{}\"",
                  rest.status().ToString());
    return 1;
  }
  auto client = featureforge::k8s::Client::Create(std::move(rest).value());
  if (!client.ok()) {
    spdlog::error("msg=\"cannot create Kubernetes client\" error=\"{}\"",
                  client.status().ToString());
    return 1;
  }

  featureforge::runtime::ManagerOptions options;
  options.watch_namespace = config.watch_namespace;
  options.metrics_bind_address = flags.metrics_bind_address;
  options.leader_election = flags.leader_elect;
  options.lease_name = flags.lease_name;
  options.lease_namespace = flags.lease_namespace.empty() ? PodNamespace() : flags.lease_namespace;
  if (!flags.identity.empty()) options.identity = flags.identity;
  options.handle_signals = true;

  auto manager = featureforge::runtime::Manager::Create(client.value(), options);
  if (!manager.ok()) {
    spdlog::error("msg=\"cannot create controller manager\" error=\"{}\"",
                  manager.status().ToString());
    return 1;
  }
  Status registered = RegisterControllers(*manager.value(), config);
  if (!registered.ok()) {
    spdlog::error("msg=\"cannot register controllers\" error=\"{}\"", registered.ToString());
    return 1;
  }
  spdlog::info(
      "msg=\"starting\" namespace=\"{}\" leader_election={} lease=\"{}/{}\" identity=\"{}\" "
      "metrics=\"{}\"",
      config.watch_namespace.empty() ? "<all>" : config.watch_namespace, flags.leader_elect,
      options.lease_namespace, options.lease_name, manager.value()->identity(),
      flags.metrics_bind_address);
  Status run = manager.value()->Run();
  if (!run.ok()) {
    spdlog::error("msg=\"operator stopped with an error\" error=\"{}\"", run.ToString());
    return 1;
  }
  spdlog::info("msg=\"stopped\"");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  OperatorConfig config;
  // Environment first (defaults for the flags), so a Deployment can configure either way.
  flags.kubeconfig = EnvOr("KUBECONFIG", "");
  flags.watch_namespace = EnvOr("FF_OPERATOR_WATCH_NAMESPACE", "");
  flags.leader_elect = EnvBoolOr("FF_OPERATOR_LEADER_ELECT", true);
  flags.lease_name = EnvOr("FF_OPERATOR_LEASE_NAME", flags.lease_name);
  flags.lease_namespace = EnvOr("FF_OPERATOR_LEASE_NAMESPACE", "");
  flags.identity = EnvOr("FF_OPERATOR_IDENTITY", EnvOr("POD_NAME", ""));
  flags.metrics_bind_address =
      EnvOr("FF_OPERATOR_METRICS_BIND_ADDRESS", flags.metrics_bind_address);
  flags.log_level = EnvOr("FF_OPERATOR_LOG_LEVEL", flags.log_level);
  flags.log_format = EnvOr("FF_OPERATOR_LOG_FORMAT", flags.log_format);
  config.featurestore_workers =
      EnvIntOr("FF_OPERATOR_FEATURESTORE_WORKERS", config.featurestore_workers);
  config.materializationjob_workers =
      EnvIntOr("FF_OPERATOR_MATERIALIZATIONJOB_WORKERS", config.materializationjob_workers);
  config.computecluster_workers =
      EnvIntOr("FF_OPERATOR_COMPUTECLUSTER_WORKERS", config.computecluster_workers);
  config.executor_image = EnvOr("FF_OPERATOR_EXECUTOR_IMAGE", config.executor_image);
  config.feature_server_image =
      EnvOr("FF_OPERATOR_FEATURE_SERVER_IMAGE", config.feature_server_image);
  config.featureforge_command =
      EnvOr("FF_OPERATOR_FEATUREFORGE_COMMAND", config.featureforge_command);
  config.feature_server_port =
      EnvIntOr("FF_OPERATOR_FEATURE_SERVER_PORT", config.feature_server_port);
  config.work_dir = EnvOr("FF_OPERATOR_WORK_DIR", config.work_dir);
  config.resync_seconds = EnvIntOr("FF_OPERATOR_RESYNC_SECONDS", config.resync_seconds);

  CLI::App app{"featureforge-operator: reconciles featureforge.dev custom resources"};
  app.add_option("--kubeconfig", flags.kubeconfig,
                 "kubeconfig file (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)");
  app.add_option("--context", flags.context, "kubeconfig context (default: current-context)");
  app.add_option("--namespace", flags.watch_namespace,
                 "watch only this namespace [$FF_OPERATOR_WATCH_NAMESPACE]; empty = all");
  app.add_flag("--all-namespaces", flags.all_namespaces, "watch every namespace (the default)");
  app.add_option("--leader-elect", flags.leader_elect,
                 "elect one active replica through a Lease [$FF_OPERATOR_LEADER_ELECT]");
  app.add_option("--lease-name", flags.lease_name, "Lease name [$FF_OPERATOR_LEASE_NAME]");
  app.add_option("--lease-namespace", flags.lease_namespace,
                 "Lease namespace (default: the pod's namespace, else default)");
  app.add_option("--identity", flags.identity, "leader election identity (default: hostname)");
  app.add_option("--metrics-bind-address", flags.metrics_bind_address,
                 "/metrics /healthz /readyz address, e.g. :8080 or 127.0.0.1:0; empty disables");
  app.add_option("--featurestore-workers", config.featurestore_workers,
                 "concurrent FeatureStore reconciles");
  app.add_option("--materializationjob-workers", config.materializationjob_workers,
                 "concurrent MaterializationJob reconciles");
  app.add_option("--computecluster-workers", config.computecluster_workers,
                 "concurrent ComputeCluster reconciles");
  app.add_option("--executor-image", config.executor_image,
                 "default image for executor pods [$FF_OPERATOR_EXECUTOR_IMAGE]");
  app.add_option("--feature-server-image", config.feature_server_image,
                 "default image for feature server pods [$FF_OPERATOR_FEATURE_SERVER_IMAGE]");
  app.add_option("--featureforge-command", config.featureforge_command,
                 "command run in featureforge containers");
  app.add_option("--feature-server-port", config.feature_server_port,
                 "feature server container and Service port");
  app.add_option("--work-dir", config.work_dir,
                 "local scratch directory (repo validation, local registries)");
  app.add_option("--resync-seconds", config.resync_seconds,
                 "look at every object again after this long without changes");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "err", "error", "critical", "off"}));
  app.add_option("--log-format", flags.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (flags.all_namespaces) flags.watch_namespace.clear();
  config.watch_namespace = flags.watch_namespace;
  if (flags.log_level == "error") flags.log_level = "err";
  SetUpLogging(flags);
  return Run(flags, config);
}
