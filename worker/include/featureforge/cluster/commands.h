// The ComputeCluster subcommands of the `featureforge` binary (worker/src/cluster/):
//   head     the head: task queue, leases, worker registry (gRPC)
//   worker   a worker: registers with a head and runs its tasks
//   cluster  client: `cluster status`, `cluster materialize`
// Each writes the process exit code (0 / 1 runtime failure / 2 bad input) to *exit_code.
// Link `ff_cluster_cli`.
#pragma once

#include <CLI/CLI.hpp>

#include "featureforge/worker/commands.h"

namespace featureforge::cluster {

void RegisterHeadCommand(CLI::App& app, const worker::GlobalOptions& global, int* exit_code);
void RegisterWorkerCommand(CLI::App& app, const worker::GlobalOptions& global, int* exit_code);
void RegisterClusterCommand(CLI::App& app, const worker::GlobalOptions& global, int* exit_code);

}  // namespace featureforge::cluster
