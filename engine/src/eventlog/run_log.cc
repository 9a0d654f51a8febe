// MaterializationRunLog: the same JSON-lines events for every materialization entry point.
#include "featureforge/eventlog/run_log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <utility>
#include <vector>

#include "featureforge/repo/loader.h"

namespace featureforge {
namespace {

std::string Describe(const store::MaterializeRequest& request) {
  std::string text = request.incremental
                         ? "materialize-incremental up to " + FormatTimestamp(request.end)
                         : "materialize [" + FormatTimestamp(request.start) + ", " +
                               FormatTimestamp(request.end) + "]";
  text += " views=";
  if (request.views.empty()) text += "(every online view)";
  for (size_t i = 0; i < request.views.size(); ++i) {
    text += (i == 0 ? "" : ",") + request.views[i];
  }
  text += " partition " + std::to_string(request.partition.index) + "/" +
          std::to_string(request.partition.count);
  return text;
}

}  // namespace

std::string ResolveEventLogUri(std::string_view explicit_uri) {
  if (!explicit_uri.empty()) return std::string(explicit_uri);
  const char* env = std::getenv("FEATUREFORGE_EVENT_LOG_URI");
  return env != nullptr ? std::string(env) : std::string();
}

std::string ResolveEventLogUri(std::string_view explicit_uri, const std::string& repo_dir) {
  std::string uri = ResolveEventLogUri(explicit_uri);
  if (!uri.empty()) return uri;
  auto config = repo::LoadRepoConfig(repo_dir);
  if (!config.ok() || config->batch_engine.event_log_uri.empty()) return "";
  std::error_code error;
  repo::Repo located;
  located.root =
      std::filesystem::weakly_canonical(std::filesystem::absolute(repo_dir), error).string();
  return located.ResolvePath(config->batch_engine.event_log_uri);
}

std::string NewRunId(std::string_view kind, const Clock& clock) {
  static std::atomic<uint64_t> counter{0};
  std::string ts = FormatTimestamp(clock.Now());  // 2026-11-23T18:45:12.123456Z
  std::string compact;
  for (char c : ts) {
    if (c != '-' && c != ':') compact.push_back(c);
  }
  return std::string(kind) + "-" + compact + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(++counter);
}

Result<std::unique_ptr<MaterializationRunLog>> MaterializationRunLog::Open(
    const std::string& prefix_uri, const std::string& run_id, EventLogOptions options) {
  std::unique_ptr<MaterializationRunLog> run(new MaterializationRunLog());
  if (prefix_uri.empty()) return run;
  auto opened = EventLog::Open(prefix_uri, run_id, std::move(options));
  if (!opened.ok()) return opened.status().WithContext("event log " + prefix_uri);
  run->log_ = std::move(opened).value();
  run->current_view_ = std::make_shared<std::string>();
  return run;
}

MaterializationRunLog::~MaterializationRunLog() = default;

void MaterializationRunLog::Begin(store::MaterializeRequest* request,
                                  std::string_view description) {
  if (!log_) return;
  std::string message = description.empty() ? Describe(*request) : std::string(description);
  (void)log_->Start("run", message);
  // The engine materializes views one after another and asks for each view's progress
  // callback as it begins: that is the view's start event.
  auto inner = request->progress;
  EventLog* log = log_.get();
  auto current = current_view_;
  request->progress = [inner, log, current](const std::string& view) -> store::ProgressCallback {
    *current = view;
    (void)log->Start("materialize:" + view);
    return inner ? inner(view) : store::ProgressCallback();
  };
}

Status MaterializationRunLog::Succeeded(const store::MaterializeResult& result) {
  if (!log_) return Status::OK();
  auto counts = [](int64_t read, int64_t written, int64_t stale) {
    return std::vector<std::pair<std::string, int64_t>>{
        {"rows_read", read}, {"rows_written", written}, {"rows_skipped_stale", stale}};
  };
  int64_t stale = 0;
  std::string notes;
  for (const auto& view : result.views) {
    RunEvent event;
    event.stage = "materialize:" + view.view;
    event.kind = RunEventKind::kEnd;
    event.rows = view.rows_written;
    event.seconds = view.seconds;  // the engine's own measure of the view
    event.counts = counts(view.rows_read, view.rows_written, view.rows_skipped_stale);
    event.message = view.note;
    (void)log_->Finish(std::move(event));
    stale += view.rows_skipped_stale;
    if (!view.note.empty()) notes += (notes.empty() ? "" : "; ") + view.view + ": " + view.note;
  }
  if (result.views.empty()) notes = "no feature view was materialized";
  RunEvent end;
  end.stage = "run";
  end.kind = RunEventKind::kEnd;
  end.rows = result.total_rows_written();
  end.counts = counts(result.total_rows_read(), result.total_rows_written(), stale);
  end.message = notes;
  Status appended = log_->Finish(std::move(end));
  Status closed = log_->Close();
  return appended.ok() ? closed : appended;
}

Status MaterializationRunLog::Failed(const Status& status) {
  if (!log_) return Status::OK();
  if (!current_view_->empty())
    (void)log_->Error("materialize:" + *current_view_, status.ToString());
  (void)log_->Error("run", status.ToString());
  return log_->Close();
}

}  // namespace featureforge
