#include "head_state.h"

#include <algorithm>
#include <cstdio>
#include <random>

namespace featureforge::cluster {
namespace {

std::string Seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

bool IsTerminal(v1::TaskState state) {
  return state == v1::TASK_STATE_SUCCEEDED || state == v1::TASK_STATE_FAILED ||
         state == v1::TASK_STATE_CANCELLED;
}

}  // namespace

std::string NewHeadId() {
  std::random_device device;
  std::mt19937_64 rng((static_cast<uint64_t>(device()) << 32) ^ device());
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

HeadState::HeadState(HeadStateOptions options, UnixMsClock clock)
    : options_(std::move(options)), clock_(std::move(clock)) {}

// --- workers ----------------------------------------------------------------------------

Result<v1::RegisterWorkerResponse> HeadState::RegisterWorker(
    const v1::RegisterWorkerRequest& request) {
  if (request.worker_id().empty()) {
    return Status::InvalidArgument("RegisterWorker: worker_id is empty");
  }
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_();
  TickLocked(now);
  if (workers_.count(request.worker_id()) > 0) {
    LoseWorkerLocked(request.worker_id(),
                     "worker " + request.worker_id() + " registered again (restarted)", now);
  }
  WorkerEntry& worker = workers_[request.worker_id()];
  worker.worker_id = request.worker_id();
  worker.group_name = request.group_name();
  worker.pod_name = request.pod_name();
  worker.slots = std::max(1, request.slots());
  worker.last_heartbeat_ms = now;
  worker.idle_since_ms = now;
  v1::RegisterWorkerResponse response;
  response.set_head_id(options_.head_id);
  response.set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  response.set_heartbeat_timeout_ms(options_.heartbeat_timeout_ms);
  return response;
}

bool HeadState::KnownWorkerLocked(const std::string& worker_id, const std::string& head_id) const {
  return head_id == options_.head_id && workers_.count(worker_id) > 0;
}

v1::HeartbeatResponse HeadState::Heartbeat(const v1::HeartbeatRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_();
  TickLocked(now);
  v1::HeartbeatResponse response;
  if (!KnownWorkerLocked(request.worker_id(), request.head_id())) {
    response.set_reregister(true);
    return response;
  }
  WorkerEntry& worker = workers_[request.worker_id()];
  worker.last_heartbeat_ms = now;
  const std::set<std::string> reported(request.running_task_ids().begin(),
                                       request.running_task_ids().end());
  // Leases the worker no longer reports, although it had a full timeout to start them: the
  // task is not running anywhere, so it goes back to the queue.
  std::vector<TaskKey> vanished;
  for (const TaskKey& key : worker.held) {
    const TaskEntry* task = FindTask(key);
    if (reported.count(key.second) == 0 && task != nullptr &&
        now - task->leased_at_ms > options_.heartbeat_timeout_ms) {
      vanished.push_back(key);
    }
  }
  for (const TaskKey& key : vanished) {
    ReleaseLocked(worker, key, now);
    TaskEntry* task = FindTask(key);
    if (task->state == v1::TASK_STATE_RUNNING && task->worker_id == worker.worker_id) {
      RequeueOrFailLocked(*task, "worker " + worker.worker_id + " no longer runs it");
    }
  }
  // Tasks the worker runs that are not (or no longer) its to run: cancelled, past their
  // deadline, reassigned, or unknown to this head (it restarted).
  for (const std::string& task_id : reported) {
    auto held = std::find_if(worker.held.begin(), worker.held.end(),
                             [&](const TaskKey& key) { return key.second == task_id; });
    const TaskEntry* task = held == worker.held.end() ? nullptr : FindTask(*held);
    if (task == nullptr || task->state != v1::TASK_STATE_RUNNING ||
        task->worker_id != worker.worker_id) {
      response.add_cancel_task_ids(task_id);
    }
  }
  if (!vanished.empty()) queue_changed_.notify_all();
  return response;
}

v1::LeaseTaskResponse HeadState::LeaseTask(const v1::LeaseTaskRequest& request) {
  const auto wait_until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::clamp<int64_t>(
                                             request.wait_ms(), 0, options_.max_lease_wait_ms));
  std::unique_lock<std::mutex> lock(mu_);
  v1::LeaseTaskResponse response;
  for (;;) {
    const int64_t now = clock_();
    TickLocked(now);
    if (shutting_down_) return response;
    if (!KnownWorkerLocked(request.worker_id(), request.head_id())) {
      response.set_reregister(true);
      return response;
    }
    WorkerEntry& worker = workers_[request.worker_id()];
    if (static_cast<int32_t>(worker.held.size()) < worker.slots) {
      if (TaskEntry* task = TakeQueuedLocked(worker)) {
        task->state = v1::TASK_STATE_RUNNING;
        task->worker_id = worker.worker_id;
        task->lease_count += 1;
        task->leased_at_ms = now;
        task->message =
            "leased to " + worker.worker_id + " (lease " + std::to_string(task->lease_count) + ")";
        worker.held.insert({task->job_id, task->task_id});
        worker.idle_since_ms = 0;
        response.set_leased(true);
        v1::Task* out = response.mutable_task();
        out->set_task_id(task->task_id);
        out->set_job_id(task->job_id);
        out->set_lease_count(task->lease_count);
        out->set_deadline_unix_ms(jobs_[task->job_id].deadline_unix_ms);
        *out->mutable_spec() = task->spec;
        return response;
      }
    }
    if (std::chrono::steady_clock::now() >= wait_until) return response;
    queue_changed_.wait_until(lock, wait_until);
  }
}

HeadState::TaskEntry* HeadState::TakeQueuedLocked(const WorkerEntry& worker) {
  // Oldest first. Entries that are no longer queued (cancelled, failed) are dropped; tasks
  // whose id the worker already holds are skipped (ids are unique per job only, and the
  // protocol names a worker's tasks by task_id alone).
  for (auto it = queue_.begin(); it != queue_.end();) {
    TaskEntry* task = FindTask(*it);
    if (task == nullptr || task->state != v1::TASK_STATE_PENDING) {
      it = queue_.erase(it);
      continue;
    }
    const bool id_clash =
        std::any_of(worker.held.begin(), worker.held.end(),
                    [&](const TaskKey& key) { return key.second == task->task_id; });
    if (id_clash) {
      ++it;
      continue;
    }
    queue_.erase(it);
    return task;
  }
  return nullptr;
}

void HeadState::ReportTaskResult(const v1::ReportTaskResultRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_();
  TickLocked(now);
  auto worker_it = workers_.find(request.worker_id());
  if (worker_it == workers_.end()) return;  // lost or unknown: its tasks were requeued
  WorkerEntry& worker = worker_it->second;
  auto held = std::find_if(worker.held.begin(), worker.held.end(),
                           [&](const TaskKey& key) { return key.second == request.task_id(); });
  if (held == worker.held.end()) return;
  const TaskKey key = *held;
  ReleaseLocked(worker, key, now);
  queue_changed_.notify_all();  // a slot is free
  TaskEntry* task = FindTask(key);
  if (task == nullptr || task->state != v1::TASK_STATE_RUNNING ||
      task->worker_id != worker.worker_id) {
    return;  // cancelled, past its deadline or reassigned meanwhile: the result is stale
  }
  task->result = request.result();
  if (request.result().ok()) {
    task->state = v1::TASK_STATE_SUCCEEDED;
    task->message = "succeeded on " + worker.worker_id;
  } else {
    task->state = v1::TASK_STATE_FAILED;
    task->message = "failed on " + worker.worker_id + ": " + request.result().error();
  }
}

// --- clients ----------------------------------------------------------------------------

Result<v1::SubmitJobResponse> HeadState::SubmitJob(const v1::SubmitJobRequest& request) {
  if (request.job_id().empty()) return Status::InvalidArgument("SubmitJob: job_id is empty");
  std::set<std::string> ids;
  for (int i = 0; i < request.tasks_size(); ++i) {
    const v1::SubmittedTask& task = request.tasks(i);
    const std::string where =
        "SubmitJob " + request.job_id() + ": tasks[" + std::to_string(i) + "]";
    if (task.task_id().empty()) return Status::InvalidArgument(where + ".task_id is empty");
    if (!ids.insert(task.task_id()).second) {
      return Status::InvalidArgument(where + ".task_id '" + task.task_id() +
                                     "' appears twice in the request");
    }
    if (task.spec().kind_case() == v1::TaskSpec::KIND_NOT_SET) {
      return Status::InvalidArgument(where + " (" + task.task_id() +
                                     ").spec has neither materialize nor noop");
    }
  }
  if (request.max_lease_count() < 0) {
    return Status::InvalidArgument("SubmitJob " + request.job_id() +
                                   ": max_lease_count must be >= 0");
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto [job_it, created] = jobs_.try_emplace(request.job_id());
  JobEntry& job = job_it->second;
  if (created) {
    job.job_id = request.job_id();
    job.deadline_unix_ms = request.deadline_unix_ms();
    job.max_lease_count = request.max_lease_count() > 0 ? request.max_lease_count()
                                                        : options_.default_max_lease_count;
  }
  v1::SubmitJobResponse response;
  for (const v1::SubmittedTask& submitted : request.tasks()) {
    if (job.tasks.count(submitted.task_id()) > 0) continue;
    TaskEntry& task = job.tasks[submitted.task_id()];
    task.job_id = job.job_id;
    task.task_id = submitted.task_id();
    task.spec = submitted.spec();
    task.message = "queued";
    job.task_order.push_back(task.task_id);
    queue_.push_back({job.job_id, task.task_id});
    response.set_tasks_added(response.tasks_added() + 1);
  }
  TickLocked(clock_());  // a deadline that already passed fails the tasks now
  if (response.tasks_added() > 0) queue_changed_.notify_all();
  return response;
}

v1::TaskStatus HeadState::StatusOf(const TaskEntry& task) {
  v1::TaskStatus status;
  status.set_task_id(task.task_id);
  status.set_state(task.state);
  status.set_worker_id(task.worker_id);
  status.set_lease_count(task.lease_count);
  if (task.state == v1::TASK_STATE_SUCCEEDED || task.state == v1::TASK_STATE_FAILED) {
    *status.mutable_result() = task.result;
  }
  status.set_message(task.message);
  return status;
}

Result<v1::Job> HeadState::GetJob(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  TickLocked(clock_());
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    return Status::NotFound("job '" + job_id + "' is not known to head " + options_.head_id +
                            " (never submitted, or the head restarted)");
  }
  v1::Job job;
  job.set_job_id(job_id);
  for (const std::string& task_id : it->second.task_order) {
    const TaskEntry& task = it->second.tasks.at(task_id);
    *job.add_tasks() = StatusOf(task);
    switch (task.state) {
      case v1::TASK_STATE_PENDING:
        job.set_pending(job.pending() + 1);
        break;
      case v1::TASK_STATE_RUNNING:
        job.set_running(job.running() + 1);
        break;
      case v1::TASK_STATE_SUCCEEDED:
        job.set_succeeded(job.succeeded() + 1);
        break;
      case v1::TASK_STATE_FAILED:
        job.set_failed(job.failed() + 1);
        break;
      case v1::TASK_STATE_CANCELLED:
        job.set_cancelled(job.cancelled() + 1);
        break;
      default:
        break;
    }
  }
  return job;
}

Status HeadState::CancelJob(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  TickLocked(clock_());
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    return Status::NotFound("job '" + job_id + "' is not known to head " + options_.head_id);
  }
  for (auto& [task_id, task] : it->second.tasks) {
    if (task.state == v1::TASK_STATE_PENDING) {
      task.state = v1::TASK_STATE_CANCELLED;
      task.message = "cancelled before it ran";
    } else if (task.state == v1::TASK_STATE_RUNNING) {
      // The worker keeps the slot until it stops the task; the next heartbeat reply tells it.
      task.state = v1::TASK_STATE_CANCELLED;
      task.message = "cancelled while running on " + task.worker_id;
    }
  }
  return Status::OK();
}

v1::ClusterStatus HeadState::GetClusterStatus() {
  std::lock_guard<std::mutex> lock(mu_);
  TickLocked(clock_());
  v1::ClusterStatus status;
  status.set_head_id(options_.head_id);
  int64_t pending = 0;
  int64_t running = 0;
  for (const auto& [job_id, job] : jobs_) {
    for (const auto& [task_id, task] : job.tasks) {
      if (task.state == v1::TASK_STATE_PENDING) ++pending;
      if (task.state == v1::TASK_STATE_RUNNING) ++running;
    }
  }
  status.set_pending_tasks(pending);
  status.set_running_tasks(running);
  (*status.mutable_pending_tasks_by_group())[""] = pending;
  for (const auto& [worker_id, worker] : workers_) {
    v1::WorkerStatus* out = status.add_workers();
    out->set_worker_id(worker_id);
    out->set_group_name(worker.group_name);
    out->set_pod_name(worker.pod_name);
    out->set_slots(worker.slots);
    for (const TaskKey& key : worker.held) out->add_running_task_ids(key.second);
    out->set_idle_since_unix_ms(worker.idle_since_ms);
    out->set_last_heartbeat_unix_ms(worker.last_heartbeat_ms);
  }
  return status;
}

// --- time-driven transitions --------------------------------------------------------------

void HeadState::Tick() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_();
  TickLocked(now);
  // Retention scans every task, so it runs here (a few times a second), not on every call.
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    JobEntry& job = it->second;
    const bool finished = std::all_of(job.tasks.begin(), job.tasks.end(),
                                      [](const auto& t) { return IsTerminal(t.second.state); });
    if (!finished) {
      job.finished_since_ms = 0;
    } else if (job.finished_since_ms == 0) {
      job.finished_since_ms = now;
    }
    if (finished && options_.finished_job_retention_ms > 0 &&
        now - job.finished_since_ms >= options_.finished_job_retention_ms) {
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

void HeadState::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  queue_changed_.notify_all();
}

void HeadState::TickLocked(int64_t now) {
  std::vector<std::pair<std::string, int64_t>> lost;
  for (const auto& [worker_id, worker] : workers_) {
    const int64_t silent = now - worker.last_heartbeat_ms;
    if (silent > options_.heartbeat_timeout_ms) lost.emplace_back(worker_id, silent);
  }
  for (const auto& [worker_id, silent] : lost) {
    LoseWorkerLocked(
        worker_id, "worker " + worker_id + " lost (no heartbeat for " + Seconds(silent) + ")", now);
  }
  for (auto& [job_id, job] : jobs_) {
    if (job.deadline_unix_ms <= 0 || now < job.deadline_unix_ms) continue;
    for (auto& [task_id, task] : job.tasks) {
      if (IsTerminal(task.state)) continue;
      const bool was_running = task.state == v1::TASK_STATE_RUNNING;
      task.state = v1::TASK_STATE_FAILED;
      task.message = std::string("deadline passed ") +
                     (was_running ? "while running on " + task.worker_id : "before it ran");
      task.result = v1::TaskResult();
      task.result.set_ok(false);
      task.result.set_error(task.message);
      task.result.set_finished_unix_ms(now);
    }
  }
  if (!lost.empty()) queue_changed_.notify_all();
}

HeadState::TaskEntry* HeadState::FindTask(const TaskKey& key) {
  auto job = jobs_.find(key.first);
  if (job == jobs_.end()) return nullptr;
  auto task = job->second.tasks.find(key.second);
  return task == job->second.tasks.end() ? nullptr : &task->second;
}

void HeadState::RequeueOrFailLocked(TaskEntry& task, const std::string& why) {
  const JobEntry& job = jobs_[task.job_id];
  if (task.lease_count >= job.max_lease_count) {
    task.state = v1::TASK_STATE_FAILED;
    task.message = why + "; not requeued: leased " + std::to_string(task.lease_count) +
                   " times (max_lease_count " + std::to_string(job.max_lease_count) + ")";
    task.result = v1::TaskResult();
    task.result.set_ok(false);
    task.result.set_error(task.message);
    task.result.set_finished_unix_ms(clock_());
    return;
  }
  task.state = v1::TASK_STATE_PENDING;
  task.message = why + "; requeued";
  // Front of the queue: it was submitted before everything queued behind it.
  queue_.push_front({task.job_id, task.task_id});
}

void HeadState::ReleaseLocked(WorkerEntry& worker, const TaskKey& key, int64_t now) {
  worker.held.erase(key);
  if (worker.held.empty() && worker.idle_since_ms == 0) worker.idle_since_ms = now;
}

void HeadState::LoseWorkerLocked(const std::string& worker_id, const std::string& why,
                                 int64_t /*now*/) {
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  for (const TaskKey& key : it->second.held) {
    TaskEntry* task = FindTask(key);
    if (task != nullptr && task->state == v1::TASK_STATE_RUNNING && task->worker_id == worker_id) {
      RequeueOrFailLocked(*task, why);
    }
  }
  workers_.erase(it);
}

}  // namespace featureforge::cluster
