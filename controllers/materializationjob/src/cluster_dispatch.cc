#include "featureforge/controllers/materializationjob/cluster_dispatch.h"

#include <algorithm>

namespace featureforge::controllers::mj {
namespace v1 = cluster::v1;

std::string TaskId(int partition, int attempt) {
  return "p" + std::to_string(partition) + "-a" + std::to_string(attempt);
}

bool ParseTaskId(const std::string& task_id, int* partition, int* attempt) {
  if (task_id.size() < 4 || task_id[0] != 'p') return false;
  const size_t dash = task_id.find("-a");
  if (dash == std::string::npos || dash < 2) return false;
  const std::string p = task_id.substr(1, dash - 1), a = task_id.substr(dash + 2);
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() < 9 && std::all_of(s.begin(), s.end(), ::isdigit);
  };
  if (!digits(p) || !digits(a)) return false;
  *partition = std::stoi(p);
  *attempt = std::stoi(a);
  return true;
}

PodView ViewOfTask(const v1::TaskStatus& task) {
  PodView v;
  v.name = task.task_id();
  if (!ParseTaskId(task.task_id(), &v.partition, &v.attempt)) {
    v.partition = -1;
    v.attempt = 0;
  }
  const v1::TaskResult& result = task.result();
  switch (task.state()) {
    case v1::TASK_STATE_SUCCEEDED:
      v.phase = "Succeeded";
      break;
    case v1::TASK_STATE_FAILED:
      v.phase = "Failed";
      break;
    case v1::TASK_STATE_CANCELLED:
      v.phase = "Failed";
      v.reason = "Cancelled";
      break;
    case v1::TASK_STATE_RUNNING:
      v.phase = "Running";
      break;
    default:
      v.phase = "Pending";
      break;
  }
  v.exit_code = result.exit_code();
  v.raw_message = result.result_json();
  if (v.raw_message.empty()) v.raw_message = result.error();
  if (v.raw_message.empty()) v.raw_message = task.message();
  v.message = Json::parse(result.result_json(), nullptr, /*allow_exceptions=*/false);
  if (v.message.is_discarded() || !v.message.is_object()) v.message = nullptr;
  // The executor's JSON names its error; a worker-side failure (could not start, deadline) says
  // it in result.error or the task message.
  if (v.phase == "Failed" && v.message.is_object() && v.message.value("error", "").empty() &&
      !result.error().empty()) {
    v.message["error"] = result.error();
  }
  v.finished_at = result.finished_unix_ms() * 1000;
  return v;
}

std::string HeadServiceName(const std::string& compute_cluster) {
  return compute_cluster + "-head";
}

Result<std::string> HeadAddress(const Json& compute_cluster, const Json& head_service) {
  const std::string name = compute_cluster["metadata"].value("name", "");
  const Json status = compute_cluster.value("status", Json::object());
  const std::string state = status.is_object() ? status.value("state", "") : "";
  // A Failed cluster (e.g. a worker group that cannot create pods) may still have a working
  // head: only a suspended cluster or a head pod known not to be ready stops submissions.
  if (state == "Suspended") return Status::Unavailable("ComputeCluster " + name + " is " + state);
  if (status.is_object() && status.contains("conditions") && status["conditions"].is_array()) {
    for (const auto& c : status["conditions"]) {
      if (c.value("type", "") == "HeadPodReady" && c.value("status", "") == "False") {
        return Status::Unavailable("ComputeCluster " + name + " head is not ready: " +
                                   c.value("message", c.value("reason", "")));
      }
    }
  }
  if (status.is_object() && status.contains("head") && status["head"].is_object()) {
    std::string endpoint = status["head"].value("endpoint", "");
    if (const size_t scheme = endpoint.find("://"); scheme != std::string::npos) {
      endpoint = endpoint.substr(scheme + 3);
    }
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    if (!endpoint.empty()) return endpoint;
  }
  if (head_service.is_object() && head_service.contains("spec")) {
    const Json& spec = head_service["spec"];
    const std::string ip = spec.value("clusterIP", "");
    int port = 0;
    for (const auto& p : spec.value("ports", Json::array())) {
      if (port == 0 || p.value("name", "") == "grpc") port = p.value("port", 0);
      if (p.value("name", "") == "grpc") break;
    }
    if (!ip.empty() && ip != "None" && port > 0) return ip + ":" + std::to_string(port);
  }
  return Status::Unavailable("ComputeCluster " + name +
                             " has no head endpoint yet (status.head.endpoint, Service " +
                             HeadServiceName(name) + ")");
}

v1::SubmittedTask MakePartitionTask(const ClusterRun& run, int partition, int attempt) {
  v1::SubmittedTask task;
  task.set_task_id(TaskId(partition, attempt));
  v1::MaterializePartition* m = task.mutable_spec()->mutable_materialize();
  for (const auto& [path, content] : run.repo_files) (*m->mutable_repo_files())[path] = content;
  m->set_mode(run.spec.incremental ? "incremental" : "range");
  if (!run.spec.incremental) m->set_start(run.window.value("start", ""));
  m->set_end(run.window.value("end", ""));
  for (const auto& view : run.spec.views) m->add_feature_views(view);
  m->set_partition_index(partition);
  m->set_partition_count(run.spec.partitions);
  m->set_chunk_size(run.spec.chunk_size);
  m->set_event_log_uri(run.spec.event_log_uri);
  m->set_run_id(PodName(run.job_name, partition, attempt));
  m->set_attempt(attempt);
  for (const auto& [key, value] : run.env) (*m->mutable_env())[key] = value;
  (*m->mutable_env())["FEATUREFORGE_ATTEMPT"] = std::to_string(attempt);
  (*m->mutable_env())["FEATUREFORGE_JOB"] = run.job_name;
  return task;
}

Result<std::vector<PodView>> ClusterDispatch::Observe(const std::vector<PartitionRecord>& records) {
  head_lost_ = false;
  known_.clear();
  std::vector<PodView> views;
  const bool any_running =
      std::any_of(records.begin(), records.end(),
                  [](const PartitionRecord& r) { return r.phase == "Running"; });
  if (!any_running) return views;
  auto job = head_->GetJob(run_->head_job_id);
  if (!job.ok()) {
    if (job.status().code() == StatusCode::kNotFound) {
      contacted_ = true;
      head_lost_ = true;
      return views;
    }
    return job.status().WithContext("GetJob " + run_->head_job_id + " from head " +
                                    head_->address());
  }
  contacted_ = true;
  for (const auto& task : job->tasks()) {
    known_[task.task_id()] = true;
    views.push_back(ViewOfTask(task));
  }
  return views;
}

Result<int> ClusterDispatch::ResubmitUnknown(const std::vector<PartitionRecord>& records) {
  v1::SubmitJobRequest request;
  request.set_job_id(run_->head_job_id);
  if (run_->deadline > 0) request.set_deadline_unix_ms(run_->deadline / 1000);
  for (const auto& r : records) {
    if (r.phase != "Running" || known_.count(r.pod) > 0) continue;
    *request.add_tasks() = MakePartitionTask(*run_, r.index, r.attempts);
  }
  if (request.tasks_size() == 0) return 0;
  auto submitted = head_->SubmitJob(request);
  if (!submitted.ok()) {
    return submitted.status().WithContext("resubmit job " + run_->head_job_id + " to head " +
                                          head_->address());
  }
  contacted_ = true;
  return request.tasks_size();
}

Status ClusterDispatch::Start(const std::vector<int>& partitions,
                              std::vector<PartitionRecord>* records) {
  if (partitions.empty()) return Status::OK();
  v1::SubmitJobRequest request;
  request.set_job_id(run_->head_job_id);
  if (run_->deadline > 0) request.set_deadline_unix_ms(run_->deadline / 1000);
  for (int index : partitions) {
    *request.add_tasks() = MakePartitionTask(*run_, index, (*records)[size_t(index)].attempts + 1);
  }
  auto submitted = head_->SubmitJob(request);
  if (!submitted.ok()) {
    return submitted.status().WithContext("submit job " + run_->head_job_id + " to head " +
                                          head_->address());
  }
  contacted_ = true;
  for (int index : partitions) {
    PartitionRecord& r = (*records)[size_t(index)];
    r.attempts += 1;
    r.phase = "Running";
    r.pod = TaskId(index, r.attempts);
    r.retry_at = 0;
  }
  return Status::OK();
}

Status ClusterDispatch::Cancel() {
  auto cancelled = head_->CancelJob(run_->head_job_id);
  if (!cancelled.ok() && cancelled.status().code() != StatusCode::kNotFound) {
    return cancelled.status().WithContext("cancel job " + run_->head_job_id + " on head " +
                                          head_->address());
  }
  return Status::OK();
}

}  // namespace featureforge::controllers::mj
