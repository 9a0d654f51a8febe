// ClusterWorker: one heartbeat thread, one lease thread per slot. All head calls carry a
// deadline; failures are retried with capped exponential backoff.
#include "featureforge/cluster/cluster_worker.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "featureforge/cluster/v1/cluster.grpc.pb.h"
#include "grpc_util.h"
#include "task_runner.h"

namespace featureforge::cluster {

class ClusterWorker::Impl {
 public:
  explicit Impl(WorkerOptions options)
      : options_(std::move(options)),
        stub_(v1::ClusterHead::NewStub(NewHeadChannel(options_.head_address))) {
    runner_.executable = options_.executable;
    runner_.work_dir = options_.work_dir;
    runner_.kill_grace = options_.kill_grace;
    runner_.worker_id = options_.worker_id;
  }

  void Start() {
    heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
    for (int slot = 0; slot < std::max(1, options_.slots); ++slot) {
      slot_threads_.emplace_back([this] { SlotLoop(); });
    }
  }

  void Stop() {
    if (stop_requested_.exchange(true)) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      for (grpc::ClientContext* poll : lease_polls_) poll->TryCancel();
    }
    changed_.notify_all();
    // Running tasks may finish (and be reported) within the grace period ...
    {
      std::unique_lock<std::mutex> lock(mu_);
      const bool drained =
          changed_.wait_for(lock, options_.grace_period, [this] { return executing_.empty(); });
      if (!drained) {
        // ... the rest are killed and reported failed.
        const std::string why = "worker " + options_.worker_id +
                                " stopping: task killed after the grace period of " +
                                std::to_string(options_.grace_period.count()) + "ms";
        for (auto& [task_id, control] : executing_) control->Stop(why);
      }
    }
    for (auto& thread : slot_threads_) thread.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      exiting_ = true;
    }
    changed_.notify_all();
    if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
    spdlog::info("worker {} stopped", options_.worker_id);
  }

 private:
  // The head session: registers when needed (one thread at a time) and returns the head_id to
  // use, or "" when the worker is exiting. Retries with backoff while the head is away.
  std::string Session(bool for_lease) {
    std::unique_lock<std::mutex> lock(mu_);
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
      if (exiting_ || (for_lease && stopping_)) return "";
      if (!head_id_.empty()) return head_id_;
      if (registering_) {
        changed_.wait(lock);
        continue;
      }
      registering_ = true;
      lock.unlock();
      v1::RegisterWorkerRequest request;
      request.set_worker_id(options_.worker_id);
      request.set_group_name(options_.group_name);
      request.set_pod_name(options_.pod_name);
      request.set_slots(std::max(1, options_.slots));
      v1::RegisterWorkerResponse response;
      grpc::ClientContext context;
      SetDeadline(&context, options_.rpc_timeout);
      grpc::Status status = stub_->RegisterWorker(&context, request, &response);
      lock.lock();
      registering_ = false;
      changed_.notify_all();
      if (status.ok()) {
        head_id_ = response.head_id();
        if (response.heartbeat_interval_ms() > 0) {
          heartbeat_interval_ = std::chrono::milliseconds(response.heartbeat_interval_ms());
        }
        spdlog::info("worker {} registered with head {} (head_id {})", options_.worker_id,
                     options_.head_address, head_id_);
        return head_id_;
      }
      LogHeadError("RegisterWorker", status);
      changed_.wait_for(lock, backoff, [&] { return exiting_ || (for_lease && stopping_); });
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }

  // Forgets the session with `head_id` (the head restarted or lost us); the next call registers.
  void Reregister(const std::string& head_id) {
    std::lock_guard<std::mutex> lock(mu_);
    if (head_id_ == head_id) {
      spdlog::info("worker {}: head {} asks to register again", options_.worker_id, head_id);
      head_id_.clear();
    }
  }

  void LogHeadError(const char* method, const grpc::Status& status) {
    // Once per outage at warn level; repeats go to debug so a long outage does not flood logs.
    Status mapped = StatusFromGrpc(status, options_.head_address, method, options_.rpc_timeout);
    if (!head_unreachable_.exchange(true)) {
      spdlog::warn("worker {}: {}; retrying", options_.worker_id, mapped.ToString());
    } else {
      spdlog::debug("worker {}: {}", options_.worker_id, mapped.ToString());
    }
  }

  void HeartbeatLoop() {
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
      const std::string head_id = Session(/*for_lease=*/false);
      if (head_id.empty()) return;
      v1::HeartbeatRequest request;
      request.set_worker_id(options_.worker_id);
      request.set_head_id(head_id);
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& task_id : holding_) request.add_running_task_ids(task_id);
      }
      v1::HeartbeatResponse response;
      grpc::ClientContext context;
      SetDeadline(&context, options_.rpc_timeout);
      grpc::Status status = stub_->Heartbeat(&context, request, &response);
      std::unique_lock<std::mutex> lock(mu_);
      auto wait = heartbeat_interval_;
      if (status.ok()) {
        head_unreachable_ = false;
        backoff = std::chrono::milliseconds(100);
        if (response.reregister()) {
          lock.unlock();
          Reregister(head_id);
          continue;
        }
        for (const auto& task_id : response.cancel_task_ids()) {
          auto it = executing_.find(task_id);
          if (it != executing_.end()) {
            spdlog::info("worker {}: head cancels task {}", options_.worker_id, task_id);
            it->second->Stop(
                "cancelled by the head (job cancelled, deadline passed or task "
                "reassigned)");
          }
        }
      } else {
        LogHeadError("Heartbeat", status);
        wait = std::min(wait, backoff);
        backoff = std::min(backoff * 2, options_.max_backoff);
      }
      changed_.wait_for(lock, wait, [this] { return exiting_; });
      if (exiting_) return;
    }
  }

  void SlotLoop() {
    auto backoff = std::chrono::milliseconds(100);
    for (;;) {
      const std::string head_id = Session(/*for_lease=*/true);
      if (head_id.empty()) return;
      v1::LeaseTaskRequest request;
      request.set_worker_id(options_.worker_id);
      request.set_head_id(head_id);
      request.set_wait_ms(options_.lease_wait.count());
      v1::LeaseTaskResponse response;
      grpc::ClientContext context;
      SetDeadline(&context, options_.lease_wait + options_.rpc_timeout);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        lease_polls_.insert(&context);
      }
      grpc::Status status = stub_->LeaseTask(&context, request, &response);
      {
        std::lock_guard<std::mutex> lock(mu_);
        lease_polls_.erase(&context);
        if (stopping_ && !(status.ok() && response.leased())) return;
      }
      if (!status.ok()) {
        LogHeadError("LeaseTask", status);
        std::unique_lock<std::mutex> lock(mu_);
        changed_.wait_for(lock, backoff, [this] { return stopping_; });
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
      head_unreachable_ = false;
      backoff = std::chrono::milliseconds(100);
      if (response.reregister()) {
        Reregister(head_id);
        continue;
      }
      if (response.leased()) RunAndReport(response.task(), head_id);
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
  }

  void RunAndReport(const v1::Task& task, const std::string& head_id) {
    auto control = std::make_shared<TaskControl>();
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) {
        // Leased while (or just before) this worker began stopping, after Stop() looked at the
        // running tasks: never started, reported at once so the head does not wait for a lost
        // heartbeat to learn of it.
        holding_.insert(task.task_id());
        lock.unlock();
        v1::TaskResult result;
        result.set_ok(false);
        result.set_exit_code(1);
        result.set_error("worker " + options_.worker_id + " stopping: task not started");
        spdlog::info("worker {}: stopping, not starting task {}", options_.worker_id,
                     task.task_id());
        Report(task, result, head_id);
        std::lock_guard<std::mutex> relock(mu_);
        holding_.erase(task.task_id());
        return;
      }
      // The head never leases an id this worker holds, so a run of the same id still here is
      // stale (from before a head restart, or reassigned): stop it and drop its result.
      if (auto old = executing_.find(task.task_id()); old != executing_.end()) {
        superseded_.insert(old->second.get());
        old->second->Stop("superseded by a new lease of the same task");
        changed_.wait(lock, [&] { return executing_.count(task.task_id()) == 0; });
      }
      executing_[task.task_id()] = control;
      holding_.insert(task.task_id());
    }
    spdlog::info("worker {}: running task {} of job {} (lease {})", options_.worker_id,
                 task.task_id(), task.job_id(), task.lease_count());
    v1::TaskResult result = RunTask(task, runner_, *control);
    spdlog::info("worker {}: task {} finished ok={} exit_code={} {}", options_.worker_id,
                 task.task_id(), result.ok(), result.exit_code(), result.error());
    bool superseded = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      executing_.erase(task.task_id());
      superseded = superseded_.erase(control.get()) > 0;
    }
    changed_.notify_all();
    if (superseded) return;  // the new run owns the id (and the heartbeat entry)
    Report(task, result, head_id);
    // The task stays in the heartbeat's running list until its result was delivered, so the
    // head never requeues a finished task whose report is on its way.
    std::lock_guard<std::mutex> lock(mu_);
    holding_.erase(task.task_id());
  }

  void Report(const v1::Task& task, const v1::TaskResult& result, const std::string& head_id) {
    v1::ReportTaskResultRequest request;
    request.set_worker_id(options_.worker_id);
    request.set_task_id(task.task_id());
    *request.mutable_result() = result;
    auto backoff = std::chrono::milliseconds(100);
    for (int attempt = 1;; ++attempt) {
      v1::ReportTaskResultResponse response;
      grpc::ClientContext context;
      SetDeadline(&context, options_.rpc_timeout);
      grpc::Status status = stub_->ReportTaskResult(&context, request, &response);
      if (status.ok()) return;
      LogHeadError("ReportTaskResult", status);
      std::unique_lock<std::mutex> lock(mu_);
      // A new head does not know the task; while stopping, give up after a few tries.
      if (exiting_ || (!head_id_.empty() && head_id_ != head_id) || (stopping_ && attempt >= 3)) {
        spdlog::warn("worker {}: result of task {} not delivered", options_.worker_id,
                     task.task_id());
        return;
      }
      changed_.wait_for(lock, backoff, [this] { return exiting_; });
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }

  const WorkerOptions options_;
  TaskRunnerOptions runner_;
  std::unique_ptr<v1::ClusterHead::Stub> stub_;
  std::thread heartbeat_thread_;
  std::vector<std::thread> slot_threads_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> head_unreachable_{false};

  std::mutex mu_;
  std::condition_variable changed_;
  std::string head_id_;  // "" = not registered
  bool registering_ = false;
  bool stopping_ = false;  // no more leases
  bool exiting_ = false;   // every thread ends
  std::chrono::milliseconds heartbeat_interval_{1000};
  std::map<std::string, std::shared_ptr<TaskControl>> executing_;
  std::set<std::string> holding_;            // executing or result not yet delivered
  std::set<const TaskControl*> superseded_;  // stale runs whose results are dropped
  std::set<grpc::ClientContext*> lease_polls_;
};

ClusterWorker::ClusterWorker(WorkerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

ClusterWorker::~ClusterWorker() { Stop(); }

void ClusterWorker::Start() { impl_->Start(); }

void ClusterWorker::Stop() { impl_->Stop(); }

}  // namespace featureforge::cluster
