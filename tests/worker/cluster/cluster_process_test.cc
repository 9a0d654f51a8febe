// The ComputeCluster runtime as real processes: a `featureforge head`, `featureforge worker`s
// and clients, on loopback. Polls with generous timeouts; nothing asserts on durations.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "featureforge/cluster/head_client.h"
#include "featureforge/testutil/testutil.h"

namespace featureforge::cluster {
namespace {

using ::testing::HasSubstr;
using testutil::BackgroundProcess;

constexpr auto kPatience = std::chrono::seconds(120);

std::string Featureforge() { return testutil::BuildDir() + "/worker/featureforge"; }

// Polls `done` every 50 ms until it holds or `patience` passes.
bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds patience = kPatience) {
  const auto until = std::chrono::steady_clock::now() + patience;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

v1::SubmitJobRequest NoopJob(const std::string& job_id, int tasks, int64_t sleep_ms) {
  v1::SubmitJobRequest request;
  request.set_job_id(job_id);
  for (int i = 0; i < tasks; ++i) {
    v1::SubmittedTask* task = request.add_tasks();
    task->set_task_id("t" + std::to_string(i));
    task->mutable_spec()->mutable_noop()->set_sleep_ms(sleep_ms);
  }
  return request;
}

// A materialization task whose executor hangs until killed (the executor's test hook).
v1::SubmitJobRequest HangingMaterializeJob(const std::string& job_id) {
  v1::SubmitJobRequest request;
  request.set_job_id(job_id);
  v1::SubmittedTask* task = request.add_tasks();
  task->set_task_id("p0");
  v1::MaterializePartition* spec = task->mutable_spec()->mutable_materialize();
  (*spec->mutable_repo_files())["feature_store.yaml"] = "project: hang\n";
  spec->set_mode("incremental");
  spec->set_end("2024-01-02T00:00:00Z");
  (*spec->mutable_env())["FEATUREFORGE_FAULT_HANG"] = "1";
  return request;
}

class ClusterProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { head_port_ = testutil::PickFreePort(); }

  void TearDown() override {
    workers_.clear();
    head_.reset();
    if (HasFailure()) {
      for (const auto& entry : std::filesystem::directory_iterator(tmp_.path())) {
        if (entry.path().extension() == ".log") {
          std::cerr << "---- " << entry.path().filename().string() << "\n"
                    << testutil::ReadFile(entry.path().string()) << "\n";
        }
      }
    }
  }

  // Starts the head on head_port_ (the same port after a restart) and waits until it answers.
  void StartHead() {
    head_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{Featureforge(), "--log-level", "info", "head", "--port",
                                 std::to_string(head_port_), "--heartbeat-interval-ms", "200",
                                 "--heartbeat-timeout-ms", "1500", "--address-file",
                                 tmp_.Join("head.address")},
        tmp_.Join("head.log"));
    ASSERT_GT(head_->pid(), 0) << head_->error();
    ASSERT_TRUE(Eventually([&] {
      return testutil::ReadFile(tmp_.Join("head.address")) == address() + "\n";
    })) << "head did not write its address";
    client_ = NewGrpcHeadClient(address(), std::chrono::seconds(10));
    ASSERT_TRUE(Eventually([&] { return client_->GetClusterStatus().ok(); }));
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(head_port_); }

  BackgroundProcess& StartWorker(const std::string& id, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        Featureforge(),     "--log-level", "info", "worker",          "--head",
        address(),          "--worker-id", id,     "--lease-wait-ms", "1000",
        "--rpc-timeout-ms", "5000"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto worker = std::make_unique<BackgroundProcess>(argv, tmp_.Join(id + ".log"));
    EXPECT_GT(worker->pid(), 0) << worker->error();
    workers_[id] = std::move(worker);
    return *workers_[id];
  }

  // Waits until exactly these workers are registered with the current head.
  bool WorkersRegistered(std::set<std::string> ids) {
    return Eventually([&] {
      auto status = client_->GetClusterStatus();
      if (!status.ok()) return false;
      std::set<std::string> seen;
      for (const auto& w : status->workers()) seen.insert(w.worker_id());
      return seen == ids;
    });
  }

  Result<v1::Job> WaitForJob(const std::string& job_id) {
    Result<v1::Job> job = Status::NotFound("not polled yet");
    Eventually([&] {
      job = client_->GetJob(job_id);
      return job.ok() && job->pending() == 0 && job->running() == 0;
    });
    return job;
  }

  // The task's status once `predicate` holds for it.
  std::optional<v1::TaskStatus> WaitForTask(
      const std::string& job_id, const std::string& task_id,
      const std::function<bool(const v1::TaskStatus&)>& pred) {
    std::optional<v1::TaskStatus> found;
    Eventually([&] {
      auto job = client_->GetJob(job_id);
      if (!job.ok()) return false;
      for (const auto& t : job->tasks()) {
        if (t.task_id() == task_id && pred(t)) {
          found = t;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  bool WorkerIdle(const std::string& worker_id) {
    return Eventually([&] {
      auto status = client_->GetClusterStatus();
      if (!status.ok()) return false;
      for (const auto& w : status->workers()) {
        if (w.worker_id() == worker_id) return w.running_task_ids_size() == 0;
      }
      return false;
    });
  }

  testutil::TempDir tmp_{"ff-cluster"};
  int head_port_ = 0;
  std::unique_ptr<BackgroundProcess> head_;
  std::map<std::string, std::unique_ptr<BackgroundProcess>> workers_;
  std::unique_ptr<HeadClient> client_;
};

TEST_F(ClusterProcessTest, ThreeWorkersRunFiftyNoopTasks) {
  ASSERT_NO_FATAL_FAILURE(StartHead());
  for (const char* id : {"w1", "w2", "w3"}) StartWorker(id);
  ASSERT_TRUE(WorkersRegistered({"w1", "w2", "w3"}));

  auto submitted = client_->SubmitJob(NoopJob("fifty", 50, 20));
  ASSERT_TRUE(submitted.ok()) << submitted.status().ToString();
  EXPECT_EQ(submitted->tasks_added(), 50);
  auto job = WaitForJob("fifty");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->succeeded(), 50) << job->DebugString();
  for (const auto& task : job->tasks()) {
    EXPECT_THAT(task.worker_id(), ::testing::AnyOf("w1", "w2", "w3"));
    EXPECT_EQ(task.lease_count(), 1);
    EXPECT_TRUE(task.result().ok());
  }
  auto status = client_->GetClusterStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->pending_tasks(), 0);
  EXPECT_EQ(status->running_tasks(), 0);

  // A noop task asked to fail reports its failure.
  v1::SubmitJobRequest failing = NoopJob("failing", 1, 0);
  failing.mutable_tasks(0)->mutable_spec()->mutable_noop()->set_fail(true);
  ASSERT_TRUE(client_->SubmitJob(failing).ok());
  auto failed = WaitForJob("failing");
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->failed(), 1) << failed->DebugString();
  EXPECT_THAT(failed->tasks(0).result().error(), HasSubstr("failed as asked"));
  EXPECT_EQ(failed->tasks(0).result().exit_code(), 1);
}

TEST_F(ClusterProcessTest, TaskOfAKilledWorkerIsReassigned) {
  ASSERT_NO_FATAL_FAILURE(StartHead());
  StartWorker("w1");
  StartWorker("w2");
  ASSERT_TRUE(WorkersRegistered({"w1", "w2"}));
  ASSERT_TRUE(client_->SubmitJob(NoopJob("long", 1, 4000)).ok());
  auto running = WaitForTask(
      "long", "t0", [](const v1::TaskStatus& t) { return t.state() == v1::TASK_STATE_RUNNING; });
  ASSERT_TRUE(running.has_value());
  const std::string victim = running->worker_id();
  workers_.at(victim)->Stop(SIGKILL);

  auto job = WaitForJob("long");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  ASSERT_EQ(job->succeeded(), 1) << job->DebugString();
  EXPECT_NE(job->tasks(0).worker_id(), victim);
  EXPECT_EQ(job->tasks(0).lease_count(), 2);
  // The head forgot the dead worker.
  ASSERT_TRUE(WorkersRegistered({victim == "w1" ? "w2" : "w1"}));
}

TEST_F(ClusterProcessTest, WorkersRegisterWithARestartedHeadAndAResubmittedJobCompletes) {
  ASSERT_NO_FATAL_FAILURE(StartHead());
  StartWorker("w1");
  StartWorker("w2");
  ASSERT_TRUE(WorkersRegistered({"w1", "w2"}));
  auto first = client_->GetClusterStatus();
  ASSERT_TRUE(first.ok());
  const v1::SubmitJobRequest job_request = NoopJob("survivor", 4, 1500);
  ASSERT_TRUE(client_->SubmitJob(job_request).ok());
  ASSERT_TRUE(WaitForTask("survivor", "t0", [](const v1::TaskStatus& t) {
                return t.state() == v1::TASK_STATE_RUNNING;
              }).has_value());

  head_->Stop(SIGKILL);
  ASSERT_NO_FATAL_FAILURE(StartHead());
  auto second = client_->GetClusterStatus();
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->head_id(), first->head_id());
  EXPECT_EQ(client_->GetJob("survivor").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(WorkersRegistered({"w1", "w2"}));

  auto resubmitted = client_->SubmitJob(job_request);
  ASSERT_TRUE(resubmitted.ok()) << resubmitted.status().ToString();
  EXPECT_EQ(resubmitted->tasks_added(), 4);
  auto job = WaitForJob("survivor");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->succeeded(), 4) << job->DebugString();
}

TEST_F(ClusterProcessTest, CancelStopsARunningExecutorProcess) {
  ASSERT_NO_FATAL_FAILURE(StartHead());
  StartWorker("w1");
  ASSERT_TRUE(WorkersRegistered({"w1"}));
  ASSERT_TRUE(client_->SubmitJob(HangingMaterializeJob("hang")).ok());
  ASSERT_TRUE(WaitForTask("hang", "p0", [](const v1::TaskStatus& t) {
                return t.state() == v1::TASK_STATE_RUNNING;
              }).has_value());
  // Give the executor time to start, then cancel: the worker kills it and frees its slot.
  ASSERT_TRUE(Eventually([&] {
    return testutil::ReadFile(tmp_.Join("w1.log")).find("running task p0") != std::string::npos;
  }));
  ASSERT_TRUE(client_->CancelJob("hang").ok());
  auto job = client_->GetJob("hang");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->cancelled(), 1);
  ASSERT_TRUE(WorkerIdle("w1"));
  EXPECT_TRUE(Eventually([&] {
    return testutil::ReadFile(tmp_.Join("w1.log")).find("cancelled by the head") !=
           std::string::npos;
  }));
  // The worker is free for new work.
  ASSERT_TRUE(client_->SubmitJob(NoopJob("after", 1, 0)).ok());
  auto after = WaitForJob("after");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->succeeded(), 1);
}

TEST_F(ClusterProcessTest, DeadlineStopsARunningExecutorProcess) {
  ASSERT_NO_FATAL_FAILURE(StartHead());
  StartWorker("w1");
  ASSERT_TRUE(WorkersRegistered({"w1"}));
  v1::SubmitJobRequest request = HangingMaterializeJob("late");
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  request.set_deadline_unix_ms(now_ms + 3000);
  ASSERT_TRUE(client_->SubmitJob(request).ok());
  auto job = WaitForJob("late");
  ASSERT_TRUE(job.ok());
  ASSERT_EQ(job->failed(), 1) << job->DebugString();
  EXPECT_THAT(job->tasks(0).message(), HasSubstr("deadline passed"));
  ASSERT_TRUE(WorkerIdle("w1"));
}

TEST_F(ClusterProcessTest, SigtermLetsTheWorkerFinishOrReportItsTasks) {
  ASSERT_NO_FATAL_FAILURE(StartHead());
  BackgroundProcess& worker = StartWorker("w1", {"--grace-period-ms", "300"});
  ASSERT_TRUE(WorkersRegistered({"w1"}));
  ASSERT_TRUE(client_->SubmitJob(NoopJob("endless", 1, 600000)).ok());
  ASSERT_TRUE(WaitForTask("endless", "t0", [](const v1::TaskStatus& t) {
                return t.state() == v1::TASK_STATE_RUNNING;
              }).has_value());
  EXPECT_EQ(worker.Stop(SIGTERM, std::chrono::seconds(60)), 0);
  auto task = WaitForTask(
      "endless", "t0", [](const v1::TaskStatus& t) { return t.state() == v1::TASK_STATE_FAILED; });
  ASSERT_TRUE(task.has_value());
  EXPECT_THAT(task->result().error(), HasSubstr("stopping"));
}

TEST_F(ClusterProcessTest, ClusterStatusCli) {
  ASSERT_NO_FATAL_FAILURE(StartHead());
  StartWorker("w1", {"--group", "cpu", "--slots", "2"});
  ASSERT_TRUE(WorkersRegistered({"w1"}));
  testutil::ProcessResult status = testutil::RunProcess(
      {Featureforge(), "-o", "json", "cluster", "status", "--head", address()});
  ASSERT_EQ(status.exit_code, 0) << status.Describe();
  EXPECT_THAT(status.stdout_text, HasSubstr("\"worker_id\": \"w1\""));
  EXPECT_THAT(status.stdout_text, HasSubstr("\"group\": \"cpu\""));
  EXPECT_THAT(status.stdout_text, HasSubstr("\"slots\": 2"));

  // A second head cannot take the port.
  testutil::ProcessResult second =
      testutil::RunProcess({Featureforge(), "head", "--port", std::to_string(head_port_)});
  EXPECT_EQ(second.exit_code, 1) << second.Describe();
  EXPECT_THAT(second.stderr_text,
              HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(head_port_)));

  EXPECT_EQ(head_->Stop(SIGTERM, std::chrono::seconds(60)), 0);  // graceful: exit 0
  testutil::ProcessResult down =
      testutil::RunProcess({Featureforge(), "cluster", "status", "--head", address()});
  EXPECT_EQ(down.exit_code, 1) << down.Describe();
  EXPECT_THAT(down.stderr_text, HasSubstr(address()));
}

}  // namespace
}  // namespace featureforge::cluster
