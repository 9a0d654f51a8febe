// Unit tests of the ComputeCluster controller's pure decisions: spec validation, rendered pods
// and Service, worker plans (replacement, roll-out, scale-down never touching a busy worker),
// autoscaler targets and status/conditions.
#include "featureforge/controllers/computecluster/cluster_logic.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "featureforge/runtime/object_util.h"

namespace featureforge::controllers::cc {
namespace {
namespace runtime = ::featureforge::runtime;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

Json Cluster(const std::string& spec_yaml_like_json) {
  Json c = Json::parse(R"({"apiVersion":"featureforge.dev/v1alpha1","kind":"ComputeCluster",
    "metadata":{"name":"x","namespace":"ns","uid":"u-1","generation":3}})");
  c["spec"] = Json::parse(spec_yaml_like_json);
  return c;
}

const char* kSpec = R"({
  "headGroupSpec": {"template": {"spec": {"containers": [{"name": "h", "image": "featureforge/ff:1"}]}}},
  "workerGroupSpecs": [
    {"groupName": "cpu", "replicas": 3, "minReplicas": 1, "maxReplicas": 5,
     "template": {"spec": {"containers": [{"image": "featureforge/ff:1"}]}},
     "resources": {"limits": {"nvidia.com/gpu": "1"}}},
    {"groupName": "big", "replicas": 0, "maxReplicas": 2, "template": {}}],
  "autoscaling": {"enabled": true, "idleTimeoutSeconds": 30, "upscalingMode": "Default"}})";

TEST(ClusterSpecTest, ParsesGroupsAndDefaults) {
  auto spec = ParseClusterSpec(Cluster(kSpec));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->head.port, 6380);
  EXPECT_EQ(spec->head.service_type, "ClusterIP");
  ASSERT_EQ(spec->groups.size(), 2u);
  EXPECT_EQ(spec->groups[0].name, "cpu");
  EXPECT_EQ(spec->groups[0].replicas, 3);
  EXPECT_EQ(spec->groups[0].min_replicas, 1);
  EXPECT_EQ(spec->groups[0].max_replicas, 5);
  EXPECT_EQ(spec->groups[1].min_replicas, 0);
  EXPECT_TRUE(spec->autoscaling.enabled);
  EXPECT_EQ(spec->autoscaling.idle_timeout_seconds, 30);
  EXPECT_FALSE(spec->suspend);
}

TEST(ClusterSpecTest, RejectsBadSpecsNamingTheField) {
  auto expect_error = [](const std::string& spec, const std::string& text) {
    auto parsed = ParseClusterSpec(Cluster(spec));
    ASSERT_FALSE(parsed.ok()) << spec;
    EXPECT_THAT(parsed.status().message(), HasSubstr(text));
  };
  expect_error(R"({"workerGroupSpecs": []})", "spec.headGroupSpec is required");
  expect_error(R"({"headGroupSpec": {}})", "spec.headGroupSpec.template is required");
  expect_error(R"({"headGroupSpec": {"template": {}}, "workerGroupSpecs": [
      {"groupName": "g", "minReplicas": 3, "maxReplicas": 2, "replicas": 2, "template": {}}]})",
               "spec.workerGroupSpecs[0] (group g).minReplicas 3 > maxReplicas 2");
  expect_error(R"({"headGroupSpec": {"template": {}}, "workerGroupSpecs": [
      {"groupName": "g", "minReplicas": 1, "maxReplicas": 2, "replicas": 5, "template": {}}]})",
               "replicas 5 is outside [minReplicas 1, maxReplicas 2]");
  expect_error(R"({"headGroupSpec": {"template": {}}, "workerGroupSpecs": [
      {"groupName": "g", "replicas": 1}]})",
               "spec.workerGroupSpecs[0] (group g).template is required");
  expect_error(R"({"headGroupSpec": {"template": {}}, "workerGroupSpecs": [
      {"groupName": "g", "template": {}}, {"groupName": "g", "template": {}}]})",
               "'g' is used twice");
  expect_error(R"({"headGroupSpec": {"template": {}}, "workerGroupSpecs": [
      {"groupName": "Bad_Name", "template": {}}]})",
               "must be a DNS label");
  expect_error(R"({"headGroupSpec": {"template": {}}, "autoscaling": {"upscalingMode": "Fast"}})",
               "spec.autoscaling.upscalingMode must be Default, Aggressive or Conservative");
}

TEST(RenderTest, HeadPodServiceAndWorkerPod) {
  Json cluster = Cluster(kSpec);
  auto spec = ParseClusterSpec(cluster);
  ASSERT_TRUE(spec.ok());
  OperatorConfig config;
  Json service = MakeHeadService(cluster, *spec, config);
  EXPECT_EQ(service["metadata"]["name"], "x-head");
  EXPECT_EQ(service["spec"]["selector"][kNodeTypeLabel], "head");
  EXPECT_EQ(service["spec"]["ports"][0]["port"], 6380);
  EXPECT_EQ(service["metadata"]["ownerReferences"][0]["uid"], "u-1");

  Json head = MakeHeadPod(cluster, *spec, config, "x-head-abcde");
  const Json& hc = head["spec"]["containers"][0];
  EXPECT_EQ(hc["image"], "featureforge/ff:1");
  EXPECT_EQ(hc["command"], Json::array({"featureforge"}));
  EXPECT_EQ(hc["args"], Json::array({"head", "--port", "6380"}));
  EXPECT_EQ(head["metadata"]["labels"][kClusterLabel], "x");
  EXPECT_EQ(head["metadata"]["labels"][kNodeTypeLabel], "head");
  EXPECT_EQ(head["spec"]["restartPolicy"], "Always");
  EXPECT_TRUE(hc.contains("readinessProbe"));

  Json worker =
      MakeWorkerPod(cluster, spec->groups[0], *spec, config, "x-cpu-abcde", "10.96.0.10:6380");
  const Json& wc = worker["spec"]["containers"][0];
  EXPECT_EQ(wc["args"], Json::array({"worker", "--head", "10.96.0.10:6380", "--worker-id",
                                     "x-cpu-abcde", "--group", "cpu"}));
  EXPECT_EQ(wc["resources"]["limits"]["nvidia.com/gpu"], "1");
  EXPECT_EQ(worker["metadata"]["labels"][kGroupLabel], "cpu");
  // Default image from the operator's config when the template has none.
  Json big = MakeWorkerPod(cluster, spec->groups[1], *spec, config, "x-big-a", "1.2.3.4:1");
  EXPECT_EQ(big["spec"]["containers"][0]["image"], config.executor_image);

  // The template hash ignores the name and head address, and changes with the spec.
  Json other = MakeWorkerPod(cluster, spec->groups[0], *spec, config, "x-cpu-zzzzz", "1.1.1.1:1");
  EXPECT_EQ(TemplateHash(worker), TemplateHash(other));
  EXPECT_FALSE(TemplateHash(worker).empty());
  Json edited = cluster;
  edited["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["image"] =
      "featureforge/ff:2";
  auto edited_spec = ParseClusterSpec(edited);
  ASSERT_TRUE(edited_spec.ok());
  EXPECT_NE(TemplateHash(MakeWorkerPod(edited, edited_spec->groups[0], *edited_spec, config,
                                       "x-cpu-abcde", "10.96.0.10:6380")),
            TemplateHash(worker));
}

PodView Pod(const std::string& name, const std::string& phase, const std::string& hash = "h1",
            TimestampMicros created = 0) {
  PodView p;
  p.name = name;
  p.node_type = "worker";
  p.group = "cpu";
  p.phase = phase;
  p.ready = phase == "Running";
  p.template_hash = hash;
  p.created = created;
  return p;
}

RegisteredWorker Worker(int running, TimestampMicros idle_since) {
  RegisteredWorker w;
  w.running_tasks = running;
  w.idle_since = idle_since;
  return w;
}

constexpr TimestampMicros kNow = 1000 * kMicrosPerSecond;

TEST(PlanGroupTest, CreatesMissingAndReplacesFailed) {
  std::vector<PodView> pods = {Pod("a", "Running"), Pod("b", "Failed")};
  std::map<std::string, RegisteredWorker> head = {{"a", Worker(0, kNow)}};
  GroupPlan plan = PlanGroup(pods, 3, "h1", &head, 0, kNow);
  EXPECT_THAT(plan.delete_terminated, ElementsAre("b"));
  EXPECT_EQ(plan.create, 2);
  EXPECT_THAT(plan.delete_scale_down, IsEmpty());
}

TEST(PlanGroupTest, ScaleDownRemovesIdleFirstAndNeverBusy) {
  std::vector<PodView> pods = {Pod("busy1", "Running"), Pod("busy2", "Running"),
                               Pod("idle-long", "Running"), Pod("idle-short", "Running"),
                               Pod("starting", "Pending")};
  std::map<std::string, RegisteredWorker> head = {
      {"busy1", Worker(1, 0)},
      {"busy2", Worker(2, 0)},
      {"idle-long", Worker(0, kNow - 500 * kMicrosPerSecond)},
      {"idle-short", Worker(0, kNow - 5 * kMicrosPerSecond)}};
  GroupPlan plan = PlanGroup(pods, 2, "h1", &head, 0, kNow);
  EXPECT_THAT(plan.delete_scale_down, ElementsAre("starting", "idle-long", "idle-short"));
  EXPECT_EQ(plan.create, 0);
  // To 1: busy workers stay even though the group is then above its target.
  plan = PlanGroup(pods, 1, "h1", &head, 0, kNow);
  EXPECT_THAT(plan.delete_scale_down, ElementsAre("starting", "idle-long", "idle-short"));
  EXPECT_EQ(plan.kept_busy_surplus, 1);
}

TEST(PlanGroupTest, IdleTimeoutProtectsRecentlyIdleWorkers) {
  std::vector<PodView> pods = {Pod("idle-long", "Running"), Pod("idle-short", "Running")};
  std::map<std::string, RegisteredWorker> head = {
      {"idle-long", Worker(0, kNow - 120 * kMicrosPerSecond)},
      {"idle-short", Worker(0, kNow - 5 * kMicrosPerSecond)}};
  GroupPlan plan = PlanGroup(pods, 0, "h1", &head, 60 * kMicrosPerSecond, kNow);
  EXPECT_THAT(plan.delete_scale_down, ElementsAre("idle-long"));
  EXPECT_EQ(plan.kept_busy_surplus, 1);
}

TEST(PlanGroupTest, UnknownHeadRemovesOnlyPodsThatNeverStarted) {
  std::vector<PodView> pods = {Pod("a", "Running"), Pod("b", "Running"), Pod("c", "Pending")};
  GroupPlan plan = PlanGroup(pods, 1, "h1", nullptr, 0, kNow);
  EXPECT_THAT(plan.delete_scale_down, ElementsAre("c"));
  EXPECT_EQ(plan.kept_busy_surplus, 1);
  // Outdated running pods wait too (nobody knows whether they are busy).
  pods = {Pod("a", "Running", "old")};
  plan = PlanGroup(pods, 1, "h1", nullptr, 0, kNow);
  EXPECT_THAT(plan.delete_outdated, IsEmpty());
  EXPECT_EQ(plan.kept_busy_outdated, 1);
}

TEST(PlanGroupTest, RollOutReplacesIdleOutdatedAndKeepsBusyOnes) {
  std::vector<PodView> pods = {Pod("old-idle", "Running", "old"), Pod("old-busy", "Running", "old"),
                               Pod("new", "Running", "h1")};
  std::map<std::string, RegisteredWorker> head = {
      {"old-idle", Worker(0, kNow)}, {"old-busy", Worker(1, 0)}, {"new", Worker(0, kNow)}};
  GroupPlan plan = PlanGroup(pods, 3, "h1", &head, 0, kNow);
  EXPECT_THAT(plan.delete_outdated, ElementsAre("old-idle"));
  EXPECT_EQ(plan.kept_busy_outdated, 1);
  EXPECT_EQ(plan.create, 1);
  // Scaling down at the same time prefers the outdated idle pod.
  plan = PlanGroup(pods, 2, "h1", &head, 0, kNow);
  EXPECT_THAT(plan.delete_scale_down, ElementsAre("old-idle"));
  EXPECT_THAT(plan.delete_outdated, IsEmpty());
  EXPECT_EQ(plan.create, 0);
}

TEST(PlanGroupTest, DeletingPodsAreNotCounted) {
  std::vector<PodView> pods = {Pod("a", "Running")};
  pods[0].deleting = true;
  GroupPlan plan = PlanGroup(pods, 2, "h1", nullptr, 0, kNow);
  EXPECT_EQ(plan.create, 2);
}

cluster::v1::ClusterStatus HeadStatus(int64_t pending,
                                      const std::vector<std::pair<std::string, int>>& workers) {
  cluster::v1::ClusterStatus s;
  s.set_head_id("h");
  s.set_pending_tasks(pending);
  for (const auto& [pod, running] : workers) {
    auto* w = s.add_workers();
    w->set_worker_id(pod);
    w->set_pod_name(pod);
    w->set_group_name("cpu");
    w->set_slots(1);
    for (int i = 0; i < running; ++i) w->add_running_task_ids("t" + std::to_string(i));
    if (running == 0) w->set_idle_since_unix_ms(1);
  }
  return s;
}

TEST(AutoscaleTest, TargetsFollowTheQueueWithinMinMax) {
  auto spec = ParseClusterSpec(Cluster(kSpec));
  ASSERT_TRUE(spec.ok());
  std::map<std::string, std::vector<PodView>> pods = {{"cpu", {Pod("a", "Running")}}};
  // 12 pending, 1 idle worker: cpu goes to its max 5, the rest spills to `big` (max 2).
  auto targets = AutoscaleTargets(*spec, HeadStatus(12, {{"a", 0}}), pods);
  EXPECT_EQ(targets["cpu"].target, 5);
  EXPECT_EQ(targets["big"].target, 2);
  // Nothing to do: back to min (1 for cpu, 0 for big).
  targets = AutoscaleTargets(*spec, HeadStatus(0, {{"a", 0}}), pods);
  EXPECT_EQ(targets["cpu"].target, 1);
  EXPECT_EQ(targets["big"].target, 0);
  // Busy workers count: 3 busy + 1 pending = 4.
  pods["cpu"] = {Pod("a", "Running"), Pod("b", "Running"), Pod("c", "Running")};
  targets = AutoscaleTargets(*spec, HeadStatus(1, {{"a", 1}, {"b", 1}, {"c", 1}}), pods);
  EXPECT_EQ(targets["cpu"].target, 4);
  EXPECT_EQ(targets["big"].target, 0);
}

TEST(AutoscaleTest, ConservativeModeLimitsUnregisteredPods) {
  Json cluster = Cluster(kSpec);
  cluster["spec"]["autoscaling"]["upscalingMode"] = "Conservative";
  cluster["spec"]["workerGroupSpecs"][0]["maxReplicas"] = 20;
  auto spec = ParseClusterSpec(cluster);
  ASSERT_TRUE(spec.ok());
  std::map<std::string, std::vector<PodView>> pods = {
      {"cpu", {Pod("a", "Running"), Pod("b", "Running")}}};
  // 2 registered, 0 unregistered: at most 2 new pods at once (4), not 12.
  auto targets = AutoscaleTargets(*spec, HeadStatus(12, {{"a", 1}, {"b", 1}}), pods);
  EXPECT_EQ(targets["cpu"].target, 4);
  // 2 more pods started but not registered: no further growth yet.
  pods["cpu"].push_back(Pod("c", "Pending"));
  pods["cpu"].push_back(Pod("d", "Pending"));
  targets = AutoscaleTargets(*spec, HeadStatus(12, {{"a", 1}, {"b", 1}}), pods);
  EXPECT_EQ(targets["cpu"].target, 4);
}

TEST(ViewOfPodTest, ReadsPhaseReadinessAndFailures) {
  Json pod = Json::parse(R"({"metadata": {"name": "x-cpu-a", "labels": {
      "featureforge.dev/node-type": "worker", "featureforge.dev/group": "cpu",
      "featureforge.dev/template-hash": "abc"}},
    "spec": {"containers": [{"args": ["worker", "--head", "10.0.0.1:6380"]}]},
    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
      "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff",
        "message": "back-off 10s"}}}]}})");
  PodView v = ViewOfPod(pod);
  EXPECT_EQ(v.group, "cpu");
  EXPECT_EQ(v.template_hash, "abc");
  EXPECT_TRUE(v.ready);
  EXPECT_EQ(v.head_address, "10.0.0.1:6380");
  EXPECT_EQ(v.failure, "CrashLoopBackOff: back-off 10s");
  pod["status"] = Json::parse(R"({"phase": "Failed", "containerStatuses": [{"state":
      {"terminated": {"reason": "Error", "exitCode": 3}}}]})");
  v = ViewOfPod(pod);
  EXPECT_TRUE(Terminated(v));
  EXPECT_EQ(v.failure, "Error: exit code 3");
}

TEST(StatusTest, ConditionsFollowTheObservations) {
  StatusInputs in;
  in.generation = 3;
  in.port = 6380;
  in.service_name = "x-head";
  in.service_ip = "10.96.0.10";
  in.head_pod = "x-head-a";
  in.head_pod_ready = true;
  in.head_reachable = true;
  in.groups = {{"cpu", 3, 3, 3, 2, 0, 3}};
  Json status = BuildStatus(Json::object(), in, kNow);
  EXPECT_EQ(status["state"], "Provisioning");
  EXPECT_EQ(status["workers"], "2/3");
  EXPECT_EQ(status["head"]["endpoint"], "10.96.0.10:6380");
  EXPECT_EQ(status["observedGeneration"], 3);
  const Json* ready = runtime::FindStatusCondition(status["conditions"], "Ready");
  ASSERT_NE(ready, nullptr);
  EXPECT_EQ((*ready)["reason"], "WorkersNotRegistered");
  EXPECT_THAT((*ready)["message"].get<std::string>(), HasSubstr("group cpu: 2/3"));
  EXPECT_TRUE(runtime::IsStatusConditionTrue(status["conditions"], "HeadPodReady"));

  in.groups = {{"cpu", 3, 3, 3, 3, 1, 3}};
  status = BuildStatus(status, in, kNow);
  EXPECT_EQ(status["state"], "Ready");
  EXPECT_TRUE(runtime::IsStatusConditionTrue(status["conditions"], "Ready"));
  EXPECT_FALSE(runtime::IsStatusConditionTrue(status["conditions"], "ReplicaFailure"));

  in.head_reachable = false;
  in.head_error = "ComputeCluster head at 10.96.0.10:6380 is unavailable";
  in.replica_failure_reason = "WorkerPodFailed";
  in.replica_failure_message = "worker pod x-cpu-b failed: Error";
  status = BuildStatus(status, in, kNow);
  EXPECT_EQ(status["state"], "Provisioning");
  ready = runtime::FindStatusCondition(status["conditions"], "Ready");
  EXPECT_EQ((*ready)["reason"], "HeadUnreachable");
  EXPECT_TRUE(runtime::IsStatusConditionTrue(status["conditions"], "ReplicaFailure"));

  StatusInputs suspended;
  suspended.suspended = true;
  status = BuildStatus(status, suspended, kNow);
  EXPECT_EQ(status["state"], "Suspended");
  EXPECT_EQ(status["workers"], "0/0");

  StatusInputs invalid;
  invalid.invalid_spec = "spec.workerGroupSpecs[0] (group g).minReplicas 3 > maxReplicas 2";
  status = BuildStatus(Json::object(), invalid, kNow);
  EXPECT_EQ(status["state"], "Failed");
  ready = runtime::FindStatusCondition(status["conditions"], "Ready");
  EXPECT_EQ((*ready)["reason"], "InvalidSpec");
}

}  // namespace
}  // namespace featureforge::controllers::cc
