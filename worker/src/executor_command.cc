// `featureforge executor`: one partition of a materialization, as run inside an executor pod.
//
// Never records watermarks (the operator advances them once every partition of a view
// succeeded). Writes a JSON termination message on success and on failure, so `kubectl get pod
// -o yaml` and the operator see what the run did:
//   {"ok":true,"mode":"range","partition":"1/4","attempt":2,"start":"...","end":"...",
//    "rows_read":10,"rows_written":8,"views":[{"view":..,"start":..,"end":..,"rows_read":..,
//    "rows_written":..,"watermark_candidate":"...","note":".."}],"note":"..","error":""}
// Exit codes: 0 success, 2 bad input (flags, repo definitions, unknown view), 1 runtime failure.
//
// Test hooks (documented in worker/README.md), read from the environment:
//   FEATUREFORGE_FAULT_FAIL_ATTEMPTS=N  fail (exit 1) while FEATUREFORGE_ATTEMPT <= N
//   FEATUREFORGE_FAULT_HANG=1           sleep until killed (deadline / Forbid tests)
//   FEATUREFORGE_FAULT_HANG_LEASES=N    sleep until killed while FEATUREFORGE_LEASE_COUNT <= N
//                                       (a ComputeCluster task's first lease hangs, its
//                                       reassignment after a lost worker runs)
//   FEATUREFORGE_FAULT_DELAY_MS=N       sleep N ms, then run (slow partitions: autoscaling tests)
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "featureforge/eventlog/run_log.h"
#include "featureforge/store/feature_store.h"
#include "featureforge/worker/commands.h"

namespace featureforge::worker {
namespace {

struct ExecutorFlags {
  std::string mode = "range";
  std::string start;
  std::string end;
  std::vector<std::string> views;
  std::string partition = "0/1";
  int64_t chunk_size = 0;
  std::string event_log_uri;
  std::string run_id;
  std::string termination_message_path;
  int attempt = 1;
};

int EnvInt(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  long parsed = std::strtol(value, &end, 10);
  return (end != nullptr && *end == '\0') ? static_cast<int>(parsed) : fallback;
}

// The default /dev/termination-log is used only when it can be written (it exists in pods).
std::string ResolveMessagePath(const std::string& flag) {
  if (!flag.empty()) return flag;
  // The process kubelet of the test harness runs pods as local processes and names the file
  // it reads as the termination message here (a real kubelet mounts /dev/termination-log).
  if (const char* harness = std::getenv("FF_TERMINATION_MESSAGE_PATH"); harness && *harness) {
    return harness;
  }
  if (access("/dev/termination-log", W_OK) == 0) return "/dev/termination-log";
  return "";
}

void WriteTerminationMessage(const std::string& path, const nlohmann::json& message) {
  std::string text = message.dump();
  std::cout << text << '\n';
  if (path.empty()) return;
  std::ofstream out(path, std::ios::trunc);
  // Kubernetes keeps at most 4096 bytes of a termination message; trim the view list rather
  // than cut the JSON in half.
  if (text.size() > 4000 && message.contains("views")) {
    nlohmann::json trimmed = message;
    trimmed["views"] = nlohmann::json::array();
    trimmed["views_truncated"] = true;
    text = trimmed.dump();
  }
  out << text;
  if (!out) std::cerr << "warning: cannot write termination message to " << path << '\n';
}

nlohmann::json BaseMessage(const ExecutorFlags& flags) {
  return {{"ok", false},
          {"mode", flags.mode},
          {"partition", flags.partition},
          {"attempt", flags.attempt},
          {"start", flags.start},
          {"end", flags.end},
          {"rows_read", 0},
          {"rows_written", 0},
          {"views", nlohmann::json::array()},
          {"note", ""},
          {"error", ""}};
}

int Fail(const std::string& path, nlohmann::json message, const Status& status) {
  message["ok"] = false;
  message["error"] = status.ToString();
  message["exit_code"] = ExitCodeFor(status);
  WriteTerminationMessage(path, message);
  std::cerr << "error: " << status.ToString() << '\n';
  return ExitCodeFor(status);
}

// A pod's process must die on SIGTERM (pod deletion, deadline, suspend). A parent that blocks
// signals for a signal-handling thread (the test harness's process kubelet does) hands the
// blocked mask down through exec, so unblock them here.
void UnblockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

int Run(const GlobalOptions& global, ExecutorFlags flags) {
  UnblockTerminationSignals();
  const std::string message_path = ResolveMessagePath(flags.termination_message_path);
  flags.attempt = EnvInt("FEATUREFORGE_ATTEMPT", flags.attempt);
  nlohmann::json message = BaseMessage(flags);

  if (EnvInt("FEATUREFORGE_FAULT_HANG", 0) == 1) {
    std::cerr << "test hook FEATUREFORGE_FAULT_HANG=1: sleeping until killed\n";
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  if (const int hang_leases = EnvInt("FEATUREFORGE_FAULT_HANG_LEASES", 0);
      hang_leases > 0 && EnvInt("FEATUREFORGE_LEASE_COUNT", 1) <= hang_leases) {
    std::cerr << "test hook FEATUREFORGE_FAULT_HANG_LEASES=" << hang_leases
              << ": sleeping until killed\n";
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  if (const int delay_ms = EnvInt("FEATUREFORGE_FAULT_DELAY_MS", 0); delay_ms > 0) {
    std::cerr << "test hook FEATUREFORGE_FAULT_DELAY_MS=" << delay_ms << ": sleeping first\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  }
  const int fail_attempts = EnvInt("FEATUREFORGE_FAULT_FAIL_ATTEMPTS", 0);
  if (flags.attempt <= fail_attempts) {
    return Fail(message_path, message,
                Status::Internal("injected failure (test hook FEATUREFORGE_FAULT_FAIL_ATTEMPTS=" +
                                 std::to_string(fail_attempts) + ", attempt " +
                                 std::to_string(flags.attempt) + ")"));
  }

  store::MaterializeRequest request;
  request.views = flags.views;
  request.chunk_size = flags.chunk_size;
  request.record_watermark = false;  // the operator records it once all partitions succeeded
  if (flags.mode != "range" && flags.mode != "incremental") {
    return Fail(
        message_path, message,
        Status::InvalidArgument("--mode must be range or incremental, got '" + flags.mode + "'"));
  }
  request.incremental = flags.mode == "incremental";
  if (!request.incremental) {
    auto start = ParseTimestamp(flags.start);
    if (!start.ok()) return Fail(message_path, message, start.status().WithContext("--start"));
    request.start = *start;
  }
  auto end = ParseTimestamp(flags.end);
  if (!end.ok()) return Fail(message_path, message, end.status().WithContext("--end"));
  request.end = *end;
  if (!request.incremental && request.start > request.end) {
    return Fail(message_path, message,
                Status::InvalidArgument("--start " + flags.start + " is after --end " + flags.end));
  }
  auto partition = store::ParsePartition(flags.partition);
  if (!partition.ok()) {
    return Fail(message_path, message, partition.status().WithContext("--partition"));
  }
  request.partition = *partition;

  // The event log (and its .keep placeholder) comes before any other work.
  std::string run_id = flags.run_id;
  if (run_id.empty()) {
    run_id = "executor-p" + std::to_string(partition->index) + "-a" + std::to_string(flags.attempt);
  }
  auto run_log =
      MaterializationRunLog::Open(ResolveEventLogUri(flags.event_log_uri, global.repo_dir), run_id);
  if (!run_log.ok()) {
    return Fail(message_path, message, run_log.status().WithContext("--event-log-uri"));
  }
  (*run_log)->Begin(&request, "executor " + flags.mode + " partition " + flags.partition +
                                  " attempt " + std::to_string(flags.attempt));

  auto fs = store::FeatureStore::Open(global.repo_dir);
  if (!fs.ok()) {
    (void)(*run_log)->Failed(fs.status());
    return Fail(message_path, message, fs.status());
  }
  auto result = (*fs)->Materialize(request);
  if (!result.ok()) {
    (void)(*run_log)->Failed(result.status());
    return Fail(message_path, message, result.status());
  }

  nlohmann::json views = nlohmann::json::array();
  std::string notes;
  for (const auto& v : result->views) {
    views.push_back({{"view", v.view},
                     {"start", FormatTimestamp(v.start)},
                     {"end", FormatTimestamp(v.end)},
                     {"rows_read", v.rows_read},
                     {"rows_written", v.rows_written},
                     {"rows_skipped_stale", v.rows_skipped_stale},
                     // The window end the operator records once every partition succeeded.
                     {"watermark_candidate", FormatTimestamp(v.end)},
                     {"note", v.note}});
    if (!v.note.empty()) notes += (notes.empty() ? "" : "; ") + v.view + ": " + v.note;
  }
  message["ok"] = true;
  message["views"] = views;
  message["rows_read"] = result->total_rows_read();
  message["rows_written"] = result->total_rows_written();
  if (result->total_rows_read() == 0) {
    notes += std::string(notes.empty() ? "" : "; ") + "partition " + flags.partition +
             " read zero rows in the window";
  }
  message["note"] = notes;
  message["exit_code"] = 0;
  if (Status logged = (*run_log)->Succeeded(*result); !logged.ok()) {
    std::cerr << "warning: event log: " << logged.ToString() << '\n';
  }
  WriteTerminationMessage(message_path, message);
  if (!notes.empty()) std::cerr << "note: " << notes << '\n';
  return 0;
}

}  // namespace

void RegisterExecutor(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto flags = std::make_shared<ExecutorFlags>();
  CLI::App* cmd = app.add_subcommand(
      "executor",
      "Run one partition of a materialization (inside an executor pod). Never records "
      "watermarks; writes a JSON result to the termination message path.");
  cmd->add_option("--mode", flags->mode, "range | incremental")
      ->envname("FEATUREFORGE_MODE")
      ->capture_default_str();
  cmd->add_option("--start", flags->start, "window start (range mode)")
      ->envname("FEATUREFORGE_START");
  cmd->add_option("--end", flags->end, "window end (inclusive)")
      ->envname("FEATUREFORGE_END")
      ->required();
  cmd->add_option("--views", flags->views, "feature views (default: every online view)")
      ->envname("FEATUREFORGE_VIEWS")
      ->delimiter(',');
  cmd->add_option("--partition", flags->partition, "partition i/n of the entity-key space")
      ->envname("FEATUREFORGE_PARTITION")
      ->capture_default_str();
  cmd->add_option("--chunk-size", flags->chunk_size, "rows per online write")
      ->envname("FEATUREFORGE_CHUNK_SIZE")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--event-log-uri", flags->event_log_uri,
                  "prefix for the run's JSON-lines event log (path, file://, s3://; default: "
                  "batch_engine.event_log_uri of feature_store.yaml)")
      ->envname("FEATUREFORGE_EVENT_LOG_URI");
  cmd->add_option("--run-id", flags->run_id, "event-log file name (default executor-p<i>-a<n>)")
      ->envname("FEATUREFORGE_RUN_ID");
  cmd->add_option("--termination-message-path", flags->termination_message_path,
                  "where the JSON result goes (default /dev/termination-log when writable)")
      ->envname("FEATUREFORGE_TERMINATION_MESSAGE_PATH");
  cmd->callback([&global, flags, exit_code] { *exit_code = Run(global, *flags); });
}

}  // namespace featureforge::worker
