// The event log of one materialization run, shared by every entry point (CLI materialize and
// materialize-incremental, executor pods, the feature server's /materialize endpoints; the
// ComputeCluster worker runs the executor), so they all write the same events:
//
//   {"stage":"run","event":"start","message":"materialize [start, end] views=... partition 0/1"}
//   {"stage":"materialize:<view>","event":"start"}              one per view, when it begins
//   {"stage":"materialize:<view>","event":"end","rows":<written>,"seconds":..,
//    "counts":{"rows_read":..,"rows_written":..,"rows_skipped_stale":..},"message":"<note>"}
//   {"stage":"run","event":"end","rows":<written>,"counts":{...}}   or  "event":"error"
//
// Open() writes the `.keep` placeholder before anything else (EventLog::Open), so callers open
// the run log first and only then load the repo. Without a prefix every method is a no-op.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "featureforge/common/status.h"
#include "featureforge/eventlog/event_log.h"
#include "featureforge/store/feature_store.h"

namespace featureforge {

// The event-log prefix a run uses: `explicit_uri` (a flag or request field) when set, else the
// FEATUREFORGE_EVENT_LOG_URI environment variable, else "" (no event log).
std::string ResolveEventLogUri(std::string_view explicit_uri);

// The same, then the repo's `batch_engine.event_log_uri` (a relative path is taken from the repo
// root). Reads only feature_store.yaml; a repo that does not load gives "" here, and loading it
// for the run reports why.
std::string ResolveEventLogUri(std::string_view explicit_uri, const std::string& repo_dir);

// "<kind>-<UTC yyyymmddThhmmss.ffffffZ>-<pid>-<n>": unique per process and call, valid as an
// EventLog run_id (e.g. "materialize-20261123T184512.123456Z-4711-1").
std::string NewRunId(std::string_view kind, const Clock& clock = SystemClock());

class MaterializationRunLog {
 public:
  // `prefix_uri` empty: a run without event log. Otherwise writes <prefix>/.keep first, then
  // opens <prefix>/<run_id>.jsonl; errors name the prefix.
  static Result<std::unique_ptr<MaterializationRunLog>> Open(const std::string& prefix_uri,
                                                             const std::string& run_id,
                                                             EventLogOptions options = {});
  ~MaterializationRunLog();

  bool enabled() const { return log_ != nullptr; }
  const EventLog* log() const { return log_.get(); }

  // Logs the "run" start for `request` and chains a per-view start event into
  // request->progress (the caller's own progress callback keeps working).
  void Begin(store::MaterializeRequest* request, std::string_view description = "");
  // Logs each view's end and the run's end, then closes (uploads) the log.
  Status Succeeded(const store::MaterializeResult& result);
  // Logs the run's error (`stage` "run" unless a view was running), then closes the log.
  Status Failed(const Status& status);

 private:
  MaterializationRunLog() = default;
  std::unique_ptr<EventLog> log_;
  std::shared_ptr<std::string> current_view_;  // set by the progress hook
};

}  // namespace featureforge
