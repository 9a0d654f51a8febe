// The head's state machine with a fake clock: leases, heartbeats, lost workers, reassignment,
// max lease count, cancellation, deadlines, idempotent submission and re-registration.
#include "head_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace featureforge::cluster {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kStart = 1'700'000'000'000;

class HeadStateTest : public ::testing::Test {
 protected:
  HeadStateTest()
      : state_(HeadStateOptions{"head-a", /*heartbeat_interval_ms=*/1000,
                                /*heartbeat_timeout_ms=*/5000, /*default_max_lease_count=*/3,
                                /*max_lease_wait_ms=*/30000},
               [this] { return now_; }) {}

  void Register(const std::string& worker, int slots = 1) {
    v1::RegisterWorkerRequest request;
    request.set_worker_id(worker);
    request.set_group_name("cpu");
    request.set_slots(slots);
    auto response = state_.RegisterWorker(request);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->head_id(), "head-a");
    EXPECT_EQ(response->heartbeat_interval_ms(), 1000);
    EXPECT_EQ(response->heartbeat_timeout_ms(), 5000);
  }

  v1::SubmitJobRequest NoopJob(const std::string& job, int tasks, int64_t deadline = 0,
                               int32_t max_lease_count = 0) {
    v1::SubmitJobRequest request;
    request.set_job_id(job);
    request.set_deadline_unix_ms(deadline);
    request.set_max_lease_count(max_lease_count);
    for (int i = 0; i < tasks; ++i) {
      v1::SubmittedTask* task = request.add_tasks();
      task->set_task_id("t" + std::to_string(i));
      task->mutable_spec()->mutable_noop()->set_sleep_ms(10);
    }
    return request;
  }

  void Submit(const v1::SubmitJobRequest& request, int expect_added) {
    auto response = state_.SubmitJob(request);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->tasks_added(), expect_added);
  }

  v1::LeaseTaskResponse Lease(const std::string& worker, const std::string& head_id = "head-a") {
    v1::LeaseTaskRequest request;
    request.set_worker_id(worker);
    request.set_head_id(head_id);
    request.set_wait_ms(0);
    return state_.LeaseTask(request);
  }

  v1::HeartbeatResponse Beat(const std::string& worker, std::vector<std::string> running,
                             const std::string& head_id = "head-a") {
    v1::HeartbeatRequest request;
    request.set_worker_id(worker);
    request.set_head_id(head_id);
    for (const auto& id : running) request.add_running_task_ids(id);
    return state_.Heartbeat(request);
  }

  void Report(const std::string& worker, const std::string& task, bool ok,
              const std::string& error = "") {
    v1::ReportTaskResultRequest request;
    request.set_worker_id(worker);
    request.set_task_id(task);
    request.mutable_result()->set_ok(ok);
    request.mutable_result()->set_error(error);
    request.mutable_result()->set_exit_code(ok ? 0 : 1);
    state_.ReportTaskResult(request);
  }

  v1::TaskStatus Task(const std::string& job, const std::string& task) {
    auto got = state_.GetJob(job);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (got.ok()) {
      for (const auto& t : got->tasks()) {
        if (t.task_id() == task) return t;
      }
    }
    ADD_FAILURE() << "no task " << job << "/" << task;
    return {};
  }

  int64_t now_ = kStart;
  HeadState state_;
};

TEST_F(HeadStateTest, LeasesInFifoOrderOneTaskPerSlot) {
  Register("w1");
  Submit(NoopJob("job", 3), 3);
  auto first = Lease("w1");
  ASSERT_TRUE(first.leased());
  EXPECT_EQ(first.task().task_id(), "t0");
  EXPECT_EQ(first.task().job_id(), "job");
  EXPECT_EQ(first.task().lease_count(), 1);
  EXPECT_TRUE(first.task().spec().has_noop());
  // One slot, in use: nothing more for w1.
  EXPECT_FALSE(Lease("w1").leased());
  Report("w1", "t0", true);
  EXPECT_EQ(Lease("w1").task().task_id(), "t1");

  Register("w2", 2);
  EXPECT_EQ(Lease("w2").task().task_id(), "t2");
  EXPECT_FALSE(Lease("w2").leased());  // a free slot but an empty queue

  auto job = state_.GetJob("job");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->succeeded(), 1);
  EXPECT_EQ(job->running(), 2);
  EXPECT_EQ(job->pending(), 0);
  EXPECT_EQ(Task("job", "t0").state(), v1::TASK_STATE_SUCCEEDED);
  EXPECT_TRUE(Task("job", "t0").result().ok());
  EXPECT_EQ(Task("job", "t2").worker_id(), "w2");
}

TEST_F(HeadStateTest, FailedResultMarksTaskFailedWithTheError) {
  Register("w1");
  Submit(NoopJob("job", 1), 1);
  ASSERT_TRUE(Lease("w1").leased());
  Report("w1", "t0", false, "exit 1: boom");
  v1::TaskStatus task = Task("job", "t0");
  EXPECT_EQ(task.state(), v1::TASK_STATE_FAILED);
  EXPECT_EQ(task.result().error(), "exit 1: boom");
  EXPECT_THAT(task.message(), HasSubstr("w1"));
}

TEST_F(HeadStateTest, SilentWorkerIsLostAndItsTaskRequeuedForAnother) {
  Register("w1");
  Register("w2");
  Submit(NoopJob("job", 1), 1);
  ASSERT_TRUE(Lease("w1").leased());
  // w2 keeps beating, w1 goes silent.
  for (int i = 0; i < 5; ++i) {
    now_ += 1000;
    EXPECT_FALSE(Beat("w2", {}).reregister());
  }
  EXPECT_EQ(Task("job", "t0").state(), v1::TASK_STATE_RUNNING);  // 5.0 s: not yet
  now_ += 1001;
  state_.Tick();
  v1::TaskStatus task = Task("job", "t0");
  EXPECT_EQ(task.state(), v1::TASK_STATE_PENDING);
  EXPECT_THAT(task.message(), HasSubstr("worker w1 lost (no heartbeat for 6.0s); requeued"));
  EXPECT_EQ(state_.GetClusterStatus().workers_size(), 1);

  auto again = Lease("w2");
  ASSERT_TRUE(again.leased());
  EXPECT_EQ(again.task().task_id(), "t0");
  EXPECT_EQ(again.task().lease_count(), 2);
  // The lost worker comes back: told to register again; its late result is dropped.
  EXPECT_TRUE(Beat("w1", {"t0"}).reregister());
  Report("w1", "t0", false, "late");
  EXPECT_EQ(Task("job", "t0").state(), v1::TASK_STATE_RUNNING);
  Report("w2", "t0", true);
  EXPECT_EQ(Task("job", "t0").state(), v1::TASK_STATE_SUCCEEDED);
}

TEST_F(HeadStateTest, TaskFailsAfterMaxLeaseCountLostWorkers) {
  Submit(NoopJob("job", 1, /*deadline=*/0, /*max_lease_count=*/2), 1);
  for (int lease = 1; lease <= 2; ++lease) {
    Register("w" + std::to_string(lease));
    auto leased = Lease("w" + std::to_string(lease));
    ASSERT_TRUE(leased.leased());
    EXPECT_EQ(leased.task().lease_count(), lease);
    now_ += 5001;
    state_.Tick();
  }
  v1::TaskStatus task = Task("job", "t0");
  EXPECT_EQ(task.state(), v1::TASK_STATE_FAILED);
  EXPECT_THAT(task.message(), HasSubstr("worker w2 lost"));
  EXPECT_THAT(task.message(), HasSubstr("max_lease_count 2"));
  EXPECT_FALSE(task.result().ok());
  EXPECT_FALSE(task.result().error().empty());
}

TEST_F(HeadStateTest, DefaultMaxLeaseCountIsThree) {
  Submit(NoopJob("job", 1), 1);
  for (int lease = 1; lease <= 3; ++lease) {
    Register("w");
    ASSERT_TRUE(Lease("w").leased());
    now_ += 5001;
    state_.Tick();
    EXPECT_EQ(Task("job", "t0").state(),
              lease < 3 ? v1::TASK_STATE_PENDING : v1::TASK_STATE_FAILED);
  }
}

TEST_F(HeadStateTest, CancelStopsQueuedTasksAndTellsTheWorkerOfRunningOnes) {
  Register("w1");
  Submit(NoopJob("job", 2), 2);
  ASSERT_TRUE(Lease("w1").leased());
  ASSERT_TRUE(state_.CancelJob("job").ok());
  EXPECT_EQ(Task("job", "t1").state(), v1::TASK_STATE_CANCELLED);
  EXPECT_EQ(Task("job", "t0").state(), v1::TASK_STATE_CANCELLED);
  EXPECT_THAT(Task("job", "t0").message(), HasSubstr("while running on w1"));
  // The running one is stopped through the next heartbeat; the slot stays busy until the
  // worker reports.
  v1::HeartbeatResponse beat = Beat("w1", {"t0"});
  ASSERT_EQ(beat.cancel_task_ids_size(), 1);
  EXPECT_EQ(beat.cancel_task_ids(0), "t0");
  Submit(NoopJob("other", 1), 1);
  EXPECT_FALSE(Lease("w1").leased());
  Report("w1", "t0", false, "cancelled");
  EXPECT_EQ(Task("job", "t0").state(), v1::TASK_STATE_CANCELLED);  // the result is stale
  EXPECT_TRUE(Lease("w1").leased());
  // Idempotent; an unknown job is NotFound.
  EXPECT_TRUE(state_.CancelJob("job").ok());
  EXPECT_EQ(state_.CancelJob("nope").code(), StatusCode::kNotFound);
  auto job = state_.GetJob("job");
  EXPECT_EQ(job->cancelled(), 2);
}

TEST_F(HeadStateTest, DeadlineFailsQueuedAndRunningTasks) {
  Register("w1");
  Submit(NoopJob("job", 2, /*deadline=*/kStart + 10'000), 2);
  auto leased = Lease("w1");
  ASSERT_TRUE(leased.leased());
  EXPECT_EQ(leased.task().deadline_unix_ms(), kStart + 10'000);
  for (int i = 0; i < 9; ++i) {
    now_ += 1000;
    EXPECT_EQ(Beat("w1", {"t0"}).cancel_task_ids_size(), 0);
  }
  now_ += 999;
  EXPECT_EQ(Beat("w1", {"t0"}).cancel_task_ids_size(), 0);
  EXPECT_EQ(Task("job", "t0").state(), v1::TASK_STATE_RUNNING);
  now_ += 1;
  state_.Tick();
  EXPECT_EQ(Task("job", "t0").state(), v1::TASK_STATE_FAILED);
  EXPECT_THAT(Task("job", "t0").message(), HasSubstr("deadline passed while running on w1"));
  EXPECT_EQ(Task("job", "t1").state(), v1::TASK_STATE_FAILED);
  EXPECT_THAT(Task("job", "t1").message(), HasSubstr("deadline passed before it ran"));
  EXPECT_EQ(Beat("w1", {"t0"}).cancel_task_ids_size(), 1);
  // A job submitted past its deadline never runs.
  Submit(NoopJob("late", 1, /*deadline=*/kStart), 1);
  EXPECT_EQ(Task("late", "t0").state(), v1::TASK_STATE_FAILED);
}

TEST_F(HeadStateTest, SubmitIsIdempotentPerJobAndTask) {
  Register("w1");
  Submit(NoopJob("job", 2), 2);
  ASSERT_TRUE(Lease("w1").leased());
  Report("w1", "t0", true);
  Submit(NoopJob("job", 3), 1);  // t0 (done) and t1 (queued) stay as they are; t2 is new
  auto job = state_.GetJob("job");
  ASSERT_TRUE(job.ok());
  ASSERT_EQ(job->tasks_size(), 3);
  EXPECT_EQ(job->succeeded(), 1);
  EXPECT_EQ(job->pending(), 2);
  EXPECT_EQ(job->tasks(0).state(), v1::TASK_STATE_SUCCEEDED);
  EXPECT_EQ(job->tasks(2).task_id(), "t2");
  Submit(NoopJob("job", 3), 0);
}

TEST_F(HeadStateTest, SubmitRejectsBadRequests) {
  EXPECT_EQ(state_.SubmitJob(NoopJob("", 1)).status().code(), StatusCode::kInvalidArgument);
  v1::SubmitJobRequest duplicate = NoopJob("job", 2);
  duplicate.mutable_tasks(1)->set_task_id("t0");
  auto rejected = state_.SubmitJob(duplicate);
  EXPECT_EQ(rejected.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(rejected.status().message(), HasSubstr("tasks[1].task_id 't0' appears twice"));
  v1::SubmitJobRequest empty_spec = NoopJob("job", 1);
  empty_spec.mutable_tasks(0)->clear_spec();
  EXPECT_THAT(state_.SubmitJob(empty_spec).status().message(),
              HasSubstr("neither materialize nor noop"));
  EXPECT_EQ(state_.GetJob("job").status().code(), StatusCode::kNotFound);  // nothing stored
}

TEST_F(HeadStateTest, UnknownJobIsNotFound) {
  auto job = state_.GetJob("missing");
  EXPECT_EQ(job.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(job.status().message(), HasSubstr("head-a"));
}

TEST_F(HeadStateTest, StaleHeadIdOrUnknownWorkerIsToldToRegister) {
  EXPECT_TRUE(Beat("w1", {}).reregister());
  EXPECT_TRUE(Lease("w1").reregister());
  Register("w1");
  EXPECT_FALSE(Beat("w1", {}).reregister());
  EXPECT_TRUE(Beat("w1", {}, "head-old").reregister());
  EXPECT_TRUE(Lease("w1", "head-old").reregister());
  EXPECT_FALSE(Lease("w1").reregister());
  v1::RegisterWorkerRequest nameless;
  EXPECT_EQ(state_.RegisterWorker(nameless).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(HeadStateTest, WorkerRegisteringAgainGetsItsLeasesRequeued) {
  Register("w1");
  Submit(NoopJob("job", 1), 1);
  ASSERT_TRUE(Lease("w1").leased());
  Register("w1");  // the pod restarted with the same name
  v1::TaskStatus task = Task("job", "t0");
  EXPECT_EQ(task.state(), v1::TASK_STATE_PENDING);
  EXPECT_THAT(task.message(), HasSubstr("registered again"));
  EXPECT_EQ(Lease("w1").task().lease_count(), 2);
}

TEST_F(HeadStateTest, HeartbeatCancelsTasksTheHeadDoesNotKnow) {
  Register("w1");
  // E.g. the head restarted while w1 ran "old-task".
  v1::HeartbeatResponse beat = Beat("w1", {"old-task"});
  ASSERT_EQ(beat.cancel_task_ids_size(), 1);
  EXPECT_EQ(beat.cancel_task_ids(0), "old-task");
}

TEST_F(HeadStateTest, LeaseTheWorkerStoppedReportingIsRequeued) {
  Register("w1");
  Submit(NoopJob("job", 1), 1);
  ASSERT_TRUE(Lease("w1").leased());
  now_ += 1000;
  EXPECT_EQ(Beat("w1", {}).cancel_task_ids_size(), 0);  // just leased: the report may lag
  EXPECT_EQ(Task("job", "t0").state(), v1::TASK_STATE_RUNNING);
  now_ += 5000;
  Beat("w1", {});
  EXPECT_EQ(Task("job", "t0").state(), v1::TASK_STATE_PENDING);
  EXPECT_THAT(Task("job", "t0").message(), HasSubstr("w1 no longer runs it"));
}

TEST_F(HeadStateTest, ClusterStatusCountsAndIdleSince) {
  Register("w1");
  now_ += 100;
  Register("w2", 2);
  Submit(NoopJob("job", 4), 4);
  ASSERT_TRUE(Lease("w2").leased());
  v1::ClusterStatus status = state_.GetClusterStatus();
  EXPECT_EQ(status.head_id(), "head-a");
  EXPECT_EQ(status.pending_tasks(), 3);
  EXPECT_EQ(status.running_tasks(), 1);
  EXPECT_EQ(status.pending_tasks_by_group().at(""), 3);
  ASSERT_EQ(status.workers_size(), 2);
  EXPECT_EQ(status.workers(0).worker_id(), "w1");
  EXPECT_EQ(status.workers(0).idle_since_unix_ms(), kStart);
  EXPECT_EQ(status.workers(0).group_name(), "cpu");
  EXPECT_EQ(status.workers(1).idle_since_unix_ms(), 0);
  EXPECT_EQ(status.workers(1).slots(), 2);
  ASSERT_EQ(status.workers(1).running_task_ids_size(), 1);
  now_ += 50;
  Report("w2", status.workers(1).running_task_ids(0), true);
  EXPECT_EQ(state_.GetClusterStatus().workers(1).idle_since_unix_ms(), kStart + 150);
}

TEST_F(HeadStateTest, TaskIdsOfDifferentJobsNeverShareAWorker) {
  Register("w1", 2);
  Submit(NoopJob("a", 1), 1);
  Submit(NoopJob("b", 1), 1);
  ASSERT_TRUE(Lease("w1").leased());
  EXPECT_FALSE(Lease("w1").leased());  // b/t0 would be ambiguous on w1
  Register("w2");
  auto other = Lease("w2");
  ASSERT_TRUE(other.leased());
  EXPECT_EQ(other.task().job_id(), "b");
}

TEST_F(HeadStateTest, FinishedJobsAreForgottenAfterTheirRetention) {
  Register("w1");
  Submit(NoopJob("done", 1), 1);
  Submit(NoopJob("busy", 1), 1);
  ASSERT_EQ(Lease("w1").task().job_id(), "done");
  Report("w1", "t0", true);
  state_.Tick();  // first seen finished now
  for (int hour = 1; hour <= 24; ++hour) {
    now_ += 3600 * 1000 - 1;
    Beat("w1", {});
    EXPECT_TRUE(state_.GetJob("done").ok()) << "hour " << hour;
    now_ += 1;
    state_.Tick();
  }
  EXPECT_EQ(state_.GetJob("done").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(state_.GetJob("busy").ok());  // still queued: kept
  // Resubmitting a forgotten job runs it again (what a client does after a restart too).
  Submit(NoopJob("done", 1), 1);
}

TEST_F(HeadStateTest, LongPollWakesWhenATaskIsQueued) {
  Register("w1");
  v1::LeaseTaskResponse response;
  std::thread poller([&] {
    v1::LeaseTaskRequest request;
    request.set_worker_id("w1");
    request.set_head_id("head-a");
    request.set_wait_ms(60000);
    response = state_.LeaseTask(request);
  });
  Submit(NoopJob("job", 1), 1);
  poller.join();  // returns because of the submission, not after 60 s
  EXPECT_TRUE(response.leased());
}

TEST_F(HeadStateTest, ShutdownEndsLongPolls) {
  Register("w1");
  std::thread poller([&] {
    v1::LeaseTaskRequest request;
    request.set_worker_id("w1");
    request.set_head_id("head-a");
    request.set_wait_ms(60000);
    EXPECT_FALSE(state_.LeaseTask(request).leased());
  });
  state_.Shutdown();
  poller.join();
}

}  // namespace
}  // namespace featureforge::cluster
