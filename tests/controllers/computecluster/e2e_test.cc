// ComputeCluster end to end, the way a user drives it: the real kubectl against the cluster
// harness (ff-apiserver with a loopback Service range, ff-kubelet running head and worker pods as
// local `featureforge head|worker` processes, ff-kube-proxy routing the head Service's clusterIP)
// and the featureforge-operator binary. Tasks are submitted to the head through its Service with
// the project's gRPC HeadClient, as a MaterializationJob would.
#include <gmock/gmock.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "featureforge/cluster/head_client.h"
#include "harness_test_util.h"

namespace ffharness::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

std::string SourceDir() {
  const char* dir = std::getenv("FEATUREFORGE_SOURCE_DIR");
  return dir ? dir : FEATUREFORGE_TEST_SOURCE_DIR;
}

std::string ClusterYaml(const std::string& name, const std::string& group_fields,
                        const std::string& extra_spec = "") {
  return "apiVersion: featureforge.dev/v1alpha1\nkind: ComputeCluster\nmetadata: {name: " + name +
         "}\nspec:\n  headGroupSpec:\n    template: {spec: {containers: [{name: head}]}}\n" +
         "  workerGroupSpecs:\n  - groupName: cpu\n    template: {spec: {containers: [{name: "
         "worker}]}}\n" +
         group_fields + extra_spec;
}

class ComputeClusterE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/ff-cc-e2eXXXXXX";
    dir_ = mkdtemp(pattern);
    // Own loopback ranges, so parallel harnesses do not share pod or Service addresses.
    std::mt19937 rng(std::random_device{}() ^ getpid());
    const int service_octet = 100 + int(rng() % 90);
    const int pod_octet = 200 + int(rng() % 50);
    server_ = new ApiServerProcess(
        {"--service-cluster-ip-range", "127." + std::to_string(service_octet) + ".0.0/16"});
    ASSERT_TRUE(server_->Start());
    kubelet_ = new BackgroundCommand(
        {BinaryPath("tests/harness/ff-kubelet"), "--kubeconfig", server_->kubeconfig(),
         "--root-dir", dir_ + "/kubelet", "--featureforge-binary",
         BinaryPath("worker/featureforge"), "--ip-prefix", "127." + std::to_string(pod_octet)},
        dir_ + "/kubelet.log");
    proxy_ = new BackgroundCommand(
        {BinaryPath("tests/harness/ff-kube-proxy"), "--kubeconfig", server_->kubeconfig()},
        dir_ + "/proxy.log");
    // Every CRD: the operator's controllers wait for all their informers.
    auto r = server_->Kubectl({"apply", "-f", SourceDir() + "/crds/"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    operator_ = new BackgroundCommand(
        {BinaryPath("operator/cmd/featureforge_operator/featureforge-operator"), "--kubeconfig",
         server_->kubeconfig(), "--leader-elect=false", "--metrics-bind-address", "127.0.0.1:0",
         "--work-dir", dir_ + "/operator", "--log-level", "info"},
        dir_ + "/operator.log");
  }
  static void TearDownTestSuite() {
    delete operator_;  // first: it would recreate the pods deleted below
    operator_ = nullptr;
    if (server_ != nullptr) {
      // Stop every head and worker process through the kubelet before it goes.
      server_->Kubectl({"delete", "pods", "--all", "--timeout=60s"});
    }
    delete proxy_;
    delete kubelet_;
    delete server_;
    if (!::testing::Test::HasFailure()) fs::remove_all(dir_);
  }

  CommandResult Kubectl(const std::vector<std::string>& args) { return server_->Kubectl(args); }
  json Get(const std::string& object) {
    auto r = Kubectl({"get", object, "-o", "json"});
    return r.exit_code == 0 ? json::parse(r.out, nullptr, false) : json::object();
  }
  std::vector<std::string> Pods(const std::string& selector) {
    auto r = Kubectl({"get", "pods", "-l", selector, "-o", "json"});
    std::vector<std::string> names;
    if (r.exit_code != 0) return names;
    json list = json::parse(r.out, nullptr, false);
    if (list.is_discarded()) return names;
    for (const auto& p : list.value("items", json::array())) {
      const json& metadata = p["metadata"];
      if (metadata.contains("deletionTimestamp") && !metadata["deletionTimestamp"].is_null()) {
        continue;
      }
      names.push_back(metadata.value("name", ""));
    }
    return names;
  }
  std::string Events(const std::string& name) {
    return Kubectl({"get", "events", "--field-selector", "involvedObject.name=" + name, "-o",
                    "custom-columns=REASON:.reason,MESSAGE:.message"})
        .out;
  }
  bool ConditionTrue(const json& cc, const std::string& type) {
    for (const auto& c : cc.value("status", json::object()).value("conditions", json::array())) {
      if (c.value("type", "") == type) return c.value("status", "") == "True";
    }
    return false;
  }
  // Polls `done` (a safety net, not a timing assertion).
  bool Eventually(const std::function<bool()>& done, int seconds = 150) {
    for (int i = 0; i < seconds * 2; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return done();
  }
  std::string Debug(const std::string& name) {
    return Get("cc/" + name).dump(2) + "\n" + Events(name) + "\n" +
           Kubectl({"get", "pods", "-o", "wide"}).out + "\n--- operator\n" +
           operator_->Output().substr(
               operator_->Output().size() > 6000 ? operator_->Output().size() - 6000 : 0);
  }

  static std::string dir_;
  static ApiServerProcess* server_;
  static BackgroundCommand* kubelet_;
  static BackgroundCommand* proxy_;
  static BackgroundCommand* operator_;
};

std::string ComputeClusterE2E::dir_;
ApiServerProcess* ComputeClusterE2E::server_ = nullptr;
BackgroundCommand* ComputeClusterE2E::kubelet_ = nullptr;
BackgroundCommand* ComputeClusterE2E::proxy_ = nullptr;
BackgroundCommand* ComputeClusterE2E::operator_ = nullptr;

TEST_F(ComputeClusterE2E, ReadyThenReplacesWorkersAndHeadThenSuspendsAndResumes) {
  ASSERT_EQ(server_
                ->Apply(ClusterYaml("x",
                                    "    replicas: 3\n    minReplicas: 1\n"
                                    "    maxReplicas: 5\n"))
                .exit_code,
            0);
  ASSERT_EQ(Kubectl({"wait", "--for=condition=Ready", "cc/x", "--timeout=150s"}).exit_code, 0)
      << Debug("x");
  json cc = Get("cc/x");
  EXPECT_EQ(cc["status"]["state"], "Ready");
  EXPECT_EQ(cc["status"]["workers"], "3/3");
  EXPECT_EQ(cc["status"]["observedGeneration"], cc["metadata"]["generation"]);
  EXPECT_TRUE(ConditionTrue(cc, "HeadPodReady"));
  EXPECT_FALSE(ConditionTrue(cc, "ReplicaFailure"));
  const std::string endpoint = cc["status"]["head"].value("endpoint", "");
  EXPECT_THAT(endpoint, ::testing::StartsWith("127."));
  EXPECT_THAT(Kubectl({"get", "cc"}).out, HasSubstr("3/3"));
  EXPECT_THAT(Kubectl({"get", "featureforge"}).out, HasSubstr("Ready"));  // category
  auto workers = Pods("featureforge.dev/cluster=x,featureforge.dev/node-type=worker");
  ASSERT_EQ(workers.size(), 3u);
  auto heads = Pods("featureforge.dev/cluster=x,featureforge.dev/node-type=head");
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(Pods("featureforge.dev/cluster=x,featureforge.dev/group=cpu").size(), 3u);
  EXPECT_THAT(Events("x"), HasSubstr("CreatedHead"));
  EXPECT_THAT(Events("x"), HasSubstr("CreatedWorkers"));

  // A deleted worker is replaced and registers; the cluster is Ready again.
  ASSERT_EQ(Kubectl({"delete", "pod", workers[0], "--wait=false"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] {
    auto now = Pods("featureforge.dev/cluster=x,featureforge.dev/node-type=worker");
    json c = Get("cc/x");
    return now.size() == 3 && std::find(now.begin(), now.end(), workers[0]) == now.end() &&
           ConditionTrue(c, "Ready") && c["status"]["workers"] == "3/3";
  })) << Debug("x");

  // The head dies: a new head pod comes up behind the same Service, workers register again.
  ASSERT_EQ(Kubectl({"delete", "pod", heads[0], "--wait=false"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] {
    json c = Get("cc/x");
    const json head = c.value("status", json::object()).value("head", json::object());
    return head.value("podName", "") != heads[0] && !head.value("podName", "").empty() &&
           ConditionTrue(c, "Ready") && c["status"]["workers"] == "3/3";
  })) << Debug("x");
  EXPECT_EQ(Get("cc/x")["status"]["head"].value("endpoint", ""), endpoint);  // stable Service
  EXPECT_EQ(Pods("featureforge.dev/cluster=x,featureforge.dev/node-type=head").size(), 1u);

  // Suspend: pods go, the resource and its Service stay.
  ASSERT_EQ(
      Kubectl({"patch", "cc/x", "--type=merge", "-p", R"({"spec":{"suspend":true}})"}).exit_code,
      0);
  EXPECT_TRUE(Eventually([&] {
    return Get("cc/x")["status"].value("state", "") == "Suspended" &&
           Pods("featureforge.dev/cluster=x").empty();
  })) << Debug("x");
  EXPECT_EQ(Kubectl({"get", "svc", "x-head"}).exit_code, 0);
  EXPECT_THAT(Events("x"), HasSubstr("Suspended"));
  // Resume.
  ASSERT_EQ(
      Kubectl({"patch", "cc/x", "--type=merge", "-p", R"({"spec":{"suspend":false}})"}).exit_code,
      0);
  EXPECT_TRUE(Eventually([&] {
    json c = Get("cc/x");
    return c["status"].value("state", "") == "Ready" && c["status"]["workers"] == "3/3";
  })) << Debug("x");

  // Scale down by spec: idle workers go, 1 remains.
  ASSERT_EQ(Kubectl({"patch", "cc/x", "--type=json", "-p",
                     R"([{"op":"replace","path":"/spec/workerGroupSpecs/0/replicas","value":1}])"})
                .exit_code,
            0);
  EXPECT_TRUE(Eventually([&] {
    json c = Get("cc/x");
    return Pods("featureforge.dev/cluster=x,featureforge.dev/node-type=worker").size() == 1 &&
           c["status"].value("state", "") == "Ready" && c["status"]["workers"] == "1/1";
  })) << Debug("x");
  EXPECT_THAT(Events("x"), HasSubstr("RemovedIdleWorkers"));
  ASSERT_EQ(Kubectl({"delete", "cc", "x", "--wait=false"}).exit_code, 0);
}

TEST_F(ComputeClusterE2E, BadSpecsAreRejectedOrReported) {
  // Missing template: the schema rejects it.
  auto r = server_->Apply(
      "apiVersion: featureforge.dev/v1alpha1\nkind: ComputeCluster\nmetadata: {name: bad1}\n"
      "spec:\n  headGroupSpec: {template: {}}\n  workerGroupSpecs:\n  - groupName: cpu\n"
      "    replicas: 1\n");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("template"));
  // Unknown upscaling mode: the schema's enum.
  r = server_->Apply(ClusterYaml("bad2", "    replicas: 1\n",
                                 "  autoscaling: {enabled: true, upscalingMode: Fast}\n"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("upscalingMode"));
  // min > max: a CEL rule on real API servers; the harness has no CEL, so the controller
  // reports it (state Failed, Ready=False InvalidSpec, a Warning Event) and creates nothing.
  r = server_->Apply(ClusterYaml("bad3",
                                 "    replicas: 2\n    minReplicas: 3\n"
                                 "    maxReplicas: 2\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Eventually([&] {
    json c = Get("cc/bad3");
    return c.value("status", json::object()).value("state", "") == "Failed";
  })) << Debug("bad3");
  json c = Get("cc/bad3");
  EXPECT_THAT(c["status"].value("message", ""), HasSubstr("minReplicas 3 > maxReplicas 2"));
  EXPECT_FALSE(ConditionTrue(c, "Ready"));
  EXPECT_THAT(Events("bad3"), HasSubstr("InvalidSpec"));
  EXPECT_TRUE(Pods("featureforge.dev/cluster=bad3").empty());
  // Fixing the spec brings the cluster up.
  r = server_->Apply(ClusterYaml("bad3",
                                 "    replicas: 1\n    minReplicas: 1\n"
                                 "    maxReplicas: 2\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Kubectl({"wait", "--for=condition=Ready", "cc/bad3", "--timeout=150s"}).exit_code, 0)
      << Debug("bad3");
  Kubectl({"delete", "cc", "bad3", "--wait=false"});
}

TEST_F(ComputeClusterE2E, AutoscalesWithTheQueueAndNeverRemovesABusyWorker) {
  ASSERT_EQ(
      server_
          ->Apply(ClusterYaml("auto", "    replicas: 1\n    minReplicas: 1\n    maxReplicas: 3\n",
                              "  autoscaling: {enabled: true, idleTimeoutSeconds: 3}\n"))
          .exit_code,
      0);
  ASSERT_EQ(Kubectl({"wait", "--for=condition=Ready", "cc/auto", "--timeout=150s"}).exit_code, 0)
      << Debug("auto");
  const std::string endpoint = Get("cc/auto")["status"]["head"].value("endpoint", "");
  auto head = featureforge::cluster::NewGrpcHeadClient(endpoint, std::chrono::seconds(5));
  featureforge::cluster::v1::SubmitJobRequest job;
  job.set_job_id("load");
  for (int i = 0; i < 12; ++i) {
    auto* task = job.add_tasks();
    task->set_task_id("t" + std::to_string(i));
    task->mutable_spec()->mutable_noop()->set_sleep_ms(3000);
  }
  auto submitted = head->SubmitJob(job);
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();

  // Scales from min toward max while the queue is long...
  size_t most = 0;
  EXPECT_TRUE(Eventually([&] {
    most = std::max(most, Pods("featureforge.dev/cluster=auto,featureforge.dev/group=cpu").size());
    return most == 3;
  })) << Debug("auto");
  EXPECT_THAT(Events("auto"), HasSubstr("ScaledUp"));
  // ...every task finishes on the worker that leased it first (no busy worker was removed)...
  EXPECT_TRUE(Eventually([&] {
    auto got = head->GetJob("load");
    return got.ok() && got->succeeded() == 12;
  })) << Debug("auto");
  auto finished = head->GetJob("load");
  ASSERT_TRUE(finished.ok());
  for (const auto& task : finished->tasks()) {
    EXPECT_EQ(task.lease_count(), 1) << task.task_id() << ": " << task.message();
  }
  // ...and back to min once idle, never below.
  EXPECT_TRUE(Eventually([&] {
    json c = Get("cc/auto");
    return Pods("featureforge.dev/cluster=auto,featureforge.dev/group=cpu").size() == 1 &&
           c["status"].value("state", "") == "Ready";
  })) << Debug("auto");
  EXPECT_THAT(Events("auto"), HasSubstr("ScaledDown"));
  EXPECT_THAT(Events("auto"), HasSubstr("RemovedIdleWorkers"));
  Kubectl({"delete", "cc", "auto", "--wait=false"});
}

}  // namespace
}  // namespace ffharness::testing
