// The chart installed into the cluster harness like `helm install` would: ff-helm-render
// --include-crds | kubectl apply. The operator then runs in-cluster (its Deployment's pod is a
// process of the harness kubelet), and the examples in examples/k8s are applied and run by it.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "chart_test_util.h"

namespace ffchart::testing {
namespace {

namespace fs = std::filesystem;
using ffharness::testing::ApiServerProcess;
using ffharness::testing::BackgroundCommand;
using ffharness::testing::BinaryPath;
using ffharness::testing::RunCommand;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kNamespace[] = "featureforge-system";
// The examples' shared-volume path, replaced by a directory of the test (examples/k8s/README.md).
constexpr char kExampleDataRoot[] = "/data/featureforge";
constexpr int kSampleDrivers = 20;

// A TCP port that is free right now on every interface (the operator binds ":PORT").
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// The chart's CRDs, by kind (spec.names.kind) -> plural.
std::map<std::string, std::string> ChartCrdKinds() {
  std::map<std::string, std::string> kinds;
  for (const auto& e : fs::directory_iterator(ChartDir() + "/crds")) {
    YAML::Node crd = YAML::LoadFile(e.path());
    kinds[crd["spec"]["names"]["kind"].as<std::string>()] =
        crd["spec"]["names"]["plural"].as<std::string>();
  }
  return kinds;
}

class ChartInstall : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
#ifdef FEATUREFORGE_TEST_BINARY_DIR
    setenv("FEATUREFORGE_BINARY_DIR", FEATUREFORGE_TEST_BINARY_DIR, /*overwrite=*/0);
#endif
    server_ = new ApiServerProcess();
    ASSERT_TRUE(server_->Start());
    const std::string dir = server_->dir();
    // The kubelet runs the operator's pod too: the featureforge-operator binary, with a
    // kubeconfig for the harness (a local process cannot read a service account token mount).
    kubelet_ = new BackgroundCommand(
        {BinaryPath("tests/harness/ff-kubelet"), "--kubeconfig", server_->kubeconfig(),
         "--root-dir", dir + "/kubelet", "--featureforge-binary", BinaryPath("worker/featureforge"),
         "--binary",
         "featureforge-operator=" +
             BinaryPath("operator/cmd/featureforge_operator/featureforge-operator"),
         "--pod-kubeconfig", server_->kubeconfig()},
        dir + "/kubelet.log");
    controller_ = new BackgroundCommand({BinaryPath("tests/harness/ff-deployment-controller"),
                                         "--kubeconfig", server_->kubeconfig()},
                                        dir + "/controller.log");

    // helm install featureforge charts/featureforge -n featureforge-system --create-namespace
    auto rendered = Render({"--name", "featureforge", "--namespace", kNamespace, "--include-crds",
                            "--set", "metrics.port=" + std::to_string(FreePort()), "--set",
                            "operator.logLevel=debug,operator.resyncSeconds=10"});
    ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
    rendered_ = new std::string(rendered.out);
    ASSERT_EQ(CreateNamespace(kNamespace), 0);
    auto applied = server_->Apply(rendered.out);
    ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
    for (const auto& [kind, plural] : ChartCrdKinds()) {
      auto established = Kubectl({"wait", "--for=condition=Established",
                                  "crd/" + plural + ".featureforge.dev", "--timeout=60s"});
      ASSERT_EQ(established.exit_code, 0) << kind << ": " << established.err;
    }
    auto rollout = Kubectl({"-n", kNamespace, "rollout", "status",
                            "deployment/featureforge-operator", "--timeout=180s"});
    ASSERT_EQ(rollout.exit_code, 0) << rollout.out << rollout.err << Diagnostics();
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      // Stop every pod process (feature servers, executors, the operator) through the cluster.
      Kubectl({"delete", "mj,fs", "--all", "--all-namespaces", "--wait=true", "--timeout=60s"});
      Kubectl({"delete", "computeclusters", "--all", "--all-namespaces", "--wait=true",
               "--timeout=60s"});
      Kubectl(
          {"delete", "deployments", "--all", "--all-namespaces", "--wait=true", "--timeout=60s"});
      Kubectl({"delete", "pods", "--all", "--all-namespaces", "--wait=true", "--timeout=60s"});
    }
    delete controller_;
    delete kubelet_;
    delete server_;
    delete rendered_;
  }

  static ffharness::testing::CommandResult Kubectl(const std::vector<std::string>& args,
                                                   const std::string& in = "") {
    return server_->Kubectl(args, in);
  }
  // (`kubectl create namespace` sends protobuf, which the harness refuses.)
  static int CreateNamespace(const std::string& name) {
    auto r = server_->Apply("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code;
  }
  static std::string Jsonpath(const std::vector<std::string>& object, const std::string& path) {
    std::vector<std::string> args = {"get"};
    args.insert(args.end(), object.begin(), object.end());
    args.push_back("-o");
    args.push_back("jsonpath={" + path + "}");
    return Kubectl(args).out;
  }
  static std::string Tail(const std::string& text, size_t n = 4000) {
    return text.size() > n ? text.substr(text.size() - n) : text;
  }
  // The operator's log (its pod's log through kubectl) and the kubelet's.
  static std::string Diagnostics() {
    auto logs = Kubectl({"-n", kNamespace, "logs", "deployment/featureforge-operator"});
    auto pods = Kubectl({"get", "pods", "-A", "-o", "wide"});
    return "\n--- pods ---\n" + pods.out + "\n--- operator log ---\n" + Tail(logs.out + logs.err) +
           "\n--- kubelet log ---\n" + Tail(kubelet_->Output());
  }

  static ApiServerProcess* server_;
  static BackgroundCommand* kubelet_;
  static BackgroundCommand* controller_;
  static std::string* rendered_;
};

ApiServerProcess* ChartInstall::server_ = nullptr;
BackgroundCommand* ChartInstall::kubelet_ = nullptr;
BackgroundCommand* ChartInstall::controller_ = nullptr;
std::string* ChartInstall::rendered_ = nullptr;

TEST_F(ChartInstall, RenderedObjectsExistAndTheOperatorIsReady) {
  // Every rendered object is in the cluster.
  for (const auto& doc : SplitDocuments(*rendered_)) {
    const std::string kind = doc.object["kind"].as<std::string>();
    const std::string name = doc.object["metadata"]["name"].as<std::string>();
    const std::string ns = doc.object["metadata"]["namespace"].as<std::string>("");
    std::vector<std::string> args = {"get", kind + "/" + name, "-o", "name"};
    if (!ns.empty()) args.insert(args.end(), {"-n", ns});
    auto r = Kubectl(args);
    EXPECT_EQ(r.exit_code, 0) << doc.source << " " << kind << "/" << name << ": " << r.err;
  }
  // The operator pod passed its readiness probe (/readyz on the named metrics port).
  EXPECT_EQ(
      Jsonpath({"-n", kNamespace, "deployment/featureforge-operator"}, ".status.readyReplicas"),
      "1");
  auto pods =
      Kubectl({"-n", kNamespace, "get", "pods", "-l",
               "app.kubernetes.io/instance=featureforge,app.kubernetes.io/component=operator", "-o",
               "json"});
  ASSERT_EQ(pods.exit_code, 0) << pods.err;
  Json items = Json::parse(pods.out)["items"];
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0]["status"]["phase"], "Running");
  EXPECT_EQ(items[0]["spec"]["serviceAccountName"], "featureforge-operator");
  // It holds the leader-election Lease in its own namespace (the Role allows exactly that).
  std::string holder;
  for (int i = 0; i < 60 && holder.empty(); ++i) {
    holder = Jsonpath({"-n", kNamespace, "lease/featureforge-operator"}, ".spec.holderIdentity");
    if (holder.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_EQ(holder, items[0]["metadata"]["name"].get<std::string>()) << Diagnostics();
  // The CRDs are served: short names, the category, every kind the chart ships.
  auto crds = Kubectl({"get", "crd", "-o", "name"});
  for (const auto& [kind, plural] : ChartCrdKinds()) {
    EXPECT_THAT(crds.out, HasSubstr(plural + ".featureforge.dev")) << kind;
    EXPECT_EQ(Kubectl({"get", plural, "-A"}).exit_code, 0) << plural;
  }
  EXPECT_EQ(Kubectl({"get", "fs,mj", "-A"}).exit_code, 0);
  EXPECT_EQ(Kubectl({"get", "featureforge", "-A"}).exit_code, 0);
}

// examples/k8s/*.yaml as a user applies them (only the shared-volume path substituted).
class ExamplesTest : public ChartInstall {
 protected:
  static std::string ExampleYaml(const std::string& file, const std::string& data_root) {
    return std::regex_replace(ReadFile(SourceDir() + "/examples/k8s/" + file),
                              std::regex(kExampleDataRoot), data_root);
  }
};

TEST_F(ExamplesTest, EveryExampleIsAcceptedByTheApiServer) {
  const std::string ns = "examples-schema";
  ASSERT_EQ(CreateNamespace(ns), 0);
  const auto kinds = ChartCrdKinds();
  int applied = 0;
  for (const auto& e : fs::directory_iterator(SourceDir() + "/examples/k8s")) {
    if (e.path().extension() != ".yaml") continue;
    YAML::Node object = YAML::LoadFile(e.path());
    const std::string kind = object["kind"].as<std::string>();
    ASSERT_TRUE(kinds.count(kind)) << e.path() << ": the chart ships no CRD for kind " << kind;
    std::string yaml = ExampleYaml(e.path().filename(), server_->dir() + "/schema-data");
    auto r = Kubectl({"apply", "-n", ns, "--validate=strict", "-f", "-"}, yaml);
    EXPECT_EQ(r.exit_code, 0) << e.path() << ": " << r.err;
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("unknown field"))) << e.path();
    const std::string name = object["metadata"]["name"].as<std::string>();
    EXPECT_EQ(Kubectl({"get", "-n", ns, kinds.at(kind) + "/" + name}).exit_code, 0) << name;
    ++applied;
  }
  EXPECT_GE(applied, 4);
  // Server-side defaults of the CRDs were applied to what the examples leave out.
  EXPECT_EQ(Jsonpath({"-n", ns, "mj/driver-stats-backfill"}, ".spec.suspend"), "false");
  EXPECT_EQ(Jsonpath({"-n", ns, "mj/driver-features-hourly"}, ".spec.backoff.initialSeconds"),
            "10");
  EXPECT_EQ(Jsonpath({"-n", ns, "fs/driver-ranking"}, ".spec.featureStoreYaml.provider"), "local");
  // A user's typo is refused, not silently dropped.
  std::string typo =
      std::regex_replace(ReadFile(SourceDir() + "/examples/k8s/materializationjob.yaml"),
                         std::regex("backoffLimit:"), "backofLimit:");
  auto rejected = Kubectl({"apply", "-n", ns, "--validate=strict", "-f", "-"}, typo);
  EXPECT_NE(rejected.exit_code, 0);
  EXPECT_THAT(rejected.err, HasSubstr("backofLimit"));
  // Stop what the operator started for them before the next test.
  Kubectl({"delete", "-n", ns, "mj,fs", "--all", "--wait=true", "--timeout=60s"});
  if (kinds.count("ComputeCluster")) {
    Kubectl({"delete", "-n", ns, "computeclusters", "--all", "--wait=true", "--timeout=60s"});
  }
}

TEST_F(ExamplesTest, FeatureStoreAndOneOffJobRunToCompletion) {
  // The shared volume: the sample repo's data generated for the examples' window.
  const std::string data_root = server_->dir() + "/shared";
  const std::string repo = data_root + "/driver_ranking";
  fs::create_directories(data_root);
  fs::copy(SourceDir() + "/examples/driver_ranking", repo, fs::copy_options::recursive);
  auto data =
      RunCommand({BinaryPath("examples/ff-sample-data"), "--repo", repo, "--drivers",
                  std::to_string(kSampleDrivers), "--days", "2", "--end", "2026-01-10T12:00:00Z"});
  ASSERT_EQ(data.exit_code, 0) << data.out << data.err;

  const std::string ns = "examples-run";
  ASSERT_EQ(CreateNamespace(ns), 0);
  auto store = Kubectl({"apply", "-n", ns, "-f", "-"}, ExampleYaml("featurestore.yaml", data_root));
  ASSERT_EQ(store.exit_code, 0) << store.err;
  auto ready =
      Kubectl({"-n", ns, "wait", "--for=condition=Ready", "fs/driver-ranking", "--timeout=180s"});
  ASSERT_EQ(ready.exit_code, 0) << ready.err
                                << Kubectl({"-n", ns, "get", "fs/driver-ranking", "-o", "yaml"}).out
                                << Diagnostics();
  EXPECT_EQ(Jsonpath({"-n", ns, "fs/driver-ranking"}, ".status.serviceEndpoint"),
            "http://driver-ranking-server." + ns + ".svc:6566");

  auto job =
      Kubectl({"apply", "-n", ns, "-f", "-"}, ExampleYaml("materializationjob.yaml", data_root));
  ASSERT_EQ(job.exit_code, 0) << job.err;
  auto complete = Kubectl(
      {"-n", ns, "wait", "--for=condition=Complete", "mj/driver-stats-backfill", "--timeout=180s"});
  ASSERT_EQ(complete.exit_code, 0)
      << complete.err << Kubectl({"-n", ns, "get", "mj/driver-stats-backfill", "-o", "yaml"}).out
      << Diagnostics();
  // One latest row per driver in the window, written by the job's two partitions.
  EXPECT_EQ(Jsonpath({"-n", ns, "mj/driver-stats-backfill"}, ".status.rowsWritten"),
            std::to_string(kSampleDrivers));
  EXPECT_EQ(Jsonpath({"-n", ns, "mj/driver-stats-backfill"}, ".status.progress"), "2/2");
  // The store reports the new watermark (re-read on the operator's resync).
  const std::string watermark_path =
      "@.status.views[?(@.name==\"driver_hourly_stats\")].lastMaterializedEnd";
  std::string watermark;
  for (int i = 0; i < 90 && watermark.empty(); ++i) {
    watermark = Jsonpath({"-n", ns, "fs/driver-ranking"}, watermark_path);
    if (watermark.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_EQ(watermark, "2026-01-10T12:00:00Z") << Diagnostics();

  // The scheduled job is a schedule: no run yet, its next firing reported.
  auto schedule = Kubectl({"apply", "-n", ns, "-f", "-"},
                          ExampleYaml("materializationjob-scheduled.yaml", data_root));
  ASSERT_EQ(schedule.exit_code, 0) << schedule.err;
  std::string next;
  for (int i = 0; i < 60 && next.empty(); ++i) {
    next = Jsonpath({"-n", ns, "mj/driver-features-hourly"}, ".status.nextScheduleTime");
    if (next.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_THAT(next, ::testing::MatchesRegex("[0-9-]+T[0-9][0-9]:05:00Z")) << Diagnostics();
}

// The kustomize example overlay, rendered by kubectl and applied to a fresh API server.
TEST(KustomizeOverlay, ExampleOverlayAppliesWithItsPatches) {
  setenv("FEATUREFORGE_BINARY_DIR", FEATUREFORGE_TEST_BINARY_DIR, /*overwrite=*/0);
  ApiServerProcess server;
  ASSERT_TRUE(server.Start());
  auto rendered = RunCommand({"kubectl", "kustomize", SourceDir() + "/manifests/overlays/example"});
  ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
  auto applied = server.Apply(rendered.out);
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  auto deployment =
      server.Kubectl({"-n", kNamespace, "get", "deployment/featureforge-operator", "-o", "json"});
  ASSERT_EQ(deployment.exit_code, 0) << deployment.err;
  Json container = Json::parse(deployment.out)["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["image"], "featureforge/featureforge-operator:v0.1.0");
  EXPECT_THAT(container["args"].dump(), HasSubstr("--featurestore-workers=4"));
  std::map<std::string, std::string> env;
  for (const auto& e : container["env"]) {
    EXPECT_EQ(env.count(e["name"]), 0u) << "duplicate env " << e["name"];
    env[e["name"]] = e.value("value", "");
  }
  EXPECT_EQ(env["FF_OPERATOR_EXECUTOR_IMAGE"], "featureforge/featureforge:v0.1.0");
  EXPECT_EQ(env["FF_OPERATOR_FEATURE_SERVER_IMAGE"], "featureforge/featureforge:v0.1.0");
  EXPECT_EQ(container["securityContext"]["readOnlyRootFilesystem"], true);
  for (const auto& e : fs::directory_iterator(SourceDir() + "/manifests/base/crds")) {
    YAML::Node crd = YAML::LoadFile(e.path());
    auto established =
        server.Kubectl({"wait", "--for=condition=Established",
                        "crd/" + crd["metadata"]["name"].as<std::string>(), "--timeout=60s"});
    EXPECT_EQ(established.exit_code, 0) << e.path() << established.err;
  }
  EXPECT_EQ(server.Kubectl({"get", "fs,mj"}).exit_code, 0);
}

}  // namespace
}  // namespace ffchart::testing
