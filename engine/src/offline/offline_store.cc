#include "featureforge/offline/offline_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "featureforge/objectstore/object_store.h"
#include "featureforge/objectstore/staging.h"
#include "featureforge/offline/duck_values.h"

namespace featureforge::offline {
namespace fs = std::filesystem;
namespace {

bool IsUri(const std::string& path) { return path.find("://") != std::string::npos; }

// s3://, mem:// and other object-store URIs; plain paths and file:// are local.
bool IsRemote(const std::string& path) { return IsUri(path) && !IsLocalObjectUri(path); }

// A local path for plain paths and file:// URIs.
std::string LocalPath(const std::string& path) {
  if (!IsUri(path)) return path;
  auto parsed = ParseObjectUri(path);
  return parsed.ok() ? parsed->path : path;
}

bool HasExtension(const std::string& path, repo::FileFormat format) {
  if (format == repo::FileFormat::kCsv) return FormatFromExtension(path) == format;
  return path.size() >= 8 && path.compare(path.size() - 8, 8, ".parquet") == 0;
}

std::atomic<int64_t> temp_counter{0};

std::string TempSuffix() {
  return ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(temp_counter.fetch_add(1));
}

bool IsGlob(const std::string& path) { return path.find_first_of("*?[") != std::string::npos; }

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string Mapped(const repo::DataSource& source, const std::string& column) {
  auto it = source.field_mapping.find(column);
  return it == source.field_mapping.end() ? column : it->second;
}

// A query as a subquery: trailing whitespace and semicolons removed.
std::string QueryAsRelation(const std::string& query) {
  std::string trimmed = query;
  while (!trimmed.empty() &&
         (std::isspace(static_cast<unsigned char>(trimmed.back())) || trimmed.back() == ';')) {
    trimmed.pop_back();
  }
  return "(" + trimmed + "\n)";
}

}  // namespace

repo::FileFormat FormatFromExtension(const std::string& path) {
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* ext : {".csv", ".tsv", ".txt", ".csv.gz"}) {
    std::string_view e(ext);
    if (lower.size() >= e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0) {
      return repo::FileFormat::kCsv;
    }
  }
  return repo::FileFormat::kParquet;
}

std::string ReadFunctionSql(const std::string& path, repo::FileFormat format) {
  const bool parquet = format == repo::FileFormat::kParquet;
  std::string target = path;
  bool many_files = IsGlob(path);
  std::error_code ec;
  if (!IsUri(path) && !many_files && fs::is_directory(path, ec)) {
    target = (path.back() == '/' ? path : path + "/") + (parquet ? "**/*.parquet" : "**/*.csv");
    many_files = true;
  }
  std::string sql = std::string(parquet ? "read_parquet(" : "read_csv(") + QuoteLiteral(target);
  // Files written at different times may differ in column order or gain columns.
  if (many_files) sql += ", union_by_name = true";
  return sql + ")";
}

std::string ReadFilesSql(const std::vector<std::string>& files, repo::FileFormat format) {
  std::string list;
  for (const auto& file : files) list += (list.empty() ? "" : ", ") + QuoteLiteral(file);
  return std::string(format == repo::FileFormat::kParquet ? "read_parquet([" : "read_csv([") +
         list + "], union_by_name = true)";
}

Result<std::unique_ptr<OfflineStore>> OfflineStore::Open(const repo::Repo& repo) {
  // Scratch space under the repo's data dir unless the environment points elsewhere (executor
  // pods whose repo is a read-only ConfigMap mount).
  const char* scratch_override = std::getenv("FEATUREFORGE_SCRATCH_DIR");
  std::string scratch_dir = scratch_override && *scratch_override
                                ? scratch_override
                                : (repo.root.empty() ? "data" : repo.root + "/data") + "/.scratch";
  std::map<std::string, std::string> config;
  if (!repo.config.offline_store.memory_limit.empty()) {
    config["memory_limit"] = repo.config.offline_store.memory_limit;
  }
  if (repo.config.offline_store.threads > 0) {
    config["threads"] = std::to_string(repo.config.offline_store.threads);
  }
  std::error_code ec;
  fs::create_directories(scratch_dir, ec);  // best effort: DuckDB reports it if it must spill
  // Per store, like staging: stores of concurrent processes never share spill files.
  const std::string instance =
      std::to_string(::getpid()) + "-" + std::to_string(temp_counter.fetch_add(1));
  config["temp_directory"] = scratch_dir + "/duckdb_tmp/" + instance;
  auto connection = DuckConnection::Open(":memory:", config);
  if (!connection.ok()) return connection.status().WithContext("offline store");
  FF_RETURN_IF_ERROR((*connection)->Execute("SET TimeZone = 'UTC'"));
  std::unique_ptr<OfflineStore> store(
      new OfflineStore(repo, std::move(connection).value(), scratch_dir, instance));
  for (const auto& source : store->repo_.sources) {
    // Object-store sources are downloaded only when first used: a run touching one view must
    // not fetch every dataset of the repo.
    if (IsRemote(store->repo_.ResolvePath(source.path))) continue;
    // Failures are kept and reported when the source is used (see EnsureSource).
    (void)store->EnsureSource(source.name);
  }
  return store;
}

OfflineStore::OfflineStore(repo::Repo repo, std::unique_ptr<DuckConnection> connection,
                           std::string scratch_dir, const std::string& instance)
    : repo_(std::move(repo)),
      connection_(std::move(connection)),
      scratch_dir_(std::move(scratch_dir)),
      instance_(instance),
      // Private to this store: another process's store never deletes files this one reads.
      staging_dir_(scratch_dir_ + "/staging/" + instance) {}

OfflineStore::~OfflineStore() {
  connection_.reset();  // close DuckDB before its staged and spilled files go
  std::error_code ec;
  fs::remove_all(staging_dir_, ec);
  fs::remove_all(scratch_dir_ + "/duckdb_tmp/" + instance_, ec);
}

Result<std::string> OfflineStore::ReadSql(const std::string& path_or_uri, repo::FileFormat format) {
  if (!IsRemote(path_or_uri)) return ReadFunctionSql(LocalPath(path_or_uri), format);
  FF_ASSIGN_OR_RETURN(std::shared_ptr<ObjectStore> store, OpenObjectStore(path_or_uri));
  FF_ASSIGN_OR_RETURN(std::vector<std::string> files,
                      StageToLocal(*store, path_or_uri, staging_dir_));
  std::vector<std::string> matching;
  for (const auto& file : files) {
    if (HasExtension(file, format)) matching.push_back(file);
  }
  return ReadFilesSql(matching.empty() ? files : matching, format);
}

Result<bool> OfflineStore::PathExists(const std::string& path) {
  if (!IsRemote(path)) {
    std::error_code ec;
    return fs::exists(LocalPath(path), ec);
  }
  FF_ASSIGN_OR_RETURN(std::shared_ptr<ObjectStore> store, OpenObjectStore(path));
  return store->Exists(path);
}

Status OfflineStore::WriteResult(const std::string& select_sql, const std::string& target,
                                 repo::FileFormat format,
                                 const std::function<Status(const std::string&)>& inspect) {
  const bool remote = IsRemote(target);
  std::error_code ec;
  std::string local_target = LocalPath(target);
  if (remote) {
    fs::create_directories(scratch_dir_ + "/outgoing", ec);
    local_target = scratch_dir_ + "/outgoing/" + fs::path(target).filename().string();
  } else if (fs::path parent = fs::path(local_target).parent_path(); !parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec)
      return Status::IOError("cannot create directory " + parent.string() + ": " + ec.message());
  }
  // Same folder as the target, so the rename is atomic; a name no reader's glob matches.
  const std::string temp = local_target + TempSuffix();
  Status copied = connection_->Execute(
      "COPY (" + select_sql + ") TO " + QuoteLiteral(temp) +
      (format == repo::FileFormat::kCsv ? " (FORMAT CSV, HEADER)" : " (FORMAT PARQUET)"));
  if (!copied.ok()) {
    fs::remove(temp, ec);
    return copied;
  }
  Status moved = inspect ? inspect(temp) : Status::OK();
  if (!moved.ok()) {
    // Nothing published: the target keeps its previous content.
  } else if (remote) {
    auto store = OpenObjectStore(target);
    moved = store.ok() ? (*store)->PutFile(target, temp) : store.status();
    if (!moved.ok()) moved = moved.WithContext("uploading " + target);
  } else {
    fs::rename(temp, local_target, ec);
    if (ec)
      moved = Status::IOError("cannot move " + temp + " to " + local_target + ": " + ec.message());
  }
  std::error_code ignored;
  fs::remove(temp, ignored);
  return moved;
}

std::string OfflineStore::NewTempName(const std::string& prefix) {
  return "__ff_" + prefix + "_" + std::to_string(next_temp_id_++);
}

Result<std::vector<std::string>> OfflineStore::RelationColumns(const std::string& relation_sql) {
  FF_ASSIGN_OR_RETURN(auto result,
                      connection_->Query("SELECT * FROM " + relation_sql + " AS __ff_rel LIMIT 0"));
  std::vector<std::string> columns;
  for (uint64_t i = 0; i < result->column_count(); ++i) columns.push_back(result->column_name(i));
  return columns;
}

Status OfflineStore::RegisterSource(const repo::DataSource& source) {
  const std::string path = repo_.ResolvePath(source.path);
  const std::string where = "source '" + source.name + "' (" + path + ")";
  if (source.path.empty()) return Status::InvalidArgument(where + ": no path");
  std::error_code ec;
  if (!IsRemote(path) && !IsGlob(path) && !fs::exists(LocalPath(path), ec)) {
    return Status::IOError(where + ": file or directory does not exist");
  }
  auto read_result = ReadSql(path, source.format);
  if (!read_result.ok()) {
    return Status::IOError(where + ": cannot fetch: " + read_result.status().message());
  }
  const std::string read_sql = *read_result;
  auto raw_columns = RelationColumns(read_sql);
  if (!raw_columns.ok()) {
    return Status::IOError(where + ": cannot read: " + raw_columns.status().message());
  }
  std::set<std::string> raw(raw_columns->begin(), raw_columns->end());
  std::set<std::string> columns = raw;
  std::string renames;
  for (const auto& [from, to] : source.field_mapping) {
    if (!raw.count(from)) {
      return Status::InvalidArgument(where + ": field_mapping column '" + from +
                                     "' not found (columns: " + Join(*raw_columns) + ")");
    }
    renames += (renames.empty() ? "" : ", ") + QuoteIdentifier(from) + " AS " + QuoteIdentifier(to);
    columns.erase(from);
    columns.insert(to);
  }
  std::string casts;
  for (const auto& [field, role] :
       {std::pair{source.timestamp_field, "timestamp_field"},
        std::pair{source.created_timestamp_column, "created_timestamp_column"}}) {
    if (field.empty()) continue;
    const std::string column = Mapped(source, field);
    if (!columns.count(column)) {
      return Status::InvalidArgument(where + ": " + role + " '" + field +
                                     "' not found (columns: " + Join(*raw_columns) + ")");
    }
    casts += (casts.empty() ? "" : ", ") + std::string("CAST(") + QuoteIdentifier(column) +
             " AS TIMESTAMP) AS " + QuoteIdentifier(column);
  }
  std::string select =
      "SELECT *" + (renames.empty() ? "" : " RENAME (" + renames + ")") + " FROM " + read_sql;
  if (!casts.empty()) select = "SELECT * REPLACE (" + casts + ") FROM (" + select + ")";
  Status created = connection_->Execute("CREATE OR REPLACE VIEW " + QuoteIdentifier(source.name) +
                                        " AS " + select);
  if (!created.ok()) return Status::IOError(where + ": cannot register: " + created.message());
  return Status::OK();
}

Status OfflineStore::EnsureSource(const std::string& source_name) {
  if (registered_[source_name]) {
    // DuckDB views keep the column types they were bound with: a file rewritten with other
    // types (or deleted) since then is re-registered, so the caller gets the current data or
    // the current error rather than "contents of view were altered".
    if (RelationColumns(QuoteIdentifier(source_name)).ok()) return Status::OK();
    registered_[source_name] = false;
  }
  const repo::DataSource* source = repo_.FindSource(source_name);
  if (source == nullptr) return Status::NotFound("unknown data source '" + source_name + "'");
  Status status = RegisterSource(*source);
  if (status.ok()) {
    registered_[source_name] = true;
    registration_error_.erase(source_name);
  } else {
    registration_error_[source_name] = status;
  }
  return status;
}

Status OfflineStore::ValidateSource(const std::string& source_name) {
  FF_RETURN_IF_ERROR(EnsureSource(source_name));
  const repo::DataSource* source = repo_.FindSource(source_name);
  auto result = connection_->Query("SELECT * FROM " + QuoteIdentifier(source_name) + " LIMIT 1");
  Status status = result.status();
  if (status.ok()) {
    while (true) {
      auto chunk = (*result)->Next();
      if (!chunk.ok()) {
        status = chunk.status();
        break;
      }
      if (*chunk == nullptr) break;
    }
  }
  if (!status.ok()) {
    return Status::IOError("source '" + source_name + "' (" + repo_.ResolvePath(source->path) +
                           "): cannot read: " + status.message());
  }
  return Status::OK();
}

Status OfflineStore::EnsureQuerySources(const repo::FeatureView& view) {
  if (!view.query_sources.empty()) {
    for (const auto& name : view.query_sources) {
      Status status = EnsureSource(name);
      if (!status.ok()) return status.WithContext("view '" + view.name + "' query");
    }
    return Status::OK();
  }
  // Unknown which sources the query reads: try them all; errors surface through
  // ExplainQueryError only if the query really reads a broken source.
  for (const auto& source : repo_.sources) (void)EnsureSource(source.name);
  return Status::OK();
}

Status OfflineStore::ExplainQueryError(const repo::FeatureView& view, const Status& status) const {
  for (const auto& [name, error] : registration_error_) {
    if (status.message().find("name " + name + " does not exist") != std::string::npos) {
      return error.WithContext("view '" + view.name + "' query reads source '" + name + "'");
    }
  }
  return status.WithContext("view '" + view.name + "' query");
}

Result<std::string> OfflineStore::ViewRelationSql(const repo::FeatureView& view) {
  if (!view.is_batch) {
    if (view.source.empty()) {
      return Status::InvalidArgument("view '" + view.name + "' has no source");
    }
    Status status = EnsureSource(view.source);
    if (!status.ok()) return status.WithContext("view '" + view.name + "'");
    return QuoteIdentifier(view.source);
  }
  if (!view.path.empty()) {
    const std::string path = repo_.ResolvePath(view.path);
    auto exists = PathExists(path);
    if (!exists.ok()) return exists.status().WithContext("view '" + view.name + "' path");
    if (*exists) {
      auto relation = ReadSql(path, repo::FileFormat::kParquet);
      auto columns = relation.ok() ? RelationColumns(*relation) : relation.status();
      if (!columns.ok()) {
        return Status::IOError("view '" + view.name + "': compute-once output " + path +
                               " cannot be read: " + columns.status().message());
      }
      return *relation;
    }
  }
  if (view.query.empty()) {
    return Status::InvalidArgument("batch view '" + view.name + "' has no query");
  }
  FF_RETURN_IF_ERROR(EnsureQuerySources(view));
  const std::string relation = QueryAsRelation(view.query);
  auto columns = RelationColumns(relation);
  if (!columns.ok()) return ExplainQueryError(view, columns.status());
  return relation;
}

Result<ViewColumns> OfflineStore::ResolveColumns(const repo::FeatureView& view) const {
  ViewColumns columns;
  for (const auto& entity_name : view.entities) {
    const repo::Entity* entity = repo_.FindEntity(entity_name);
    if (entity == nullptr) {
      return Status::InvalidArgument("view '" + view.name + "': unknown entity '" + entity_name +
                                     "'");
    }
    for (const auto& key : entity->join_keys) {
      columns.join_keys.push_back(key);
      columns.join_key_types.push_back(entity->value_type);
    }
  }
  if (view.is_batch) {
    columns.timestamp_column = view.timestamp_field;
    columns.created_timestamp_column = view.created_timestamp_column;
  } else {
    const repo::DataSource* source = repo_.FindSource(view.source);
    if (source == nullptr) {
      return Status::InvalidArgument("view '" + view.name + "': unknown source '" + view.source +
                                     "'");
    }
    columns.timestamp_column = Mapped(*source, source->timestamp_field);
    if (!source->created_timestamp_column.empty()) {
      columns.created_timestamp_column = Mapped(*source, source->created_timestamp_column);
    }
  }
  if (columns.timestamp_column.empty()) {
    return Status::InvalidArgument("view '" + view.name + "' has no timestamp field");
  }
  for (const auto& field : view.features) {
    const bool is_key = std::find(columns.join_keys.begin(), columns.join_keys.end(), field.name) !=
                        columns.join_keys.end();
    if (is_key || field.name == columns.timestamp_column ||
        field.name == columns.created_timestamp_column) {
      continue;
    }
    columns.features.push_back(&field);
  }
  return columns;
}

Result<std::string> OfflineStore::TypedViewSql(const repo::FeatureView& view,
                                               const std::vector<std::string>& features) {
  FF_ASSIGN_OR_RETURN(ViewColumns columns, ResolveColumns(view));
  std::vector<const repo::Field*> selected;
  if (features.empty()) {
    selected = columns.features;
  } else {
    for (const auto& name : features) {
      auto it = std::find_if(columns.features.begin(), columns.features.end(),
                             [&](const repo::Field* f) { return f->name == name; });
      if (it == columns.features.end()) {
        return Status::NotFound("view '" + view.name + "' has no feature '" + name + "'");
      }
      selected.push_back(*it);
    }
  }
  FF_ASSIGN_OR_RETURN(std::string relation, ViewRelationSql(view));
  auto available_result = RelationColumns(relation);
  if (!available_result.ok()) {
    return available_result.status().WithContext("view '" + view.name + "'");
  }
  const std::vector<std::string>& available = *available_result;
  auto require = [&](const std::string& column, const std::string& role) -> Status {
    if (std::find(available.begin(), available.end(), column) != available.end()) {
      return Status::OK();
    }
    return Status::InvalidArgument("view '" + view.name + "': " + role + " column '" + column +
                                   "' not found in its data (columns: " + Join(available) + ")");
  };
  std::string sql = "SELECT ";
  for (size_t i = 0; i < columns.join_keys.size(); ++i) {
    FF_RETURN_IF_ERROR(require(columns.join_keys[i], "join key"));
    const std::string type = DuckSqlType(columns.join_key_types[i]);
    if (type.empty() || IsListType(columns.join_key_types[i])) {
      return Status::InvalidArgument("view '" + view.name + "': join key '" + columns.join_keys[i] +
                                     "' has unsupported type " +
                                     std::string(ValueTypeName(columns.join_key_types[i])));
    }
    sql += "CAST(" + QuoteIdentifier(columns.join_keys[i]) + " AS " + type + ") AS " +
           QuoteIdentifier(columns.join_keys[i]) + ", ";
  }
  for (const repo::Field* field : selected) {
    FF_RETURN_IF_ERROR(require(field->name, "feature"));
    const std::string type = DuckSqlType(field->type);
    if (type.empty()) {
      return Status::InvalidArgument("view '" + view.name + "': feature '" + field->name +
                                     "' has unsupported type " +
                                     std::string(ValueTypeName(field->type)));
    }
    sql += "CAST(" + QuoteIdentifier(field->name) + " AS " + type + ") AS " +
           QuoteIdentifier(field->name) + ", ";
  }
  FF_RETURN_IF_ERROR(require(columns.timestamp_column, "timestamp"));
  sql += "CAST(" + QuoteIdentifier(columns.timestamp_column) + " AS TIMESTAMP) AS " +
         kEventTsColumn + ", ";
  if (columns.created_timestamp_column.empty()) {
    sql += std::string("CAST(NULL AS TIMESTAMP) AS ") + kCreatedTsColumn;
  } else {
    FF_RETURN_IF_ERROR(require(columns.created_timestamp_column, "created timestamp"));
    sql += "CAST(" + QuoteIdentifier(columns.created_timestamp_column) + " AS TIMESTAMP) AS " +
           kCreatedTsColumn;
  }
  return sql + " FROM " + relation + " AS __ff_src";
}

Status OfflineStore::ComputeOnce(const repo::FeatureView& view) {
  if (!view.is_batch || view.query.empty() || view.path.empty()) {
    return Status::InvalidArgument("view '" + view.name +
                                   "' is not a batch view with both `query` and `path`");
  }
  const std::string target = repo_.ResolvePath(view.path);
  FF_RETURN_IF_ERROR(EnsureQuerySources(view));
  Status written = WriteResult(QueryAsRelation(view.query), target, repo::FileFormat::kParquet);
  if (!written.ok()) return ExplainQueryError(view, written).WithContext("compute-once " + target);
  return Status::OK();
}

Result<bool> OfflineStore::EnsureComputedOnce(const repo::FeatureView& view, bool recompute) {
  const std::string target = repo_.ResolvePath(view.path);
  int lock_fd = -1;
  if (!IsRemote(target)) {
    const fs::path path(LocalPath(target));
    std::error_code ec;
    if (!path.parent_path().empty()) fs::create_directories(path.parent_path(), ec);
    // A dot file, so no source glob over the folder picks it up.
    const std::string lock_path =
        (path.parent_path() / ("." + path.filename().string() + ".ff-lock")).string();
    lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) {
      return Status::IOError("view '" + view.name + "': cannot open lock file " + lock_path + ": " +
                             std::strerror(errno));
    }
    while (::flock(lock_fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const std::string reason = std::strerror(errno);
      ::close(lock_fd);
      return Status::IOError("view '" + view.name + "': cannot lock " + lock_path + ": " + reason);
    }
  }
  // Closing the descriptor releases the lock, on every path out.
  struct LockRelease {
    int fd;
    ~LockRelease() {
      if (fd >= 0) ::close(fd);
    }
  } release{lock_fd};

  if (!recompute) {
    FF_ASSIGN_OR_RETURN(bool exists, PathExists(target));
    if (exists) return false;
  }
  FF_RETURN_IF_ERROR(ComputeOnce(view));
  return true;
}

}  // namespace featureforge::offline
