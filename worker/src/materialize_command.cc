#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "featureforge/eventlog/run_log.h"
#include "featureforge/store/feature_store.h"
#include "featureforge/worker/commands.h"
#include "featureforge/worker/progress.h"

namespace featureforge::worker {
namespace {

struct MaterializeFlags {
  std::string start;
  std::string end;
  std::vector<std::string> views;
  std::string partition = "0/1";
  int64_t chunk_size = 0;
  bool record_watermark = false;
  bool no_record_watermark = false;
  bool quiet = false;
  std::string event_log_uri;
  std::string run_id;
};

nlohmann::json ResultJson(const store::MaterializeResult& result) {
  nlohmann::json views = nlohmann::json::array();
  for (const auto& v : result.views) {
    views.push_back({{"view", v.view},
                     {"start", FormatTimestamp(v.start)},
                     {"end", FormatTimestamp(v.end)},
                     {"rows_read", v.rows_read},
                     {"rows_written", v.rows_written},
                     {"rows_skipped_stale", v.rows_skipped_stale},
                     {"watermark_recorded", v.watermark_recorded},
                     {"seconds", v.seconds},
                     {"note", v.note}});
  }
  return {{"partition",
           std::to_string(result.partition.index) + "/" + std::to_string(result.partition.count)},
          {"rows_read", result.total_rows_read()},
          {"rows_written", result.total_rows_written()},
          {"views", views}};
}

void PrintResult(const GlobalOptions& global, const store::MaterializeResult& result) {
  if (global.format() == OutputFormat::kJson) {
    std::cout << ResultJson(result).dump(2) << '\n';
    return;
  }
  Table table{{"VIEW", "START", "END", "READ", "WRITTEN", "STALE", "WATERMARK", "NOTE"}, {}};
  for (const auto& v : result.views) {
    table.rows.push_back({v.view, FormatTimestamp(v.start), FormatTimestamp(v.end),
                          std::to_string(v.rows_read), std::to_string(v.rows_written),
                          std::to_string(v.rows_skipped_stale),
                          v.watermark_recorded ? "recorded" : "not recorded", v.note});
  }
  PrintTable(std::cout, table);
}

void Run(const GlobalOptions& global, const MaterializeFlags& flags, bool incremental,
         int* exit_code) {
  store::MaterializeRequest request;
  request.incremental = incremental;
  request.views = flags.views;
  request.chunk_size = flags.chunk_size;
  if (flags.record_watermark) request.record_watermark = true;
  if (flags.no_record_watermark) request.record_watermark = false;
  if (!incremental) {
    auto start = ParseTimestamp(flags.start);
    if (!start.ok()) {
      *exit_code = ReportError(start.status().WithContext("START"));
      return;
    }
    request.start = *start;
  }
  auto end = ParseTimestamp(flags.end);
  if (!end.ok()) {
    *exit_code = ReportError(end.status().WithContext("END"));
    return;
  }
  request.end = *end;
  auto partition = store::ParsePartition(flags.partition);
  if (!partition.ok()) {
    *exit_code = ReportError(partition.status().WithContext("--partition"));
    return;
  }
  request.partition = *partition;

  // One reporter per view; the engine materializes views one after another.
  auto reporter = std::make_shared<std::unique_ptr<ProgressReporter>>();
  if (!flags.quiet) {
    request.progress = [reporter](const std::string& view) -> store::ProgressCallback {
      *reporter = std::make_unique<ProgressReporter>("materialize " + view);
      return [reporter](int64_t done, int64_t total) { (*reporter)->Update(done, total); };
    };
  }

  // The event log (and its .keep placeholder) comes before any other work.
  const std::string log_uri = ResolveEventLogUri(flags.event_log_uri, global.repo_dir);
  auto run_log = MaterializationRunLog::Open(
      log_uri, flags.run_id.empty()
                   ? NewRunId(incremental ? "materialize-incremental" : "materialize")
                   : flags.run_id);
  if (!run_log.ok()) {
    *exit_code = ReportError(run_log.status().WithContext("--event-log-uri"));
    return;
  }
  (*run_log)->Begin(&request);
  auto fs = store::FeatureStore::Open(global.repo_dir);
  if (!fs.ok()) {
    (void)(*run_log)->Failed(fs.status());
    *exit_code = ReportError(fs.status());
    return;
  }
  auto result = (*fs)->Materialize(request);
  reporter->reset();
  if (!result.ok()) {
    (void)(*run_log)->Failed(result.status());
    *exit_code = ReportError(result.status());
    return;
  }
  // The run itself succeeded (watermarks are recorded): a log that cannot be finished is
  // reported, not turned into a failed run.
  if (Status logged = (*run_log)->Succeeded(*result); !logged.ok()) {
    std::cerr << "warning: event log: " << logged.ToString() << '\n';
  }
  PrintResult(global, *result);
  for (const auto& v : result->views) {
    if (!v.note.empty()) std::cerr << "note: " << v.view << ": " << v.note << '\n';
  }
  *exit_code = 0;
}

void AddCommonFlags(CLI::App* cmd, MaterializeFlags& flags) {
  cmd->add_option("--views", flags.views,
                  "feature views to materialize (default: every online view)")
      ->delimiter(',');
  cmd->add_option("--partition", flags.partition,
                  "run one partition i/n of the entity-key space (executor pods)")
      ->capture_default_str();
  cmd->add_option("--chunk-size", flags.chunk_size,
                  "rows per online write (default: batch_engine.chunk_size)")
      ->check(CLI::PositiveNumber);
  auto* rec = cmd->add_flag("--record-watermark", flags.record_watermark,
                            "record the watermark even for a partitioned run");
  cmd->add_flag("--no-record-watermark", flags.no_record_watermark,
                "do not record the watermark in the registry")
      ->excludes(rec);
  cmd->add_flag("-q,--quiet", flags.quiet, "no progress output");
  cmd->add_option("--event-log-uri", flags.event_log_uri,
                  "prefix for the run's JSON-lines event log (path, file://, s3://; default: "
                  "batch_engine.event_log_uri of feature_store.yaml); .keep is written there "
                  "first")
      ->envname("FEATUREFORGE_EVENT_LOG_URI");
  cmd->add_option("--run-id", flags.run_id,
                  "event-log file name (default <command>-<UTC time>-<pid>-<n>)");
}

}  // namespace

void RegisterMaterialize(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto flags = std::make_shared<MaterializeFlags>();
  CLI::App* range = app.add_subcommand(
      "materialize",
      "Write the latest value per entity in [START, END] (inclusive, UTC) to the online store");
  range->add_option("START", flags->start, "window start, e.g. 2024-01-01T00:00:00Z")->required();
  range->add_option("END", flags->end, "window end (inclusive)")->required();
  AddCommonFlags(range, *flags);
  range->callback([&global, flags, exit_code] { Run(global, *flags, false, exit_code); });

  auto inc_flags = std::make_shared<MaterializeFlags>();
  CLI::App* inc = app.add_subcommand(
      "materialize-incremental",
      "Materialize from each view's last materialized end (else END - ttl) up to END");
  inc->add_option("END", inc_flags->end, "window end (inclusive), e.g. 2024-01-31T00:00:00Z")
      ->required();
  AddCommonFlags(inc, *inc_flags);
  inc->callback([&global, inc_flags, exit_code] { Run(global, *inc_flags, true, exit_code); });
}

}  // namespace featureforge::worker
