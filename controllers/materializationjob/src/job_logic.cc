#include "featureforge/controllers/materializationjob/job_logic.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "featureforge/controllers/materializationjob/cron.h"

namespace featureforge::controllers::mj {
namespace {

Result<std::optional<TimestampMicros>> OptionalTime(const Json& spec, const char* field) {
  if (!spec.contains(field) || spec[field].is_null()) return std::optional<TimestampMicros>();
  if (!spec[field].is_string()) {
    return Status::InvalidArgument(std::string("spec.") + field + " must be an RFC 3339 string");
  }
  auto ts = ParseTimestamp(spec[field].get<std::string>());
  if (!ts.ok()) return ts.status().WithContext(std::string("spec.") + field);
  return std::optional<TimestampMicros>(*ts);
}

template <typename T>
Result<T> Number(const Json& obj, const char* field, T fallback, T minimum,
                 const std::string& path) {
  if (!obj.contains(field) || obj[field].is_null()) return fallback;
  if (!obj[field].is_number_integer()) {
    return Status::InvalidArgument(path + field + " must be an integer");
  }
  T value = obj[field].get<T>();
  if (value < minimum) {
    return Status::InvalidArgument(path + field + " must be >= " + std::to_string(minimum) +
                                   ", got " + std::to_string(value));
  }
  return value;
}

std::string Str(const Json& obj, const char* field, const std::string& fallback = "") {
  if (obj.is_object() && obj.contains(field) && obj[field].is_string()) {
    return obj[field].get<std::string>();
  }
  return fallback;
}

}  // namespace

Result<JobSpec> ParseJobSpec(const Json& job) {
  if (!job.contains("spec") || !job["spec"].is_object()) {
    return Status::InvalidArgument("spec is missing");
  }
  const Json& spec = job["spec"];
  JobSpec out;
  out.feature_store = Str(spec, "featureStore");
  if (out.feature_store.empty()) return Status::InvalidArgument("spec.featureStore is required");
  if (spec.contains("featureViews") && spec["featureViews"].is_array()) {
    for (const auto& v : spec["featureViews"]) {
      if (!v.is_string() || v.get<std::string>().empty()) {
        return Status::InvalidArgument("spec.featureViews entries must be non-empty strings");
      }
      out.views.push_back(v.get<std::string>());
    }
  }
  std::string mode = Str(spec, "mode", "range");
  if (mode != "range" && mode != "incremental") {
    return Status::InvalidArgument("spec.mode must be range or incremental, got '" + mode + "'");
  }
  out.incremental = mode == "incremental";
  FF_ASSIGN_OR_RETURN(out.start, OptionalTime(spec, "startTime"));
  FF_ASSIGN_OR_RETURN(out.end, OptionalTime(spec, "endTime"));
  out.schedule = Str(spec, "schedule");
  if (!out.incremental && out.schedule.empty()) {
    if (!out.start) return Status::InvalidArgument("spec.startTime is required in range mode");
    if (!out.end) return Status::InvalidArgument("spec.endTime is required in range mode");
  }
  if (out.start && out.end && *out.start > *out.end) {
    return Status::InvalidArgument("spec.startTime " + FormatTimestamp(*out.start) +
                                   " is after spec.endTime " + FormatTimestamp(*out.end));
  }
  if (spec.contains("executor") && spec["executor"].is_object()) out.executor = spec["executor"];
  const std::string ep = "spec.executor.";
  FF_ASSIGN_OR_RETURN(out.partitions, Number<int>(out.executor, "partitions", 1, 1, ep));
  FF_ASSIGN_OR_RETURN(out.parallelism, Number<int>(out.executor, "parallelism", 4, 1, ep));
  FF_ASSIGN_OR_RETURN(out.chunk_size, Number<int64_t>(out.executor, "chunkSize", 0, 0, ep));
  FF_ASSIGN_OR_RETURN(out.backoff_limit, Number<int>(spec, "backoffLimit", 3, 0, "spec."));
  Json backoff = spec.value("backoff", Json::object());
  if (!backoff.is_object()) backoff = Json::object();
  FF_ASSIGN_OR_RETURN(out.backoff_initial_seconds,
                      Number<int64_t>(backoff, "initialSeconds", 10, 0, "spec.backoff."));
  FF_ASSIGN_OR_RETURN(out.backoff_max_seconds,
                      Number<int64_t>(backoff, "maxSeconds", 300, 0, "spec.backoff."));
  if (spec.contains("activeDeadlineSeconds")) {
    FF_ASSIGN_OR_RETURN(int64_t v, Number<int64_t>(spec, "activeDeadlineSeconds", 0, 1, "spec."));
    out.active_deadline_seconds = v;
  }
  if (spec.contains("ttlSecondsAfterFinished")) {
    FF_ASSIGN_OR_RETURN(int64_t v, Number<int64_t>(spec, "ttlSecondsAfterFinished", 0, 0, "spec."));
    out.ttl_seconds_after_finished = v;
  }
  out.suspend = spec.value("suspend", false);
  if (spec.contains("eventLog") && spec["eventLog"].is_object()) {
    out.event_log_uri = Str(spec["eventLog"], "uri");
  }
  out.compute_cluster = Str(spec, "computeClusterRef");
  out.time_zone = Str(spec, "timeZone");
  out.concurrency_policy = Str(spec, "concurrencyPolicy", "Allow");
  if (out.concurrency_policy != "Allow" && out.concurrency_policy != "Forbid" &&
      out.concurrency_policy != "Replace") {
    return Status::InvalidArgument(
        "spec.concurrencyPolicy must be Allow, Forbid or Replace, got '" + out.concurrency_policy +
        "'");
  }
  if (spec.contains("startingDeadlineSeconds")) {
    FF_ASSIGN_OR_RETURN(int64_t v, Number<int64_t>(spec, "startingDeadlineSeconds", 0, 0, "spec."));
    out.starting_deadline_seconds = v;
  }
  FF_ASSIGN_OR_RETURN(out.successful_history_limit,
                      Number<int>(spec, "successfulRunsHistoryLimit", 3, 0, "spec."));
  FF_ASSIGN_OR_RETURN(out.failed_history_limit,
                      Number<int>(spec, "failedRunsHistoryLimit", 1, 0, "spec."));
  if (!out.schedule.empty()) {
    auto cron = CronSchedule::Parse(out.schedule);
    if (!cron.ok()) return cron.status().WithContext("spec.schedule");
    auto zone = TimeZone::Load(out.time_zone);
    if (!zone.ok()) return zone.status().WithContext("spec.timeZone");
  }
  return out;
}

DurationMicros RetryDelay(int failures, int64_t initial_seconds, int64_t max_seconds,
                          std::mt19937_64* rng) {
  if (failures < 1) failures = 1;
  double seconds = double(initial_seconds) * std::pow(2.0, std::min(failures - 1, 40));
  seconds = std::min(seconds, double(max_seconds));
  if (rng != nullptr && seconds > 0) {
    std::uniform_real_distribution<double> jitter(0.0, 0.1);
    seconds = std::min(seconds * (1.0 + jitter(*rng)), double(max_seconds));
  }
  return DurationMicros(seconds * double(kMicrosPerSecond));
}

PodView ViewOfPod(const Json& pod) {
  PodView v;
  v.name = pod["metadata"].value("name", "");
  const Json labels = pod["metadata"].value("labels", Json::object());
  auto label_int = [&](const char* key) {
    std::string s = Str(labels, key);
    try {
      return s.empty() ? -1 : std::stoi(s);
    } catch (...) {
      return -1;
    }
  };
  v.partition = label_int(kPartitionLabel);
  v.attempt = label_int(kAttemptLabel);
  v.deleting = pod["metadata"].contains("deletionTimestamp") &&
               !pod["metadata"]["deletionTimestamp"].is_null();
  const Json status = pod.value("status", Json::object());
  v.phase = Str(status, "phase", "Pending");
  v.reason = Str(status, "reason");
  for (const auto& cs : status.value("containerStatuses", Json::array())) {
    if (!cs.contains("state") || !cs["state"].contains("terminated")) continue;
    const Json& term = cs["state"]["terminated"];
    v.exit_code = term.value("exitCode", 0);
    if (v.reason.empty()) v.reason = Str(term, "reason");
    v.raw_message = Str(term, "message");
    if (auto finished = ParseTimestamp(Str(term, "finishedAt")); finished.ok()) {
      v.finished_at = *finished;
    }
    v.message = Json::parse(v.raw_message, nullptr, /*allow_exceptions=*/false);
    if (v.message.is_discarded()) v.message = nullptr;
  }
  return v;
}

Json PartitionRecord::ToJson() const {
  Json j = {{"index", index}, {"phase", phase}, {"attempts", attempts}, {"failures", failures}};
  if (!pod.empty()) j["pod"] = pod;
  if (retry_at != 0) j["retryAt"] = FormatTimestamp(retry_at);
  if (!last_error.empty()) j["lastError"] = last_error;
  if (!result.is_null()) j["result"] = result;
  return j;
}

PartitionRecord PartitionRecord::FromJson(const Json& j) {
  PartitionRecord r;
  r.index = j.value("index", 0);
  r.phase = j.value("phase", "Pending");
  r.attempts = j.value("attempts", 0);
  r.failures = j.value("failures", 0);
  r.pod = j.value("pod", "");
  if (auto t = ParseTimestamp(j.value("retryAt", "")); t.ok()) r.retry_at = *t;
  r.last_error = j.value("lastError", "");
  r.result = j.contains("result") ? j["result"] : Json();
  return r;
}

std::string PodName(const std::string& job, int partition, int attempt) {
  return job + "-p" + std::to_string(partition) + "-a" + std::to_string(attempt);
}

ObserveOutcome ObservePods(const JobSpec& spec, const std::vector<PodView>& pods,
                           TimestampMicros now, std::vector<PartitionRecord>* records,
                           std::mt19937_64* rng) {
  ObserveOutcome out;
  if (int(records->size()) < spec.partitions) {
    for (int i = int(records->size()); i < spec.partitions; ++i) {
      PartitionRecord r;
      r.index = i;
      records->push_back(r);
    }
  }
  for (const PodView& pod : pods) {
    if (pod.partition < 0 || pod.partition >= int(records->size())) continue;
    PartitionRecord& r = (*records)[size_t(pod.partition)];
    // Only the pod of the partition's current, running attempt decides anything; pods of
    // attempts already accounted for stay (finished) for `kubectl logs`.
    if (pod.attempt != r.attempts || r.phase != "Running") continue;
    if (pod.phase == "Succeeded") {
      r.phase = "Succeeded";
      r.result = pod.message.is_object() ? pod.message : Json::object();
      r.last_error.clear();
      out.events.push_back("partition " + std::to_string(r.index) + " attempt " +
                           std::to_string(pod.attempt) + " succeeded (pod " + pod.name + ")");
    } else if (pod.phase == "Failed" && pod.reason == "Cancelled") {
      // A ComputeCluster task cancelled on the head (not by this job's decision): the attempt
      // never ran to an outcome, so it is started again without counting.
      r.phase = "Pending";
      r.last_error = "task " + pod.name + " was cancelled on the head";
      out.warning_events.push_back("partition " + std::to_string(r.index) + " task " + pod.name +
                                   " was cancelled on the head; submitting it again");
    } else if (pod.phase == "Failed" && pod.reason == "Evicted") {
      // Evictions are the cluster's doing, not the partition's: recreate without counting.
      r.phase = "Pending";
      r.last_error = "pod " + pod.name + " evicted";
      out.pods_to_delete.push_back(pod.name);
      out.warning_events.push_back("partition " + std::to_string(r.index) + " pod " + pod.name +
                                   " was evicted; recreating it");
    } else if (pod.phase == "Failed") {
      ++r.failures;
      std::string error = pod.message.is_object() ? pod.message.value("error", "") : "";
      if (error.empty()) error = pod.raw_message.empty() ? pod.reason : pod.raw_message;
      r.last_error = "attempt " + std::to_string(pod.attempt) + " (pod " + pod.name + ") exited " +
                     std::to_string(pod.exit_code) + ": " + error;
      if (r.failures > spec.backoff_limit) {
        r.phase = "Failed";
        out.warning_events.push_back("partition " + std::to_string(r.index) +
                                     " reached backoffLimit " + std::to_string(spec.backoff_limit) +
                                     " after " + std::to_string(r.failures) +
                                     " failures: " + r.last_error);
      } else {
        DurationMicros delay =
            RetryDelay(r.failures, spec.backoff_initial_seconds, spec.backoff_max_seconds, rng);
        r.phase = "BackingOff";
        r.retry_at = now + delay;
        out.warning_events.push_back("partition " + std::to_string(r.index) + " " + r.last_error +
                                     "; retrying partition " + std::to_string(r.index) + " after " +
                                     FormatDuration(delay / kMicrosPerSecond * kMicrosPerSecond));
      }
    }
  }
  return out;
}

std::vector<int> PartitionsToStart(const JobSpec& spec, const std::vector<PartitionRecord>& records,
                                   TimestampMicros now) {
  int running = 0;
  for (const auto& r : records) running += r.phase == "Running" ? 1 : 0;
  std::vector<int> out;
  for (const auto& r : records) {
    if (running >= spec.parallelism) break;
    bool ready = r.phase == "Pending" || (r.phase == "BackingOff" && r.retry_at <= now);
    if (!ready) continue;
    out.push_back(r.index);
    ++running;
  }
  return out;
}

Aggregate AggregateRecords(const std::vector<PartitionRecord>& records) {
  Aggregate a;
  std::map<std::string, Json> views;
  for (const auto& r : records) {
    ++a.total;
    a.attempts += r.attempts;
    if (r.phase == "Pending") ++a.pending;
    if (r.phase == "Running") ++a.running;
    if (r.phase == "Succeeded") ++a.succeeded;
    if (r.phase == "Failed") ++a.failed;
    if (r.phase == "BackingOff") ++a.backing_off;
    if (r.phase != "Succeeded" || !r.result.is_object()) continue;
    a.rows_read += r.result.value("rows_read", int64_t{0});
    a.rows_written += r.result.value("rows_written", int64_t{0});
    for (const auto& v : r.result.value("views", Json::array())) {
      std::string name = v.value("view", "");
      Json& agg = views[name];
      if (agg.is_null()) {
        agg = {{"name", name},
               {"start", v.value("start", "")},
               {"end", v.value("end", "")},
               {"rowsRead", 0},
               {"rowsWritten", 0}};
      }
      agg["rowsRead"] = agg["rowsRead"].get<int64_t>() + v.value("rows_read", int64_t{0});
      agg["rowsWritten"] = agg["rowsWritten"].get<int64_t>() + v.value("rows_written", int64_t{0});
      // Partitions of an incremental run may start at different watermarks: keep the earliest.
      if (v.value("start", "") < agg["start"].get<std::string>())
        agg["start"] = v.value("start", "");
    }
  }
  for (auto& [name, v] : views) {
    if (v["rowsRead"].get<int64_t>() == 0) {
      a.notes.push_back("view " + name + " read zero rows in " + v["start"].get<std::string>() +
                        " .. " + v["end"].get<std::string>());
    }
    a.views.push_back(v);
  }
  return a;
}

Result<ScheduleDecision> DecideSchedule(const CronSchedule& cron, const TimeZone& zone,
                                        TimestampMicros last, TimestampMicros now,
                                        std::optional<int64_t> starting_deadline_seconds) {
  ScheduleDecision d;
  std::optional<TimestampMicros> latest;
  int64_t due = 0;
  TimestampMicros t = last;
  for (;;) {
    FF_ASSIGN_OR_RETURN(TimestampMicros next, cron.Next(t, zone));
    if (next > now) {
      d.next = next;
      break;
    }
    latest = next;
    ++due;
    t = next;
    if (due > 100000) {  // far behind (a schedule resumed after months): jump to now
      t = now - 60 * kMicrosPerSecond;
    }
  }
  if (!latest) return d;
  d.latest = latest;
  d.missed = due - 1;
  if (d.missed > 0) d.missed_reason = "the operator was not running or the run was not started";
  if (starting_deadline_seconds && now - *latest > *starting_deadline_seconds * kMicrosPerSecond) {
    ++d.missed;
    d.missed_reason = "startingDeadlineSeconds " + std::to_string(*starting_deadline_seconds) +
                      " passed before the run at " + FormatTimestamp(*latest) + " could start";
    return d;
  }
  d.fire = latest;
  return d;
}

std::string ChildName(const std::string& schedule_name, TimestampMicros fire_time) {
  return schedule_name + "-" + std::to_string(fire_time / kMicrosPerSecond / 60);
}

Json MakeChildJob(const Json& schedule_job, TimestampMicros fire_time,
                  TimestampMicros previous_fire) {
  Json spec = schedule_job["spec"];
  for (const char* f : {"schedule", "timeZone", "concurrencyPolicy", "startingDeadlineSeconds",
                        "successfulRunsHistoryLimit", "failedRunsHistoryLimit", "suspend"}) {
    spec.erase(f);
  }
  const bool incremental = spec.value("mode", "range") == "incremental";
  spec["endTime"] = FormatTimestamp(fire_time);
  if (!incremental) spec["startTime"] = FormatTimestamp(previous_fire);
  if (incremental) spec.erase("startTime");
  const std::string parent = schedule_job["metadata"].value("name", "");
  Json child = {
      {"apiVersion", schedule_job.value("apiVersion", "featureforge.dev/v1alpha1")},
      {"kind", "MaterializationJob"},
      {"metadata",
       {{"name", ChildName(parent, fire_time)},
        {"namespace", schedule_job["metadata"].value("namespace", "default")},
        {"labels", {{kScheduleLabel, parent}}},
        {"annotations", {{"featureforge.dev/scheduled-time", FormatTimestamp(fire_time)}}}}},
      {"spec", spec}};
  return child;
}

}  // namespace featureforge::controllers::mj
