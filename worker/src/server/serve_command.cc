// `featureforge serve`: runs the feature server until SIGINT/SIGTERM, then drains and exits 0.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include "featureforge/worker/commands.h"
#include "featureforge/worker/server/feature_server.h"

namespace featureforge::worker {
namespace {

struct ServeFlags {
  std::string host = "127.0.0.1";
  int port = 6566;  // Feast's feature server default
  int threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  size_t max_body_bytes = 8 << 20;
  int request_timeout_ms = 10000;
  int idle_timeout_ms = 60000;
  int registry_check_interval_ms = 1000;
  int store_connect_timeout_ms = 1000;
  int store_command_timeout_ms = 2000;
  std::string port_file;
  std::string event_log_uri;
};

int RunServe(const GlobalOptions& global, const ServeFlags& flags) {
  server::ServeOptions options;
  options.repo_dir = global.repo_dir;
  options.http.host = flags.host;
  options.http.port = flags.port;
  options.http.threads = flags.threads;
  options.http.max_body_bytes = flags.max_body_bytes;
  options.http.request_timeout = std::chrono::milliseconds(flags.request_timeout_ms);
  options.http.idle_timeout = std::chrono::milliseconds(flags.idle_timeout_ms);
  options.registry_check_interval = std::chrono::milliseconds(flags.registry_check_interval_ms);
  options.store_connect_timeout = std::chrono::milliseconds(flags.store_connect_timeout_ms);
  options.store_command_timeout = std::chrono::milliseconds(flags.store_command_timeout_ms);
  options.event_log_uri = flags.event_log_uri;

  // Block the stop signals before the pool threads start (they inherit the mask); this thread
  // waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client that hangs up mid-response must not kill the process.
  signal(SIGPIPE, SIG_IGN);

  auto server = server::FeatureServer::Start(options);
  if (!server.ok()) return ReportError(server.status());
  const int port = (*server)->port();
  if (!flags.port_file.empty()) {
    // Written to a temp name then renamed: a reader never sees a partial port number.
    std::string tmp = flags.port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::rename(tmp.c_str(), flags.port_file.c_str());
  }
  std::printf("featureforge feature server listening on http://%s:%d (%d threads)\n",
              flags.host.c_str(), port, flags.threads);
  std::fflush(stdout);
  spdlog::info("serve host={} port={} threads={} repo={}", flags.host, port, flags.threads,
               global.repo_dir);

  int received = 0;
  sigwait(&stop_signals, &received);
  spdlog::info("serve: signal {} received, draining", received);
  (*server)->Stop();
  return 0;
}

}  // namespace

void RegisterServe(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd =
      app.add_subcommand("serve",
                         "Run the Feast-compatible HTTP feature server (get-online-features, push, "
                         "materialize, /metrics) until SIGINT/SIGTERM");
  cmd->add_option("--host", flags->host, "address to listen on")->capture_default_str();
  cmd->add_option("-p,--port", flags->port, "port (0 = any free port; see --port-file)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--threads", flags->threads, "worker threads (one online store connection each)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", flags->max_body_bytes, "larger requests get 413")
      ->capture_default_str();
  cmd->add_option("--request-timeout-ms", flags->request_timeout_ms,
                  "time allowed to receive one request")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--idle-timeout-ms", flags->idle_timeout_ms,
                  "keep-alive connections idle this long are closed")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--registry-check-interval-ms", flags->registry_check_interval_ms,
                  "how often the registry file is checked for changes")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--store-connect-timeout-ms", flags->store_connect_timeout_ms,
                  "online store (Redis) connect timeout; a store that is down answers 503")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--store-command-timeout-ms", flags->store_command_timeout_ms,
                  "online store (Redis) command timeout")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--port-file", flags->port_file, "write the bound port to this file");
  cmd->add_option("--event-log-uri", flags->event_log_uri,
                  "event-log prefix of /materialize runs whose request gives no event_log_uri "
                  "(path, file://, s3://)")
      ->envname("FEATUREFORGE_EVENT_LOG_URI");
  cmd->callback([&global, flags, exit_code] { *exit_code = RunServe(global, *flags); });
}

}  // namespace featureforge::worker
