// The `featureforge` CLI's subcommands. Each returns a process exit code:
// 0 success, 2 bad input (flags, definitions, unknown names), 1 runtime failure.
#pragma once

#include <CLI/CLI.hpp>

#include "featureforge/common/status.h"
#include "featureforge/worker/output.h"

namespace featureforge::worker {

struct GlobalOptions {
  std::string repo_dir = ".";
  std::string output = "table";  // table | json
  std::string log_level = "warn";
  OutputFormat format() const { return output == "json" ? OutputFormat::kJson : OutputFormat::kTable; }
};

// Exit code for a failed status: 2 for bad input, 1 for everything else.
int ExitCodeFor(const Status& status);
// Prints "error: <message>" to stderr and returns the exit code.
int ReportError(const Status& status);

// Each Register* adds one subcommand to `app`; when the subcommand runs, its exit code is
// written to `*exit_code`.
void RegisterApply(CLI::App& app, const GlobalOptions& global, int* exit_code);
void RegisterMaterialize(CLI::App& app, const GlobalOptions& global, int* exit_code);
void RegisterRetrieval(CLI::App& app, const GlobalOptions& global, int* exit_code);
void RegisterList(CLI::App& app, const GlobalOptions& global, int* exit_code);
// `retrieve-online-documents`: top-k of an embedding view (worker/src/vector_commands.cc).
void RegisterVectors(CLI::App& app, const GlobalOptions& global, int* exit_code);
// `serve`: the HTTP feature server (worker/src/server/).
void RegisterServe(CLI::App& app, const GlobalOptions& global, int* exit_code);
// `executor`: one partition of a materialization inside an executor pod
// (worker/src/executor_command.cc).
void RegisterExecutor(CLI::App& app, const GlobalOptions& global, int* exit_code);

}  // namespace featureforge::worker
