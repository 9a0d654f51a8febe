// Internals of the feature server shared by its .cc files (not a public header).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "featureforge/http/request_metrics.h"
#include "featureforge/http/server.h"
#include "featureforge/online/online_store.h"
#include "featureforge/repo/model.h"
#include "featureforge/serving/online_features.h"
#include "featureforge/store/feature_store.h"
#include "featureforge/worker/server/feature_server.h"

namespace featureforge::worker::server {

// A request problem: the HTTP status and the field it is about.
struct RequestError {
  int status = 422;
  std::string message;
  std::string field;
  http::Response ToResponse() const { return http::JsonError(status, message, field); }
};

// What the server serves: feature_store.yaml's config plus the registry's definitions.
struct ServingSnapshot {
  repo::Repo repo;
  bool applied = false;       // the registry exists and holds the project
  std::string registry_path;  // a local path or an object-store URI (s3://...)
  // Registry::Version at load ("" while it does not exist): a local file's identity or an
  // object's ETag, so a registry replaced on S3 is reloaded like a local one.
  std::string registry_version;
  uint64_t generation = 0;
};

class FeatureServer::State {
 public:
  State(ServeOptions options, const Clock& clock);

  // First load; fails when feature_store.yaml does not load.
  Status Load();
  // The current snapshot, reloaded first when the registry file changed (checked at most every
  // registry_check_interval).
  std::shared_ptr<const ServingSnapshot> Snapshot();
  // This thread's online store for `snapshot`'s config, opened on first use (and again after a
  // failure or a config change).
  Result<online::OnlineStore*> ThreadStore(const ServingSnapshot& snapshot);

  // The FeatureStore that answers document retrieval, shared by every thread: its vector index
  // cache makes repeated queries cheap. Reopened when the served snapshot changed.
  Result<std::shared_ptr<store::FeatureStore>> DocumentStore(uint64_t snapshot_generation);

  const ServeOptions& options() const { return options_; }
  const Clock& clock() const { return clock_; }
  http::RequestMetrics& metrics() { return metrics_; }

 private:
  Result<std::shared_ptr<ServingSnapshot>> LoadSnapshot(uint64_t generation);

  ServeOptions options_;
  const Clock& clock_;
  http::RequestMetrics metrics_{"featureforge_server"};
  std::mutex mu_;  // guards snapshot_ and reloads
  std::shared_ptr<const ServingSnapshot> snapshot_;
  std::atomic<int64_t> next_check_ns_{0};
  std::mutex documents_mu_;  // guards the two below
  std::shared_ptr<store::FeatureStore> documents_;
  uint64_t documents_generation_ = 0;
};

// Parses the body as a JSON object; 400 when it is not JSON, 422 when not an object.
bool ParseJsonObject(const std::string& body, nlohmann::json* out, RequestError* error);

// Entity columns of a get-online-features request, typed by the entities' value types.
bool EntityColumnsFromJson(const repo::Repo& repo, const nlohmann::json& entities,
                           std::map<std::string, std::vector<Value>>* columns, RequestError* error);

// A columnar dataframe {"col": [v, ...], ...} turned into online rows for `view` (join keys,
// `timestamp_field`, optional `created_field`, every feature of the view; columns named through
// `field_mapping` source->feature when given). `field_prefix` names fields in errors ("df").
bool RowsFromDataframe(const repo::Repo& repo, const repo::FeatureView& view,
                       const nlohmann::json& df, const std::string& timestamp_field,
                       const std::string& created_field,
                       const std::map<std::string, std::string>& field_mapping,
                       std::vector<online::WriteRow>* rows, RequestError* error);

// One JSON cell as a value of `type`; false with a message when it does not fit.
bool JsonToValue(const nlohmann::json& cell, ValueType type, Value* out, std::string* problem);
// Timestamps: ISO-8601 strings or numbers of seconds since the epoch.
bool JsonToTimestamp(const nlohmann::json& cell, TimestampMicros* out, std::string* problem);

// Appends the dataframe as a new Parquet file in the folder of `source` (a folder or a
// "<folder>/*.parquet" glob). NotSupported for a single-file or non-local source.
Status AppendToOfflineSource(const repo::Repo& repo, const repo::DataSource& source,
                             const nlohmann::json& df, const std::vector<std::string>& columns,
                             const std::vector<ValueType>& types);

// Appends serving::ToFeastJson(response).dump() — the same bytes — without building the JSON
// tree (response_json.cc).
void AppendFeastJson(const serving::OnlineFeaturesResponse& response, std::string* out);

// POST /retrieve-online-documents. Its own file so the vector engine can take it over.
http::Response HandleRetrieveOnlineDocuments(FeatureServer::State& state,
                                             const http::Request& request);

}  // namespace featureforge::worker::server
