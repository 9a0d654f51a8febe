// The FeatureStore controller end to end: the featureforge-operator binary against the cluster
// harness, driven only through kubectl.
#include <gmock/gmock.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "harness_test_util.h"

namespace ffharness::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Json = nlohmann::json;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Indents every line of `text` by `spaces` (for a YAML block scalar).
std::string Indent(const std::string& text, int spaces) {
  std::string pad(spaces, ' '), out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out += pad + line + "\n";
  return out;
}

class FeatureStoreE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
#ifdef FEATUREFORGE_TEST_BINARY_DIR
    // BinaryPath() reads the environment; ctest's ENVIRONMENT property is not reliable here.
    setenv("FEATUREFORGE_BINARY_DIR", FEATUREFORGE_TEST_BINARY_DIR, /*overwrite=*/0);
#endif
    server_ = new ApiServerProcess();
    ASSERT_TRUE(server_->Start());
    kubelet_ =
        new BackgroundCommand({BinaryPath("tests/harness/ff-kubelet"), "--kubeconfig",
                               server_->kubeconfig(), "--root-dir", server_->dir() + "/kubelet",
                               "--featureforge-binary", BinaryPath("worker/featureforge")},
                              server_->dir() + "/kubelet.log");
    controller_ = new BackgroundCommand({BinaryPath("tests/harness/ff-deployment-controller"),
                                         "--kubeconfig", server_->kubeconfig()},
                                        server_->dir() + "/controller.log");
    work_dir_ = server_->dir() + "/operator-work";

    // A copy of the sample repo with generated data; definitions get absolute source paths.
    repo_dir_ = server_->dir() + "/driver_ranking";
    fs::copy(std::string(FF_SOURCE_DIR) + "/examples/driver_ranking", repo_dir_,
             fs::copy_options::recursive);
    auto data = RunCommand({BinaryPath("examples/ff-sample-data"), "--repo", repo_dir_, "--drivers",
                            "40", "--days", "4", "--end", "2026-01-10T12:00:00Z"});
    ASSERT_EQ(data.exit_code, 0) << data.out << data.err;
    definitions_ = std::regex_replace(ReadFile(repo_dir_ + "/definitions/drivers.yaml"),
                                      std::regex("path: data/"), "path: " + repo_dir_ + "/data/");

    // Install like a user: kubectl kustomize manifests/base | kubectl apply -f -.
    auto rendered =
        RunCommand({"kubectl", "kustomize", std::string(FF_SOURCE_DIR) + "/manifests/base"});
    ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
    auto applied = server_->Apply(rendered.out);
    ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
    // The test runs the operator as a local process; the in-cluster copy is scaled away.
    auto scaled = server_->Kubectl(
        {"-n", "featureforge-system", "scale", "deployment/featureforge-operator", "--replicas=0"});
    ASSERT_EQ(scaled.exit_code, 0) << scaled.err;
    for (const char* crd :
         {"crd/featurestores.featureforge.dev", "crd/materializationjobs.featureforge.dev"}) {
      auto established =
          server_->Kubectl({"wait", "--for=condition=Established", crd, "--timeout=60s"});
      ASSERT_EQ(established.exit_code, 0) << established.err;
    }
    StartOperator();
  }

  // Applies a store and waits until its registry is applied.
  void CreateStore(const std::string& name) {
    auto r = server_->Apply(StoreYaml(name, definitions_));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto waited = Wait("fs/" + name, "condition=RegistryApplied");
    ASSERT_EQ(waited.exit_code, 0) << waited.err << Diagnostics();
  }
  static void TearDownTestSuite() {
    if (server_ != nullptr) {
      // Stop the feature-server processes through the cluster before killing the kubelet.
      server_->Kubectl({"delete", "fs", "--all", "--wait=true", "--timeout=60s"});
      server_->Kubectl(
          {"delete", "deployments", "--all", "--all-namespaces", "--wait=true", "--timeout=60s"});
      server_->Kubectl(
          {"delete", "pods", "--all", "--all-namespaces", "--wait=true", "--timeout=60s"});
    }
    delete operator_;
    delete controller_;
    delete kubelet_;
    delete server_;
  }

  static void StartOperator() {
    static int generation = 0;
    ++generation;
    operator_ = new BackgroundCommand(
        {BinaryPath("operator/cmd/featureforge_operator/featureforge-operator"), "--kubeconfig",
         server_->kubeconfig(), "--metrics-bind-address", "127.0.0.1:0", "--lease-namespace",
         "default", "--identity", "op-" + std::to_string(generation), "--work-dir", work_dir_,
         "--resync-seconds", "20", "--log-level", "debug"},
        server_->dir() + "/operator-" + std::to_string(generation) + ".log");
  }

  static std::string StoreYaml(const std::string& name, const std::string& definitions,
                               int chunk_size = 10000) {
    return "apiVersion: featureforge.dev/v1alpha1\nkind: FeatureStore\nmetadata:\n  name: " + name +
           "\nspec:\n  feastProject: driver_ranking\n  registry:\n    path: " + work_dir_ +
           "/shared/" + name +
           "/registry.pb\n  featureStoreYaml:\n    onlineStore:\n      type: "
           "sqlite\n      path: " +
           work_dir_ + "/shared/" + name +
           "/online.db\n    batchEngine:\n      chunkSize: " + std::to_string(chunk_size) +
           "\n  definitions: |\n" + Indent(definitions, 4) +
           "  services:\n    onlineStore:\n      server:\n        replicas: 1\n";
  }

  CommandResult Kubectl(const std::vector<std::string>& args, const std::string& in = "") {
    return server_->Kubectl(args, in);
  }
  std::string Jsonpath(const std::string& object, const std::string& path) {
    return Kubectl({"get", object, "-o", "jsonpath={" + path + "}"}).out;
  }
  Json GetJson(const std::string& object) {
    auto r = Kubectl({"get", object, "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? Json::parse(r.out) : Json();
  }
  // kubectl wait; the timeout is a safety net, not an assertion on speed.
  CommandResult Wait(const std::string& object, const std::string& condition,
                     const std::string& timeout = "90s") {
    return Kubectl({"wait", "--for=" + condition, object, "--timeout=" + timeout});
  }
  std::string Diagnostics() {
    return "\n--- operator log ---\n" + operator_->Output() + "\n--- kubelet log (tail) ---\n" +
           kubelet_->Output().substr(
               kubelet_->Output().size() > 3000 ? kubelet_->Output().size() - 3000 : 0);
  }
  void ExpectOwnedBy(const std::string& object, const std::string& store) {
    Json o = GetJson(object);
    ASSERT_TRUE(o.contains("metadata")) << object;
    ASSERT_EQ(o["metadata"]["ownerReferences"].size(), 1u) << object;
    const Json& ref = o["metadata"]["ownerReferences"][0];
    EXPECT_EQ(ref["kind"], "FeatureStore") << object;
    EXPECT_EQ(ref["name"], store) << object;
    EXPECT_EQ(ref["controller"], true) << object;
  }

  static ApiServerProcess* server_;
  static BackgroundCommand* kubelet_;
  static BackgroundCommand* controller_;
  static BackgroundCommand* operator_;
  static std::string work_dir_;
  static std::string repo_dir_;
  static std::string definitions_;
};

ApiServerProcess* FeatureStoreE2E::server_ = nullptr;
BackgroundCommand* FeatureStoreE2E::kubelet_ = nullptr;
BackgroundCommand* FeatureStoreE2E::controller_ = nullptr;
BackgroundCommand* FeatureStoreE2E::operator_ = nullptr;
std::string FeatureStoreE2E::work_dir_;
std::string FeatureStoreE2E::repo_dir_;
std::string FeatureStoreE2E::definitions_;

TEST(FeatureStoreOperatorBinary, InvalidConfigurationExitsWithUsageErrorNamingTheField) {
  std::string binary = std::string(FEATUREFORGE_TEST_BINARY_DIR) +
                       "/operator/cmd/featureforge_operator/featureforge-operator";
  auto bad = RunCommand({binary, "--featurestore-workers", "0", "--kubeconfig", "/nonexistent"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("featurestore_workers"));
  auto no_cluster = RunCommand({binary, "--kubeconfig", "/nonexistent/kubeconfig"});
  EXPECT_EQ(no_cluster.exit_code, 1);
  EXPECT_THAT(no_cluster.err, HasSubstr("/nonexistent/kubeconfig"));
  auto help = RunCommand({binary, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--namespace", "--leader-elect", "--lease-name", "--lease-namespace",
                           "--metrics-bind-address", "--executor-image", "--feature-server-image",
                           "--featurestore-workers", "--materializationjob-workers"}) {
    EXPECT_THAT(help.out, HasSubstr(flag));
  }
}

TEST(FeatureStoreManifests, ManifestCrdsMatchCrdsFolder) {
  const fs::path root = FF_SOURCE_DIR;
  int compared = 0;
  for (const auto& entry : fs::directory_iterator(root / "manifests/base/crds")) {
    fs::path source = root / "crds" / entry.path().filename();
    ASSERT_TRUE(fs::exists(source)) << entry.path() << " has no source in crds/";
    EXPECT_EQ(ReadFile(entry.path()), ReadFile(source))
        << entry.path() << " drifted from " << source << ": copy crds/ to manifests/base/crds/";
    ++compared;
  }
  EXPECT_GE(compared, 1);
  EXPECT_TRUE(fs::exists(root / "manifests/base/crds/featurestore.yaml"));
}

TEST_F(FeatureStoreE2E, KustomizeBaseInstallsCrdsRbacAndOperator) {
  // (Applied in SetUpTestSuite.)
  EXPECT_EQ(Jsonpath("clusterrole/featureforge-operator", ".metadata.name"),
            "featureforge-operator");
  EXPECT_EQ(Kubectl({"-n", "featureforge-system", "get", "serviceaccount/featureforge-operator"})
                .exit_code,
            0);
  auto deployment = Kubectl(
      {"-n", "featureforge-system", "get", "deployment/featureforge-operator", "-o", "json"});
  ASSERT_EQ(deployment.exit_code, 0) << deployment.err;
  Json pod = Json::parse(deployment.out)["spec"]["template"]["spec"];
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"], true);
  EXPECT_EQ(pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"], true);
  EXPECT_EQ(pod["containers"][0]["livenessProbe"]["httpGet"]["path"], "/healthz");
  EXPECT_EQ(pod["containers"][0]["readinessProbe"]["httpGet"]["path"], "/readyz");
  EXPECT_EQ(Kubectl({"get", "fs"}).exit_code, 0);            // short name served
  EXPECT_EQ(Kubectl({"get", "featureforge"}).exit_code, 0);  // category served
}

TEST_F(FeatureStoreE2E, StoreIsRenderedAppliedServedAndReported) {
  auto r = server_->Apply(StoreYaml("drivers", definitions_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto waited = Wait("fs/drivers", "condition=RegistryApplied");
  ASSERT_EQ(waited.exit_code, 0) << waited.err << Diagnostics();

  ExpectOwnedBy("configmap/drivers-repo", "drivers");
  ExpectOwnedBy("deployment/drivers-server", "drivers");
  ExpectOwnedBy("service/drivers-server", "drivers");
  std::string rendered = Jsonpath("configmap/drivers-repo", ".data.feature_store\\.yaml");
  EXPECT_THAT(rendered, HasSubstr("project: \"driver_ranking\""));
  EXPECT_THAT(rendered, HasSubstr("chunk_size: 10000"));
  EXPECT_THAT(Jsonpath("deployment/drivers-server", ".spec.template.spec.containers[0].args"),
              HasSubstr("serve"));

  Json store = GetJson("fs/drivers");
  const Json& status = store["status"];
  EXPECT_EQ(status["observedGeneration"], store["metadata"]["generation"]);
  std::vector<std::string> views;
  for (const auto& v : status["views"]) views.push_back(v["name"]);
  EXPECT_THAT(views, ::testing::UnorderedElementsAre("driver_hourly_stats", "driver_labels",
                                                     "driver_daily_aggregates"));
  EXPECT_EQ(status["serviceEndpoint"], "http://drivers-server.default.svc:6566");
  EXPECT_TRUE(fs::exists(work_dir_ + "/shared/drivers/registry.pb"));

  // The feature server pod runs `featureforge serve` on the mounted ConfigMap.
  auto ready = Wait("fs/drivers", "condition=Ready", "120s");
  EXPECT_EQ(ready.exit_code, 0) << ready.err << Diagnostics();
  EXPECT_EQ(Jsonpath("fs/drivers", ".status.phase"), "Ready");
  auto table = Kubectl({"get", "fs", "drivers"});
  EXPECT_THAT(table.out, HasSubstr("driver_ranking"));
  EXPECT_THAT(table.out, HasSubstr("ENDPOINT"));
  auto events = Kubectl({"get", "events", "--field-selector", "involvedObject.name=drivers"});
  EXPECT_THAT(events.out, HasSubstr("RegistryApplied"));
}

TEST_F(FeatureStoreE2E, WatermarksRecordedInTheRegistryAppearInStatus) {
  ASSERT_NO_FATAL_FAILURE(CreateStore("watermarked"));
  // Materialize with the rendered repo (what an executor pod mounts), outside the operator.
  const std::string local_repo = server_->dir() + "/watermarked-repo";
  fs::create_directories(local_repo);
  Json data = GetJson("configmap/watermarked-repo")["data"];
  for (auto it = data.begin(); it != data.end(); ++it) {
    std::ofstream(local_repo + "/" + it.key()) << it.value().get<std::string>();
  }
  auto run =
      RunCommand({BinaryPath("worker/featureforge"), "--repo", local_repo, "materialize", "--views",
                  "driver_hourly_stats", "2026-01-06T00:00:00Z", "2026-01-10T12:00:00Z"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  // The operator re-reads the registry on its periodic requeue (no Kubernetes event exists for
  // a registry write); the loop's bound is a safety net, not a timing assertion.
  const std::string path = "@.status.views[?(@.name==\"driver_hourly_stats\")].lastMaterializedEnd";
  std::string end;
  for (int i = 0; i < 120 && end.empty(); ++i) {
    end = Jsonpath("fs/watermarked", path);
    if (end.empty()) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_EQ(end, "2026-01-10T12:00:00Z") << Diagnostics();
  std::string rows =
      Jsonpath("fs/watermarked", "@.status.views[?(@.name==\"driver_hourly_stats\")].rowsWritten");
  EXPECT_EQ(rows, "40");  // one latest row per driver
  EXPECT_EQ(Jsonpath("fs/watermarked", "@.status.views[?(@.name==\"driver_labels\")].rowsWritten"),
            "0");
}

TEST_F(FeatureStoreE2E, RepoFromAReferencedConfigMap) {
  Json config_map = {{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata", {{"name", "team-repo"}}},
                     {"data",
                      {{"feature_store.yaml",
                        "project: ignored\nregistry: ignored.pb\nprovider: local\n"
                        "online_store:\n  type: sqlite\n  path: " +
                            work_dir_ + "/shared/fromref/online.db\n"},
                       {"drivers.yaml", definitions_}}}};
  ASSERT_EQ(server_->Apply(config_map.dump()).exit_code, 0);
  auto r = server_->Apply(
      "apiVersion: featureforge.dev/v1alpha1\nkind: FeatureStore\nmetadata:\n  name: fromref\n"
      "spec:\n  feastProject: driver_ranking\n  repoConfigMapRef:\n    name: team-repo\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto waited = Wait("fs/fromref", "condition=RegistryApplied");
  ASSERT_EQ(waited.exit_code, 0) << waited.err << Diagnostics();
  std::string rendered = Jsonpath("configmap/fromref-repo", ".data.feature_store\\.yaml");
  EXPECT_THAT(rendered, HasSubstr("project: driver_ranking"));
  EXPECT_THAT(rendered, HasSubstr("registries/default/fromref/registry.pb"));
  EXPECT_FALSE(Jsonpath("configmap/fromref-repo", ".data.drivers\\.yaml").empty());
  EXPECT_TRUE(fs::exists(work_dir_ + "/registries/default/fromref/registry.pb"));
  // A reference to a missing ConfigMap is reported, not retried in a storm.
  ASSERT_EQ(server_
                ->Apply("apiVersion: featureforge.dev/v1alpha1\nkind: FeatureStore\nmetadata:\n"
                        "  name: dangling\nspec:\n  feastProject: p\n  repoConfigMapRef:\n"
                        "    name: no-such-configmap\n")
                .exit_code,
            0);
  ASSERT_EQ(Wait("fs/dangling", "jsonpath={.status.phase}=Failed").exit_code, 0) << Diagnostics();
  EXPECT_EQ(Jsonpath("fs/dangling", "@.status.conditions[?(@.type==\"RegistryApplied\")].reason"),
            "RepoConfigMapNotFound");
}

TEST_F(FeatureStoreE2E, SpecEditUpdatesTheConfigMap) {
  ASSERT_NO_FATAL_FAILURE(CreateStore("edited"));
  EXPECT_EQ(Jsonpath("fs/edited", ".status.observedGeneration"), "1");
  auto r = server_->Apply(StoreYaml("edited", definitions_, /*chunk_size=*/5000));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string generation = Jsonpath("fs/edited", ".metadata.generation");
  ASSERT_EQ(generation, "2");
  auto waited = Wait("fs/edited", "jsonpath={.status.observedGeneration}=" + generation);
  ASSERT_EQ(waited.exit_code, 0) << waited.err << Diagnostics();
  EXPECT_THAT(Jsonpath("configmap/edited-repo", ".data.feature_store\\.yaml"),
              HasSubstr("chunk_size: 5000"));
  EXPECT_EQ(Jsonpath("fs/edited", "@.status.conditions[?(@.type==\"RegistryApplied\")].status"),
            "True");
}

TEST_F(FeatureStoreE2E, InvalidDefinitionsAreReportedWhileOthersStayReady) {
  // A feature view whose source does not exist, first in feature_views.
  std::string broken =
      std::regex_replace(definitions_, std::regex("\nfeature_views:\n"),
                         "\nfeature_views:\n  - name: orphan_view\n    entities: [driver]\n"
                         "    schema:\n      - {name: x, dtype: Float32}\n"
                         "    source: no_such_source\n");
  ASSERT_NO_FATAL_FAILURE(CreateStore("healthy"));
  auto r = server_->Apply(StoreYaml("broken", broken));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto waited = Wait("fs/broken", "condition=Ready=false");
  ASSERT_EQ(waited.exit_code, 0) << waited.err << Diagnostics();
  auto reason = Wait("fs/broken", "jsonpath={.status.phase}=Failed");
  ASSERT_EQ(reason.exit_code, 0) << Diagnostics();
  std::string message =
      Jsonpath("fs/broken", "@.status.conditions[?(@.type==\"RegistryApplied\")].message");
  EXPECT_THAT(message, ::testing::ContainsRegex("definitions\\.yaml:[0-9]+:"));
  EXPECT_THAT(message, HasSubstr("no_such_source"));
  EXPECT_EQ(Jsonpath("fs/broken", "@.status.conditions[?(@.type==\"RegistryApplied\")].reason"),
            "InvalidDefinitions");
  auto events = Kubectl({"get", "events", "--field-selector",
                         "involvedObject.name=broken,type=Warning", "-o", "json"});
  ASSERT_EQ(events.exit_code, 0) << events.err;
  bool found = false;
  const Json event_list = Json::parse(events.out);
  for (const auto& e : event_list["items"]) {
    if (e["reason"] == "InvalidDefinitions") found = true;
  }
  EXPECT_TRUE(found) << events.out;
  // Nothing was rendered for the broken store; the healthy one is untouched.
  EXPECT_NE(Kubectl({"get", "configmap/broken-repo"}).exit_code, 0);
  EXPECT_EQ(Jsonpath("fs/healthy", "@.status.conditions[?(@.type==\"RegistryApplied\")].status"),
            "True");
  EXPECT_EQ(Jsonpath("fs/healthy", ".status.observedGeneration"), "1");
  // Fixing the spec recovers it.
  ASSERT_EQ(server_->Apply(StoreYaml("broken", definitions_)).exit_code, 0);
  auto fixed = Wait("fs/broken", "condition=RegistryApplied");
  EXPECT_EQ(fixed.exit_code, 0) << fixed.err << Diagnostics();
}

TEST_F(FeatureStoreE2E, OperatorRestartKeepsStateConsistent) {
  ASSERT_NO_FATAL_FAILURE(CreateStore("restarted"));
  std::string rv_before = Jsonpath("configmap/restarted-repo", ".metadata.resourceVersion");
  operator_->Kill();
  delete operator_;
  operator_ = nullptr;
  // While it is down, the spec changes; the new operator converges it.
  ASSERT_EQ(server_->Apply(StoreYaml("restarted", definitions_, /*chunk_size=*/7000)).exit_code, 0);
  StartOperator();
  std::string generation = Jsonpath("fs/restarted", ".metadata.generation");
  auto waited = Wait("fs/restarted", "jsonpath={.status.observedGeneration}=" + generation, "120s");
  ASSERT_EQ(waited.exit_code, 0) << waited.err << Diagnostics();
  EXPECT_THAT(Jsonpath("configmap/restarted-repo", ".data.feature_store\\.yaml"),
              HasSubstr("chunk_size: 7000"));
  EXPECT_NE(Jsonpath("configmap/restarted-repo", ".metadata.resourceVersion"), rv_before);
  // Exactly one of each owned object.
  auto cms =
      Kubectl({"get", "configmaps", "-l", "featureforge.dev/featurestore=restarted", "-o", "name"});
  EXPECT_EQ(cms.out, "configmap/restarted-repo\n");
  auto deployments = Kubectl(
      {"get", "deployments", "-l", "featureforge.dev/featurestore=restarted", "-o", "name"});
  EXPECT_EQ(deployments.out, "deployment.apps/restarted-server\n");
  EXPECT_EQ(Wait("fs/restarted", "condition=RegistryApplied").exit_code, 0);
}

TEST_F(FeatureStoreE2E, DeletingTheStoreCollectsItsObjects) {
  ASSERT_NO_FATAL_FAILURE(CreateStore("doomed"));
  ASSERT_NO_FATAL_FAILURE(CreateStore("kept"));
  ASSERT_EQ(Kubectl({"get", "configmap/doomed-repo"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"delete", "fs/doomed", "--wait=true"}).exit_code, 0);
  for (const char* object :
       {"configmap/doomed-repo", "deployment/doomed-server", "service/doomed-server"}) {
    auto gone = Wait(object, "delete", "60s");
    EXPECT_EQ(gone.exit_code, 0) << object << " " << gone.err << gone.out;
  }
  EXPECT_EQ(Kubectl({"get", "configmap/kept-repo"}).exit_code, 0);
  EXPECT_EQ(Jsonpath("fs/kept", "@.status.conditions[?(@.type==\"RegistryApplied\")].status"),
            "True");
}

}  // namespace
}  // namespace ffharness::testing
