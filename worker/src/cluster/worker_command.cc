// `featureforge worker`: runs a ComputeCluster worker until SIGTERM/SIGINT.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "featureforge/cluster/cluster_worker.h"
#include "featureforge/cluster/commands.h"

namespace featureforge::cluster {
namespace {

struct WorkerFlags {
  WorkerOptions options;
  int64_t grace_period_ms = 30000;
  int64_t lease_wait_ms = 10000;
  int64_t rpc_timeout_ms = 10000;
};

int RunWorker(WorkerFlags flags) {
  if (flags.options.worker_id.empty()) flags.options.worker_id = flags.options.pod_name;
  if (flags.options.worker_id.empty()) {
    return worker::ReportError(Status::InvalidArgument(
        "--worker-id (env FEATUREFORGE_WORKER_ID) or --pod-name is required"));
  }
  flags.options.grace_period = std::chrono::milliseconds(flags.grace_period_ms);
  flags.options.lease_wait = std::chrono::milliseconds(flags.lease_wait_ms);
  flags.options.rpc_timeout = std::chrono::milliseconds(flags.rpc_timeout_ms);

  // Block the stop signals before the worker's threads start (they inherit the mask); task
  // processes get an empty mask back. This thread waits for the signals with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ClusterWorker cluster_worker(flags.options);
  cluster_worker.Start();
  std::printf("featureforge worker %s (group '%s', %d slots) serving head %s\n",
              flags.options.worker_id.c_str(), flags.options.group_name.c_str(),
              flags.options.slots, flags.options.head_address.c_str());
  std::fflush(stdout);
  spdlog::info("worker started worker_id={} group={} slots={} head={}", flags.options.worker_id,
               flags.options.group_name, flags.options.slots, flags.options.head_address);

  int received = 0;
  sigwait(&stop_signals, &received);
  spdlog::info("worker: signal {} received; no more leases, running tasks get {}ms", received,
               flags.grace_period_ms);
  cluster_worker.Stop();
  return 0;
}

}  // namespace

void RegisterWorkerCommand(CLI::App& app, const worker::GlobalOptions& /*global*/, int* exit_code) {
  auto flags = std::make_shared<WorkerFlags>();
  CLI::App* cmd = app.add_subcommand(
      "worker",
      "Run a ComputeCluster worker: register with the head, lease tasks and run them "
      "(materialization partitions as `featureforge executor` processes) until SIGINT/SIGTERM.");
  cmd->add_option("--head", flags->options.head_address, "the head's host:port")
      ->envname("FEATUREFORGE_HEAD")
      ->required();
  cmd->add_option("--worker-id", flags->options.worker_id,
                  "stable id of this worker (default: --pod-name)")
      ->envname("FEATUREFORGE_WORKER_ID");
  cmd->add_option("--group", flags->options.group_name, "the ComputeCluster worker group")
      ->envname("FEATUREFORGE_GROUP");
  cmd->add_option("--slots", flags->options.slots, "tasks run at once")
      ->envname("FEATUREFORGE_SLOTS")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--pod-name", flags->options.pod_name, "the pod this worker runs in")
      ->envname("FEATUREFORGE_POD_NAME");
  cmd->add_option("--grace-period-ms", flags->grace_period_ms,
                  "on SIGTERM, running tasks may finish this long before they are killed")
      ->envname("FEATUREFORGE_GRACE_PERIOD_MS")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--lease-wait-ms", flags->lease_wait_ms, "long-poll length of a lease request")
      ->envname("FEATUREFORGE_LEASE_WAIT_MS")
      ->check(CLI::Range(int64_t{1}, int64_t{30000}))
      ->capture_default_str();
  cmd->add_option("--rpc-timeout-ms", flags->rpc_timeout_ms, "deadline of every other head call")
      ->envname("FEATUREFORGE_RPC_TIMEOUT_MS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--work-dir", flags->options.work_dir,
                  "where task folders are created (default $TMPDIR or /tmp)")
      ->envname("FEATUREFORGE_WORK_DIR");
  cmd->callback([flags, exit_code] { *exit_code = RunWorker(*flags); });
}

}  // namespace featureforge::cluster
