// `featureforge cluster status|materialize`: the ComputeCluster client CLI.
//
// `cluster materialize` splits a materialization into one task per partition, submits them as
// one job, waits, prints per-task results and exits 0 only when every partition succeeded.
// Like the operator, it records watermarks in the registry only after that (never for a
// partial success), from the window each executor reports per view.
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>
#include <random>
#include <thread>

#include "featureforge/cluster/commands.h"
#include "featureforge/cluster/head_client.h"
#include "featureforge/common/time.h"
#include "featureforge/registry/registry.h"
#include "featureforge/repo/loader.h"
#include "featureforge/worker/output.h"
#include "grpc_util.h"
#include "repo_bundle.h"

namespace featureforge::cluster {
namespace {

using nlohmann::json;
using worker::GlobalOptions;
using worker::ReportError;

struct ClusterFlags {
  std::string head;
  int64_t rpc_timeout_ms = 10000;
  // materialize
  int partitions = 1;
  std::string mode = "range";
  std::string start;
  std::string end;
  std::vector<std::string> views;
  bool wait = true;
  std::string job_id;
  int64_t chunk_size = 0;
  int64_t timeout_s = 0;
  int max_lease_count = 0;
};

std::string StateName(v1::TaskState state) {
  switch (state) {
    case v1::TASK_STATE_PENDING:
      return "PENDING";
    case v1::TASK_STATE_RUNNING:
      return "RUNNING";
    case v1::TASK_STATE_SUCCEEDED:
      return "SUCCEEDED";
    case v1::TASK_STATE_FAILED:
      return "FAILED";
    case v1::TASK_STATE_CANCELLED:
      return "CANCELLED";
    default:
      return "UNSPECIFIED";
  }
}

std::string FormatUnixMs(int64_t ms) { return ms <= 0 ? "" : FormatTimestamp(ms * 1000); }

int RunStatus(const GlobalOptions& global, const ClusterFlags& flags) {
  auto client = NewGrpcHeadClient(flags.head, std::chrono::milliseconds(flags.rpc_timeout_ms));
  auto status = client->GetClusterStatus();
  if (!status.ok()) return ReportError(status.status());
  if (global.format() == worker::OutputFormat::kJson) {
    json workers = json::array();
    for (const auto& w : status->workers()) {
      workers.push_back({{"worker_id", w.worker_id()},
                         {"group", w.group_name()},
                         {"pod_name", w.pod_name()},
                         {"slots", w.slots()},
                         {"running_task_ids", std::vector<std::string>(w.running_task_ids().begin(),
                                                                       w.running_task_ids().end())},
                         {"idle_since", FormatUnixMs(w.idle_since_unix_ms())},
                         {"last_heartbeat", FormatUnixMs(w.last_heartbeat_unix_ms())}});
    }
    std::cout << json{{"head", flags.head},
                      {"head_id", status->head_id()},
                      {"pending_tasks", status->pending_tasks()},
                      {"running_tasks", status->running_tasks()},
                      {"workers", workers}}
                     .dump(2)
              << '\n';
    return 0;
  }
  std::cout << "head " << flags.head << " (head_id " << status->head_id()
            << "): " << status->pending_tasks() << " pending, " << status->running_tasks()
            << " running, " << status->workers_size() << " workers\n";
  worker::Table table{{"WORKER", "GROUP", "SLOTS", "RUNNING", "IDLE SINCE", "LAST HEARTBEAT"}, {}};
  for (const auto& w : status->workers()) {
    std::string running;
    for (const auto& id : w.running_task_ids()) running += (running.empty() ? "" : ",") + id;
    table.rows.push_back({w.worker_id(), w.group_name(), std::to_string(w.slots()),
                          running.empty() ? "-" : running,
                          w.idle_since_unix_ms() > 0 ? FormatUnixMs(w.idle_since_unix_ms()) : "-",
                          FormatUnixMs(w.last_heartbeat_unix_ms())});
  }
  worker::PrintTable(std::cout, table);
  return 0;
}

std::string NewJobId() {
  std::random_device device;
  return "cli-" + std::to_string(NowUnixMs()) + "-" + std::to_string(device() % 100000);
}

// Per-view totals over the partitions' termination messages.
struct ViewTotals {
  std::string start;
  std::string end;
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  bool watermark_recorded = false;
};

Result<v1::SubmitJobRequest> BuildJob(const GlobalOptions& global, const ClusterFlags& flags,
                                      const repo::Repo& repo) {
  if (flags.mode != "range" && flags.mode != "incremental") {
    return Status::InvalidArgument("--mode must be range or incremental, got '" + flags.mode + "'");
  }
  if (flags.mode == "range") {
    if (flags.start.empty())
      return Status::InvalidArgument("--start is required with --mode range");
    auto start = ParseTimestamp(flags.start);
    if (!start.ok()) return start.status().WithContext("--start");
  }
  auto end = ParseTimestamp(flags.end);
  if (!end.ok()) return end.status().WithContext("--end");
  for (const auto& view : flags.views) {
    const repo::FeatureView* found = repo.FindFeatureView(view);
    if (found == nullptr)
      return Status::InvalidArgument("--views: unknown feature view '" + view + "'");
    if (!found->online) {
      return Status::InvalidArgument("--views: feature view '" + view + "' is not online");
    }
  }
  FF_ASSIGN_OR_RETURN(auto files, BundleRepoFiles(global.repo_dir));

  v1::SubmitJobRequest request;
  request.set_job_id(flags.job_id.empty() ? NewJobId() : flags.job_id);
  if (flags.timeout_s > 0) request.set_deadline_unix_ms(NowUnixMs() + flags.timeout_s * 1000);
  request.set_max_lease_count(flags.max_lease_count);
  for (int i = 0; i < flags.partitions; ++i) {
    v1::SubmittedTask* task = request.add_tasks();
    task->set_task_id("p" + std::to_string(i));
    v1::MaterializePartition* spec = task->mutable_spec()->mutable_materialize();
    spec->mutable_repo_files()->insert(files.begin(), files.end());
    spec->set_mode(flags.mode);
    if (flags.mode == "range") spec->set_start(flags.start);
    spec->set_end(flags.end);
    for (const auto& view : flags.views) spec->add_feature_views(view);
    spec->set_partition_index(i);
    spec->set_partition_count(flags.partitions);
    spec->set_chunk_size(flags.chunk_size);
    spec->set_attempt(1);
    (*spec->mutable_env())["FEATUREFORGE_JOB"] = request.job_id();
  }
  return request;
}

// Polls the job until no task is pending or running. A head that forgot the job (it
// restarted) gets it again: submission is idempotent, so this converges.
Result<v1::Job> WaitForJob(HeadClient& client, const v1::SubmitJobRequest& request) {
  constexpr auto kPoll = std::chrono::milliseconds(50);
  constexpr auto kMaxUnreachable = std::chrono::seconds(120);
  auto unreachable_since = std::chrono::steady_clock::time_point();
  for (;;) {
    auto job = client.GetJob(request.job_id());
    if (job.ok()) {
      unreachable_since = {};
      if (job->pending() == 0 && job->running() == 0) return job;
    } else if (job.status().code() == StatusCode::kNotFound) {
      std::cerr << "note: head " << client.address() << " does not know job " << request.job_id()
                << " (restarted?); submitting it again\n";
      auto submitted = client.SubmitJob(request);
      if (!submitted.ok() && submitted.status().code() == StatusCode::kInvalidArgument) {
        return submitted.status();
      }
    } else {
      const auto now = std::chrono::steady_clock::now();
      if (unreachable_since == std::chrono::steady_clock::time_point()) {
        unreachable_since = now;
        std::cerr << "note: " << job.status().message() << "; still waiting\n";
      } else if (now - unreachable_since > kMaxUnreachable) {
        return job.status().WithContext("waiting for job " + request.job_id());
      }
    }
    std::this_thread::sleep_for(kPoll);
  }
}

// Sums the executors' per-view figures; records watermarks when `record` (every partition
// succeeded). Returns the totals by view.
Result<std::map<std::string, ViewTotals>> SummarizeViews(const v1::Job& job, const repo::Repo& repo,
                                                         bool record) {
  std::map<std::string, ViewTotals> totals;
  bool complete = true;
  for (const auto& task : job.tasks()) {
    json message;
    try {
      message = json::parse(task.result().result_json());
    } catch (const std::exception&) {
      complete = false;
      continue;
    }
    if (message.value("views_truncated", false)) complete = false;
    for (const auto& v : message.value("views", json::array())) {
      ViewTotals& t = totals[v.value("view", "")];
      t.start = v.value("start", "");
      t.end = v.value("watermark_candidate", v.value("end", ""));
      t.rows_read += v.value("rows_read", int64_t{0});
      t.rows_written += v.value("rows_written", int64_t{0});
    }
  }
  if (!record) return totals;
  if (!complete) {
    return Status::Internal(
        "every partition succeeded but not every result lists its views; "
        "watermarks not recorded");
  }
  const std::string registry_path = repo.ResolvePath(repo.config.registry);
  const TimestampMicros now = SystemClock().Now();
  for (auto& [view, t] : totals) {
    FF_ASSIGN_OR_RETURN(TimestampMicros start, ParseTimestamp(t.start));
    FF_ASSIGN_OR_RETURN(TimestampMicros end, ParseTimestamp(t.end));
    bool recorded = false;
    Status status = registry::Registry::Update(registry_path, [&](registry::Registry& r) {
      recorded = false;
      auto last = r.LastMaterializedEnd(view);
      if (last && *last >= end) return Status::OK();
      recorded = true;
      return r.RecordMaterialization(view, start, end, t.rows_written, now);
    });
    if (!status.ok()) return status.WithContext("registry " + registry_path + ", view " + view);
    t.watermark_recorded = recorded;
  }
  return totals;
}

int PrintJob(const GlobalOptions& global, const v1::Job& job,
             const std::map<std::string, ViewTotals>& views, const std::string& watermark_error) {
  const bool ok = job.succeeded() == job.tasks_size();
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  json tasks = json::array();
  worker::Table table{{"TASK", "STATE", "WORKER", "LEASES", "ROWS READ", "ROWS WRITTEN", "MESSAGE"},
                      {}};
  for (const auto& task : job.tasks()) {
    json message = json::object();
    try {
      if (!task.result().result_json().empty()) message = json::parse(task.result().result_json());
    } catch (const std::exception&) {
    }
    const int64_t read = message.value("rows_read", int64_t{0});
    const int64_t written = message.value("rows_written", int64_t{0});
    rows_read += read;
    rows_written += written;
    std::string text = task.result().error().empty() ? task.message() : task.result().error();
    if (text.empty()) text = message.value("note", "");
    tasks.push_back({{"task_id", task.task_id()},
                     {"state", StateName(task.state())},
                     {"worker_id", task.worker_id()},
                     {"lease_count", task.lease_count()},
                     {"exit_code", task.result().exit_code()},
                     {"error", task.result().error()},
                     {"message", task.message()},
                     {"result", message}});
    table.rows.push_back({task.task_id(), StateName(task.state()), task.worker_id(),
                          std::to_string(task.lease_count()), std::to_string(read),
                          std::to_string(written), text.substr(0, 200)});
  }
  json view_list = json::array();
  for (const auto& [name, t] : views) {
    view_list.push_back({{"view", name},
                         {"start", t.start},
                         {"end", t.end},
                         {"rows_read", t.rows_read},
                         {"rows_written", t.rows_written},
                         {"watermark_recorded", t.watermark_recorded}});
  }
  if (global.format() == worker::OutputFormat::kJson) {
    std::cout << json{{"job_id", job.job_id()},       {"ok", ok && watermark_error.empty()},
                      {"succeeded", job.succeeded()}, {"failed", job.failed()},
                      {"cancelled", job.cancelled()}, {"rows_read", rows_read},
                      {"rows_written", rows_written}, {"tasks", tasks},
                      {"views", view_list},           {"error", watermark_error}}
                     .dump(2)
              << '\n';
  } else {
    worker::PrintTable(std::cout, table);
    std::cout << "job " << job.job_id() << ": " << job.succeeded() << "/" << job.tasks_size()
              << " partitions succeeded; " << rows_read << " rows read, " << rows_written
              << " written\n";
    for (const auto& [name, t] : views) {
      std::cout << "  " << name << " [" << t.start << ", " << t.end << "]: " << t.rows_written
                << " rows written" << (t.watermark_recorded ? ", watermark recorded" : "") << '\n';
    }
  }
  if (!watermark_error.empty()) std::cerr << "error: " << watermark_error << '\n';
  if (!ok) {
    std::cerr << "error: job " << job.job_id() << ": " << job.failed() << " failed, "
              << job.cancelled() << " cancelled of " << job.tasks_size() << " partitions\n";
  }
  return ok && watermark_error.empty() ? 0 : 1;
}

int RunMaterialize(const GlobalOptions& global, const ClusterFlags& flags) {
  auto repo = repo::LoadRepo(global.repo_dir);
  if (!repo.ok()) return ReportError(repo.status());
  auto request = BuildJob(global, flags, *repo);
  if (!request.ok()) return ReportError(request.status());
  auto client = NewGrpcHeadClient(flags.head, std::chrono::milliseconds(flags.rpc_timeout_ms));
  auto submitted = client->SubmitJob(*request);
  if (!submitted.ok()) return ReportError(submitted.status());
  std::cerr << "submitted job " << request->job_id() << " (" << request->tasks_size()
            << " partitions) to head " << flags.head << '\n';
  if (!flags.wait) {
    std::cout << request->job_id() << '\n';
    return 0;
  }
  auto job = WaitForJob(*client, *request);
  if (!job.ok()) return ReportError(job.status());
  const bool all_succeeded = job->succeeded() == job->tasks_size();
  auto views = SummarizeViews(*job, *repo, all_succeeded);
  std::string watermark_error;
  std::map<std::string, ViewTotals> totals;
  if (views.ok()) {
    totals = std::move(*views);
  } else {
    watermark_error = views.status().ToString();
  }
  return PrintJob(global, *job, totals, watermark_error);
}

}  // namespace

void RegisterClusterCommand(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto flags = std::make_shared<ClusterFlags>();
  CLI::App* cmd = app.add_subcommand("cluster", "Talk to a ComputeCluster head");
  cmd->require_subcommand(1);
  cmd->add_option("--head", flags->head, "the head's host:port")->envname("FEATUREFORGE_HEAD");
  cmd->add_option("--rpc-timeout-ms", flags->rpc_timeout_ms, "deadline of each call to the head")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->fallthrough();

  CLI::App* status = cmd->add_subcommand("status", "Workers, pending and running tasks");
  status->callback([&global, flags, exit_code] {
    if (flags->head.empty()) {
      *exit_code = ReportError(Status::InvalidArgument("--head is required"));
      return;
    }
    *exit_code = RunStatus(global, *flags);
  });

  CLI::App* mat = cmd->add_subcommand(
      "materialize",
      "Materialize the repo in --repo on the cluster: one task per partition; waits and exits 0 "
      "only when every partition succeeded (then records watermarks).");
  mat->add_option("--partitions", flags->partitions, "tasks (hash partitions of the entity keys)")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  mat->add_option("--mode", flags->mode, "range | incremental")->capture_default_str();
  mat->add_option("--start", flags->start, "window start (range mode)");
  mat->add_option("--end", flags->end, "window end (inclusive)")->required();
  mat->add_option("--views", flags->views, "feature views (default: every online view)")
      ->delimiter(',');
  mat->add_flag("--wait,!--no-wait", flags->wait, "wait for the result (default) or only submit");
  mat->add_option("--job-id", flags->job_id,
                  "job id (default cli-<time>-<n>); resubmitting the "
                  "same id is idempotent");
  mat->add_option("--chunk-size", flags->chunk_size, "rows per online write")
      ->check(CLI::NonNegativeNumber);
  mat->add_option("--timeout-s", flags->timeout_s, "job deadline in seconds (0 = none)")
      ->check(CLI::NonNegativeNumber);
  mat->add_option("--max-lease-count", flags->max_lease_count,
                  "leases of a task (lost workers) before it fails (0 = head default)")
      ->check(CLI::NonNegativeNumber);
  mat->callback([&global, flags, exit_code] {
    if (flags->head.empty()) {
      *exit_code = ReportError(Status::InvalidArgument("--head is required"));
      return;
    }
    *exit_code = RunMaterialize(global, *flags);
  });
}

}  // namespace featureforge::cluster
