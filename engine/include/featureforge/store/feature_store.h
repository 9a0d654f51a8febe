// FeatureStore: the engine's front door. Loads a feature repo and runs the operations the CLI,
// executor pods and the feature server expose: apply, materialize (range or incremental,
// optionally one partition), historical retrieval and online reads. It owns the ordering rules
// that span stages, e.g. a watermark is recorded in the registry only after the online write
// committed.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/repo/model.h"
#include "featureforge/types/value.h"

namespace featureforge::vectors {
class IndexCache;
}

namespace featureforge::store {

struct PartitionSpec {
  int index = 0;
  int count = 1;
  bool whole() const { return count == 1; }
};

// Parses "i/n" (0 <= i < n).
Result<PartitionSpec> ParsePartition(const std::string& text);

using ProgressCallback = std::function<void(int64_t rows_done, int64_t rows_total)>;

struct MaterializeRequest {
  std::vector<std::string> views;  // empty = every online view
  bool incremental = false;
  TimestampMicros start = 0;  // ignored when incremental
  TimestampMicros end = 0;
  PartitionSpec partition;
  // Partitioned runs do not record watermarks by default: whoever runs all partitions (the
  // operator) advances them once every partition of a view succeeded.
  std::optional<bool> record_watermark;
  int64_t chunk_size = 0;  // 0 = the repo's batch_engine.chunk_size
  // Called once per view to make that view's progress callback (may be empty).
  std::function<ProgressCallback(const std::string& view)> progress;
};

struct ViewRunResult {
  std::string view;
  TimestampMicros start = 0;
  TimestampMicros end = 0;
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t rows_skipped_stale = 0;
  bool watermark_recorded = false;
  // Set when the run did something a user must know about, e.g. "no rows in window".
  std::string note;
  double seconds = 0;
};

struct MaterializeResult {
  PartitionSpec partition;
  std::vector<ViewRunResult> views;
  int64_t total_rows_read() const;
  int64_t total_rows_written() const;
};

struct ApplySummary {
  std::vector<std::string> created;
  std::vector<std::string> updated;
  std::vector<std::string> deleted;
  std::vector<std::string> unchanged;
  std::string registry_path;
};

struct HistoricalRequest {
  std::string entity_file;  // Parquet or CSV with event_timestamp and join keys
  std::vector<std::string> features;  // "view:feature" or "view"
  std::string feature_service;
  bool full_feature_names = false;
  std::string output_path;  // .parquet or .csv
};

struct HistoricalResult {
  int64_t rows = 0;
  std::vector<std::string> columns;
  std::string output_path;
};

struct OnlineRequest {
  std::vector<std::string> features;
  std::string feature_service;
  std::map<std::string, std::vector<Value>> entities;  // join key -> values (one per row)
  bool full_feature_names = false;
};

// Top-k documents of an embedding view (Feast's retrieve_online_documents_v2 /
// POST /retrieve-online-documents).
struct DocumentsRequest {
  // "view:feature" refs, all of one embedding view (the embedding itself may be among them);
  // a bare "view" names the view and returns every feature of it.
  std::vector<std::string> features;
  std::optional<std::vector<float>> query;  // query vector, or
  std::string query_string;                 // query text, embedded with the view's embedder
  int top_k = 10;
  std::string distance_metric;  // optional "COSINE" | "L2" | "IP": must match the index
  std::optional<bool> exact;    // flat search; unset = the view's vector_index.exact
  int ef_search = 0;            // 0 = the view's vector_index.ef_search
};

// What `list` shows.
struct ViewListing {
  std::string name;
  std::string kind;  // "feature_view" | "batch_feature_view"
  std::vector<std::string> entities;
  std::vector<std::string> features;
  DurationMicros ttl = 0;
  bool online = true;
  bool offline = true;
  bool applied = false;
  std::optional<TimestampMicros> last_materialized_end;
  int64_t rows_written_total = 0;
};

struct RepoListing {
  std::string project;
  std::vector<repo::Entity> entities;
  std::vector<ViewListing> views;
  std::vector<repo::FeatureService> services;
};

class FeatureStore {
 public:
  // Loads and validates the repo at `repo_dir` (errors name file, line and field).
  static Result<std::unique_ptr<FeatureStore>> Open(const std::string& repo_dir,
                                                    const Clock& clock = SystemClock());
  ~FeatureStore();

  const repo::Repo& repo() const { return repo_; }
  std::string registry_path() const;

  Result<ApplySummary> Apply();
  Result<MaterializeResult> Materialize(const MaterializeRequest& request);
  Result<HistoricalResult> GetHistoricalFeatures(const HistoricalRequest& request);
  // Returns Feast's feature-server JSON shape: metadata.feature_names and one result per
  // feature (column-major) with values, statuses and event timestamps per entity row.
  Result<nlohmann::json> GetOnlineFeatures(const OnlineRequest& request);
  // Parses "join_key=v1,v2,..." specs into typed entity columns using the entities' value types.
  Result<std::map<std::string, std::vector<Value>>> ParseEntityColumns(
      const std::vector<std::string>& specs) const;
  Result<RepoListing> List();
  // Nearest documents first, in Feast's feature-server JSON shape (as GetOnlineFeatures):
  // metadata.feature_names = [join keys..., features..., "distance"]. Thread-safe; vector
  // indexes are cached and reloaded when a materialization saved a newer one.
  // InvalidArgument for bad requests, FailedPrecondition when the view was never materialized.
  Result<nlohmann::json> RetrieveOnlineDocuments(const DocumentsRequest& request);

 private:
  FeatureStore(repo::Repo repo, const Clock& clock);
  repo::Repo repo_;
  const Clock& clock_;
  std::unique_ptr<vectors::IndexCache> index_cache_;
};

}  // namespace featureforge::store
