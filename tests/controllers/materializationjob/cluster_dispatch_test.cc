// The head-side decisions of MaterializationJobs on a ComputeCluster, with MockHeadClient.
#include "featureforge/controllers/materializationjob/cluster_dispatch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "featureforge/cluster/testing/mock_head_client.h"

namespace featureforge::controllers::mj {
namespace {

namespace v1 = cluster::v1;
using cluster::testing::MockHeadClient;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Return;

v1::TaskStatus Task(const std::string& id, v1::TaskState state, const std::string& result_json = "",
                    const std::string& error = "") {
  v1::TaskStatus t;
  t.set_task_id(id);
  t.set_state(state);
  t.set_worker_id("w-1");
  if (state == v1::TASK_STATE_SUCCEEDED || state == v1::TASK_STATE_FAILED) {
    t.mutable_result()->set_ok(state == v1::TASK_STATE_SUCCEEDED);
    t.mutable_result()->set_exit_code(state == v1::TASK_STATE_SUCCEEDED ? 0 : 1);
    t.mutable_result()->set_result_json(result_json);
    t.mutable_result()->set_error(error);
  }
  return t;
}

ClusterRun MakeRun(int partitions) {
  ClusterRun run;
  run.head_job_id = "ml/daily/u1";
  run.job_name = "daily";
  run.spec.feature_store = "fs";
  run.spec.partitions = partitions;
  run.spec.parallelism = 2;
  run.spec.backoff_limit = 1;
  run.spec.backoff_initial_seconds = 10;
  run.spec.backoff_max_seconds = 300;
  run.spec.views = {"driver_hourly_stats"};
  run.window = {{"start", "2024-01-01T00:00:00Z"}, {"end", "2024-01-02T00:00:00Z"}};
  run.repo_files = {{"feature_store.yaml", "project: p\n"}, {"drivers.yaml", "entities: []\n"}};
  run.env = {{"AWS_REGION", "eu-west-1"}};
  return run;
}

std::vector<PartitionRecord> Records(int n) {
  std::vector<PartitionRecord> records;
  for (int i = 0; i < n; ++i) {
    PartitionRecord r;
    r.index = i;
    records.push_back(r);
  }
  return records;
}

TEST(TaskIdTest, RoundTrip) {
  int p = -1, a = -1;
  EXPECT_EQ(TaskId(3, 2), "p3-a2");
  EXPECT_TRUE(ParseTaskId("p3-a2", &p, &a));
  EXPECT_EQ(p, 3);
  EXPECT_EQ(a, 2);
  EXPECT_FALSE(ParseTaskId("noop-1", &p, &a));
  EXPECT_FALSE(ParseTaskId("p-a1", &p, &a));
  EXPECT_FALSE(ParseTaskId("px-a1", &p, &a));
}

TEST(ViewOfTaskTest, MapsStatesLikePods) {
  PodView ok = ViewOfTask(
      Task("p1-a2", v1::TASK_STATE_SUCCEEDED, R"({"rows_read":5,"rows_written":4,"views":[]})"));
  EXPECT_EQ(ok.partition, 1);
  EXPECT_EQ(ok.attempt, 2);
  EXPECT_EQ(ok.phase, "Succeeded");
  EXPECT_EQ(ok.message.value("rows_written", 0), 4);

  PodView failed = ViewOfTask(Task("p0-a1", v1::TASK_STATE_FAILED, "", "exit 1: boom"));
  EXPECT_EQ(failed.phase, "Failed");
  EXPECT_EQ(failed.raw_message, "exit 1: boom");
  EXPECT_EQ(failed.exit_code, 1);

  EXPECT_EQ(ViewOfTask(Task("p0-a1", v1::TASK_STATE_PENDING)).phase, "Pending");
  EXPECT_EQ(ViewOfTask(Task("p0-a1", v1::TASK_STATE_RUNNING)).phase, "Running");
  PodView cancelled = ViewOfTask(Task("p0-a1", v1::TASK_STATE_CANCELLED));
  EXPECT_EQ(cancelled.phase, "Failed");
  EXPECT_EQ(cancelled.reason, "Cancelled");
}

TEST(ViewOfTaskTest, FailedTasksCountLikeFailedPodsAndCancelledOnesDoNot) {
  JobSpec spec = MakeRun(2).spec;
  auto records = Records(2);
  for (auto& r : records) {
    r.phase = "Running";
    r.attempts = 1;
    r.pod = TaskId(r.index, 1);
  }
  std::vector<PodView> views = {
      ViewOfTask(Task("p0-a1", v1::TASK_STATE_FAILED, R"({"error":"no such file"})")),
      ViewOfTask(Task("p1-a1", v1::TASK_STATE_CANCELLED))};
  auto outcome = ObservePods(spec, views, 1000, &records);
  EXPECT_EQ(records[0].phase, "BackingOff");
  EXPECT_EQ(records[0].failures, 1);
  EXPECT_EQ(records[0].retry_at, 1000 + 10 * kMicrosPerSecond);
  EXPECT_THAT(records[0].last_error, HasSubstr("no such file"));
  EXPECT_EQ(records[1].phase, "Pending");
  EXPECT_EQ(records[1].failures, 0);
  ASSERT_EQ(outcome.warning_events.size(), 2u);
  EXPECT_THAT(outcome.warning_events[0], HasSubstr("retrying partition 0 after 10s"));
  EXPECT_THAT(outcome.warning_events[1], HasSubstr("cancelled on the head"));

  // The second failure exceeds backoffLimit 1.
  records[0].phase = "Running";
  records[0].attempts = 2;
  records[0].pod = "p0-a2";
  ObservePods(spec, {ViewOfTask(Task("p0-a2", v1::TASK_STATE_FAILED, "", "boom"))}, 2000, &records);
  EXPECT_EQ(records[0].phase, "Failed");
  EXPECT_EQ(records[0].failures, 2);
}

TEST(HeadAddressTest, StatusEndpointThenServiceThenUnavailable) {
  Json cc = {{"metadata", {{"name", "pool"}}},
             {"status", {{"head", {{"endpoint", "grpc://10.0.0.7:6380/"}}}}}};
  EXPECT_EQ(HeadAddress(cc, nullptr).value(), "10.0.0.7:6380");

  Json bare = {{"metadata", {{"name", "pool"}}}};
  Json service = {
      {"spec",
       {{"clusterIP", "10.96.0.12"},
        {"ports", {{{"name", "metrics"}, {"port", 9090}}, {{"name", "grpc"}, {"port", 6380}}}}}}};
  EXPECT_EQ(HeadAddress(bare, service).value(), "10.96.0.12:6380");
  EXPECT_EQ(HeadServiceName("pool"), "pool-head");

  auto none = HeadAddress(bare, nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(none.status().message(), HasSubstr("pool-head"));

  Json suspended = cc;
  suspended["status"]["state"] = "Suspended";
  EXPECT_THAT(HeadAddress(suspended, nullptr).status().message(), HasSubstr("Suspended"));
  Json head_down = cc;
  head_down["status"]["conditions"] = {
      {{"type", "HeadPodReady"}, {"status", "False"}, {"message", "head pod pool-head-x failed"}}};
  EXPECT_THAT(HeadAddress(head_down, nullptr).status().message(), HasSubstr("not ready"));
}

TEST(MakePartitionTaskTest, CarriesEverythingTheExecutorGets) {
  ClusterRun run = MakeRun(4);
  run.spec.chunk_size = 500;
  run.spec.event_log_uri = "s3://logs/mj";
  v1::SubmittedTask task = MakePartitionTask(run, 2, 3);
  EXPECT_EQ(task.task_id(), "p2-a3");
  ASSERT_TRUE(task.spec().has_materialize());
  const auto& m = task.spec().materialize();
  EXPECT_EQ(m.repo_files().size(), 2u);
  EXPECT_EQ(m.repo_files().at("feature_store.yaml"), "project: p\n");
  EXPECT_EQ(m.mode(), "range");
  EXPECT_EQ(m.start(), "2024-01-01T00:00:00Z");
  EXPECT_EQ(m.end(), "2024-01-02T00:00:00Z");
  ASSERT_EQ(m.feature_views_size(), 1);
  EXPECT_EQ(m.feature_views(0), "driver_hourly_stats");
  EXPECT_EQ(m.partition_index(), 2);
  EXPECT_EQ(m.partition_count(), 4);
  EXPECT_EQ(m.chunk_size(), 500);
  EXPECT_EQ(m.event_log_uri(), "s3://logs/mj");
  EXPECT_EQ(m.run_id(), "daily-p2-a3");
  EXPECT_EQ(m.attempt(), 3);
  EXPECT_EQ(m.env().at("AWS_REGION"), "eu-west-1");
  EXPECT_EQ(m.env().at("FEATUREFORGE_ATTEMPT"), "3");
  EXPECT_EQ(m.env().at("FEATUREFORGE_JOB"), "daily");

  run.spec.incremental = true;
  EXPECT_EQ(MakePartitionTask(run, 0, 1).spec().materialize().mode(), "incremental");
  EXPECT_EQ(MakePartitionTask(run, 0, 1).spec().materialize().start(), "");
}

TEST(ClusterDispatchTest, StartSubmitsTheNextAttemptsInOneCall) {
  MockHeadClient head;
  ClusterRun run = MakeRun(3);
  run.deadline = 5'000'000'000;  // micros
  auto records = Records(3);
  records[1].attempts = 1;
  records[1].failures = 1;
  records[1].phase = "BackingOff";
  v1::SubmitJobRequest sent;
  EXPECT_CALL(head, SubmitJob(_)).WillOnce([&](const v1::SubmitJobRequest& request) {
    sent = request;
    v1::SubmitJobResponse response;
    response.set_tasks_added(request.tasks_size());
    return Result<v1::SubmitJobResponse>(response);
  });
  ClusterDispatch dispatch(&head, &run);
  ASSERT_TRUE(dispatch.Start({0, 1}, &records).ok());
  EXPECT_EQ(sent.job_id(), "ml/daily/u1");
  EXPECT_EQ(sent.deadline_unix_ms(), 5'000'000);
  ASSERT_EQ(sent.tasks_size(), 2);
  EXPECT_EQ(sent.tasks(0).task_id(), "p0-a1");
  EXPECT_EQ(sent.tasks(1).task_id(), "p1-a2");
  EXPECT_EQ(records[0].phase, "Running");
  EXPECT_EQ(records[0].pod, "p0-a1");
  EXPECT_EQ(records[1].attempts, 2);
  EXPECT_EQ(records[1].failures, 1);
  EXPECT_EQ(records[2].phase, "Pending");
}

TEST(ClusterDispatchTest, FailedSubmitMarksNothing) {
  MockHeadClient head;
  ClusterRun run = MakeRun(1);
  auto records = Records(1);
  EXPECT_CALL(head, SubmitJob(_))
      .WillOnce(Return(Result<v1::SubmitJobResponse>(Status::Unavailable("head down"))));
  ClusterDispatch dispatch(&head, &run);
  Status s = dispatch.Start({0}, &records);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("mock-head:0"));
  EXPECT_EQ(records[0].phase, "Pending");
  EXPECT_EQ(records[0].attempts, 0);
}

TEST(ClusterDispatchTest, ObserveAsksOnlyWhileSomethingRuns) {
  MockHeadClient head;
  ClusterRun run = MakeRun(2);
  auto records = Records(2);
  EXPECT_CALL(head, GetJob(_)).Times(0);
  ClusterDispatch dispatch(&head, &run);
  auto views = dispatch.Observe(records);
  ASSERT_TRUE(views.ok());
  EXPECT_TRUE(views->empty());
}

TEST(ClusterDispatchTest, HeadRestartResubmitsUnfinishedTasksUnderTheSameIds) {
  MockHeadClient head;
  ClusterRun run = MakeRun(3);
  auto records = Records(3);
  records[0].phase = "Succeeded";
  records[0].attempts = 1;
  records[0].pod = "p0-a1";
  records[1].phase = "Running";
  records[1].attempts = 2;
  records[1].failures = 1;
  records[1].pod = "p1-a2";
  records[2].phase = "Running";
  records[2].attempts = 1;
  records[2].pod = "p2-a1";
  EXPECT_CALL(head, GetJob("ml/daily/u1"))
      .WillOnce(Return(Result<v1::Job>(Status::NotFound("job ml/daily/u1 not found"))));
  v1::SubmitJobRequest sent;
  EXPECT_CALL(head, SubmitJob(_)).WillOnce([&](const v1::SubmitJobRequest& request) {
    sent = request;
    return Result<v1::SubmitJobResponse>(v1::SubmitJobResponse());
  });
  ClusterDispatch dispatch(&head, &run);
  auto views = dispatch.Observe(records);
  ASSERT_TRUE(views.ok());
  EXPECT_TRUE(views->empty());
  EXPECT_TRUE(dispatch.head_lost());
  ObservePods(run.spec, *views, 0, &records);  // nothing decided: no task reported
  auto resubmitted = dispatch.ResubmitUnknown(records);
  ASSERT_TRUE(resubmitted.ok());
  EXPECT_EQ(*resubmitted, 2);
  ASSERT_EQ(sent.tasks_size(), 2);
  EXPECT_EQ(sent.tasks(0).task_id(), "p1-a2");  // same attempt: a lost head is not a failure
  EXPECT_EQ(sent.tasks(0).spec().materialize().attempt(), 2);
  EXPECT_EQ(sent.tasks(1).task_id(), "p2-a1");
  EXPECT_EQ(records[1].attempts, 2);
  EXPECT_EQ(records[1].failures, 1);
}

TEST(ClusterDispatchTest, KnownTasksAreNotResubmittedAndUnknownOnesAre) {
  MockHeadClient head;
  ClusterRun run = MakeRun(2);
  auto records = Records(2);
  for (auto& r : records) {
    r.phase = "Running";
    r.attempts = 1;
    r.pod = TaskId(r.index, 1);
  }
  v1::Job job;
  job.set_job_id(run.head_job_id);
  // p0's worker was lost: the head requeued it (lease 2), still the same attempt.
  v1::TaskStatus requeued = Task("p0-a1", v1::TASK_STATE_PENDING);
  requeued.set_lease_count(2);
  requeued.set_message("worker w-1 lost (no heartbeat for 6s); requeued");
  *job.add_tasks() = requeued;
  EXPECT_CALL(head, GetJob(_)).WillOnce(Return(Result<v1::Job>(job)));
  v1::SubmitJobRequest sent;
  EXPECT_CALL(head, SubmitJob(_)).WillOnce([&](const v1::SubmitJobRequest& request) {
    sent = request;
    return Result<v1::SubmitJobResponse>(v1::SubmitJobResponse());
  });
  ClusterDispatch dispatch(&head, &run);
  auto views = dispatch.Observe(records);
  ASSERT_TRUE(views.ok());
  ASSERT_EQ(views->size(), 1u);
  EXPECT_FALSE(dispatch.head_lost());
  ObservePods(run.spec, *views, 0, &records);
  EXPECT_EQ(records[0].phase, "Running");  // a lost worker is not an attempt
  EXPECT_EQ(records[0].failures, 0);
  auto resubmitted = dispatch.ResubmitUnknown(records);
  ASSERT_TRUE(resubmitted.ok());
  EXPECT_EQ(*resubmitted, 1);
  ASSERT_EQ(sent.tasks_size(), 1);
  EXPECT_EQ(sent.tasks(0).task_id(), "p1-a1");
}

TEST(ClusterDispatchTest, UnreachableHeadIsAnErrorNamingIt) {
  MockHeadClient head("10.0.0.7:6380");
  ClusterRun run = MakeRun(1);
  auto records = Records(1);
  records[0].phase = "Running";
  records[0].attempts = 1;
  records[0].pod = "p0-a1";
  EXPECT_CALL(head, GetJob(_))
      .WillOnce(Return(Result<v1::Job>(Status::Unavailable("connection refused"))));
  ClusterDispatch dispatch(&head, &run);
  auto views = dispatch.Observe(records);
  ASSERT_FALSE(views.ok());
  EXPECT_EQ(views.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(views.status().ToString(), HasSubstr("10.0.0.7:6380"));
}

TEST(ClusterDispatchTest, CancelIsIdempotent) {
  MockHeadClient head;
  ClusterRun run = MakeRun(1);
  EXPECT_CALL(head, CancelJob("ml/daily/u1"))
      .WillOnce(Return(Result<v1::CancelJobResponse>(v1::CancelJobResponse())))
      .WillOnce(Return(Result<v1::CancelJobResponse>(Status::NotFound("unknown job"))))
      .WillOnce(Return(Result<v1::CancelJobResponse>(Status::Unavailable("down"))));
  ClusterDispatch dispatch(&head, &run);
  EXPECT_TRUE(dispatch.Cancel().ok());
  EXPECT_TRUE(dispatch.Cancel().ok());
  EXPECT_FALSE(dispatch.Cancel().ok());
}

}  // namespace
}  // namespace featureforge::controllers::mj
