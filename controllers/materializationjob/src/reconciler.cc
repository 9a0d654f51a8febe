// Run path of the MaterializationJob reconciler (one window, partitioned executor pods).
// The schedule path is in schedule_reconcile.cc.
#include "featureforge/controllers/materializationjob/reconciler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "featureforge/k8s/errors.h"
#include "featureforge/runtime/object_util.h"

namespace featureforge::controllers::mj {
namespace {

constexpr DurationMicros kWaitForStore = 5 * kMicrosPerSecond;

bool Finished(const Json& status) {
  const std::string phase = status.value("phase", "");
  return phase == "Succeeded" || phase == "Failed";
}

DurationMicros Until(TimestampMicros when, TimestampMicros now) {
  return std::max<DurationMicros>(when - now, kMicrosPerSecond / 10);
}

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

}  // namespace

const k8s::ResourceType& MaterializationJobs() {
  static const k8s::ResourceType type{"featureforge.dev", "v1alpha1", "materializationjobs",
                                      "MaterializationJob", true};
  return type;
}

MaterializationJobReconciler::MaterializationJobReconciler(ReconcilerDeps deps)
    : deps_(std::move(deps)), rng_(deps_.seed) {}

void MaterializationJobReconciler::Event(const Json& job, bool warning, const std::string& reason,
                                         const std::string& message) {
  spdlog::info("controller=materializationjob job={}/{} reason={} msg=\"{}\"",
               job["metadata"].value("namespace", ""), job["metadata"].value("name", ""), reason,
               message);
  if (deps_.events == nullptr) return;
  Status s = deps_.events->Record(
      job, warning ? runtime::EventType::kWarning : runtime::EventType::kNormal, reason, message);
  if (!s.ok())
    spdlog::warn("controller=materializationjob msg=\"event not recorded\" error=\"{}\"",
                 s.ToString());
}

Status MaterializationJobReconciler::WriteStatus(const Json& job, const Json& status) {
  if (job.value("status", Json::object()) == status) return Status::OK();
  Json updated = job;
  updated["status"] = status;
  auto result = deps_.client->UpdateStatus(MaterializationJobs(), updated);
  if (!result.ok())
    return result.status().WithContext("update status of " + k8s::ObjectKey::Of(job).ToString());
  return Status::OK();
}

Result<runtime::ReconcileResult> MaterializationJobReconciler::FailInvalid(
    const Json& job, const std::string& reason, const std::string& message) {
  const TimestampMicros now = deps_.clock->Now();
  Json status = job.value("status", Json::object());
  const int64_t generation = runtime::GenerationOf(job);
  const bool already = status.value("phase", "") == "Failed" && status.contains("conditions") &&
                       runtime::IsStatusConditionTrue(status["conditions"], "Failed");
  status["phase"] = "Failed";
  status["observedGeneration"] = generation;
  status["message"] = message;
  if (!status.contains("completionTime")) status["completionTime"] = FormatTimestamp(now);
  Json& conditions = status["conditions"];
  runtime::SetStatusCondition(&conditions, {"Failed", "True", reason, message, generation}, now);
  runtime::SetStatusCondition(&conditions, {"Complete", "False", reason, message, generation}, now);
  runtime::SetStatusCondition(&conditions, {"Running", "False", reason, message, generation}, now);
  if (!already || job["status"].value("message", "") != message) Event(job, true, reason, message);
  FF_RETURN_IF_ERROR(WriteStatus(job, status));
  return runtime::ReconcileResult{};
}

Result<runtime::ReconcileResult> MaterializationJobReconciler::Reconcile(
    const k8s::ObjectKey& key) {
  auto job = deps_.client->Get(MaterializationJobs(), key.ns, key.name);
  if (!job.ok()) {
    if (k8s::IsNotFound(job.status())) return runtime::ReconcileResult{};
    return job.status();
  }
  if (runtime::IsBeingDeleted(*job)) return runtime::ReconcileResult{};
  auto spec = ParseJobSpec(*job);
  if (!spec.ok()) return FailInvalid(*job, "InvalidSpec", spec.status().message());
  if (!spec->schedule.empty()) return ReconcileSchedule(*job, *spec);
  return ReconcileRun(*job, *spec);
}

Json MaterializationJobReconciler::MakePod(const Json& job, const JobSpec& spec,
                                           const StoreRepo& repo, const Json& window, int partition,
                                           int attempt) const {
  const std::string name = job["metadata"].value("name", "");
  const std::string repo_mount = "/etc/featureforge/repo";
  Json args = {"--repo",
               repo_mount,
               "executor",
               "--mode",
               spec.incremental ? "incremental" : "range",
               "--end",
               window.value("end", ""),
               "--partition",
               std::to_string(partition) + "/" + std::to_string(spec.partitions)};
  if (!spec.incremental) {
    args.push_back("--start");
    args.push_back(window.value("start", ""));
  }
  if (!spec.views.empty()) {
    args.push_back("--views");
    args.push_back(Join(spec.views, ","));
  }
  if (spec.chunk_size > 0) {
    args.push_back("--chunk-size");
    args.push_back(std::to_string(spec.chunk_size));
  }
  if (!spec.event_log_uri.empty()) {
    args.push_back("--event-log-uri");
    args.push_back(spec.event_log_uri);
    args.push_back("--run-id");
    args.push_back(PodName(name, partition, attempt));
  }
  Json env = Json::array();
  env.push_back({{"name", "FEATUREFORGE_ATTEMPT"}, {"value", std::to_string(attempt)}});
  env.push_back({{"name", "FEATUREFORGE_JOB"}, {"value", name}});
  // The store's credentials first, so the job's own env can override them.
  if (repo.credentials_env.is_array()) {
    for (const auto& e : repo.credentials_env) env.push_back(e);
  }
  for (const auto& e : spec.executor.value("env", Json::array())) env.push_back(e);
  Json container = {
      {"name", "executor"},
      {"image", spec.executor.value("image", deps_.config.executor_image)},
      {"command", {deps_.config.featureforge_command}},
      {"args", args},
      {"env", env},
      {"terminationMessagePolicy", "FallbackToLogsOnError"},
      {"volumeMounts", {{{"name", "repo"}, {"mountPath", repo_mount}, {"readOnly", true}}}}};
  if (container["image"].get<std::string>().empty())
    container["image"] = deps_.config.executor_image;
  if (spec.executor.contains("imagePullPolicy"))
    container["imagePullPolicy"] = spec.executor["imagePullPolicy"];
  if (spec.executor.contains("resources")) container["resources"] = spec.executor["resources"];
  if (repo.credentials_env_from.is_array() && !repo.credentials_env_from.empty()) {
    container["envFrom"] = repo.credentials_env_from;
  }
  Json labels = {{kJobLabel, name},
                 {kPartitionLabel, std::to_string(partition)},
                 {kAttemptLabel, std::to_string(attempt)},
                 {"app.kubernetes.io/name", "featureforge-executor"},
                 {"app.kubernetes.io/managed-by", "featureforge-operator"}};
  for (const auto& [k, v] : deps_.config.extra_labels) labels[k] = v;
  Json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata",
               {{"name", PodName(name, partition, attempt)},
                {"namespace", job["metadata"].value("namespace", "default")},
                {"labels", labels}}},
              {"spec",
               {{"restartPolicy", "Never"},
                {"containers", {container}},
                {"volumes", {{{"name", "repo"}, {"configMap", {{"name", repo.config_map}}}}}}}}};
  for (const char* f : {"serviceAccountName", "nodeSelector", "tolerations"}) {
    if (spec.executor.contains(f)) pod["spec"][f] = spec.executor[f];
  }
  (void)runtime::SetControllerReference(job, &pod);
  return pod;
}

Result<runtime::ReconcileResult> MaterializationJobReconciler::ReconcileRun(const Json& job,
                                                                            const JobSpec& spec) {
  const TimestampMicros now = deps_.clock->Now();
  const std::string ns = job["metadata"].value("namespace", "default");
  const std::string name = job["metadata"].value("name", "");
  const std::string uid = job["metadata"].value("uid", "");
  const int64_t generation = runtime::GenerationOf(job);
  const DurationMicros resync = int64_t(deps_.config.resync_seconds) * kMicrosPerSecond;
  Json status = job.value("status", Json::object());
  status["observedGeneration"] = generation;
  Json& conditions = status["conditions"];

  // Our pods, from the cache.
  std::vector<PodView> pods;
  std::vector<Json> pod_objects;
  if (deps_.pods != nullptr) {
    for (const auto& p : deps_.pods->ByOwnerUid(uid)) {
      if ((*p)["metadata"].value("labels", Json::object()).value(kJobLabel, "") != name) continue;
      pods.push_back(ViewOfPod(*p));
      pod_objects.push_back(*p);
    }
  }
  auto delete_active_pods = [&](const std::string& why) {
    int deleted = 0;
    for (const auto& pod : pods) {
      if (pod.deleting || pod.phase == "Succeeded" || pod.phase == "Failed") continue;
      Status s = deps_.client->Delete(k8s::resources::Pods(), ns, pod.name);
      if (s.ok() || k8s::IsNotFound(s)) ++deleted;
    }
    if (deleted > 0)
      Event(job, false, "DeletedPods",
            "deleted " + std::to_string(deleted) + " running executor pod(s): " + why);
  };

  std::vector<PartitionRecord> records;
  for (const auto& r : status.value("partitionStatuses", Json::array()))
    records.push_back(PartitionRecord::FromJson(r));

  // spec.computeClusterRef: partitions are tasks on the cluster's head, not pods.
  const bool on_cluster = !spec.compute_cluster.empty();
  if (on_cluster && !status.contains("computeCluster")) {
    status["computeCluster"] = {{"name", spec.compute_cluster},
                                {"headJobId", ns + "/" + name + "/" + uid}};
  }
  // Stops what runs: pods are deleted; on a cluster the head job is cancelled (and, when the
  // head cannot be reached, cancelPending makes the next reconciles try again).
  auto stop_active = [&](const std::string& why) {
    if (!on_cluster) return delete_active_pods(why);
    Json& cc = status["computeCluster"];
    const bool running = std::any_of(records.begin(), records.end(),
                                     [](const auto& r) { return r.phase == "Running"; });
    std::vector<std::string> targets;
    if (!cc.value("cancelPending", "").empty()) targets.push_back(cc.value("cancelPending", ""));
    if (running && cc.value("headJobId", "") != cc.value("cancelPending", ""))
      targets.push_back(cc.value("headJobId", ""));
    cc.erase("cancelPending");
    for (const auto& target : targets) {
      Status s = CancelOnCluster(ns, spec, target);
      if (s.ok()) {
        Event(job, false, "CancelledTasks",
              "cancelled head job " + target + " on ComputeCluster " + spec.compute_cluster + ": " +
                  why);
      } else {
        cc["cancelPending"] = target;
        Event(job, true, "CancelFailed",
              "cannot cancel head job " + target + " yet (" + why + "): " + s.message());
      }
    }
  };

  // Finished: only TTL (and stopping pods left over from the decision) remain.
  if (Finished(status)) {
    if (!on_cluster) delete_active_pods("the job finished");
    if (on_cluster && status["computeCluster"].contains("cancelPending")) {
      stop_active("the job finished");
      FF_RETURN_IF_ERROR(WriteStatus(job, status));
      if (status["computeCluster"].contains("cancelPending"))
        return runtime::ReconcileResult{false, deps_.cluster_poll};
    }
    if (!spec.ttl_seconds_after_finished) return runtime::ReconcileResult{};
    auto completed = ParseTimestamp(status.value("completionTime", ""));
    TimestampMicros done = completed.ok() ? *completed : now;
    TimestampMicros expire = done + *spec.ttl_seconds_after_finished * kMicrosPerSecond;
    if (now >= expire) {
      Status s = deps_.client->Delete(MaterializationJobs(), ns, name,
                                      k8s::DeleteOptions{"Background", std::nullopt, uid, ""});
      if (!s.ok() && !k8s::IsNotFound(s)) return s;
      spdlog::info(
          "controller=materializationjob job={}/{} msg=\"deleted after ttlSecondsAfterFinished\"",
          ns, name);
      return runtime::ReconcileResult{};
    }
    return runtime::ReconcileResult{false, Until(expire, now)};
  }

  // The store and its repo.
  auto repo = deps_.repos->Resolve(ns, spec.feature_store);
  if (!repo.ok()) {
    if (repo.status().code() == StatusCode::kUnavailable) {
      status["phase"] = "Pending";
      runtime::SetStatusCondition(
          &conditions,
          {"Running", "False", "WaitingForFeatureStore", repo.status().message(), generation}, now);
      status["message"] = repo.status().message();
      FF_RETURN_IF_ERROR(WriteStatus(job, status));
      return runtime::ReconcileResult{false, kWaitForStore};
    }
    if (repo.status().code() == StatusCode::kNotFound ||
        repo.status().code() == StatusCode::kInvalidArgument) {
      return FailInvalid(job, "InvalidSpec", repo.status().message());
    }
    return repo.status();
  }
  for (const auto& view : spec.views) {
    if (std::find(repo->all_views.begin(), repo->all_views.end(), view) == repo->all_views.end()) {
      return FailInvalid(job, "InvalidSpec",
                         "spec.featureViews: unknown feature view '" + view + "' in FeatureStore " +
                             spec.feature_store + " (views: " + Join(repo->all_views, ", ") + ")");
    }
  }

  // Start: fix the window once so every partition (and every retry) uses the same one.
  if (!status.contains("startTime")) {
    status["startTime"] = FormatTimestamp(now);
    Json window = Json::object();
    if (spec.start) window["start"] = FormatTimestamp(*spec.start);
    window["end"] = FormatTimestamp(spec.end ? *spec.end : now);
    status["window"] = window;
    status["phase"] = "Pending";
    Event(job, false, "Started",
          "materializing " +
              (spec.views.empty() ? std::string("every online view") : Join(spec.views, ", ")) +
              " of FeatureStore " + spec.feature_store + " in " + std::to_string(spec.partitions) +
              " partition(s), window " +
              (spec.incremental ? std::string("incremental") : window.value("start", "")) + " .. " +
              window.value("end", ""));
  }
  const auto parsed_start = ParseTimestamp(status.value("startTime", ""));
  const TimestampMicros started = parsed_start.ok() ? *parsed_start : now;

  auto finish_failed = [&](const std::string& reason,
                           const std::string& message) -> Result<runtime::ReconcileResult> {
    stop_active(message);
    for (auto& r : records) {
      if (r.phase == "Running" || r.phase == "Pending" || r.phase == "BackingOff")
        r.phase = r.phase == "Running" ? "Pending" : r.phase;
    }
    Json list = Json::array();
    for (const auto& r : records) list.push_back(r.ToJson());
    status["partitionStatuses"] = list;
    status["phase"] = "Failed";
    status["completionTime"] = FormatTimestamp(now);
    status["message"] = message;
    runtime::SetStatusCondition(&conditions, {"Failed", "True", reason, message, generation}, now);
    runtime::SetStatusCondition(&conditions, {"Complete", "False", reason, message, generation},
                                now);
    runtime::SetStatusCondition(&conditions, {"Running", "False", reason, message, generation},
                                now);
    Event(job, true, reason, message);
    FF_RETURN_IF_ERROR(WriteStatus(job, status));
    if (spec.ttl_seconds_after_finished) {
      return runtime::ReconcileResult{
          false, *spec.ttl_seconds_after_finished * kMicrosPerSecond + kMicrosPerSecond / 10};
    }
    return runtime::ReconcileResult{};
  };

  // Suspend: stop running pods (their attempts do not count) and wait.
  if (spec.suspend) {
    const bool was_running = std::any_of(records.begin(), records.end(),
                                         [](const auto& r) { return r.phase == "Running"; });
    stop_active("spec.suspend is true");
    if (on_cluster && was_running) {
      // Resumed attempts go to a fresh head job: the cancelled one may refuse new tasks.
      Json& cc = status["computeCluster"];
      const int64_t epoch = cc.value("epoch", int64_t{0}) + 1;
      cc["epoch"] = epoch;
      cc["headJobId"] = ns + "/" + name + "/" + uid + "/" + std::to_string(epoch);
    }
    for (auto& r : records)
      if (r.phase == "Running") r.phase = "Pending";
    Json list = Json::array();
    for (const auto& r : records) list.push_back(r.ToJson());
    if (!records.empty()) status["partitionStatuses"] = list;
    if (status.value("phase", "") != "Suspended")
      Event(job, false, "Suspended",
            "job suspended (spec.suspend=true); no executor pods run until it is resumed");
    status["phase"] = "Suspended";
    runtime::SetStatusCondition(
        &conditions, {"Running", "False", "Suspended", "spec.suspend is true", generation}, now);
    runtime::SetStatusCondition(
        &conditions, {"Suspended", "True", "Suspended", "spec.suspend is true", generation}, now);
    FF_RETURN_IF_ERROR(WriteStatus(job, status));
    return runtime::ReconcileResult{false, resync};
  }
  if (status.value("phase", "") == "Suspended") {
    runtime::SetStatusCondition(
        &conditions, {"Suspended", "False", "Resumed", "spec.suspend is false", generation}, now);
    Event(job, false, "Resumed", "job resumed");
  }

  // Deadline.
  if (spec.active_deadline_seconds &&
      now >= started + *spec.active_deadline_seconds * kMicrosPerSecond) {
    return finish_failed("DeadlineExceeded", "activeDeadlineSeconds " +
                                                 std::to_string(*spec.active_deadline_seconds) +
                                                 " exceeded; remaining executor pods stopped");
  }

  // On a ComputeCluster: find its head and what every task of this run shares.
  std::shared_ptr<cluster::HeadClient> head;
  ClusterRun run;
  std::optional<ClusterDispatch> dispatch;
  if (on_cluster) {
    auto connected = ConnectCluster(ns, spec);
    if (!connected.ok()) {
      const StatusCode code = connected.status().code();
      if (code != StatusCode::kNotFound && code != StatusCode::kUnavailable)
        return connected.status();
      return WaitForCluster(
          job, status,
          code == StatusCode::kNotFound ? "ComputeClusterNotFound" : "ComputeClusterNotReady",
          connected.status().message());
    }
    head = *connected;
    auto env = ResolveEnv(ns, spec);
    if (!env.ok()) {
      if (env.status().code() == StatusCode::kUnavailable)
        return WaitForCluster(job, status, "EnvNotResolved", env.status().message());
      return FailInvalid(job, "InvalidSpec", env.status().message());
    }
    run.head_job_id = status["computeCluster"].value("headJobId", "");
    run.job_name = name;
    run.spec = spec;
    run.window = status["window"];
    run.repo_files = repo->files;
    run.env = std::move(*env);
    if (spec.active_deadline_seconds)
      run.deadline = started + *spec.active_deadline_seconds * kMicrosPerSecond;
    dispatch.emplace(head.get(), &run);
    status["computeCluster"]["headAddress"] = head->address();
  }

  // Observe what runs: our pods, or the head's tasks.
  std::vector<PodView> observed = pods;
  if (on_cluster) {
    auto tasks = dispatch->Observe(records);
    if (!tasks.ok())
      return WaitForCluster(job, status, "HeadUnavailable", tasks.status().message());
    observed = std::move(*tasks);
    if (dispatch->head_lost()) {
      Event(job, true, "HeadRestarted",
            "head " + head->address() + " does not know job " + run.head_job_id +
                " (restarted?); submitting the unfinished partitions again");
    }
  }
  ObserveOutcome outcome;
  {
    std::lock_guard<std::mutex> lock(rng_mu_);
    outcome = ObservePods(spec, observed, now, &records, &rng_);
  }
  for (const auto& e : outcome.events) Event(job, false, "PartitionSucceeded", e);
  for (const auto& e : outcome.warning_events) {
    Event(job, true,
          e.find("backoffLimit") != std::string::npos ? "BackoffLimitExceeded" : "PartitionFailed",
          e);
  }
  if (on_cluster) {
    // Tasks the head lost (restart) or never got (a lost reply) are submitted again under the
    // same ids: not a new attempt.
    auto resubmitted = dispatch->ResubmitUnknown(records);
    if (!resubmitted.ok())
      return WaitForCluster(job, status, "HeadUnavailable", resubmitted.status().message());
    if (*resubmitted > 0 && !dispatch->head_lost()) {
      Event(job, true, "TasksResubmitted",
            std::to_string(*resubmitted) + " task(s) unknown to head " + head->address() +
                " submitted again");
    }
  } else {
    for (const auto& p : outcome.pods_to_delete)
      (void)deps_.client->Delete(k8s::resources::Pods(), ns, p);
    // Running partitions whose pod vanished (deleted, evicted and removed): confirm with the API
    // server (the cache may simply not have seen our create yet), then recreate.
    for (auto& r : records) {
      if (r.phase != "Running") continue;
      bool seen =
          std::any_of(pods.begin(), pods.end(), [&](const PodView& p) { return p.name == r.pod; });
      if (seen) continue;
      auto live = deps_.client->Get(k8s::resources::Pods(), ns, r.pod);
      if (live.ok() || !k8s::IsNotFound(live.status())) continue;
      Event(job, true, "PodVanished",
            "pod " + r.pod + " of partition " + std::to_string(r.index) +
                " disappeared before it finished; recreating it");
      r.phase = "Pending";
    }
  }
  for (const auto& r : records) {
    if (r.phase == "Failed") {
      status["lastFailure"] = {
          {"partition", r.index}, {"message", r.last_error}, {"time", FormatTimestamp(now)}};
      Json list = Json::array();
      for (const auto& rr : records) list.push_back(rr.ToJson());
      status["partitionStatuses"] = list;
      Aggregate agg = AggregateRecords(records);
      status["attempts"] = agg.attempts;
      status["progress"] = std::to_string(agg.succeeded) + "/" + std::to_string(agg.total);
      return finish_failed("BackoffLimitExceeded",
                           "partition " + std::to_string(r.index) + " failed " +
                               std::to_string(r.failures) + " time(s) (backoffLimit " +
                               std::to_string(spec.backoff_limit) + "): " + r.last_error);
    }
  }

  // Start what may start.
  const std::vector<int> to_start = PartitionsToStart(spec, records, now);
  std::string submit_error;
  if (on_cluster && !to_start.empty()) {
    Status submitted = dispatch->Start(to_start, &records);
    std::vector<std::string> ids;
    for (int i : to_start)
      ids.push_back(TaskId(i, records[size_t(i)].attempts + (submitted.ok() ? 0 : 1)));
    if (!submitted.ok()) submit_error = submitted.message();
    if (submitted.ok()) {
      Event(job, false, "SubmittedTasks",
            "submitted task(s) " + Join(ids, ", ") + " to ComputeCluster " + spec.compute_cluster +
                " (head " + head->address() + ", job " + run.head_job_id + ")");
    } else {
      Event(job, true, "SubmitFailed",
            "cannot submit task(s) " + Join(ids, ", ") + ": " + submitted.message());
    }
  }
  if (on_cluster && (dispatch->contacted() || !submit_error.empty())) {
    // The head answered (or refused) this reconcile: say so where `kubectl get mj -o yaml` shows
    // it, with an Event when it changes.
    const Json* ready = runtime::FindStatusCondition(conditions, "ComputeClusterReady");
    const std::string was = ready == nullptr ? "" : ready->value("status", "");
    const bool ok = submit_error.empty();
    if (ok && was == "False") {
      Event(job, false, "ComputeClusterReady",
            "ComputeCluster " + spec.compute_cluster + " head " + head->address() + " reachable");
    }
    if (!ok && was != "False") {
      Event(job, true, "HeadUnavailable", submit_error + "; retrying");
    }
    runtime::SetStatusCondition(
        &conditions,
        ok ? runtime::Condition{"ComputeClusterReady", "True", "HeadReachable",
                                "head " + head->address(), generation}
           : runtime::Condition{"ComputeClusterReady", "False", "HeadUnavailable", submit_error,
                                generation},
        now);
  }
  std::vector<int> created;
  for (int index : on_cluster ? std::vector<int>() : to_start) {
    PartitionRecord& r = records[size_t(index)];
    const int attempt = r.attempts + 1;
    Json pod = MakePod(job, spec, *repo, status["window"], index, attempt);
    auto made = deps_.client->Create(k8s::resources::Pods(), pod);
    if (!made.ok() && !k8s::IsAlreadyExists(made.status())) {
      Event(job, true, "CreatePodFailed",
            "cannot create pod " + PodName(name, index, attempt) + ": " + made.status().message());
      break;
    }
    r.attempts = attempt;
    r.phase = "Running";
    r.pod = PodName(name, index, attempt);
    r.retry_at = 0;
    created.push_back(index);
  }
  if (!created.empty()) {
    std::vector<std::string> names;
    for (int i : created) names.push_back(records[size_t(i)].pod);
    Event(job, false, "CreatedPods", "created executor pod(s) " + Join(names, ", "));
  }

  Aggregate agg = AggregateRecords(records);
  Json list = Json::array();
  for (const auto& r : records) list.push_back(r.ToJson());
  status["partitionStatuses"] = list;
  status["partitions"] = {{"total", agg.total},         {"pending", agg.pending},
                          {"running", agg.running},     {"backingOff", agg.backing_off},
                          {"succeeded", agg.succeeded}, {"failed", agg.failed}};
  status["progress"] = std::to_string(agg.succeeded) + "/" + std::to_string(agg.total);
  status["attempts"] = agg.attempts;
  status["rowsRead"] = agg.rows_read;
  status["rowsWritten"] = agg.rows_written;
  status["views"] = agg.views;
  for (const auto& r : records) {
    if (!r.last_error.empty())
      status["lastFailure"] = {{"partition", r.index}, {"message", r.last_error}};
  }

  if (agg.succeeded == agg.total) {
    // Every partition succeeded: advance each view's watermark exactly once.
    if (!status.value("watermarksRecorded", false)) {
      for (const auto& v : agg.views) {
        auto start = ParseTimestamp(v.value("start", ""));
        auto end = ParseTimestamp(v.value("end", ""));
        if (!start.ok() || !end.ok()) continue;
        auto recorded = deps_.repos->AdvanceWatermark(*repo, v.value("name", ""), *start, *end,
                                                      v.value("rowsWritten", int64_t{0}), now);
        if (!recorded.ok()) {
          Event(job, true, "WatermarkNotRecorded",
                "cannot advance the watermark of view " + v.value("name", "") + ": " +
                    recorded.status().message());
          status["message"] = recorded.status().message();
          FF_RETURN_IF_ERROR(WriteStatus(job, status));
          return runtime::ReconcileResult{false, 10 * kMicrosPerSecond};
        }
        if (*recorded) {
          Event(job, false, "WatermarkAdvanced",
                "view " + v.value("name", "") + " watermark advanced to " + v.value("end", "") +
                    " (" + std::to_string(v.value("rowsWritten", int64_t{0})) + " rows written)");
        }
      }
      status["watermarksRecorded"] = true;
      status["watermarksRecordedTime"] = FormatTimestamp(now);
    }
    std::string message = "all " + std::to_string(agg.total) +
                          " partition(s) succeeded: " + std::to_string(agg.rows_read) +
                          " rows read, " + std::to_string(agg.rows_written) + " rows written";
    if (agg.rows_read == 0) message += "; zero rows read in the window";
    if (!agg.notes.empty()) message += "; " + Join(agg.notes, "; ");
    if (agg.rows_read == 0 || !agg.notes.empty()) Event(job, true, "NoRowsRead", message);
    status["phase"] = "Succeeded";
    status["completionTime"] = FormatTimestamp(now);
    status["message"] = message;
    runtime::SetStatusCondition(
        &conditions, {"Complete", "True", "AllPartitionsSucceeded", message, generation}, now);
    runtime::SetStatusCondition(&conditions, {"Running", "False", "Completed", message, generation},
                                now);
    runtime::SetStatusCondition(&conditions, {"Failed", "False", "Completed", message, generation},
                                now);
    Event(job, false, "Completed", message);
    FF_RETURN_IF_ERROR(WriteStatus(job, status));
    if (spec.ttl_seconds_after_finished) {
      return runtime::ReconcileResult{
          false, *spec.ttl_seconds_after_finished * kMicrosPerSecond + kMicrosPerSecond / 10};
    }
    return runtime::ReconcileResult{};
  }

  status["phase"] =
      agg.running > 0 || agg.succeeded > 0 || agg.backing_off > 0 ? "Running" : "Pending";
  const std::string running_message =
      std::to_string(agg.running) + " running, " + std::to_string(agg.succeeded) + "/" +
      std::to_string(agg.total) + " succeeded, " + std::to_string(agg.backing_off) + " backing off";
  status["message"] = running_message;
  runtime::SetStatusCondition(
      &conditions, {"Running", "True", "PartitionsRunning", running_message, generation}, now);
  runtime::SetStatusCondition(
      &conditions, {"Complete", "False", "PartitionsRunning", running_message, generation}, now);
  runtime::SetStatusCondition(
      &conditions, {"Failed", "False", "PartitionsRunning", running_message, generation}, now);
  FF_RETURN_IF_ERROR(WriteStatus(job, status));

  DurationMicros next = resync;
  if (on_cluster) next = std::min(next, deps_.cluster_poll);
  for (const auto& r : records) {
    if (r.phase == "BackingOff") next = std::min(next, Until(r.retry_at, now));
  }
  if (spec.active_deadline_seconds) {
    next = std::min(next, Until(started + *spec.active_deadline_seconds * kMicrosPerSecond, now));
  }
  return runtime::ReconcileResult{false, next};
}

}  // namespace featureforge::controllers::mj
