// More kubectl coverage: cluster-scoped custom resources, CR scale, foreground deletion,
// events.k8s.io/v1 seen as core events, leases, and TLS verification against the harness CA.
#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kubectl_fixture.h"

namespace ffharness::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(KubectlTest, ClusterScopedCustomResourcesAndScaleSubresource) {
  auto r = Kubectl({"apply", "-f", "-"}, R"YAML(
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: pools.test.featureforge.dev}
spec:
  group: test.featureforge.dev
  scope: Cluster
  names: {plural: pools, singular: pool, kind: Pool, shortNames: [pl]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {replicas: {type: integer, minimum: 0}}}
          status: {type: object, properties: {replicas: {type: integer}}}
)YAML",
                   false);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Kubectl({"wait", "--for=condition=Established", "crd/pools.test.featureforge.dev",
                     "--timeout=60s"},
                    "", false)
                .exit_code,
            0);
  r = Kubectl({"apply", "-f", "-"},
              "apiVersion: test.featureforge.dev/v1\nkind: Pool\nmetadata: {name: p-" + ns_ +
                  "}\nspec: {replicas: 1}\n",
              false);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl({"scale", "pool", "p-" + ns_, "--replicas=3"}, "", false);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl({"get", "pl", "p-" + ns_, "-o",
               "jsonpath={.spec.replicas} {.metadata.generation} {.metadata.namespace}"},
              "", false);
  EXPECT_EQ(r.out, "3 2 ");
  r = Kubectl({"scale", "pool", "p-" + ns_, "--replicas=-1"}, "", false);
  EXPECT_NE(r.exit_code, 0);
}

TEST(CrdTest, DeletingACrdDeletesItsObjectsAndStopsServingThem) {
  ApiServerProcess server;
  ASSERT_TRUE(server.Start());
  ASSERT_EQ(server.Apply(kWidgetCrd).exit_code, 0);
  ASSERT_EQ(server
                .Kubectl({"wait", "--for=condition=Established",
                          "crd/widgets.test.featureforge.dev", "--timeout=60s"})
                .exit_code,
            0);
  ASSERT_EQ(server
                .Apply("apiVersion: test.featureforge.dev/v1\nkind: Widget\nmetadata: {name: "
                       "w}\nspec: {size: 1}\n")
                .exit_code,
            0);
  auto r = server.Kubectl({"apply", "-f", "-"}, kWidgetCrd);
  EXPECT_THAT(r.out, HasSubstr("unchanged"));
  ASSERT_EQ(server.Kubectl({"delete", "crd", "widgets.test.featureforge.dev"}).exit_code, 0);
  r = server.Kubectl({"get", "widgets"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("could not find the requested resource"));
  ASSERT_EQ(server.Apply(kWidgetCrd).exit_code, 0);
  ASSERT_EQ(server
                .Kubectl({"wait", "--for=condition=Established",
                          "crd/widgets.test.featureforge.dev", "--timeout=60s"})
                .exit_code,
            0);
  r = server.Kubectl({"get", "widgets", "-o", "name"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "") << "instances went with their CRD";
}

TEST_F(KubectlTest, ForegroundDeletionWaitsForDependents) {
  ASSERT_EQ(Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner}\n").exit_code, 0);
  std::string uid = Jsonpath("configmap/owner", ".metadata.uid");
  ASSERT_EQ(
      Apply("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dep\n  finalizers: [test/hold]\n"
            "  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: owner, uid: " +
            uid + ", blockOwnerDeletion: true}]\n")
          .exit_code,
      0);
  auto r = Kubectl({"delete", "configmap", "owner", "--cascade=foreground", "--wait=false"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Jsonpath("configmap/owner", ".metadata.finalizers"), HasSubstr("foregroundDeletion"));
  // The dependent is being deleted but held by its finalizer, so the owner stays.
  for (int i = 0; i < 100 && Jsonpath("configmap/dep", ".metadata.deletionTimestamp").empty();
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(Jsonpath("configmap/dep", ".metadata.deletionTimestamp"), "");
  EXPECT_EQ(Kubectl({"get", "configmap", "owner"}).exit_code, 0);
  ASSERT_EQ(Kubectl({"patch", "configmap", "dep", "--type=json", "-p",
                     R"([{"op":"remove","path":"/metadata/finalizers"}])"})
                .exit_code,
            0);
  EXPECT_TRUE(WaitGone("configmap/dep"));
  EXPECT_TRUE(WaitGone("configmap/owner"));
}

TEST_F(KubectlTest, EventsAndLeases) {
  ASSERT_EQ(Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: target}\n").exit_code, 0);
  std::string uid = Jsonpath("configmap/target", ".metadata.uid");
  auto r = Apply(R"YAML(
apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: target.1}
eventTime: "2026-01-01T00:00:00.000000Z"
reportingController: featureforge.dev/operator
reportingInstance: op-1
action: Reconcile
reason: Materialized
note: wrote 42 rows
type: Normal
regarding: {apiVersion: v1, kind: ConfigMap, name: target, namespace: )YAML" +
                 ns_ + ", uid: " + uid + "}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl({"get", "events"});
  EXPECT_THAT(r.out, HasSubstr("Materialized"));
  EXPECT_THAT(r.out, HasSubstr("configmap/target"));
  r = Kubectl({"describe", "configmap", "target"});
  EXPECT_THAT(r.out, HasSubstr("wrote 42 rows"));
  r = Apply(
      "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: leader}\n"
      "spec: {holderIdentity: op-1, leaseDurationSeconds: 15}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Kubectl({"get", "lease", "leader"}).out, HasSubstr("op-1"));
}

TEST(TlsTest, KubectlRejectsAServerSignedByAnotherCa) {
  ApiServerProcess a, b;
  ASSERT_TRUE(a.Start());
  ASSERT_TRUE(b.Start());
  std::ifstream in(a.kubeconfig());
  std::stringstream text;
  text << in.rdbuf();
  std::string config = text.str();
  std::string from = "127.0.0.1:" + std::to_string(a.port());
  config.replace(config.find(from), from.size(), "127.0.0.1:" + std::to_string(b.port()));
  std::string path = a.dir() + "/wrong-ca.kubeconfig";
  std::ofstream(path) << config;
  auto r = RunCommand(
      {"kubectl", "--kubeconfig", path, "--cache-dir", a.dir() + "/cache2", "get", "ns"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("certificate signed by unknown authority"));
}

}  // namespace
}  // namespace ffharness::testing

namespace ffharness::testing {
namespace {

TEST(PlainHttpTest, ServesWithoutTlsOrToken) {
  ApiServerProcess server({"--plain-http"});
  ASSERT_TRUE(server.Start());
  auto r = server.Kubectl({"get", "namespaces", "-o", "name"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::HasSubstr("namespace/default"));
}

}  // namespace
}  // namespace ffharness::testing

namespace ffharness::testing {
namespace {

// The project's own CRDs (crds/) install and are served, with their printer columns.
TEST(ProjectCrdsTest, EveryCrdInTheRepoInstallsAndServes) {
  std::string crds = std::string(FF_HARNESS_SOURCE_DIR) + "/crds";
  bool any = false;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(crds, ec))
    any |= entry.path().extension() == ".yaml";
  ASSERT_TRUE(any) << "no CRDs in " << crds;
  ApiServerProcess server;
  ASSERT_TRUE(server.Start());
  auto r = server.Kubectl({"apply", "-f", crds});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = server.Kubectl({"wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = server.Kubectl(
      {"get", "crd", "-o", "jsonpath={range .items[*]}{.spec.names.plural}{\"\\n\"}{end}"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream plurals(r.out);
  int served = 0;
  for (std::string plural; std::getline(plurals, plural);) {
    auto list = server.Kubectl({"get", plural, "-A"});
    EXPECT_EQ(list.exit_code, 0) << plural << ": " << list.err;
    ++served;
  }
  EXPECT_GT(served, 0);
}

}  // namespace
}  // namespace ffharness::testing
