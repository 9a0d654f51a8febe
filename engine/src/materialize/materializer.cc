#include "featureforge/materialize/materializer.h"

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

class ChunkWriter {
 public:
  ChunkWriter(online::OnlineStore& store, const online::ViewSpec& spec,
              const MaterializeOptions& options, int64_t total, ViewMaterialization* result)
      : store_(store), spec_(spec), options_(options), total_(total), result_(result) {
    buffer_.reserve(static_cast<size_t>(std::min<int64_t>(options.chunk_size, 1 << 16)));
  }

  // `source_rows`: how many rows of the window this entity's row stands for.
  Status Add(online::WriteRow row, int64_t source_rows) {
    buffer_.push_back(std::move(row));
    buffered_source_rows_ += source_rows;
    if (static_cast<int64_t>(buffer_.size()) >= options_.chunk_size) return Flush();
    return Status::OK();
  }

  Status Flush() {
    if (buffer_.empty()) return Status::OK();
    auto stats = store_.Write(spec_, buffer_);
    if (!stats.ok()) {
      return stats.status().WithContext("view '" + spec_.view + "': writing chunk " +
                                        std::to_string(result_->chunks_written + 1) + " (" +
                                        std::to_string(buffer_.size()) + " rows) to " +
                                        store_.Describe());
    }
    result_->entities_written += stats->rows_written;
    result_->rows_skipped_stale += stats->rows_skipped_stale;
    result_->chunks_written++;
    source_rows_done_ += buffered_source_rows_;
    buffered_source_rows_ = 0;
    buffer_.clear();
    if (options_.progress) options_.progress(source_rows_done_, total_);
    return Status::OK();
  }

 private:
  online::OnlineStore& store_;
  const online::ViewSpec& spec_;
  const MaterializeOptions& options_;
  int64_t total_;
  ViewMaterialization* result_;
  std::vector<online::WriteRow> buffer_;
  int64_t buffered_source_rows_ = 0;
  int64_t source_rows_done_ = 0;
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
    FF_ASSIGN_OR_RETURN(bool exists, offline.PathExists(repo.ResolvePath(view.path)));
    if (options.recompute_path || !exists) {
      FF_RETURN_IF_ERROR(offline.ComputeOnce(view));
      result.computed_path = true;
    }
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

  const int64_t passes =
      options.rows_per_pass > 0 && result.rows_read > options.rows_per_pass
          ? (result.rows_read + options.rows_per_pass - 1) / options.rows_per_pass
          : 1;
  ChunkWriter writer(store, spec, options, result.rows_read, &result);
  for (int64_t pass = 0; pass < passes; ++pass) {
    std::string pass_where = where;
    if (passes > 1) {
      // Buckets use the hash bits the partition filter does not: (hash / count) % passes.
      pass_where += " AND (hash(" + keys + ") // " + std::to_string(partition.count) + ") % " +
                    std::to_string(passes) + " = " + std::to_string(pass);
    }
    // Latest row per key: event ts desc, then created ts desc (rows without one rank last);
    // __ff_rows counts the window's rows of that key (progress and rows accounting).
    const std::string latest_sql = "SELECT *, count(*) OVER (PARTITION BY " + keys +
                                   ") AS __ff_rows FROM (" + typed_sql + ") WHERE " + pass_where +
                                   " QUALIFY row_number() OVER (PARTITION BY " + keys +
                                   " ORDER BY " + offline::kEventTsColumn + " DESC, " +
                                   offline::kCreatedTsColumn + " DESC NULLS LAST) = 1";
    Status streamed =
        StreamLatestRows(offline.connection(), latest_sql, columns, spec, &writer, &result);
    if (!streamed.ok()) return streamed.WithContext(context);
    result.passes++;
  }
  FF_RETURN_IF_ERROR(writer.Flush());

  result.message = "view '" + view.name + "' window " + window.ToString() + " partition " +
                   partition.ToString() + ": " + std::to_string(result.rows_read) + " rows read, " +
                   std::to_string(result.entities) + " entities, " +
                   std::to_string(result.entities_written) + " written, " +
                   std::to_string(result.rows_skipped_stale) +
                   " skipped (online value as new or newer)";
  return result;
}

}  // namespace featureforge::materialize
