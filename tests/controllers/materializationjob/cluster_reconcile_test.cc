// The MaterializationJob reconciler with spec.computeClusterRef, driven step by step against the
// harness API server (real objects, status subresource, Events) with a MockHeadClient in place of
// the ComputeCluster head, a manual clock and an in-memory RepoAccess: status counters, retries
// with backoff, head restarts, lost workers, deadline, suspend, backoffLimit and a missing or
// unreachable cluster, each decided exactly as for executor pods.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>

#include "featureforge/cluster/testing/mock_head_client.h"
#include "featureforge/controllers/materializationjob/reconciler.h"
#include "featureforge/k8s/errors.h"
#include "harness_process.h"

namespace featureforge::controllers::mj {
namespace {

namespace v1 = cluster::v1;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::NiceMock;

constexpr DurationMicros kSec = kMicrosPerSecond;

// What the head knows: jobs -> tasks. The mock's calls act on it; tests change task states.
struct FakeHead {
  std::mutex mu;
  std::map<std::string, std::map<std::string, v1::TaskStatus>> jobs;
  std::vector<v1::SubmitJobRequest> submits;
  std::vector<std::string> cancels;
  Status down = Status::OK();

  void Wire(cluster::testing::MockHeadClient& mock) {
    ON_CALL(mock, SubmitJob(_)).WillByDefault([this](const v1::SubmitJobRequest& request) {
      std::lock_guard<std::mutex> lock(mu);
      if (!down.ok()) return Result<v1::SubmitJobResponse>(down);
      submits.push_back(request);
      auto& tasks = jobs[request.job_id()];
      v1::SubmitJobResponse response;
      for (const auto& t : request.tasks()) {
        if (tasks.count(t.task_id())) continue;
        v1::TaskStatus status;
        status.set_task_id(t.task_id());
        status.set_state(v1::TASK_STATE_PENDING);
        tasks[t.task_id()] = status;
        response.set_tasks_added(response.tasks_added() + 1);
      }
      return Result<v1::SubmitJobResponse>(response);
    });
    ON_CALL(mock, GetJob(_)).WillByDefault([this](const std::string& id) {
      std::lock_guard<std::mutex> lock(mu);
      if (!down.ok()) return Result<v1::Job>(down);
      auto it = jobs.find(id);
      if (it == jobs.end()) return Result<v1::Job>(Status::NotFound("job " + id + " not found"));
      v1::Job job;
      job.set_job_id(id);
      for (const auto& entry : it->second) *job.add_tasks() = entry.second;
      return Result<v1::Job>(job);
    });
    ON_CALL(mock, CancelJob(_)).WillByDefault([this](const std::string& id) {
      std::lock_guard<std::mutex> lock(mu);
      if (!down.ok()) return Result<v1::CancelJobResponse>(down);
      cancels.push_back(id);
      for (auto& entry : jobs[id]) {
        v1::TaskStatus& t = entry.second;
        if (t.state() == v1::TASK_STATE_PENDING || t.state() == v1::TASK_STATE_RUNNING)
          t.set_state(v1::TASK_STATE_CANCELLED);
      }
      return Result<v1::CancelJobResponse>(v1::CancelJobResponse());
    });
  }
  void Finish(const std::string& job, const std::string& task, bool ok, int64_t rows = 10,
              const std::string& error = "") {
    std::lock_guard<std::mutex> lock(mu);
    v1::TaskStatus& t = jobs[job][task];
    t.set_task_id(task);
    t.set_state(ok ? v1::TASK_STATE_SUCCEEDED : v1::TASK_STATE_FAILED);
    t.set_worker_id("pool-worker-0");
    t.mutable_result()->set_ok(ok);
    t.mutable_result()->set_exit_code(ok ? 0 : 1);
    Json message = {{"rows_read", rows},
                    {"rows_written", rows / 2},
                    {"views",
                     {{{"view", "driver_hourly_stats"},
                       {"start", "2024-01-01T00:00:00Z"},
                       {"end", "2024-01-02T00:00:00Z"},
                       {"rows_read", rows},
                       {"rows_written", rows / 2}}}}};
    if (!ok) message = {{"error", error}};
    t.mutable_result()->set_result_json(message.dump());
    t.mutable_result()->set_error(error);
  }
  void Restart() {
    std::lock_guard<std::mutex> lock(mu);
    jobs.clear();
  }
  std::vector<std::string> SubmittedIds() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> ids;
    for (const auto& s : submits)
      for (const auto& t : s.tasks()) ids.push_back(t.task_id());
    return ids;
  }
};

class FakeRepos : public RepoAccess {
 public:
  Result<StoreRepo> Resolve(const std::string&, const std::string&) override {
    StoreRepo repo;
    repo.config_map = "drivers-repo";
    repo.registry_path = "/nonexistent/registry.pb";
    repo.online_views = repo.all_views = {"driver_hourly_stats"};
    repo.files = {{"feature_store.yaml", "project: driver_ranking\n"}};
    return repo;
  }
  Result<bool> AdvanceWatermark(const StoreRepo&, const std::string& view, TimestampMicros,
                                TimestampMicros end, int64_t rows, TimestampMicros) override {
    std::lock_guard<std::mutex> lock(mu_);
    advanced.push_back(view + "@" + FormatTimestamp(end) + " rows=" + std::to_string(rows));
    return true;
  }
  std::mutex mu_;
  std::vector<std::string> advanced;
};

class ClusterReconcileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new k8s::testing::HarnessProcess();
    ASSERT_TRUE(server_->Start().ok());
    auto config = server_->Config();
    ASSERT_TRUE(config.ok());
    auto client = k8s::Client::Create(*config);
    ASSERT_TRUE(client.ok());
    client_ = *client;
    auto applied = server_->Kubectl("apply -f " + std::string(FEATUREFORGE_TEST_SOURCE_DIR) +
                                    "/crds/materializationjob.yaml");
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
    // A minimal ComputeCluster CRD: this test only needs the object and its status.head.
    const std::string crd = server_->dir() + "/computecluster-crd.yaml";
    std::ofstream(crd) << R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: computeclusters.featureforge.dev}
spec:
  group: featureforge.dev
  scope: Namespaced
  names: {kind: ComputeCluster, plural: computeclusters, singular: computecluster, listKind: ComputeClusterList}
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
)";
    applied = server_->Kubectl("apply -f " + crd);
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  }
  static void TearDownTestSuite() {
    client_.reset();
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    fake_.Wire(head_);
    ReconcilerDeps deps;
    deps.client = client_;
    deps.repos = repos_;
    deps.clock = &clock_;
    deps.seed = 1;
    // Events get the real clock: their names derive from the time, and the manual clock stands
    // still.
    events_ = std::make_unique<runtime::EventRecorder>(client_, "test");
    deps.events = events_.get();
    deps.head_clients = [this](const std::string& address) {
      addresses_.push_back(address);
      return std::shared_ptr<cluster::HeadClient>(&head_, [](cluster::HeadClient*) {});
    };
    reconciler_ = std::make_unique<MaterializationJobReconciler>(std::move(deps));
  }

  Json CreateJob(const std::string& name, const std::string& extra = "") {
    Json spec = Json::parse(R"({"featureStore": "drivers", "featureViews": ["driver_hourly_stats"],
        "startTime": "2024-01-01T00:00:00Z", "endTime": "2024-01-02T00:00:00Z",
        "computeClusterRef": "pool",
        "backoff": {"initialSeconds": 10, "maxSeconds": 300},
        "executor": {"partitions": 2, "parallelism": 2,
                     "env": [{"name": "REGION", "value": "eu"}]}})");
    if (!extra.empty()) spec.merge_patch(Json::parse(extra));
    Json job = {{"apiVersion", "featureforge.dev/v1alpha1"},
                {"kind", "MaterializationJob"},
                {"metadata", {{"name", name}, {"namespace", "default"}}},
                {"spec", spec}};
    auto made = client_->Create(MaterializationJobs(), job);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? *made : Json();
  }
  void CreateCluster(const std::string& endpoint) {
    Json cc = {{"apiVersion", "featureforge.dev/v1alpha1"},
               {"kind", "ComputeCluster"},
               {"metadata", {{"name", "pool"}, {"namespace", "default"}}},
               {"spec", Json::object()}};
    auto made = client_->Create(ComputeClusters(), cc);
    if (!made.ok()) {
      ASSERT_TRUE(k8s::IsAlreadyExists(made.status())) << made.status().ToString();
      made = client_->Get(ComputeClusters(), "default", "pool");
      ASSERT_TRUE(made.ok());
    }
    Json with_status = *made;
    with_status["status"] = {{"state", "Ready"}, {"head", {{"endpoint", endpoint}}}};
    ASSERT_TRUE(client_->UpdateStatus(ComputeClusters(), with_status).ok());
  }
  runtime::ReconcileResult Reconcile(const std::string& name) {
    auto result = reconciler_->Reconcile({"default", name});
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : runtime::ReconcileResult{};
  }
  Json Status(const std::string& name) {
    auto job = client_->Get(MaterializationJobs(), "default", name);
    EXPECT_TRUE(job.ok());
    return job.ok() ? job->value("status", Json::object()) : Json::object();
  }
  static std::string Condition(const Json& status, const std::string& type) {
    for (const auto& c : status.value("conditions", Json::array()))
      if (c.value("type", "") == type) return c.value("status", "") + "/" + c.value("reason", "");
    return "";
  }
  std::string Events(const std::string& name) {
    k8s::ListOptions options;
    options.field_selector = "involvedObject.name=" + name;
    auto list = client_->List(k8s::resources::Events(), "default", options);
    std::string out;
    if (!list.ok()) return out;
    for (const auto& e : (*list)["items"])
      out += e.value("reason", "") + ": " + e.value("message", "") + "\n";
    return out;
  }
  std::string HeadJob(const std::string& name) {
    return Status(name)["computeCluster"].value("headJobId", "");
  }

  static k8s::testing::HarnessProcess* server_;
  static std::shared_ptr<k8s::Client> client_;
  ManualClock clock_{ParseTimestamp("2025-06-01T00:00:00Z").value()};
  FakeHead fake_;
  NiceMock<cluster::testing::MockHeadClient> head_{"127.0.0.1:6380"};
  std::shared_ptr<FakeRepos> repos_ = std::make_shared<FakeRepos>();
  std::unique_ptr<runtime::EventRecorder> events_;
  std::unique_ptr<MaterializationJobReconciler> reconciler_;
  std::vector<std::string> addresses_;
};

k8s::testing::HarnessProcess* ClusterReconcileTest::server_ = nullptr;
std::shared_ptr<k8s::Client> ClusterReconcileTest::client_;

TEST_F(ClusterReconcileTest, RunsOnTheHeadWithRetriesHeadRestartAndWatermarks) {
  // No ComputeCluster yet: reported, requeued, nothing submitted.
  CreateJob("on-pool");
  auto result = Reconcile("on-pool");
  EXPECT_GT(result.requeue_after, 0);
  Json status = Status("on-pool");
  EXPECT_EQ(status["phase"], "Pending");
  EXPECT_EQ(Condition(status, "ComputeClusterReady"), "False/ComputeClusterNotFound");
  EXPECT_THAT(status["message"].get<std::string>(), HasSubstr("ComputeCluster default/pool"));
  EXPECT_THAT(Events("on-pool"), HasSubstr("ComputeClusterNotFound"));
  EXPECT_TRUE(fake_.SubmittedIds().empty());

  // The cluster appears: both partitions are submitted to its head in one call.
  CreateCluster("grpc://127.0.0.1:6380");
  result = Reconcile("on-pool");
  EXPECT_GT(result.requeue_after, 0);  // the head is polled: no watch on tasks
  EXPECT_EQ(fake_.SubmittedIds(), (std::vector<std::string>{"p0-a1", "p1-a1"}));
  ASSERT_FALSE(addresses_.empty());
  EXPECT_EQ(addresses_.back(), "127.0.0.1:6380");
  {
    std::lock_guard<std::mutex> lock(fake_.mu);
    const auto& task = fake_.submits[0].tasks(0).spec().materialize();
    EXPECT_EQ(task.repo_files().at("feature_store.yaml"), "project: driver_ranking\n");
    EXPECT_EQ(task.env().at("REGION"), "eu");
    EXPECT_EQ(task.start(), "2024-01-01T00:00:00Z");
    EXPECT_EQ(task.partition_count(), 2);
  }
  status = Status("on-pool");
  EXPECT_EQ(status["phase"], "Running");
  EXPECT_EQ(status["partitions"]["running"], 2);
  EXPECT_EQ(Condition(status, "ComputeClusterReady"), "True/HeadReachable");
  const std::string job_id = HeadJob("on-pool");
  EXPECT_THAT(job_id, HasSubstr("default/on-pool/"));
  EXPECT_THAT(Events("on-pool"), HasSubstr("SubmittedTasks"));

  // p0 succeeds, p1 fails: p1 backs off 10s (jitter <= 10%), counted as a failed attempt.
  fake_.Finish(job_id, "p0-a1", true, 20);
  fake_.Finish(job_id, "p1-a1", false, 0, "disk full");
  Reconcile("on-pool");
  status = Status("on-pool");
  EXPECT_EQ(status["partitions"]["succeeded"], 1);
  EXPECT_EQ(status["partitions"]["backingOff"], 1);
  EXPECT_EQ(status["partitionStatuses"][1]["failures"], 1);
  EXPECT_THAT(status["lastFailure"].dump(), HasSubstr("disk full"));
  EXPECT_THAT(Events("on-pool"), HasSubstr("retrying partition 1 after 10s"));
  EXPECT_EQ(fake_.SubmittedIds().size(), 2u);  // not before the backoff passed
  clock_.Advance(12 * kSec);
  Reconcile("on-pool");
  EXPECT_EQ(fake_.SubmittedIds().back(), "p1-a2");

  // The head restarts and forgets the job: the unfinished task is submitted again, same attempt.
  fake_.Restart();
  Reconcile("on-pool");
  EXPECT_EQ(fake_.SubmittedIds().back(), "p1-a2");
  EXPECT_THAT(Events("on-pool"), HasSubstr("HeadRestarted"));
  status = Status("on-pool");
  EXPECT_EQ(status["attempts"], 3);
  EXPECT_EQ(status["partitionStatuses"][1]["failures"], 1);
  EXPECT_EQ(status["partitionStatuses"][0]["phase"], "Succeeded");  // never redone

  // A lost worker: the head requeues the task itself (lease 2) — nothing to do, not an attempt.
  {
    std::lock_guard<std::mutex> lock(fake_.mu);
    auto& t = fake_.jobs[job_id]["p1-a2"];
    t.set_lease_count(2);
    t.set_message("worker pool-worker-1 lost; requeued");
  }
  const size_t submitted = fake_.SubmittedIds().size();
  Reconcile("on-pool");
  EXPECT_EQ(fake_.SubmittedIds().size(), submitted);
  EXPECT_EQ(Status("on-pool")["attempts"], 3);

  fake_.Finish(job_id, "p1-a2", true, 30);
  Reconcile("on-pool");
  status = Status("on-pool");
  EXPECT_EQ(status["phase"], "Succeeded");
  EXPECT_EQ(Condition(status, "Complete"), "True/AllPartitionsSucceeded");
  EXPECT_EQ(status["progress"], "2/2");
  EXPECT_EQ(status["rowsRead"], 50);
  EXPECT_EQ(status["rowsWritten"], 25);
  EXPECT_EQ(repos_->advanced,
            (std::vector<std::string>{"driver_hourly_stats@2024-01-02T00:00:00Z rows=25"}));
  EXPECT_TRUE(fake_.cancels.empty());
}

TEST_F(ClusterReconcileTest, DeadlineCancelsTheHeadJob) {
  CreateCluster("127.0.0.1:6380");
  CreateJob("deadline", R"({"activeDeadlineSeconds": 30})");
  Reconcile("deadline");
  {
    std::lock_guard<std::mutex> lock(fake_.mu);
    ASSERT_EQ(fake_.submits.size(), 1u);
    // The head gets the deadline too (it stops tasks that outlive it).
    EXPECT_GT(fake_.submits[0].deadline_unix_ms(), 0);
  }
  clock_.Advance(31 * kSec);
  Reconcile("deadline");
  Json status = Status("deadline");
  EXPECT_EQ(status["phase"], "Failed");
  EXPECT_EQ(Condition(status, "Failed"), "True/DeadlineExceeded");
  EXPECT_EQ(fake_.cancels, (std::vector<std::string>{HeadJob("deadline")}));
  EXPECT_THAT(Events("deadline"), HasSubstr("CancelledTasks"));
  EXPECT_TRUE(repos_->advanced.empty());
}

TEST_F(ClusterReconcileTest, SuspendCancelsAndResumeUsesAFreshHeadJob) {
  CreateCluster("127.0.0.1:6380");
  CreateJob("pausable", R"({"executor": {"partitions": 1}})");
  Reconcile("pausable");
  const std::string first = HeadJob("pausable");
  auto job = client_->Get(MaterializationJobs(), "default", "pausable");
  ASSERT_TRUE(job.ok());
  (*job)["spec"]["suspend"] = true;
  ASSERT_TRUE(client_->Update(MaterializationJobs(), *job).ok());
  Reconcile("pausable");
  Json status = Status("pausable");
  EXPECT_EQ(status["phase"], "Suspended");
  EXPECT_EQ(fake_.cancels, (std::vector<std::string>{first}));
  EXPECT_EQ(status["partitionStatuses"][0]["phase"], "Pending");
  EXPECT_EQ(status["partitionStatuses"][0]["failures"], 0);
  // Reconciling while suspended cancels nothing more.
  Reconcile("pausable");
  EXPECT_EQ(fake_.cancels.size(), 1u);

  job = client_->Get(MaterializationJobs(), "default", "pausable");
  ASSERT_TRUE(job.ok());
  (*job)["spec"]["suspend"] = false;
  ASSERT_TRUE(client_->Update(MaterializationJobs(), *job).ok());
  Reconcile("pausable");
  const std::string second = HeadJob("pausable");
  EXPECT_NE(second, first);
  std::lock_guard<std::mutex> lock(fake_.mu);
  ASSERT_EQ(fake_.submits.size(), 2u);
  EXPECT_EQ(fake_.submits[1].job_id(), second);
  EXPECT_EQ(fake_.submits[1].tasks(0).task_id(), "p0-a2");
}

TEST_F(ClusterReconcileTest, BackoffLimitFailsTheJobAndCancelsTheOtherTasks) {
  CreateCluster("127.0.0.1:6380");
  CreateJob("doomed", R"({"backoffLimit": 0})");
  Reconcile("doomed");
  const std::string job_id = HeadJob("doomed");
  fake_.Finish(job_id, "p0-a1", false, 0, "bad query");
  Reconcile("doomed");
  Json status = Status("doomed");
  EXPECT_EQ(status["phase"], "Failed");
  EXPECT_EQ(Condition(status, "Failed"), "True/BackoffLimitExceeded");
  EXPECT_THAT(status["message"].get<std::string>(), HasSubstr("bad query"));
  EXPECT_EQ(fake_.cancels, (std::vector<std::string>{job_id}));  // p1 was still running
  EXPECT_TRUE(repos_->advanced.empty());
  EXPECT_THAT(Events("doomed"), HasSubstr("BackoffLimitExceeded"));
}

TEST_F(ClusterReconcileTest, UnreachableHeadIsReportedAndRetriedNeverFatal) {
  CreateCluster("127.0.0.1:6380");
  CreateJob("unreachable");
  fake_.down = Status::Unavailable("ComputeCluster head at 127.0.0.1:6380 is unavailable");
  auto result = Reconcile("unreachable");
  EXPECT_GT(result.requeue_after, 0);
  Json status = Status("unreachable");
  EXPECT_EQ(status["phase"], "Pending");
  EXPECT_EQ(status.value("attempts", 0), 0);
  EXPECT_EQ(Condition(status, "ComputeClusterReady"), "False/HeadUnavailable");
  EXPECT_THAT(Events("unreachable"), HasSubstr("SubmitFailed"));

  fake_.down = Status::OK();
  Reconcile("unreachable");
  status = Status("unreachable");
  EXPECT_EQ(status["phase"], "Running");
  EXPECT_EQ(status["attempts"], 2);
  EXPECT_EQ(Condition(status, "ComputeClusterReady"), "True/HeadReachable");
}

TEST_F(ClusterReconcileTest, SuspendedClusterIsNotReady) {
  CreateCluster("127.0.0.1:6380");
  auto cc = client_->Get(ComputeClusters(), "default", "pool");
  ASSERT_TRUE(cc.ok());
  (*cc)["status"]["state"] = "Suspended";
  ASSERT_TRUE(client_->UpdateStatus(ComputeClusters(), *cc).ok());
  CreateJob("waits");
  Reconcile("waits");
  Json status = Status("waits");
  EXPECT_EQ(Condition(status, "ComputeClusterReady"), "False/ComputeClusterNotReady");
  EXPECT_THAT(status["message"].get<std::string>(), HasSubstr("Suspended"));
  EXPECT_TRUE(fake_.SubmittedIds().empty());
}

}  // namespace
}  // namespace featureforge::controllers::mj
