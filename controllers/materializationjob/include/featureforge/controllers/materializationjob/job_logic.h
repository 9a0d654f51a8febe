// The MaterializationJob controller's decisions as pure functions over JSON (no I/O), so they
// are unit-tested without a cluster: spec parsing and validation, retry backoff, partition
// bookkeeping from observed pods, status aggregation, and the schedule's fire decisions.
#pragma once

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/k8s/resource.h"

namespace featureforge::controllers::mj {

using k8s::Json;

inline constexpr const char* kJobLabel = "featureforge.dev/job";
inline constexpr const char* kPartitionLabel = "featureforge.dev/partition";
inline constexpr const char* kAttemptLabel = "featureforge.dev/attempt";
inline constexpr const char* kScheduleLabel = "featureforge.dev/schedule";

struct JobSpec {
  std::string feature_store;
  std::vector<std::string> views;
  bool incremental = false;
  std::optional<TimestampMicros> start;
  std::optional<TimestampMicros> end;
  Json executor = Json::object();  // image, resources, env, ... as given
  int partitions = 1;
  int parallelism = 4;
  int64_t chunk_size = 0;
  int backoff_limit = 3;
  int64_t backoff_initial_seconds = 10;
  int64_t backoff_max_seconds = 300;
  std::optional<int64_t> active_deadline_seconds;
  std::optional<int64_t> ttl_seconds_after_finished;
  bool suspend = false;
  std::string event_log_uri;
  // spec.computeClusterRef: run partitions as tasks on this ComputeCluster (same namespace)
  // instead of executor pods.
  std::string compute_cluster;
  // Schedules.
  std::string schedule;
  std::string time_zone;
  std::string concurrency_policy = "Allow";
  std::optional<int64_t> starting_deadline_seconds;
  int successful_history_limit = 3;
  int failed_history_limit = 1;
};

// Reads and validates spec (the schema's defaults applied again here, for clusters where the
// CRD was installed without them). Errors name the field: "spec.startTime ... is after ...".
Result<JobSpec> ParseJobSpec(const Json& job);

// Delay before attempt `failures + 1` of a partition that failed `failures` times (>= 1):
// initial * 2^(failures-1) capped at max, plus up to 10% jitter (never above max).
DurationMicros RetryDelay(int failures, int64_t initial_seconds, int64_t max_seconds,
                          std::mt19937_64* rng = nullptr);

// What the controller knows about one executor pod.
struct PodView {
  std::string name;
  int partition = -1;
  int attempt = 0;
  std::string phase;  // Pending | Running | Succeeded | Failed | Unknown
  bool deleting = false;
  std::string reason;  // pod status.reason (e.g. Evicted) or container terminated reason
  int exit_code = 0;
  Json message;  // parsed termination message (null when absent/not JSON)
  std::string raw_message;
  TimestampMicros finished_at = 0;
};
PodView ViewOfPod(const Json& pod);

// One partition's record in status.partitionStatuses (the controller's memory: pods may vanish).
struct PartitionRecord {
  int index = 0;
  std::string phase = "Pending";  // Pending | Running | BackingOff | Succeeded | Failed
  int attempts = 0;               // pods created
  int failures = 0;               // failed attempts (count against backoffLimit)
  std::string pod;                // current or last pod
  TimestampMicros retry_at = 0;   // BackingOff: when the next attempt may start
  std::string last_error;
  Json result;  // the succeeded pod's termination message
  Json ToJson() const;
  static PartitionRecord FromJson(const Json& json);
};

std::string PodName(const std::string& job, int partition, int attempt);

// Folds the observed pods into the records. A pod whose attempt is the record's current one
// decides its outcome: Succeeded -> Succeeded (kept forever), Failed -> failures+1 and
// BackingOff (or Failed when failures > backoffLimit), evicted -> recreated without counting.
// Returns one human sentence per transition (for Events), e.g. "partition 2 attempt 1 failed:
// ...; retrying after 20s".
struct ObserveOutcome {
  std::vector<std::string> events;          // Normal
  std::vector<std::string> warning_events;  // Warning
  std::vector<std::string> pods_to_delete;  // finished pods of superseded attempts, evicted pods
};
ObserveOutcome ObservePods(const JobSpec& spec, const std::vector<PodView>& pods,
                           TimestampMicros now, std::vector<PartitionRecord>* records,
                           std::mt19937_64* rng = nullptr);

// Partitions to start now: Pending ones, and BackingOff ones whose retry_at passed, in index
// order, while fewer than parallelism are Running.
std::vector<int> PartitionsToStart(const JobSpec& spec, const std::vector<PartitionRecord>& records,
                                   TimestampMicros now);

struct Aggregate {
  int total = 0, pending = 0, running = 0, succeeded = 0, failed = 0, backing_off = 0;
  int attempts = 0;
  int64_t rows_read = 0, rows_written = 0;
  Json views = Json::array();      // [{name, start, end, rowsRead, rowsWritten}]
  std::vector<std::string> notes;  // zero-row notes from executors
};
Aggregate AggregateRecords(const std::vector<PartitionRecord>& records);

// Schedules: of the fire times in (last, now] only the latest may run (as CronJob does); the
// older ones are missed, and so is the latest when startingDeadlineSeconds has passed.
struct ScheduleDecision {
  std::optional<TimestampMicros> fire;    // the run to start now, if any
  std::optional<TimestampMicros> latest;  // the latest due fire time (new lastScheduleTime)
  int64_t missed = 0;                     // fire times that will never run
  std::string missed_reason;              // why they were missed
  TimestampMicros next = 0;               // the next fire time after now
};
class CronSchedule;
class TimeZone;
Result<ScheduleDecision> DecideSchedule(const CronSchedule& cron, const TimeZone& zone,
                                        TimestampMicros last, TimestampMicros now,
                                        std::optional<int64_t> starting_deadline_seconds);

// Name of the child run started for `fire_time` (deterministic, so a retried reconcile never
// creates two): "<schedule>-<unix minutes>".
std::string ChildName(const std::string& schedule_name, TimestampMicros fire_time);

// The child MaterializationJob for a fire time: the schedule's spec without schedule fields,
// endTime = fire time (and startTime = previous fire time in range mode without times).
Json MakeChildJob(const Json& schedule_job, TimestampMicros fire_time,
                  TimestampMicros previous_fire);

}  // namespace featureforge::controllers::mj
