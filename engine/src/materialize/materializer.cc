#include "featureforge/materialize/materializer.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "featureforge/offline/duck_values.h"
#include "featureforge/offline/duckdb.h"

namespace featureforge::materialize {
namespace {

using offline::QuoteIdentifier;

std::string KeyList(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& key : keys) out += (out.empty() ? "" : ", ") + QuoteIdentifier(key);
  return out;
}

std::string TimestampSql(TimestampMicros ts) {
  return "make_timestamp(CAST(" + std::to_string(ts) + " AS BIGINT))";
}

// Rows of the typed relation that this run reads: in the window, in the partition, with
// every key and the event timestamp present.
std::string WhereClause(const std::vector<std::string>& keys, const Window& window,
                        const Partition& partition) {
  std::string where = std::string(offline::kEventTsColumn) + " IS NOT NULL";
  for (const auto& key : keys) where += " AND " + QuoteIdentifier(key) + " IS NOT NULL";
  if (window.start != kBeginningOfTime) {
    where += std::string(" AND ") + offline::kEventTsColumn + " >= " + TimestampSql(window.start);
  }
  if (window.end != kEndOfTime) {
    where += std::string(" AND ") + offline::kEventTsColumn + " <= " + TimestampSql(window.end);
  }
  if (partition.count > 1) where += " AND " + PartitionPredicate(keys, partition);
  return where;
}

// Runs a query returning one row of BIGINTs.
Result<std::vector<int64_t>> QueryInts(offline::DuckConnection& connection,
                                       const std::string& sql) {
  FF_ASSIGN_OR_RETURN(auto result, connection.Query(sql));
  FF_ASSIGN_OR_RETURN(auto chunk, result->Next());
  std::vector<int64_t> values;
  if (chunk == nullptr || chunk->size() == 0) return values;
  for (uint64_t col = 0; col < result->column_count(); ++col) {
    values.push_back(chunk->IsNull(col, 0) ? 0 : chunk->Data<int64_t>(col)[0]);
  }
  return values;
}

// Writes chunks to the store on a background thread while the caller fills the next one, so
// DuckDB scanning and value conversion overlap the store's work (serialization, network, B-tree).
// At most two chunks exist at a time (one being written, one being filled): memory stays bounded
// by the chunk size. Stats and progress are collected on the caller's thread when a written
// chunk is handed back, in chunk order.
class ChunkWriter {
 public:
  ChunkWriter(online::OnlineStore& store, const online::ViewSpec& spec,
              const MaterializeOptions& options, int64_t total, ViewMaterialization* result)
      : store_(store), spec_(spec), options_(options), total_(total), result_(result) {
    buffer_.reserve(static_cast<size_t>(std::min<int64_t>(options.chunk_size, 1 << 16)));
    if (options_.overlap_writes) thread_ = std::thread([this] { WriterLoop(); });
  }
  ~ChunkWriter() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // `source_rows`: how many rows of the window this entity's row stands for.
  Status Add(online::WriteRow row, int64_t source_rows) {
    buffer_.push_back(std::move(row));
    buffered_source_rows_ += source_rows;
    if (static_cast<int64_t>(buffer_.size()) >= options_.chunk_size) return Submit();
    return Status::OK();
  }

  // Writes what is buffered and waits until every chunk is written; the first error wins.
  Status Finish() {
    FF_RETURN_IF_ERROR(Submit());
    return WaitForInFlight();
  }

 private:
  // Hands the buffered rows to the writer (after the previous chunk is done) and keeps going.
  Status Submit() {
    if (buffer_.empty()) return Status::OK();
    FF_RETURN_IF_ERROR(WaitForInFlight());
    in_flight_.swap(buffer_);
    in_flight_source_rows_ = buffered_source_rows_;
    buffered_source_rows_ = 0;
    buffer_.clear();
    if (!thread_.joinable()) {
      in_flight_result_ = store_.Write(spec_, in_flight_);
      has_in_flight_ = true;
      return WaitForInFlight();
    }
    has_in_flight_ = true;
    {
      std::lock_guard lock(mu_);
      job_pending_ = true;
      in_flight_done_ = false;
    }
    cv_.notify_all();
    return Status::OK();
  }

  // Waits for the chunk being written (if any) and accounts for it.
  Status WaitForInFlight() {
    if (!has_in_flight_) return Status::OK();
    if (thread_.joinable()) {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return in_flight_done_; });
    }
    has_in_flight_ = false;
    const size_t rows = in_flight_.size();
    in_flight_.clear();
    if (!in_flight_result_.ok()) {
      return in_flight_result_.status().WithContext("view '" + spec_.view + "': writing chunk " +
                                                    std::to_string(result_->chunks_written + 1) +
                                                    " (" + std::to_string(rows) + " rows) to " +
                                                    store_.Describe());
    }
    result_->entities_written += in_flight_result_->rows_written;
    result_->rows_skipped_stale += in_flight_result_->rows_skipped_stale;
    result_->chunks_written++;
    source_rows_done_ += in_flight_source_rows_;
    if (options_.progress) options_.progress(source_rows_done_, total_);
    return Status::OK();
  }

  void WriterLoop() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stop_ || job_pending_; });
      if (job_pending_) {  // finish a submitted chunk even when stopping
        job_pending_ = false;
        lock.unlock();
        Result<online::WriteStats> written = store_.Write(spec_, in_flight_);
        lock.lock();
        in_flight_result_ = std::move(written);
        in_flight_done_ = true;
        cv_.notify_all();
        continue;
      }
      if (stop_) return;
    }
  }

  online::OnlineStore& store_;
  const online::ViewSpec& spec_;
  const MaterializeOptions& options_;
  int64_t total_;
  ViewMaterialization* result_;
  std::vector<online::WriteRow> buffer_;
  int64_t buffered_source_rows_ = 0;
  int64_t source_rows_done_ = 0;

  // The chunk being written. `in_flight_` and `in_flight_result_` belong to the writer thread
  // from Submit until it sets `in_flight_done_` (under mu_); the caller touches them only after
  // waiting for that.
  std::vector<online::WriteRow> in_flight_;
  int64_t in_flight_source_rows_ = 0;
  Result<online::WriteStats> in_flight_result_ = online::WriteStats{};
  bool has_in_flight_ = false;  // caller's view: a chunk was submitted and not yet accounted
  std::mutex mu_;
  std::condition_variable cv_;
  bool job_pending_ = false;  // submitted, not yet taken by the writer thread
  bool in_flight_done_ = true;
  bool stop_ = false;
  std::thread thread_;
};

// Streams the latest row per key of one pass into `writer`.
Status StreamLatestRows(offline::DuckConnection& connection, const std::string& sql,
                        const offline::ViewColumns& columns, const online::ViewSpec& spec,
                        ChunkWriter* writer, ViewMaterialization* result) {
  FF_ASSIGN_OR_RETURN(auto stream, connection.Query(sql));
  const size_t key_count = columns.join_keys.size();
  const size_t feature_count = columns.features.size();
  std::vector<std::vector<Value>> key_values(key_count), feature_values(feature_count);
  std::vector<TimestampMicros> event_ts, created_ts;
  while (true) {
    FF_ASSIGN_OR_RETURN(std::unique_ptr<offline::DuckChunk> chunk, stream->Next());
    if (chunk == nullptr) return Status::OK();
    const uint64_t rows = chunk->size();
    for (size_t k = 0; k < key_count; ++k) {
      key_values[k].clear();
      FF_RETURN_IF_ERROR(
          offline::AppendVectorValues(chunk->column(k), rows, columns.join_key_types[k],
                                      "join key " + columns.join_keys[k], &key_values[k]));
    }
    for (size_t f = 0; f < feature_count; ++f) {
      feature_values[f].clear();
      FF_RETURN_IF_ERROR(offline::AppendVectorValues(
          chunk->column(key_count + f), rows, spec.feature_types[f],
          "view '" + spec.view + "' feature '" + spec.feature_names[f] + "'", &feature_values[f]));
    }
    offline::ReadTimestampVector(chunk->column(key_count + feature_count), rows, 0, &event_ts);
    offline::ReadTimestampVector(chunk->column(key_count + feature_count + 1), rows, 0,
                                 &created_ts);
    const int64_t* source_rows = chunk->Data<int64_t>(key_count + feature_count + 2);
    for (uint64_t row = 0; row < rows; ++row) {
      online::WriteRow write;
      write.entity_key.join_keys = columns.join_keys;
      write.entity_key.values.reserve(key_count);
      for (size_t k = 0; k < key_count; ++k) {
        write.entity_key.values.push_back(std::move(key_values[k][row]));
      }
      write.values.reserve(feature_count);
      for (size_t f = 0; f < feature_count; ++f) {
        write.values.push_back(std::move(feature_values[f][row]));
      }
      write.event_ts = event_ts[row];
      write.created_ts = created_ts[row];
      result->entities++;
      FF_RETURN_IF_ERROR(writer->Add(std::move(write), source_rows[row]));
    }
  }
}

// Rows of the window one pass holds for choosing the latest row per key (see rows_per_pass).
constexpr int64_t kPassRowsPerChunkRow = 250;
constexpr int64_t kMinRowsPerPass = 100'000;
// DuckDB memory per row of a pass (a typed row of keys, timestamps and ~10 features; the
// aggregate holds at most one per key), and a floor for tiny passes (the scan's buffers).
constexpr int64_t kPassBytesPerRow = 128;
constexpr int64_t kMinPassMemoryBytes = int64_t{48} << 20;

int64_t RowsPerPass(const MaterializeOptions& options) {
  if (options.rows_per_pass >= 0) return options.rows_per_pass;
  return std::max(kMinRowsPerPass, options.chunk_size * kPassRowsPerChunkRow);
}

// Creates the connection's temp_directory (and its parents) so that spilling can start there.
Status EnsureTempDirectory(offline::DuckConnection& connection) {
  FF_ASSIGN_OR_RETURN(auto result, connection.Query("SELECT current_setting('temp_directory')"));
  FF_ASSIGN_OR_RETURN(auto chunk, result->Next());
  if (chunk == nullptr || chunk->size() == 0 || chunk->IsNull(0, 0)) return Status::OK();
  std::vector<Value> values;
  FF_RETURN_IF_ERROR(offline::AppendVectorValues(chunk->column(0), 1, ValueType::kString,
                                                 "temp_directory", &values));
  const std::string dir = std::get<std::string>(values[0].data);
  if (dir.empty()) return Status::OK();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status::IOError("create DuckDB temp_directory " + dir +
                           " for spilling: " + ec.message());
  }
  return Status::OK();
}

// Sets a DuckDB setting for a scope and resets it to the database default afterwards.
class DuckSettingGuard {
 public:
  DuckSettingGuard(offline::DuckConnection& connection, std::string name, const std::string& value)
      : connection_(connection), name_(std::move(name)) {
    status_ = connection_.Execute("SET " + name_ + " = " + offline::QuoteLiteral(value));
    if (!status_.ok()) status_ = status_.WithContext("SET " + name_);
  }
  ~DuckSettingGuard() {
    if (status_.ok()) (void)connection_.Execute("RESET " + name_);
  }
  Status status() const { return status_; }

 private:
  offline::DuckConnection& connection_;
  std::string name_;
  Status status_;
};

Status Validate(const repo::FeatureView& view, const Window& window, const Partition& partition,
                const MaterializeOptions& options) {
  if (!view.online) {
    return Status::FailedPrecondition("view " + view.name +
                                      " is offline-only (online: false): nothing to materialize");
  }
  if (window.empty()) {
    return Status::InvalidArgument("materialize window " + window.ToString() +
                                   " is empty: start is after end");
  }
  if (partition.count < 1 || partition.index < 0 || partition.index >= partition.count) {
    return Status::InvalidArgument("partition " + partition.ToString() +
                                   " is invalid: need 0 <= index < count");
  }
  if (options.chunk_size < 1) {
    return Status::InvalidArgument("chunk_size must be at least 1, got " +
                                   std::to_string(options.chunk_size));
  }
  return Status::OK();
}

}  // namespace

std::string Window::ToString() const {
  auto bound = [](TimestampMicros ts, const char* infinite, TimestampMicros sentinel) {
    return ts == sentinel ? std::string(infinite) : FormatTimestamp(ts);
  };
  return "[" + bound(start, "-inf", kBeginningOfTime) + ", " + bound(end, "+inf", kEndOfTime) + "]";
}

Window IncrementalWindow(std::optional<TimestampMicros> last_end, TimestampMicros end,
                         DurationMicros ttl) {
  Window window;
  window.end = end;
  if (last_end.has_value()) {
    // Saturating: a watermark at the end of time leaves an empty window.
    window.start = *last_end == kEndOfTime ? kEndOfTime : *last_end + 1;
    if (*last_end == kEndOfTime) window.end = kEndOfTime - 1;
  } else if (ttl > 0 && end != kEndOfTime && end >= kBeginningOfTime + ttl) {
    window.start = end - ttl;
  } else {
    window.start = kBeginningOfTime;
  }
  return window;
}

std::string PartitionPredicate(const std::vector<std::string>& join_keys,
                               const Partition& partition) {
  if (partition.count <= 1) return "TRUE";
  return "hash(" + KeyList(join_keys) + ") % " + std::to_string(partition.count) + " = " +
         std::to_string(partition.index);
}

Result<ViewMaterialization> MaterializeView(offline::OfflineStore& offline, const repo::Repo& repo,
                                            const repo::FeatureView& view, const Window& window,
                                            const Partition& partition, online::OnlineStore& store,
                                            const MaterializeOptions& options) {
  FF_RETURN_IF_ERROR(Validate(view, window, partition, options));
  ViewMaterialization result;
  result.view = view.name;
  result.window = window;
  result.partition = partition;

  if (view.is_batch && !view.path.empty() && !view.query.empty()) {
    FF_ASSIGN_OR_RETURN(result.computed_path,
                        offline.EnsureComputedOnce(view, options.recompute_path));
  }

  FF_ASSIGN_OR_RETURN(offline::ViewColumns columns, offline.ResolveColumns(view));
  FF_ASSIGN_OR_RETURN(std::string typed_sql, offline.TypedViewSql(view));
  if (columns.join_keys.empty()) {
    return Status::InvalidArgument("view '" + view.name + "' has no entity join keys");
  }
  const std::string keys = KeyList(columns.join_keys);
  const std::string where = WhereClause(columns.join_keys, window, partition);
  const std::string context =
      "view '" + view.name + "' window " + window.ToString() + " partition " + partition.ToString();

  // Counting first gives the progress total, sizes the passes, and reports an empty window
  // before any work.
  auto counts = QueryInts(offline.connection(), "SELECT CAST(count(*) AS BIGINT) FROM (" +
                                                    typed_sql + ") WHERE " + where);
  if (!counts.ok()) return counts.status().WithContext(context);
  if (!counts->empty()) result.rows_read = (*counts)[0];
  if (result.rows_read == 0) {
    result.empty = true;
    result.message = "no rows of view '" + view.name + "' in window " + window.ToString() +
                     " for partition " + partition.ToString() + ": nothing written";
    return result;
  }

  online::ViewSpec spec;
  spec.project = repo.config.project;
  spec.view = view.name;
  for (const repo::Field* field : columns.features) {
    spec.feature_names.push_back(field->name);
    spec.feature_types.push_back(field->type);
  }

  const int64_t rows_per_pass = RowsPerPass(options);
  const int64_t passes = rows_per_pass > 0 && result.rows_read > rows_per_pass
                             ? (result.rows_read + rows_per_pass - 1) / rows_per_pass
                             : 1;
  // Without a configured offline_store.memory_limit, DuckDB may use most of the machine's RAM
  // for one pass; bound it by the pass size (it spills to the store's temp_directory beyond).
  // One DuckDB thread unless the repo sets offline_store.threads: each thread holds its own
  // scan buffers (measured: +20 MiB per extra thread), and the writer thread and the store need
  // the other cores. Output order does not matter here (the latest row per key is chosen by SQL).
  std::vector<std::unique_ptr<DuckSettingGuard>> setting_guards;
  if (repo.config.offline_store.memory_limit.empty() && rows_per_pass > 0) {
    const int64_t budget = std::max<int64_t>(kMinPassMemoryBytes, rows_per_pass * kPassBytesPerRow);
    // DuckDB creates only the last level of its temp_directory when it first spills.
    if (Status s = EnsureTempDirectory(offline.connection()); !s.ok()) {
      return s.WithContext(context);
    }
    std::vector<std::pair<std::string, std::string>> settings = {
        {"memory_limit", std::to_string(budget / (1024 * 1024)) + "MiB"},
        {"preserve_insertion_order", "false"}};
    if (repo.config.offline_store.threads <= 0) settings.emplace_back("threads", "1");
    for (const auto& [name, value] : settings) {
      setting_guards.push_back(
          std::make_unique<DuckSettingGuard>(offline.connection(), name, value));
      if (Status s = setting_guards.back()->status(); !s.ok()) return s.WithContext(context);
    }
  }
  // The view's columns (keys, features, event ts, created ts) as one struct, in order.
  std::string row_struct = "struct_pack(";
  {
    std::vector<std::string> names = columns.join_keys;
    for (const repo::Field* field : columns.features) names.push_back(field->name);
    names.push_back(offline::kEventTsColumn);
    names.push_back(offline::kCreatedTsColumn);
    for (size_t i = 0; i < names.size(); ++i) {
      row_struct += (i == 0 ? "c" : ", c") + std::to_string(i) + " := " + QuoteIdentifier(names[i]);
    }
    row_struct += ")";
  }
  const std::string order_struct = std::string("struct_pack(e := ") + offline::kEventTsColumn +
                                   ", c := coalesce(" + offline::kCreatedTsColumn +
                                   ", TIMESTAMP '-infinity'))";
  ChunkWriter writer(store, spec, options, result.rows_read, &result);
  for (int64_t pass = 0; pass < passes; ++pass) {
    std::string pass_where = where;
    if (passes > 1) {
      // Buckets use the hash bits the partition filter does not: (hash / count) % passes.
      pass_where += " AND (hash(" + keys + ") // " + std::to_string(partition.count) + ") % " +
                    std::to_string(passes) + " = " + std::to_string(pass);
    }
    // Latest row per key: the greatest (event ts, created ts), rows without a created ts
    // ranking below any with one; __ff_rows counts the window's rows of that key (progress and
    // rows accounting). A hash aggregate keeps one row per key (and spills), where a window
    // over the pass would hold every row of it.
    const std::string latest_sql = "SELECT unnest(__ff_latest), __ff_rows FROM (SELECT arg_max(" +
                                   row_struct + ", " + order_struct +
                                   ") AS __ff_latest, count(*) AS __ff_rows FROM (" + typed_sql +
                                   ") WHERE " + pass_where + " GROUP BY " + keys + ")";
    Status streamed =
        StreamLatestRows(offline.connection(), latest_sql, columns, spec, &writer, &result);
    if (!streamed.ok()) return streamed.WithContext(context);
    result.passes++;
  }
  FF_RETURN_IF_ERROR(writer.Finish());

  result.message = "view '" + view.name + "' window " + window.ToString() + " partition " +
                   partition.ToString() + ": " + std::to_string(result.rows_read) + " rows read, " +
                   std::to_string(result.entities) + " entities, " +
                   std::to_string(result.entities_written) + " written, " +
                   std::to_string(result.rows_skipped_stale) +
                   " skipped (online value as new or newer)";
  return result;
}

}  // namespace featureforge::materialize
