#include "featureforge/vectors/embedding_views.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "featureforge/offline/duck_values.h"
#include "featureforge/offline/duckdb.h"
#include "featureforge/online/serialization.h"

namespace featureforge::vectors {
namespace {

using offline::QuoteIdentifier;

int FindName(const std::vector<std::string>& names, const std::string& name) {
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

// Sits between the materializer and the online store: embeds each chunk's texts (when the rows
// do not carry vectors yet), writes, then brings the view's index up to date with what the
// store now holds for the chunk's keys.
class IndexingStore : public online::OnlineStore {
 public:
  IndexingStore(online::OnlineStore& inner, const repo::FeatureView& view,
                embeddings::Embedder& embedder, VectorIndex& index, bool strip_text)
      : inner_(inner),
        view_(view),
        config_(*view.embedding),
        embedder_(embedder),
        index_(index),
        strip_text_(strip_text) {}

  Result<online::WriteStats> Write(const online::ViewSpec& spec,
                                   std::span<const online::WriteRow> rows) override {
    int output = FindName(spec.feature_names, config_.output);
    online::ViewSpec embedded_spec;
    std::vector<online::WriteRow> embedded_rows;
    const online::ViewSpec* write_spec = &spec;
    std::span<const online::WriteRow> write_rows = rows;
    if (output < 0) {
      FF_RETURN_IF_ERROR(Embed(spec, rows, &embedded_spec, &embedded_rows));
      write_spec = &embedded_spec;
      write_rows = embedded_rows;
      output = FindName(embedded_spec.feature_names, config_.output);
    }
    FF_ASSIGN_OR_RETURN(online::WriteStats stats, inner_.Write(*write_spec, write_rows));
    FF_RETURN_IF_ERROR(UpdateIndex(*write_spec, write_rows, static_cast<size_t>(output),
                                   stats.rows_skipped_stale > 0));
    return stats;
  }

  Result<std::vector<online::ReadRow>> Read(const online::ViewSpec& view,
                                            std::span<const EntityKey> keys) override {
    return inner_.Read(view, keys);
  }
  Status DeleteView(const std::string& project, const std::string& view) override {
    return inner_.DeleteView(project, view);
  }
  std::string Describe() const override { return inner_.Describe(); }

 private:
  // Adds the output column (and drops the text column when it is not a feature of the view).
  Status Embed(const online::ViewSpec& spec, std::span<const online::WriteRow> rows,
               online::ViewSpec* out_spec, std::vector<online::WriteRow>* out_rows) {
    const int text = FindName(spec.feature_names, config_.source_column);
    if (text < 0) {
      return Status::Internal("view '" + view_.name + "': rows lack the text column '" +
                              config_.source_column + "'");
    }
    std::vector<std::string> texts;
    std::vector<size_t> text_rows;
    for (size_t r = 0; r < rows.size(); ++r) {
      const Value& v = rows[r].values[static_cast<size_t>(text)];
      if (v.is_null()) continue;
      texts.push_back(std::get<std::string>(v.data));
      text_rows.push_back(r);
    }
    auto vectors = embedder_.Embed(texts);
    if (!vectors.ok()) {
      return vectors.status().WithContext("view '" + view_.name + "': embedding " +
                                          std::to_string(texts.size()) + " texts of column '" +
                                          config_.source_column + "'");
    }
    std::vector<Value> embedded(rows.size());
    for (size_t i = 0; i < text_rows.size(); ++i) {
      embedded[text_rows[i]] = Value::FloatList(std::move((*vectors)[i]));
    }
    *out_spec = spec;
    if (strip_text_) {
      out_spec->feature_names.erase(out_spec->feature_names.begin() + text);
      out_spec->feature_types.erase(out_spec->feature_types.begin() + text);
    }
    out_spec->feature_names.push_back(config_.output);
    out_spec->feature_types.push_back(ValueType::kFloatList);
    out_rows->reserve(rows.size());
    for (size_t r = 0; r < rows.size(); ++r) {
      online::WriteRow row = rows[r];
      if (strip_text_) row.values.erase(row.values.begin() + text);
      row.values.push_back(std::move(embedded[r]));
      out_rows->push_back(std::move(row));
    }
    return Status::OK();
  }

  Status UpdateIndex(const online::ViewSpec& spec, std::span<const online::WriteRow> rows,
                     size_t output, bool read_back) {
    std::vector<const Value*> stored(rows.size(), nullptr);
    std::vector<online::ReadRow> read;
    if (read_back) {
      // Some rows lost to newer stored values: index what the store holds.
      std::vector<EntityKey> keys;
      keys.reserve(rows.size());
      for (const auto& row : rows) keys.push_back(row.entity_key);
      online::ViewSpec vector_spec{
          spec.project, spec.view, {config_.output}, {ValueType::kFloatList}};
      FF_ASSIGN_OR_RETURN(read, inner_.Read(vector_spec, keys));
      for (size_t r = 0; r < rows.size(); ++r) {
        if (read[r].found && !read[r].values.empty()) stored[r] = &read[r].values[0];
      }
    } else {
      for (size_t r = 0; r < rows.size(); ++r) stored[r] = &rows[r].values[output];
    }
    const size_t dim = static_cast<size_t>(index_.params().dimension);
    std::vector<std::string> keys;
    std::vector<float> flat;
    for (size_t r = 0; r < rows.size(); ++r) {
      FF_ASSIGN_OR_RETURN(std::string key, online::SerializeEntityKey(rows[r].entity_key));
      const Value* value = stored[r];
      if (value == nullptr || value->is_null()) {
        FF_RETURN_IF_ERROR(index_.Remove(key));
        continue;
      }
      const auto* vector = std::get_if<std::vector<float>>(&value->data);
      if (vector == nullptr || vector->size() != dim) {
        return Status::InvalidArgument(
            "view '" + view_.name + "': the " + config_.output + " of " +
            rows[r].entity_key.ToString() + " has " +
            (vector ? std::to_string(vector->size()) + " values" : std::string("another type")) +
            "; the view's embedding.dimension is " + std::to_string(dim));
      }
      keys.push_back(std::move(key));
      flat.insert(flat.end(), vector->begin(), vector->end());
    }
    return index_.UpsertBatch(keys, flat, 1);
  }

  online::OnlineStore& inner_;
  const repo::FeatureView& view_;
  const repo::EmbeddingConfig& config_;
  embeddings::Embedder& embedder_;
  VectorIndex& index_;
  bool strip_text_;
};

// Appends (row id, vector or NULL) rows to `table` through DuckDB's appender.
Status AppendVectors(offline::DuckConnection& connection, const std::string& table,
                     const std::vector<int64_t>& ids,
                     const std::vector<std::optional<embeddings::Vector>>& vectors) {
  duckdb_appender appender = nullptr;
  if (duckdb_appender_create(connection.raw(), nullptr, table.c_str(), &appender) !=
      DuckDBSuccess) {
    std::string error = duckdb_appender_error(appender) ? duckdb_appender_error(appender) : "";
    duckdb_appender_destroy(&appender);
    return Status::Internal("cannot append to " + table + ": " + error);
  }
  duckdb_logical_type id_type = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
  duckdb_logical_type float_type = duckdb_create_logical_type(DUCKDB_TYPE_FLOAT);
  duckdb_logical_type list_type = duckdb_create_list_type(float_type);
  duckdb_logical_type types[2] = {id_type, list_type};
  Status status;
  const size_t block = duckdb_vector_size();
  for (size_t start = 0; start < ids.size() && status.ok(); start += block) {
    const size_t n = std::min(block, ids.size() - start);
    duckdb_data_chunk chunk = duckdb_create_data_chunk(types, 2);
    auto* id_data =
        static_cast<int64_t*>(duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, 0)));
    duckdb_vector list = duckdb_data_chunk_get_vector(chunk, 1);
    size_t floats = 0;
    for (size_t i = 0; i < n; ++i) floats += vectors[start + i] ? vectors[start + i]->size() : 0;
    duckdb_list_vector_reserve(list, floats);
    duckdb_list_vector_set_size(list, floats);
    auto* entries = static_cast<duckdb_list_entry*>(duckdb_vector_get_data(list));
    auto* values = static_cast<float*>(duckdb_vector_get_data(duckdb_list_vector_get_child(list)));
    duckdb_vector_ensure_validity_writable(list);
    uint64_t* validity = duckdb_vector_get_validity(list);
    size_t offset = 0;
    for (size_t i = 0; i < n; ++i) {
      id_data[i] = ids[start + i];
      const auto& v = vectors[start + i];
      if (!v) {
        duckdb_validity_set_row_invalid(validity, i);
        entries[i] = {offset, 0};
        continue;
      }
      std::copy(v->begin(), v->end(), values + offset);
      entries[i] = {offset, v->size()};
      offset += v->size();
    }
    duckdb_data_chunk_set_size(chunk, n);
    if (duckdb_append_data_chunk(appender, chunk) != DuckDBSuccess) {
      const char* error = duckdb_appender_error(appender);
      status = Status::Internal("appending vectors to " + table + ": " + (error ? error : ""));
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  if (status.ok() && duckdb_appender_close(appender) != DuckDBSuccess) {
    const char* error = duckdb_appender_error(appender);
    status = Status::Internal("appending vectors to " + table + ": " + (error ? error : ""));
  }
  duckdb_appender_destroy(&appender);
  duckdb_destroy_logical_type(&list_type);
  duckdb_destroy_logical_type(&float_type);
  duckdb_destroy_logical_type(&id_type);
  return status;
}

Result<int64_t> QueryCount(offline::DuckConnection& connection, const std::string& sql) {
  FF_ASSIGN_OR_RETURN(auto value, connection.QueryScalar(sql));
  return value ? std::stoll(*value) : 0;
}

}  // namespace

std::string IndexDir(const repo::Repo& repo) {
  const auto& config = repo.config.online_store;
  if (!config.vector_index_path.empty()) return repo.ResolvePath(config.vector_index_path);
  if (config.type == "sqlite") return repo.ResolvePath(config.path) + ".vectors";
  return repo.ResolvePath("data/vector_index");
}

std::string IndexName(const repo::Repo& repo, const std::string& view) {
  return repo.config.project + "__" + view;
}

IndexParams ParamsFor(const repo::FeatureView& view) {
  IndexParams params;
  const repo::VectorIndexConfig config = view.vector_index.value_or(repo::VectorIndexConfig{});
  params.metric = config.metric;
  params.m = config.m;
  params.ef_construction = config.ef_construction;
  params.ef_search = config.ef_search;
  params.dimension = view.embedding ? view.embedding->dimension : 0;
  return params;
}

Status ComputeEmbeddingPath(offline::OfflineStore& offline, const repo::Repo& repo,
                            const repo::FeatureView& view, embeddings::Embedder& embedder,
                            int64_t chunk_rows) {
  if (!view.embedding || view.path.empty() || view.query.empty()) {
    return Status::InvalidArgument("view '" + view.name +
                                   "' is not an embedding view with `query` and `path`");
  }
  const repo::EmbeddingConfig& config = *view.embedding;
  const std::string context = "view '" + view.name + "': compute-once " + view.path;
  repo::FeatureView query_view = view;
  query_view.path.clear();
  FF_ASSIGN_OR_RETURN(std::string relation, offline.ViewRelationSql(query_view));
  FF_ASSIGN_OR_RETURN(std::vector<std::string> columns, offline.RelationColumns(relation));
  if (FindName(columns, config.source_column) < 0) {
    std::string listed;
    for (const auto& c : columns) listed += (listed.empty() ? "" : ", ") + c;
    return Status::InvalidArgument(context + ": embedding.source_column '" + config.source_column +
                                   "' is not a column of the query (" + listed + ")");
  }
  offline::DuckConnection& connection = offline.connection();
  const std::string source = offline.NewTempName("embedding_rows");
  const std::string vectors = offline.NewTempName("embedding_vectors");
  struct DropTables {
    offline::DuckConnection& connection;
    std::string a, b;
    ~DropTables() {
      (void)connection.Execute("DROP TABLE IF EXISTS " + QuoteIdentifier(a));
      (void)connection.Execute("DROP TABLE IF EXISTS " + QuoteIdentifier(b));
    }
  } drop{connection, source, vectors};
  Status status =
      connection.Execute("CREATE TEMP TABLE " + QuoteIdentifier(source) +
                         " AS SELECT row_number() OVER () AS __ff_row, * FROM " + relation);
  if (!status.ok()) return status.WithContext(context);
  FF_RETURN_IF_ERROR(connection.Execute("CREATE TEMP TABLE " + QuoteIdentifier(vectors) +
                                        " (__ff_row BIGINT, __ff_vector FLOAT[])"));
  FF_ASSIGN_OR_RETURN(int64_t total,
                      QueryCount(connection, "SELECT count(*) FROM " + QuoteIdentifier(source)));
  for (int64_t first = 1; first <= total; first += chunk_rows) {
    const int64_t last = std::min(total, first + chunk_rows - 1);
    FF_ASSIGN_OR_RETURN(
        auto result, connection.Query("SELECT __ff_row, CAST(" +
                                      QuoteIdentifier(config.source_column) + " AS VARCHAR) FROM " +
                                      QuoteIdentifier(source) + " WHERE __ff_row BETWEEN " +
                                      std::to_string(first) + " AND " + std::to_string(last)));
    std::vector<int64_t> ids;
    std::vector<Value> texts;
    while (true) {
      FF_ASSIGN_OR_RETURN(auto chunk, result->Next());
      if (chunk == nullptr) break;
      const int64_t* row_ids = chunk->Data<int64_t>(0);
      ids.insert(ids.end(), row_ids, row_ids + chunk->size());
      FF_RETURN_IF_ERROR(offline::AppendVectorValues(chunk->column(1), chunk->size(),
                                                     ValueType::kString,
                                                     "column " + config.source_column, &texts));
    }
    std::vector<std::string> present;
    for (const auto& t : texts) {
      if (!t.is_null()) present.push_back(std::get<std::string>(t.data));
    }
    auto embedded = embedder.Embed(present);
    if (!embedded.ok()) return embedded.status().WithContext(context);
    std::vector<std::optional<embeddings::Vector>> column(texts.size());
    for (size_t i = 0, next = 0; i < texts.size(); ++i) {
      if (!texts[i].is_null()) column[i] = std::move((*embedded)[next++]);
    }
    FF_RETURN_IF_ERROR(AppendVectors(connection, vectors, ids, column));
  }
  std::string exclude = "__ff_row";
  if (FindName(columns, config.output) >= 0) exclude += ", " + QuoteIdentifier(config.output);
  const std::string select = "SELECT s.* EXCLUDE (" + exclude + "), v.__ff_vector AS " +
                             QuoteIdentifier(config.output) + " FROM " + QuoteIdentifier(source) +
                             " s LEFT JOIN " + QuoteIdentifier(vectors) +
                             " v USING (__ff_row) ORDER BY s.__ff_row";
  status = offline.WriteResult(select, repo.ResolvePath(view.path), repo::FileFormat::kParquet);
  if (!status.ok()) return status.WithContext(context);
  return Status::OK();
}

Result<materialize::ViewMaterialization> MaterializeEmbeddingView(
    offline::OfflineStore& offline, const repo::Repo& repo, const repo::FeatureView& view,
    const materialize::Window& window, const materialize::Partition& partition,
    online::OnlineStore& store, const materialize::MaterializeOptions& options,
    embeddings::Embedder* embedder) {
  if (!view.embedding) {
    return Status::InvalidArgument("view '" + view.name + "' has no embedding block");
  }
  const repo::EmbeddingConfig& config = *view.embedding;
  std::unique_ptr<embeddings::Embedder> owned;
  if (embedder == nullptr) {
    FF_ASSIGN_OR_RETURN(owned, embeddings::MakeEmbedder(config, view.name));
    embedder = owned.get();
  }
  if (embedder->dimension() != config.dimension) {
    return Status::InvalidArgument("view '" + view.name + "': embedder " + embedder->Describe() +
                                   " has dimension " + std::to_string(embedder->dimension()) +
                                   ", embedding.dimension is " + std::to_string(config.dimension));
  }
  const std::string dir = IndexDir(repo);
  const std::string name = IndexName(repo, view.name);
  FF_ASSIGN_OR_RETURN(auto lock, IndexWriteLock::Acquire(dir, name));
  const IndexParams wanted = ParamsFor(view);
  std::unique_ptr<VectorIndex> index;
  auto loaded = VectorIndex::Load(dir, name);
  if (loaded.ok()) {
    const IndexParams& have = (*loaded)->params();
    if (have.dimension != wanted.dimension || have.metric != wanted.metric || have.m != wanted.m ||
        have.ef_construction != wanted.ef_construction) {
      return Status::FailedPrecondition(
          "view '" + view.name + "': the vector index in " + dir + " was built with dimension " +
          std::to_string(have.dimension) + ", " + std::string(MetricName(have.metric)) + ", M " +
          std::to_string(have.m) + ", ef_construction " + std::to_string(have.ef_construction) +
          " but the view now asks for dimension " + std::to_string(wanted.dimension) + ", " +
          std::string(MetricName(wanted.metric)) + ", M " + std::to_string(wanted.m) +
          ", ef_construction " + std::to_string(wanted.ef_construction) + "; remove " + dir + "/" +
          name + ".* and materialize the view's whole history again");
    }
    index = std::move(loaded).value();
  } else if (loaded.status().code() == StatusCode::kNotFound) {
    FF_ASSIGN_OR_RETURN(index, VectorIndex::Create(wanted));
  } else {
    return loaded.status().WithContext("view '" + view.name + "'");
  }

  materialize::MaterializeOptions run_options = options;
  repo::FeatureView rows_view = view;
  bool computed_path = false;
  bool strip_text = false;
  if (view.is_batch && !view.path.empty() && !view.query.empty()) {
    FF_ASSIGN_OR_RETURN(bool exists, offline.PathExists(repo.ResolvePath(view.path)));
    if (options.recompute_path || !exists) {
      FF_RETURN_IF_ERROR(ComputeEmbeddingPath(offline, repo, view, *embedder,
                                              std::max<int64_t>(options.chunk_size, 1)));
      computed_path = true;
    }
    run_options.recompute_path = false;  // the path now carries the vectors; keep it
  } else {
    // Rows come from the query without vectors: read the text in place of the output.
    auto& features = rows_view.features;
    features.erase(std::remove_if(features.begin(), features.end(),
                                  [&](const repo::Field& f) { return f.name == config.output; }),
                   features.end());
    if (rows_view.FindFeature(config.source_column) == nullptr) {
      features.push_back(repo::Field{config.source_column, ValueType::kString, "", {}});
      strip_text = true;
    }
  }
  IndexingStore indexing(store, view, *embedder, *index, strip_text);
  auto result = materialize::MaterializeView(offline, repo, rows_view, window, partition, indexing,
                                             run_options);
  Status saved = index->Save(dir, name);
  if (!result.ok()) return result.status();
  if (!saved.ok()) return saved.WithContext("view '" + view.name + "': saving the vector index");
  result->computed_path = result->computed_path || computed_path;
  spdlog::info("vector index view={} dir={} live_keys={}", view.name, dir, index->size());
  return result;
}

}  // namespace featureforge::vectors
