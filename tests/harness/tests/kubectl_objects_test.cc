// The real kubectl against ff-apiserver: objects, CRDs, schemas, patches, conflicts, GC.
#include <gmock/gmock.h>

#include "kubectl_fixture.h"

namespace ffharness::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char* kWidget = R"(
apiVersion: test.featureforge.dev/v1
kind: Widget
metadata: {name: w1, labels: {tier: a}}
spec: {size: 3}
)";

const char* kDeployment = R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: featureforge:dev
        args: [serve]
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
        ports: [{containerPort: 8080}]
      - name: side
        image: featureforge:dev
)";

TEST_F(KubectlTest, CustomResourceApplyGetDescribePatchDelete) {
  auto r = Apply(kWidget);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("widget.test.featureforge.dev/w1 created"));
  r = Apply(kWidget);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("widget.test.featureforge.dev/w1 unchanged"));

  r = Kubectl({"get", "wd"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("NAME"));
  EXPECT_THAT(r.out, HasSubstr("SIZE"));
  EXPECT_THAT(r.out, HasSubstr("PHASE"));
  EXPECT_THAT(r.out, HasSubstr("w1"));
  EXPECT_EQ(Jsonpath("widget/w1", ".spec.mode"), "fast") << "schema default applied";
  EXPECT_EQ(Jsonpath("widget/w1", ".metadata.generation"), "1");

  r = Kubectl({"describe", "widget", "w1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Size:  3"));

  r = Kubectl({"patch", "widget", "w1", "--type=merge", "-p", R"({"spec":{"size":4}})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Jsonpath("widget/w1", ".spec.size"), "4");
  EXPECT_EQ(Jsonpath("widget/w1", ".metadata.generation"), "2");
  r = Kubectl({"patch", "widget", "w1", "--type=json", "-p",
               R"([{"op":"replace","path":"/spec/size","value":5}])"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Jsonpath("widget/w1", ".spec.size"), "5");

  r = Kubectl({"explain", "widgets.spec"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("enum: fast, slow")) << "schema served in /openapi/v3";

  r = Kubectl({"get", "ffall"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("w1")) << "category from the CRD";

  r = Kubectl({"delete", "widget", "w1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Kubectl({"get", "widget", "w1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("widgets.test.featureforge.dev \"w1\" not found"));
}

TEST_F(KubectlTest, SchemaViolationsNameTheField) {
  auto r = Apply(R"(
apiVersion: test.featureforge.dev/v1
kind: Widget
metadata: {name: bad}
spec: {size: 30, mode: medium, name: waytoolongname}
)");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("The Widget \"bad\" is invalid"));
  EXPECT_THAT(
      r.err,
      HasSubstr(
          "spec.size: Invalid value: 30: spec.size in body should be less than or equal to 10"));
  EXPECT_THAT(r.err, HasSubstr("spec.mode: Unsupported value: \"medium\""));
  EXPECT_THAT(r.err, HasSubstr("spec.name: Too long"));
  r = Apply(
      "apiVersion: test.featureforge.dev/v1\nkind: Widget\nmetadata: {name: nosize}\nspec: {mode: "
      "fast}\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("spec.size: Required value"));
  r = Apply(
      "apiVersion: test.featureforge.dev/v1\nkind: Widget\nmetadata: {name: unk}\nspec: {size: 1, "
      "bogus: 2}\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("unknown field \"spec.bogus\""));
  EXPECT_NE(Kubectl({"get", "widget", "bad"}).exit_code, 0) << "nothing stored";
}

TEST_F(KubectlTest, StatusSubresourceAndWaitForCondition) {
  ASSERT_EQ(Apply(kWidget).exit_code, 0);
  BackgroundCommand wait(
      KubectlArgv({"wait", "--for=condition=Ready", "widget/w1", "--timeout=120s"}),
      server_->dir() + "/wait-" + ns_ + ".out");
  // Status written through the main endpoint is ignored; spec written through /status is ignored.
  auto r =
      Kubectl({"patch", "widget", "w1", "--type=merge", "-p", R"({"status":{"phase":"Ignored"}})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Jsonpath("widget/w1", ".status.phase"), "");
  r = Kubectl(
      {"patch", "widget", "w1", "--subresource=status", "--type=merge", "-p",
       R"({"spec":{"size":9},"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","reason":"Up","message":"ok","lastTransitionTime":"2026-01-01T00:00:00Z"}]}})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Jsonpath("widget/w1", ".status.phase"), "Running");
  EXPECT_EQ(Jsonpath("widget/w1", ".spec.size"), "3");
  EXPECT_EQ(Jsonpath("widget/w1", ".metadata.generation"), "1")
      << "status writes never bump generation";
  EXPECT_EQ(wait.Wait(120), 0) << wait.Output();
  EXPECT_THAT(wait.Output(), HasSubstr("condition met"));
  r = Kubectl({"get", "wd", "w1"});
  EXPECT_THAT(r.out, HasSubstr("Running")) << "printer column from status";
}

TEST_F(KubectlTest, ApplyTwiceIsNoOpForBuiltins) {
  const std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}\ndata: {a: b}\n";
  ASSERT_EQ(Apply(cm).exit_code, 0);
  ASSERT_EQ(Apply(kDeployment).exit_code, 0);
  std::string rv_cm = Jsonpath("configmap/c1", ".metadata.resourceVersion");
  std::string rv_deploy = Jsonpath("deployment/web", ".metadata.resourceVersion");
  auto r = Apply(cm);
  EXPECT_THAT(r.out, HasSubstr("configmap/c1 unchanged"));
  r = Apply(kDeployment);
  EXPECT_THAT(r.out, HasSubstr("deployment.apps/web unchanged"));
  EXPECT_EQ(Jsonpath("configmap/c1", ".metadata.resourceVersion"), rv_cm);
  EXPECT_EQ(Jsonpath("deployment/web", ".metadata.resourceVersion"), rv_deploy);
}

TEST_F(KubectlTest, DeploymentApplyStrategicMergeScaleAndDescribe) {
  ASSERT_EQ(Apply(kDeployment).exit_code, 0);
  std::string changed = kDeployment;
  changed.replace(changed.find("value: \"2\""), 10, "value: \"3\"");
  changed = changed.substr(0, changed.find("      - name: side"));
  auto r = Apply(changed);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("configured"));
  EXPECT_EQ(Jsonpath("deployment/web", ".spec.template.spec.containers[*].name"), "main");
  EXPECT_EQ(Jsonpath("deployment/web", ".spec.template.spec.containers[0].env[1].value"), "3");
  EXPECT_EQ(Jsonpath("deployment/web", ".metadata.generation"), "2");
  r = Kubectl({"scale", "deployment", "web", "--replicas=4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Jsonpath("deployment/web", ".spec.replicas"), "4");
  EXPECT_EQ(Jsonpath("deployment/web", ".metadata.generation"), "3");
  r = Kubectl({"get", "deployment", "web"});
  EXPECT_THAT(r.out, HasSubstr("UP-TO-DATE"));
  r = Kubectl({"describe", "deployment", "web"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Replicas:"));
  EXPECT_THAT(r.out, HasSubstr("4 desired"));
  r = Kubectl(
      {"patch", "deployment", "web", "-p",
       R"({"spec":{"template":{"spec":{"containers":[{"name":"main","image":"featureforge:v2"}]}}}})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Jsonpath("deployment/web", ".spec.template.spec.containers[0].image"),
            "featureforge:v2");
  EXPECT_EQ(Jsonpath("deployment/web", ".spec.template.spec.containers[0].args[0]"), "serve")
      << "merged by name";
}

TEST_F(KubectlTest, PodsServicesSecretsAndLabelSelectors) {
  for (const char* spec :
       {"{name: p1, labels: {app: a, tier: back}}", "{name: p2, labels: {app: b, tier: front}}",
        "{name: p3, labels: {app: a}}"}) {
    auto r = Apply(std::string("apiVersion: v1\nkind: Pod\nmetadata: ") + spec +
                   "\nspec:\n  containers: [{name: c, image: 'featureforge:dev'}]\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  auto names = [&](const std::string& selector) {
    auto r = Kubectl({"get", "pods", "-l", selector, "-o", "jsonpath={.items[*].metadata.name}"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(names("app=a"), "p1 p3");
  EXPECT_EQ(names("app==a,tier"), "p1");
  EXPECT_EQ(names("app!=a"), "p2");
  EXPECT_EQ(names("tier in (front,back)"), "p1 p2");
  EXPECT_EQ(names("tier notin (front)"), "p1 p3");
  EXPECT_EQ(names("!tier"), "p3");
  auto r = Kubectl({"get", "pods", "--field-selector", "metadata.name=p2", "-o",
                    "jsonpath={.items[*].metadata.name}"});
  EXPECT_EQ(r.out, "p2");
  r = Kubectl({"get", "pods"});
  EXPECT_THAT(r.out, HasSubstr("Pending"));
  EXPECT_EQ(Jsonpath("pod/p1", ".status.phase"), "Pending");
  r = Kubectl({"describe", "pod", "p1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("tier=back"));

  r = Apply(
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selector: {app: a}\n  ports: "
      "[{port: 80}]\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(Jsonpath("service/s", ".spec.clusterIP"), HasSubstr("10.96."));
  r = Apply(
      "apiVersion: v1\nkind: Secret\nmetadata: {name: sec}\nstringData: {password: hunter2}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Jsonpath("secret/sec", ".data.password"), "aHVudGVyMg==");
  r = Kubectl({"get", "pods", "--chunk-size=1", "-o", "name"});
  EXPECT_EQ(r.out, "pod/p1\npod/p2\npod/p3\n") << "pagination through continue tokens";
  r = Kubectl({"get", "--raw", "/api/v1/namespaces/" + ns_ + "/pods?limit=2"});
  EXPECT_THAT(r.out, HasSubstr("\"continue\""));
  EXPECT_THAT(r.out, HasSubstr("\"remainingItemCount\":1"));
}

TEST_F(KubectlTest, StaleResourceVersionIsAConflict) {
  ASSERT_EQ(
      Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n").exit_code, 0);
  auto stale = Kubectl({"get", "configmap", "c", "-o", "json"});
  ASSERT_EQ(stale.exit_code, 0);
  ASSERT_EQ(
      Kubectl({"patch", "configmap", "c", "--type=merge", "-p", R"({"data":{"a":"2"}})"}).exit_code,
      0);
  auto r = Kubectl({"replace", "-f", "-"}, stale.out);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(
      r.err,
      HasSubstr("Operation cannot be fulfilled on configmaps \"c\": the object has been modified"));
  EXPECT_EQ(Jsonpath("configmap/c", ".data.a"), "2");
}

TEST_F(KubectlTest, OwnerReferencesGarbageCollectedAndOrphaned) {
  ASSERT_EQ(Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner}\n").exit_code, 0);
  ASSERT_EQ(Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owner2}\n").exit_code, 0);
  for (const auto& [owner, dependent] : {std::pair{"owner", "dep"}, std::pair{"owner2", "dep2"}}) {
    std::string uid = Jsonpath(std::string("configmap/") + owner, ".metadata.uid");
    auto r = Apply(std::string("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ") + dependent +
                   "\n  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: " + owner +
                   ", uid: " + uid + "}]\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  ASSERT_EQ(Kubectl({"delete", "configmap", "owner"}).exit_code, 0);
  EXPECT_TRUE(WaitGone("configmap/dep")) << "background garbage collection";
  ASSERT_EQ(Kubectl({"delete", "configmap", "owner2", "--cascade=orphan"}).exit_code, 0);
  EXPECT_EQ(Jsonpath("configmap/dep2", ".metadata.ownerReferences"), "")
      << "orphaned dependent keeps living";
}

TEST_F(KubectlTest, FinalizersHoldDeletionUntilRemoved) {
  ASSERT_EQ(Apply("apiVersion: test.featureforge.dev/v1\nkind: Widget\nmetadata:\n  name: f\n  "
                  "finalizers: [test.featureforge.dev/cleanup]\nspec: {size: 1}\n")
                .exit_code,
            0);
  auto r = Kubectl({"delete", "widget", "f", "--wait=false"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(Jsonpath("widget/f", ".metadata.deletionTimestamp"), "");
  r = Kubectl(
      {"patch", "widget", "f", "--type=merge", "-p", R"({"metadata":{"finalizers":["x/new"]}})"});
  EXPECT_NE(r.exit_code, 0) << "no new finalizers on a deleting object";
  EXPECT_THAT(r.err, HasSubstr("no new finalizers"));
  r = Kubectl({"patch", "widget", "f", "--type=json", "-p",
               R"([{"op":"remove","path":"/metadata/finalizers"}])"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(WaitGone("widget/f"));
}

TEST_F(KubectlTest, UnsupportedFeaturesAreRejectedClearly) {
  const std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
  auto r = Kubectl({"apply", "--server-side", "-f", "-"}, cm);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("server-side apply"));
  r = Kubectl({"apply", "--dry-run=server", "-f", "-"}, cm);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("dryRun"));
  EXPECT_NE(Kubectl({"get", "configmap", "c"}).exit_code, 0) << "nothing was created";
  r = Kubectl({"create", "configmap", "x", "--from-literal=a=b"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("protobuf"));
}

TEST_F(KubectlTest, WrongTokenIsUnauthorized) {
  auto r = Kubectl({"--token", "not-the-token", "get", "pods"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("Unauthorized"));
}

TEST_F(KubectlTest, DeletingANamespaceDeletesItsContents) {
  ASSERT_EQ(Apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n").exit_code, 0);
  ASSERT_EQ(Apply(kWidget).exit_code, 0);
  auto r = server_->Kubectl({"delete", "namespace", ns_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = server_->Kubectl({"get", "namespace", ns_});
  EXPECT_NE(r.exit_code, 0);
  r = server_->Kubectl({"get", "widgets,configmaps", "-A", "--field-selector",
                        "metadata.namespace=" + ns_, "-o", "name"});
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace ffharness::testing
