// The feature server behind `featureforge serve`: Feast's HTTP endpoints over the engine.
//   POST /get-online-features       {"features": [...] | "feature_service": "...",
//                                    "entities": {"driver_id": [1001, 1002]},
//                                    "full_feature_names": false}
//   POST /push                      {"push_source_name": "...", "df": {col: [...]},
//                                    "to": "online" | "offline" | "online_and_offline"}
//   POST /write-to-online-store     {"feature_view_name": "...", "df": {col: [...]}}
//   POST /materialize               {"start_ts": "...", "end_ts": "...", "feature_views": [...],
//                                    "event_log_uri": "s3://..." (optional)}
//   POST /materialize-incremental   {"end_ts": "...", "feature_views": [...], "event_log_uri"}
//   POST /retrieve-online-documents {"features": [...], "query" | "query_string", "top_k"}
//   GET  /health, GET /metrics (Prometheus text)
// Errors are JSON {"error": "...", "field": "..."}: 400 malformed JSON, 422 semantically wrong
// (unknown feature, wrong entity type, missing join key), 409 nothing applied yet, 413 too
// large, 503 online store down (after the configured connect/command timeouts).
//
// Definitions come from the registry (what `featureforge apply` stored), cached and reloaded
// when the registry file's mtime or size changes (a stat at most every
// registry_check_interval). Each server thread keeps its own online store connection.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/http/server.h"

namespace featureforge::worker::server {

struct ServeOptions {
  std::string repo_dir = ".";
  http::ServerOptions http;
  std::chrono::milliseconds registry_check_interval{1000};
  // Online store timeouts (Redis): a store that is down answers 503 after at most these.
  std::chrono::milliseconds store_connect_timeout{1000};
  std::chrono::milliseconds store_command_timeout{2000};
  // Event-log prefix of /materialize runs whose request names none ("" = none, unless the
  // FEATUREFORGE_EVENT_LOG_URI environment variable gives one).
  std::string event_log_uri;
};

class FeatureServer {
 public:
  // Loads the repo config and registry and starts listening. `clock` must outlive the server.
  static Result<std::unique_ptr<FeatureServer>> Start(const ServeOptions& options,
                                                      const Clock& clock = SystemClock());
  ~FeatureServer();

  int port() const;
  void Stop();
  void Wait();

  class State;  // repo cache, per-thread stores, metrics; shared by the handlers

 private:
  FeatureServer() = default;
  std::shared_ptr<State> state_;
  std::unique_ptr<http::Server> http_;
};

}  // namespace featureforge::worker::server
