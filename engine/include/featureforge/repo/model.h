// The feature repo: feature_store.yaml plus declarative definitions, as plain data.
// Loading and validation live in repo/loader.h; this header has no behaviour beyond lookups.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "featureforge/common/time.h"
#include "featureforge/types/value.h"

namespace featureforge::repo {

// Where a definition came from, so later stages (SQL validation, materialization) can name it.
struct SourceLocation {
  std::string file;  // path relative to the repo root
  int line = 0;      // 1-based; 0 when unknown
  std::string ToString() const { return line > 0 ? file + ":" + std::to_string(line) : file; }
};

struct Field {
  std::string name;
  ValueType type = ValueType::kInvalid;
  std::string description;
  std::map<std::string, std::string> tags;
};

struct Entity {
  std::string name;
  std::vector<std::string> join_keys;  // Feast: `join_keys` (one key per entity in practice)
  ValueType value_type = ValueType::kInt64;
  std::string description;
  std::map<std::string, std::string> tags;
  SourceLocation location;
};

enum class FileFormat { kParquet, kCsv };

struct DataSource {
  std::string name;
  // A file, directory or glob; local path (relative to the repo root) or s3:// URI.
  std::string path;
  FileFormat format = FileFormat::kParquet;
  std::string timestamp_field = "event_timestamp";
  std::string created_timestamp_column;              // empty when the source has none
  std::map<std::string, std::string> field_mapping;  // source column -> feature name
  std::string description;
  SourceLocation location;
};

// Embedding batch feature views: a text column of the view's rows becomes a float-list feature.
struct EmbeddingConfig {
  std::string source_column;         // text column of the query result
  std::string output;                // schema feature (Array(Float32)) that receives the vectors
  std::string embedder = "hashing";  // hashing (built-in, deterministic) | openai
  std::string model;                 // openai: model name sent to the endpoint
  std::string endpoint;              // openai: base URL, e.g. http://host:8000/v1
  std::string api_key_env;           // openai: env var holding the API key; empty = no auth
  int dimension = 0;                 // vector length; the endpoint's answers are checked
  bool normalize = true;             // L2-normalize every vector
  int batch_size = 64;               // texts per embedder call (HTTP request)
  // Truncation before embedding, in Unicode characters (code points); 0 = none.
  int max_length = 0;
  int64_t seed = 0;          // hashing: hash seed
  int timeout_seconds = 30;  // openai: per request
  int max_retries = 5;       // openai: retries on 429 / 5xx / connection errors
};

enum class VectorMetric { kCosine, kL2, kInnerProduct };

struct VectorIndexConfig {
  VectorMetric metric = VectorMetric::kCosine;
  // Defaults reach recall@10 >= 0.95 even on IID random vectors (engine/src/vectors/README.md).
  int m = 32;                 // hnswlib M
  int ef_construction = 200;  // hnswlib ef_construction
  int ef_search = 100;        // hnswlib ef at query time (>= top_k is used)
  bool exact = false;         // answer queries with a flat (exact) scan
};

struct FeatureView {
  std::string name;
  std::vector<std::string> entities;  // entity names
  DurationMicros ttl = 0;             // 0 = no limit
  std::vector<Field> features;        // the schema's non-key, non-timestamp fields
  bool online = true;
  bool offline = true;
  std::string description;
  std::map<std::string, std::string> tags;

  // Plain views read one source.
  std::string source;  // data source name; empty for batch views with `query`

  // Batch feature views: DuckDB SQL over sources (referenced by name as tables).
  bool is_batch = false;
  std::string query;
  std::vector<std::string> query_sources;  // sources the query reads
  // Compute once: when set, materialize writes the query result to `path` (Parquet) and
  // historical retrieval reads it, falling back to `query` while `path` does not exist.
  std::string path;
  // Columns of a batch view's result; for plain views taken from the source.
  std::string timestamp_field = "event_timestamp";
  std::string created_timestamp_column;

  // Embedding views (batch views only): set together; vector_index holds defaults when the
  // definition has no `vector_index:` block.
  std::optional<EmbeddingConfig> embedding;
  std::optional<VectorIndexConfig> vector_index;

  SourceLocation location;

  const Field* FindFeature(const std::string& feature) const {
    for (const auto& f : features) {
      if (f.name == feature) return &f;
    }
    return nullptr;
  }
};

// "view:feature" or "view" (every feature of the view) inside a feature service.
struct FeatureViewProjection {
  std::string view;
  std::vector<std::string> features;  // empty = all
};

struct FeatureService {
  std::string name;
  std::vector<FeatureViewProjection> projections;
  std::string description;
  SourceLocation location;
};

struct OnlineStoreConfig {
  std::string type = "sqlite";                // sqlite | redis
  std::string path = "data/online_store.db";  // sqlite: relative to the repo root
  std::string connection_string;              // redis: "host:port[,db=N][,password=...]"
  int64_t key_ttl_seconds = 0;                // redis: 0 = keys never expire
  // Folder of the vector indexes of embedding views (relative to the repo root). Empty = next
  // to the SQLite file ("<path>.vectors"); for redis "data/vector_index".
  std::string vector_index_path;
};

struct OfflineStoreConfig {
  std::string type = "duckdb";  // duckdb | file (both run on DuckDB)
  std::string memory_limit;     // DuckDB memory_limit, e.g. "1GB"; empty = DuckDB default
  int threads = 0;              // 0 = DuckDB default
};

struct BatchEngineConfig {
  std::string type = "local";
  int64_t chunk_size = 10000;  // rows per online write batch
  // Prefix of every materialization run's JSON-lines event log (path relative to the repo root,
  // file:// or s3://); empty: none unless a flag or FEATUREFORGE_EVENT_LOG_URI names one.
  std::string event_log_uri;
};

struct RepoConfig {
  std::string project;
  std::string registry = "data/registry.pb";  // relative to the repo root, or s3://
  std::string provider = "local";
  OfflineStoreConfig offline_store;
  OnlineStoreConfig online_store;
  BatchEngineConfig batch_engine;
  int entity_key_serialization_version = 3;
};

struct Repo {
  std::string root;  // absolute path of the folder holding feature_store.yaml
  RepoConfig config;
  std::vector<Entity> entities;
  std::vector<DataSource> sources;
  std::vector<FeatureView> feature_views;  // plain and batch views
  std::vector<FeatureService> feature_services;

  const Entity* FindEntity(const std::string& name) const;
  const DataSource* FindSource(const std::string& name) const;
  const FeatureView* FindFeatureView(const std::string& name) const;
  const FeatureService* FindFeatureService(const std::string& name) const;
  // Join keys of a view, in entity order.
  std::vector<std::string> JoinKeys(const FeatureView& view) const;
  // Resolves a path from the repo (relative to root unless absolute or a URI).
  std::string ResolvePath(const std::string& path) const;
};

}  // namespace featureforge::repo
