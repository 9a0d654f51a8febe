// featureforge: the local CLI over the shared engine.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "featureforge/cluster/commands.h"
#include "featureforge/worker/commands.h"

int main(int argc, char** argv) {
  using featureforge::worker::GlobalOptions;
  GlobalOptions global;
  // Logs go to stderr; interactive use wants results, not log lines, unless asked.
  if (const char* level = std::getenv("FEATUREFORGE_LOG_LEVEL")) global.log_level = level;
  int exit_code = 0;

  CLI::App app{
      "featureforge: materialize, retrieve and serve ML features.\n"
      "Runs against the feature repo in --repo (a folder with feature_store.yaml)."};
  app.set_version_flag("--version", std::string("featureforge ") + FEATUREFORGE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("-r,--repo", global.repo_dir, "feature repo folder (holds feature_store.yaml)")
      ->capture_default_str();
  app.add_option("-o,--output", global.output, "output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", global.log_level,
                 "trace|debug|info|warn|error|off (env FEATUREFORGE_LOG_LEVEL)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();

  featureforge::worker::RegisterApply(app, global, &exit_code);
  featureforge::worker::RegisterMaterialize(app, global, &exit_code);
  featureforge::worker::RegisterRetrieval(app, global, &exit_code);
  featureforge::worker::RegisterList(app, global, &exit_code);
  featureforge::worker::RegisterVectors(app, global, &exit_code);
  featureforge::worker::RegisterServe(app, global, &exit_code);
  featureforge::worker::RegisterExecutor(app, global, &exit_code);
  featureforge::cluster::RegisterHeadCommand(app, global, &exit_code);
  featureforge::cluster::RegisterWorkerCommand(app, global, &exit_code);
  featureforge::cluster::RegisterClusterCommand(app, global, &exit_code);

  app.parse_complete_callback([&global] {
    spdlog::set_default_logger(spdlog::stderr_logger_mt("featureforge"));
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ level=%l %v", spdlog::pattern_time_type::utc);
    spdlog::set_level(spdlog::level::from_str(global.log_level));
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version exit 0; every other parse error is bad input (2).
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
