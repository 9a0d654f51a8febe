// The offline store: a DuckDB connection where every data source of a repo is a SQL view named
// after the source, and where feature views resolve to SQL relations (plain views read their
// source; batch views read their compute-once `path`, or run their `query` while it is absent).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/offline/duckdb.h"
#include "featureforge/repo/model.h"

namespace featureforge::offline {

// Column names every typed relation (OfflineStore::TypedViewSql) exposes besides keys/features.
inline constexpr const char* kEventTsColumn = "__ff_event_ts";
inline constexpr const char* kCreatedTsColumn = "__ff_created_ts";

// Where a view's keys and timestamps live in its relation.
struct ViewColumns {
  std::vector<std::string> join_keys;     // in entity order
  std::vector<ValueType> join_key_types;  // the entity's value type, per join key
  std::string timestamp_column;
  std::string created_timestamp_column;  // empty when the view has none
  // The view's features (schema fields that are neither join keys nor timestamp columns).
  std::vector<const repo::Field*> features;
};

// Not thread-safe: one OfflineStore per thread of work.
class OfflineStore {
 public:
  // Opens an in-memory DuckDB with offline_store.memory_limit/threads, TimeZone UTC, and a
  // temp_directory under scratch_dir() (so large sorts spill to disk), then registers
  // every local source as a view (object-store sources are fetched on first use). A source whose
  // files are missing or corrupt does not fail Open: its IOError (naming the source and path) is
  // returned when the source is first used or validated.
  static Result<std::unique_ptr<OfflineStore>> Open(const repo::Repo& repo);

  const repo::Repo& repo() const { return repo_; }
  DuckConnection& connection() { return *connection_; }
  // Local working space: DuckDB spill files (duckdb_tmp/<store>/), objects staged from object
  // storage (staging/<store>/), both removed with the store, and outputs on their way to object
  // storage (outgoing/). $FEATUREFORGE_SCRATCH_DIR, else <repo root>/data/.scratch.
  const std::string& scratch_dir() const { return scratch_dir_; }

  // The DuckDB table-function call reading `path_or_uri` in `format`: local files, directories
  // and globs directly (ReadFunctionSql); s3:// or mem:// objects, folders and globs are first
  // downloaded under scratch_dir()/staging/<this store> (removed when the store is destroyed;
  // a folder keeps only files with the format's
  // extension when it has any). Errors name the path.
  Result<std::string> ReadSql(const std::string& path_or_uri, repo::FileFormat format);

  // Runs `select_sql` and writes its result to `target` (a local path or an object-store URI)
  // as Parquet or CSV with a header, atomically: a local temporary file, then rename (local)
  // or upload (object store, whose PUT replaces the object at once). On failure `target` is
  // untouched. `inspect`, when given, runs on the complete local file before it is published
  // (e.g. to compute statistics); its error aborts the write.
  Status WriteResult(const std::string& select_sql, const std::string& target,
                     repo::FileFormat format,
                     const std::function<Status(const std::string& local_file)>& inspect = {});
  // True when `path` exists: a local stat, or an object-store lookup for URIs.
  Result<bool> PathExists(const std::string& path);

  // Makes sure the source's view exists (retrying a source that failed before, e.g. because
  // its file appeared since) and reads its schema. IOError naming source and path on failure.
  Status EnsureSource(const std::string& source_name);
  // Reads the first row of the source: catches corrupt files that the schema alone misses.
  Status ValidateSource(const std::string& source_name);

  // The SQL relation (usable after FROM) a view reads: a plain view's source view; a batch
  // view's read_parquet(path) when `path` exists, else `(query)`.
  Result<std::string> ViewRelationSql(const repo::FeatureView& view);

  // Where keys, timestamps and features are for `view` (plain views take the timestamp
  // columns from their source, after field_mapping).
  Result<ViewColumns> ResolveColumns(const repo::FeatureView& view) const;

  // `SELECT <keys cast to the entity type>, <features cast to their schema type>,
  //  CAST(ts AS TIMESTAMP) AS __ff_event_ts, CAST(created AS TIMESTAMP) AS __ff_created_ts
  //  FROM <ViewRelationSql>` — checks first that every column exists and names the missing
  // one. `features` empty = all features of the view. Created ts is NULL when the view has none.
  Result<std::string> TypedViewSql(const repo::FeatureView& view,
                                   const std::vector<std::string>& features = {});

  // Column names of any relation, in order (binds it; reads file metadata only).
  Result<std::vector<std::string>> RelationColumns(const std::string& relation_sql);

  // Compute once: runs a batch view's `query` and writes the result to `path` (Parquet)
  // atomically: a temporary file next to it, then rename. Later reads of the view use `path`.
  Status ComputeOnce(const repo::FeatureView& view);
  // ComputeOnce unless `path` exists already (or `recompute` is set); true when this call
  // wrote it. Partitions of one job run at once: for a local `path` an exclusive lock on a
  // hidden lock file next to it makes one of them compute while the others wait and then reuse
  // the file. Object-store paths have no lock; each writer's PUT is atomic, so the worst case
  // is the same result computed more than once.
  Result<bool> EnsureComputedOnce(const repo::FeatureView& view, bool recompute);

  // A fresh name for a temporary table of this connection: "__ff_<prefix>_<n>".
  std::string NewTempName(const std::string& prefix);

  ~OfflineStore();

 private:
  OfflineStore(repo::Repo repo, std::unique_ptr<DuckConnection> connection, std::string scratch_dir,
               const std::string& instance);

  // Sources a batch view's query may read: its declared query_sources, else every source.
  Status EnsureQuerySources(const repo::FeatureView& view);
  // Adds which source failed to DuckDB's "table X does not exist" errors.
  Status ExplainQueryError(const repo::FeatureView& view, const Status& status) const;
  Status RegisterSource(const repo::DataSource& source);

  repo::Repo repo_;
  std::unique_ptr<DuckConnection> connection_;
  std::string scratch_dir_;
  std::string instance_;     // "<pid>-<n>": names this store's private scratch folders
  std::string staging_dir_;  // scratch_dir_/staging/<instance>, removed with the store
  std::map<std::string, bool> registered_;            // source name -> view exists
  std::map<std::string, Status> registration_error_;  // source name -> last failure
  int64_t next_temp_id_ = 0;
};

// The DuckDB table-function call that reads local `path` (a file, a directory: every file of
// the format below it, or a glob) in `format`, e.g. read_parquet('/data/x/**/*.parquet').
std::string ReadFunctionSql(const std::string& path, repo::FileFormat format);
// The call reading a list of local files: read_parquet(['a', 'b'], union_by_name = true).
std::string ReadFilesSql(const std::vector<std::string>& files, repo::FileFormat format);
// The format a path's extension implies: .csv/.tsv/.txt -> CSV, anything else Parquet.
repo::FileFormat FormatFromExtension(const std::string& path);

}  // namespace featureforge::offline
