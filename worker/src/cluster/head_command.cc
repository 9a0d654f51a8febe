// `featureforge head`: runs the ComputeCluster head until SIGTERM/SIGINT.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>

#include "featureforge/cluster/commands.h"
#include "featureforge/cluster/head.h"

namespace featureforge::cluster {
namespace {

struct HeadFlags {
  HeadOptions options;
  std::string address_file;
};

// The address a local client dials: a wildcard bind is reached through loopback.
std::string DialableAddress(const std::string& bind, int port) {
  const bool wildcard = bind == "0.0.0.0" || bind == "::" || bind == "[::]";
  return (wildcard ? std::string("127.0.0.1") : bind) + ":" + std::to_string(port);
}

int RunHead(const HeadFlags& flags) {
  // Block the stop signals before gRPC starts its threads (they inherit the mask); this thread
  // waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto head = HeadServer::Start(flags.options);
  if (!head.ok()) return worker::ReportError(head.status());
  const std::string address = DialableAddress(flags.options.bind_address, (*head)->port());
  if (!flags.address_file.empty()) {
    // Written to a temp name then renamed: a reader never sees a partial address.
    const std::string tmp = flags.address_file + ".tmp";
    std::ofstream(tmp) << address << "\n";
    if (std::rename(tmp.c_str(), flags.address_file.c_str()) != 0) {
      (*head)->Shutdown();
      return worker::ReportError(
          Status::IOError("cannot write --address-file " + flags.address_file));
    }
  }
  std::printf("featureforge head listening on %s (head_id %s)\n", (*head)->address().c_str(),
              (*head)->head_id().c_str());
  std::fflush(stdout);
  spdlog::info(
      "head listening address={} head_id={} heartbeat_interval_ms={} "
      "heartbeat_timeout_ms={}",
      (*head)->address(), (*head)->head_id(), flags.options.heartbeat_interval_ms,
      flags.options.heartbeat_timeout_ms);

  int received = 0;
  sigwait(&stop_signals, &received);
  spdlog::info("head: signal {} received, stopping", received);
  (*head)->Shutdown();
  return 0;
}

}  // namespace

void RegisterHeadCommand(CLI::App& app, const worker::GlobalOptions& /*global*/, int* exit_code) {
  auto flags = std::make_shared<HeadFlags>();
  CLI::App* cmd = app.add_subcommand(
      "head",
      "Run a ComputeCluster head (task queue, leases, worker registry over gRPC) until "
      "SIGINT/SIGTERM. State is in memory: a restarted head has a new head_id.");
  cmd->add_option("--bind", flags->options.bind_address, "address to listen on")
      ->envname("FEATUREFORGE_BIND")
      ->capture_default_str();
  cmd->add_option("-p,--port", flags->options.port, "port (0 = any free port; see --address-file)")
      ->envname("FEATUREFORGE_PORT")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--heartbeat-interval-ms", flags->options.heartbeat_interval_ms,
                  "how often workers heartbeat")
      ->envname("FEATUREFORGE_HEARTBEAT_INTERVAL_MS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--heartbeat-timeout-ms", flags->options.heartbeat_timeout_ms,
                  "a worker silent this long is lost and its tasks are requeued")
      ->envname("FEATUREFORGE_HEARTBEAT_TIMEOUT_MS")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-lease-count", flags->options.default_max_lease_count,
                  "leases of a task (lost workers) before it fails, for jobs that do not say")
      ->envname("FEATUREFORGE_MAX_LEASE_COUNT")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--finished-job-retention-s", flags->options.finished_job_retention_s,
                  "finished jobs are forgotten this long after they finished (0 = never)")
      ->envname("FEATUREFORGE_FINISHED_JOB_RETENTION_S")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--address-file", flags->address_file,
                  "write host:port here once listening (useful with --port 0)")
      ->envname("FEATUREFORGE_ADDRESS_FILE");
  cmd->callback([flags, exit_code] { *exit_code = RunHead(*flags); });
}

}  // namespace featureforge::cluster
