// The Helm chart rendered offline by ff-helm-render: default objects and their security
// properties, RBAC and CRDs in step with manifests/base and crds/, value overrides, schema
// rejections and required values.
#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "chart_test_util.h"

namespace ffchart::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<std::string> kRelease = {"--name", "featureforge", "--namespace",
                                           "featureforge-system"};

std::vector<std::string> With(std::vector<std::string> extra) {
  std::vector<std::string> args = kRelease;
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<Document> RenderOk(const std::vector<std::string>& extra = {}) {
  auto r = Render(With(extra));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? SplitDocuments(r.out) : std::vector<Document>{};
}

YAML::Node OperatorContainer(const std::vector<Document>& docs) {
  auto deployments = Find(docs, "Deployment", "featureforge-operator");
  EXPECT_EQ(deployments.size(), 1u);
  return deployments.empty() ? YAML::Node()
                             : deployments[0].object["spec"]["template"]["spec"]["containers"][0];
}

std::vector<std::string> Strings(const YAML::Node& list) {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item.as<std::string>());
  return out;
}

std::string EnvValue(const YAML::Node& container, const std::string& name) {
  for (const auto& e : container["env"]) {
    if (e["name"].as<std::string>() == name) return e["value"].as<std::string>("<valueFrom>");
  }
  return "<unset>";
}

std::string AppVersion() {
  return YAML::LoadFile(ChartDir() + "/Chart.yaml")["appVersion"].as<std::string>();
}

TEST(ChartRender, DefaultValuesGiveTheOperatorObjects) {
  auto r = Render(kRelease);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto docs = SplitDocuments(r.out);
  std::multiset<std::string> kinds;
  for (const auto& d : docs) {
    kinds.insert(d.object["kind"].as<std::string>());
    EXPECT_THAT(d.source, ::testing::StartsWith("featureforge/templates/"));
  }
  EXPECT_EQ(kinds,
            (std::multiset<std::string>{"ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                        "Role", "RoleBinding", "Service", "Deployment"}));
  // CRDs are installed by Helm from crds/, not printed by `helm template` without --include-crds.
  EXPECT_TRUE(Find(docs, "CustomResourceDefinition").empty());
  for (const auto& d : docs) {
    if (d.object["kind"].as<std::string>().rfind("Cluster", 0) == 0) continue;
    EXPECT_EQ(d.object["metadata"]["namespace"].as<std::string>(""), "featureforge-system")
        << d.source;
  }
}

TEST(ChartRender, DeploymentIsNonRootReadOnlyWithProbesAndResources) {
  auto docs = RenderOk();
  auto deployment = Find(docs, "Deployment", "featureforge-operator");
  ASSERT_EQ(deployment.size(), 1u);
  YAML::Node pod = deployment[0].object["spec"]["template"]["spec"];
  EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
  EXPECT_NE(pod["securityContext"]["runAsUser"].as<int>(), 0);
  EXPECT_EQ(pod["serviceAccountName"].as<std::string>(), "featureforge-operator");
  YAML::Node c = pod["containers"][0];
  EXPECT_EQ(c["image"].as<std::string>(), "featureforge/featureforge-operator:" + AppVersion());
  EXPECT_TRUE(c["securityContext"]["readOnlyRootFilesystem"].as<bool>());
  EXPECT_FALSE(c["securityContext"]["allowPrivilegeEscalation"].as<bool>());
  EXPECT_EQ(Strings(c["securityContext"]["capabilities"]["drop"]), std::vector<std::string>{"ALL"});
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"].as<std::string>(), "metrics");
  EXPECT_EQ(c["ports"][0]["name"].as<std::string>(), "metrics");
  EXPECT_EQ(c["ports"][0]["containerPort"].as<int>(), 8080);
  EXPECT_FALSE(c["resources"]["requests"]["cpu"].as<std::string>("").empty());
  EXPECT_FALSE(c["resources"]["requests"]["memory"].as<std::string>("").empty());
  EXPECT_FALSE(c["resources"]["limits"]["memory"].as<std::string>("").empty());
  // A read-only root needs writable scratch: emptyDirs on the work dir and /tmp.
  std::set<std::string> mounts;
  for (const auto& m : c["volumeMounts"]) mounts.insert(m["mountPath"].as<std::string>());
  EXPECT_EQ(mounts, (std::set<std::string>{"/var/lib/featureforge", "/tmp"}));
  for (const auto& v : pod["volumes"]) EXPECT_TRUE(v["emptyDir"].IsMap()) << Canonical(v);
  auto args = Strings(c["args"]);
  for (const char* flag :
       {"--leader-elect=true", "--metrics-bind-address=:8080", "--work-dir=/var/lib/featureforge",
        "--log-level=info", "--featurestore-workers=2", "--materializationjob-workers=4"}) {
    EXPECT_THAT(args, ::testing::Contains(flag));
  }
  EXPECT_EQ(EnvValue(c, "FF_OPERATOR_EXECUTOR_IMAGE"), "featureforge/featureforge:" + AppVersion());
  EXPECT_EQ(EnvValue(c, "FF_OPERATOR_WATCH_NAMESPACE"), "");
  EXPECT_EQ(EnvValue(c, "POD_NAMESPACE"), "<valueFrom>");
  // The metrics Service selects exactly the pod template's labels.
  auto service = Find(docs, "Service", "featureforge-operator-metrics");
  ASSERT_EQ(service.size(), 1u);
  for (const auto& kv : service[0].object["spec"]["selector"]) {
    EXPECT_EQ(deployment[0]
                  .object["spec"]["template"]["metadata"]["labels"][kv.first.as<std::string>()]
                  .as<std::string>(""),
              kv.second.as<std::string>());
  }
}

// The chart's RBAC must grant exactly what manifests/base/rbac.yaml grants (that file lists the
// verbs the controllers call).
TEST(ChartRender, RbacRulesEqualTheKustomizeBase) {
  auto base = SplitDocuments(ReadFile(SourceDir() + "/manifests/base/rbac.yaml"));
  auto chart = RenderOk();
  for (const char* kind : {"ClusterRole", "Role"}) {
    auto base_roles = Find(base, kind);
    auto chart_roles = Find(chart, kind);
    ASSERT_EQ(base_roles.size(), chart_roles.size()) << kind;
    for (size_t i = 0; i < base_roles.size(); ++i) {
      const std::string name = base_roles[i].object["metadata"]["name"].as<std::string>();
      auto match = Find(chart, kind, name);
      ASSERT_EQ(match.size(), 1u) << kind << " " << name << " missing from the chart";
      EXPECT_EQ(Canonical(match[0].object["rules"]), Canonical(base_roles[i].object["rules"]))
          << kind << " " << name
          << ": charts/featureforge/templates/rbac.yaml drifted from manifests/base/rbac.yaml";
    }
  }
  auto binding = Find(chart, "ClusterRoleBinding", "featureforge-operator");
  ASSERT_EQ(binding.size(), 1u);
  EXPECT_EQ(binding[0].object["subjects"][0]["namespace"].as<std::string>(), "featureforge-system");
  EXPECT_EQ(binding[0].object["subjects"][0]["name"].as<std::string>(), "featureforge-operator");
}

// Every CRD in the repository's crds/ is shipped byte-identical in the chart's crds/.
TEST(ChartRender, ChartCrdsAreByteIdenticalToTheCrdsFolder) {
  const fs::path root = SourceDir();
  std::set<std::string> source, shipped;
  for (const auto& e : fs::directory_iterator(root / "crds")) {
    if (e.path().extension() == ".yaml") source.insert(e.path().filename());
  }
  for (const auto& e : fs::directory_iterator(root / "charts/featureforge/crds")) {
    shipped.insert(e.path().filename());
  }
  ASSERT_FALSE(source.empty());
  EXPECT_EQ(shipped, source) << "copy crds/*.yaml to charts/featureforge/crds/";
  for (const auto& name : source) {
    EXPECT_TRUE(ReadFile(root / "charts/featureforge/crds" / name) ==
                ReadFile(root / "crds" / name))
        << "charts/featureforge/crds/" << name << " drifted from crds/" << name
        << ": copy crds/*.yaml to charts/featureforge/crds/";
  }
  auto r = Render(With({"--include-crds"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto crds = Find(SplitDocuments(r.out), "CustomResourceDefinition");
  EXPECT_EQ(crds.size(), source.size());
  for (const auto& name : source) {
    EXPECT_THAT(r.out, HasSubstr("# Source: featureforge/crds/" + name + "\n"));
  }
}

TEST(ChartRender, SetOverridesReachTheObjects) {
  auto docs = RenderOk({"--set", "image.tag=v9.9.9,operator.watchNamespace=team-a", "--set",
                        "operator.workers.materializationJob=8,operator.logLevel=debug", "--set",
                        "operator.executorImage=registry.local/ff:1", "--set",
                        "operator.extraArgs={--resync-seconds=60}", "--set",
                        "metrics.service.enabled=false"});
  YAML::Node c = OperatorContainer(docs);
  EXPECT_EQ(c["image"].as<std::string>(""), "featureforge/featureforge-operator:v9.9.9");
  EXPECT_EQ(EnvValue(c, "FF_OPERATOR_WATCH_NAMESPACE"), "team-a");
  EXPECT_EQ(EnvValue(c, "FF_OPERATOR_EXECUTOR_IMAGE"), "registry.local/ff:1");
  auto args = Strings(c["args"]);
  EXPECT_THAT(args, ::testing::Contains("--materializationjob-workers=8"));
  EXPECT_THAT(args, ::testing::Contains("--log-level=debug"));
  EXPECT_EQ(args.back(), "--resync-seconds=60");
  // One namespace watched: the ClusterRole is bound only there.
  EXPECT_TRUE(Find(docs, "ClusterRoleBinding").empty());
  auto binding = Find(docs, "RoleBinding", "featureforge-operator");
  ASSERT_EQ(binding.size(), 1u);
  EXPECT_EQ(binding[0].object["metadata"]["namespace"].as<std::string>(), "team-a");
  EXPECT_EQ(binding[0].object["roleRef"]["kind"].as<std::string>(), "ClusterRole");
  EXPECT_TRUE(Find(docs, "Service").empty());
}

TEST(ChartRender, ValuesFilesMergeInOrderUnderSet) {
  const fs::path dir = fs::temp_directory_path() / ("ff-chart-values-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "a.yaml") << "replicaCount: 3\nnodeSelector: {pool: system}\n"
                                   "resources:\n  requests: {cpu: 250m, memory: 256Mi}\n"
                                   "podLabels: {team: ml}\n";
  std::ofstream(dir / "b.yaml") << "replicaCount: 2\nresources:\n  limits: null\n";
  auto docs = RenderOk({"-f", (dir / "a.yaml").string(), "-f", (dir / "b.yaml").string(), "--set",
                        "nodeSelector.zone=z1"});
  fs::remove_all(dir);
  auto deployment = Find(docs, "Deployment");
  ASSERT_EQ(deployment.size(), 1u);
  YAML::Node spec = deployment[0].object["spec"];
  EXPECT_EQ(spec["replicas"].as<int>(), 2);
  EXPECT_EQ(spec["template"]["spec"]["nodeSelector"]["pool"].as<std::string>(), "system");
  EXPECT_EQ(spec["template"]["spec"]["nodeSelector"]["zone"].as<std::string>(), "z1");
  EXPECT_EQ(spec["template"]["metadata"]["labels"]["team"].as<std::string>(), "ml");
  YAML::Node resources = spec["template"]["spec"]["containers"][0]["resources"];
  EXPECT_EQ(resources["requests"]["cpu"].as<std::string>(), "250m");
  EXPECT_FALSE(resources["limits"].IsDefined()) << "null in a values file deletes the key";
  // Selector labels never include user pod labels (a Deployment's selector is immutable).
  EXPECT_FALSE(spec["selector"]["matchLabels"]["team"].IsDefined());
}

TEST(ChartRender, SchemaRejectsBadValuesNamingThem) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--set", "operator.logLevel=loud"}, "operator.logLevel must be one of the following"},
      {{"--set", "replicaCount=-1"}, "replicaCount: Must be greater than or equal to 0"},
      {{"--set", "operator.workers.featureStore=0"}, "operator.workers.featureStore"},
      {{"--set-string", "metrics.port=8080"}, "metrics.port: Invalid type. Expected: integer"},
      {{"--set", "image.pullPolicy=Sometimes"}, "image.pullPolicy"},
      {{"--set", "operator.wachNamespace=x"}, "Additional property wachNamespace is not allowed"},
      {{"--set", "operator.watchNamespace=Team_A"}, "operator.watchNamespace: Does not match"},
      {{"--set", "operator.extraArgs={resync=1}"}, "operator.extraArgs.0"},
  };
  for (const auto& c : cases) {
    auto r = Render(With(c.args));
    EXPECT_NE(r.exit_code, 0) << c.args.back();
    EXPECT_THAT(r.err, HasSubstr("values don't meet the specifications")) << c.args.back();
    EXPECT_THAT(r.err, HasSubstr(c.expected)) << c.args.back();
    EXPECT_TRUE(r.out.empty()) << "nothing is printed when values are rejected";
  }
}

TEST(ChartRender, RequiredAndFailStopRenderingNamingTheTemplate) {
  auto missing = Render(With({"--set", "serviceAccount.create=false"}));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, HasSubstr("serviceAccount.name is required"));
  EXPECT_THAT(missing.err, HasSubstr("featureforge/templates/"));
  EXPECT_TRUE(missing.out.empty());
  // Naming an existing ServiceAccount renders, and the chart creates none.
  auto docs = RenderOk({"--set", "serviceAccount.create=false,serviceAccount.name=platform-sa"});
  EXPECT_TRUE(Find(docs, "ServiceAccount").empty());
  auto deployment = Find(docs, "Deployment");
  ASSERT_EQ(deployment.size(), 1u);
  EXPECT_EQ(
      deployment[0].object["spec"]["template"]["spec"]["serviceAccountName"].as<std::string>(),
      "platform-sa");
  EXPECT_EQ(Find(docs, "ClusterRoleBinding")[0].object["subjects"][0]["name"].as<std::string>(),
            "platform-sa");

  auto replicas = Render(With({"--set", "replicaCount=2,operator.leaderElection.enabled=false"}));
  EXPECT_NE(replicas.exit_code, 0);
  EXPECT_THAT(replicas.err, HasSubstr("featureforge/templates/deployment.yaml"));
  EXPECT_THAT(replicas.err, HasSubstr("needs operator.leaderElection.enabled=true"));
}

TEST(ChartRender, LeaderElectionOffDropsTheLeaseRole) {
  auto docs = RenderOk({"--set", "operator.leaderElection.enabled=false"});
  EXPECT_TRUE(Find(docs, "Role").empty());
  EXPECT_THAT(Strings(OperatorContainer(docs)["args"]),
              ::testing::Contains("--leader-elect=false"));
}

TEST(ChartRender, ServiceMonitorIsOptionalAndNeedsItsApi) {
  EXPECT_TRUE(Find(RenderOk(), "ServiceMonitor").empty());
  auto no_api = Render(With({"--set", "metrics.serviceMonitor.enabled=true"}));
  EXPECT_NE(no_api.exit_code, 0);
  EXPECT_THAT(no_api.err, HasSubstr("monitoring.coreos.com/v1"));
  auto docs = RenderOk(
      {"--set", "metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.labels.release=prom",
       "--api-versions", "monitoring.coreos.com/v1/ServiceMonitor"});
  auto monitors = Find(docs, "ServiceMonitor");
  ASSERT_EQ(monitors.size(), 1u);
  EXPECT_EQ(monitors[0].object["metadata"]["labels"]["release"].as<std::string>(), "prom");
  EXPECT_EQ(monitors[0].object["spec"]["endpoints"][0]["port"].as<std::string>(), "metrics");
  auto service = Find(docs, "Service", "featureforge-operator-metrics");
  ASSERT_EQ(service.size(), 1u);
  EXPECT_EQ(Canonical(monitors[0].object["spec"]["selector"]["matchLabels"]),
            Canonical(service[0].object["spec"]["selector"]));
}

TEST(ChartRender, NotesNameTheReleaseObjects) {
  auto r = Render(With({"--notes", "--set", "operator.watchNamespace=team-a"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("deployment/featureforge-operator"));
  EXPECT_THAT(r.out, HasSubstr("namespace featureforge-system"));
  EXPECT_THAT(r.out, HasSubstr("watches namespace team-a"));
  EXPECT_THAT(r.out, Not(HasSubstr("<no value>")));
}

TEST(ChartRender, ReleaseNameShapesObjectNames) {
  auto r = Render({"--name", "ml", "--namespace", "ops"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto docs = SplitDocuments(r.out);
  EXPECT_EQ(Find(docs, "Deployment", "ml-featureforge-operator").size(), 1u);
  EXPECT_EQ(
      Find(docs, "ClusterRoleBinding")[0].object["subjects"][0]["namespace"].as<std::string>(),
      "ops");
  EXPECT_THAT(r.out, Not(HasSubstr("<no value>")));
}

}  // namespace
}  // namespace ffchart::testing

namespace ffchart::testing {
namespace {

// examples/k8s/featurestore.yaml carries the sample repo's definitions inline; they must not
// drift from examples/driver_ranking (only source paths become absolute).
TEST(K8sExamples, FeatureStoreDefinitionsAreTheSampleRepos) {
  YAML::Node store = YAML::LoadFile(SourceDir() + "/examples/k8s/featurestore.yaml");
  std::string expected = std::regex_replace(
      ReadFile(SourceDir() + "/examples/driver_ranking/definitions/drivers.yaml"),
      std::regex("path: data/"), "path: /data/featureforge/driver_ranking/data/");
  EXPECT_EQ(store["spec"]["definitions"].as<std::string>(), expected)
      << "regenerate examples/k8s/featurestore.yaml's definitions from drivers.yaml";
}

}  // namespace
}  // namespace ffchart::testing
