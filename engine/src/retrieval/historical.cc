#include "featureforge/retrieval/historical.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "featureforge/offline/duck_values.h"
#include "featureforge/offline/duckdb.h"

namespace featureforge::retrieval {
namespace {

namespace fs = std::filesystem;
using offline::QuoteIdentifier;

constexpr const char* kEntityTsColumn = "__ff_entity_ts";
constexpr const char* kRowColumn = "__ff_row";

struct ResolvedView {
  const repo::FeatureView* view = nullptr;
  offline::ViewColumns columns;
  std::vector<std::string> features;      // requested, in schema order of the request
  std::vector<std::string> output_names;  // aligned with features
  std::string typed_sql;
};

// Merges projections of the same view (keeping first-seen order) and expands "all features".
Result<std::vector<ResolvedView>> ResolveProjections(
    offline::OfflineStore& offline, const repo::Repo& repo,
    const std::vector<repo::FeatureViewProjection>& projections) {
  std::vector<ResolvedView> views;
  std::map<std::string, size_t> index;
  for (const auto& projection : projections) {
    const repo::FeatureView* view = repo.FindFeatureView(projection.view);
    if (view == nullptr) return Status::NotFound("unknown feature view '" + projection.view + "'");
    if (!view->offline) {
      return Status::FailedPrecondition(
          "view " + view->name + " is online-only (offline: false): it has no training data");
    }
    auto [it, inserted] = index.emplace(view->name, views.size());
    if (inserted) {
      ResolvedView resolved;
      resolved.view = view;
      FF_ASSIGN_OR_RETURN(resolved.columns, offline.ResolveColumns(*view));
      if (resolved.columns.join_keys.empty()) {
        return Status::InvalidArgument("view '" + view->name + "' has no entity join keys");
      }
      views.push_back(std::move(resolved));
    }
    ResolvedView& resolved = views[it->second];
    std::vector<std::string> wanted = projection.features;
    if (wanted.empty()) {
      for (const repo::Field* field : resolved.columns.features) wanted.push_back(field->name);
    }
    for (const auto& feature : wanted) {
      if (std::find(resolved.features.begin(), resolved.features.end(), feature) ==
          resolved.features.end()) {
        resolved.features.push_back(feature);
      }
    }
  }
  return views;
}

// Names the output columns; collisions with entity columns or between views are errors.
Status NameOutputs(const std::vector<std::string>& entity_columns, bool full_feature_names,
                   std::vector<ResolvedView>* views) {
  std::map<std::string, std::string> owner;  // output column -> "view 'x'" or "the entity file"
  for (const auto& column : entity_columns) owner[column] = "the entity file";
  for (auto& resolved : *views) {
    for (const auto& feature : resolved.features) {
      std::string name = full_feature_names ? resolved.view->name + "__" + feature : feature;
      std::string who = "view '" + resolved.view->name + "'";
      auto [it, inserted] = owner.emplace(name, who);
      if (!inserted) {
        return Status::InvalidArgument(
            "output column '" + name + "' of " + who + " collides with " + it->second +
            (full_feature_names ? "" : "; set full_feature_names to get view__feature names"));
      }
      resolved.output_names.push_back(std::move(name));
    }
  }
  return Status::OK();
}

// The feature rows a view contributes: timestamped, keyed, one row per (key, event ts) — the
// newest created ts wins when the view has a created column. Rows outside the entity rows'
// time span (widened by the ttl) can never match and are dropped before the join.
std::string FeatureRowsSql(const ResolvedView& resolved, const std::string& entities) {
  std::string keys;
  const std::string ts = offline::kEventTsColumn;
  std::string where = ts + " IS NOT NULL AND " + ts + " <= (SELECT max(" + kEntityTsColumn +
                      ") FROM " + QuoteIdentifier(entities) + ")";
  if (resolved.view->ttl > 0) {
    where += " AND " + ts + " >= (SELECT min(" + kEntityTsColumn + ") FROM " +
             QuoteIdentifier(entities) + ") - to_microseconds(CAST(" +
             std::to_string(resolved.view->ttl) + " AS BIGINT))";
  }
  for (const auto& key : resolved.columns.join_keys) {
    keys += QuoteIdentifier(key) + ", ";
    where += " AND " + QuoteIdentifier(key) + " IS NOT NULL";
  }
  std::string sql = "SELECT * FROM (" + resolved.typed_sql + ") WHERE " + where;
  if (!resolved.columns.created_timestamp_column.empty()) {
    sql += " QUALIFY row_number() OVER (PARTITION BY " + keys + offline::kEventTsColumn +
           " ORDER BY " + offline::kCreatedTsColumn + " DESC NULLS LAST) = 1";
  }
  return sql;
}

Result<std::vector<int64_t>> QueryInts(offline::DuckConnection& connection,
                                       const std::string& sql) {
  FF_ASSIGN_OR_RETURN(auto result, connection.Query(sql));
  FF_ASSIGN_OR_RETURN(auto chunk, result->Next());
  std::vector<int64_t> values(result->column_count(), 0);
  if (chunk == nullptr || chunk->size() == 0) return values;
  for (uint64_t col = 0; col < result->column_count(); ++col) {
    if (!chunk->IsNull(col, 0)) values[col] = chunk->Data<int64_t>(col)[0];
  }
  return values;
}

// Drops the temporary tables of one call however it ends.
class TempTables {
 public:
  explicit TempTables(offline::DuckConnection& connection) : connection_(connection) {}
  ~TempTables() {
    for (const auto& name : names_) {
      (void)connection_.Execute("DROP TABLE IF EXISTS " + QuoteIdentifier(name));
    }
  }
  void Add(std::string name) { names_.push_back(std::move(name)); }

 private:
  offline::DuckConnection& connection_;
  std::vector<std::string> names_;
};

}  // namespace

Result<RetrievalStats> GetHistoricalFeatures(
    offline::OfflineStore& offline, const repo::Repo& repo, const std::string& entity_file,
    const std::vector<repo::FeatureViewProjection>& features, bool full_feature_names,
    const std::string& output_path) {
  if (features.empty()) return Status::InvalidArgument("no features requested");
  if (output_path.empty()) return Status::InvalidArgument("no output path");
  FF_ASSIGN_OR_RETURN(std::vector<ResolvedView> views, ResolveProjections(offline, repo, features));
  offline::DuckConnection& db = offline.connection();
  TempTables temps(db);

  // The entity rows, in file order (a table's rowid is its insertion order).
  std::error_code ec;
  const bool remote =
      entity_file.find("://") != std::string::npos && entity_file.rfind("file://", 0) != 0;
  if (!remote && entity_file.find_first_of("*?[") == std::string::npos &&
      !fs::exists(entity_file, ec)) {
    return Status::IOError("entity file " + entity_file + " does not exist");
  }
  auto entity_read_result = offline.ReadSql(entity_file, offline::FormatFromExtension(entity_file));
  if (!entity_read_result.ok()) {
    return Status::IOError("entity file " + entity_file +
                           ": cannot fetch: " + entity_read_result.status().message());
  }
  const std::string entity_read = *entity_read_result;
  auto entity_columns_result = offline.RelationColumns(entity_read);
  if (!entity_columns_result.ok()) {
    return Status::IOError("entity file " + entity_file +
                           ": cannot read: " + entity_columns_result.status().message());
  }
  const std::vector<std::string> entity_columns = *entity_columns_result;
  auto has_column = [&](const std::string& name) {
    return std::find(entity_columns.begin(), entity_columns.end(), name) != entity_columns.end();
  };
  if (!has_column(kEntityTimestampColumn)) {
    return Status::InvalidArgument("entity file " + entity_file + " has no '" +
                                   kEntityTimestampColumn + "' column");
  }
  for (const auto& resolved : views) {
    for (const auto& key : resolved.columns.join_keys) {
      if (!has_column(key)) {
        return Status::InvalidArgument("entity file " + entity_file + " has no column '" + key +
                                       "', a join key of view '" + resolved.view->name + "'");
      }
    }
  }
  FF_RETURN_IF_ERROR(NameOutputs(entity_columns, full_feature_names, &views));

  const std::string entities = offline.NewTempName("entities");
  temps.Add(entities);
  Status loaded = db.Execute("CREATE TEMP TABLE " + QuoteIdentifier(entities) +
                             " AS SELECT *, CAST(" + QuoteIdentifier(kEntityTimestampColumn) +
                             " AS TIMESTAMP) AS " + kEntityTsColumn + " FROM " + entity_read);
  if (!loaded.ok()) return loaded.WithContext("entity file " + entity_file);

  // One ASOF LEFT JOIN per view: the latest feature row with ts <= entity ts for equal keys;
  // the ttl lower bound is applied to that row (if the latest is too old, all older ones are).
  std::string with_sql, select_sql, join_sql, match_sql;
  select_sql = "SELECT e.rowid AS " + std::string(kRowColumn);
  for (const auto& column : entity_columns) select_sql += ", e." + QuoteIdentifier(column);
  for (size_t v = 0; v < views.size(); ++v) {
    ResolvedView& resolved = views[v];
    FF_ASSIGN_OR_RETURN(resolved.typed_sql,
                        offline.TypedViewSql(*resolved.view, resolved.features));
    const std::string alias = "f" + std::to_string(v);
    with_sql += (with_sql.empty() ? "WITH " : ", ") + alias + " AS (" +
                FeatureRowsSql(resolved, entities) + ")";
    std::string on;
    for (size_t k = 0; k < resolved.columns.join_keys.size(); ++k) {
      const std::string key = QuoteIdentifier(resolved.columns.join_keys[k]);
      on += "CAST(e." + key + " AS " + offline::DuckSqlType(resolved.columns.join_key_types[k]) +
            ") = " + alias + "." + key + " AND ";
    }
    on += std::string("e.") + kEntityTsColumn + " >= " + alias + "." + offline::kEventTsColumn;
    join_sql += " ASOF LEFT JOIN " + alias + " ON " + on;
    // DuckDB's ASOF operator pairs a NULL entity timestamp with the latest row (NULL sorts
    // last), so a NULL entity timestamp is excluded here explicitly.
    std::string in_ttl = std::string("e.") + kEntityTsColumn + " IS NOT NULL AND " + alias + "." +
                         offline::kEventTsColumn + " IS NOT NULL";
    if (resolved.view->ttl > 0) {
      in_ttl += std::string(" AND ") + alias + "." + offline::kEventTsColumn + " >= e." +
                kEntityTsColumn + " - to_microseconds(CAST(" + std::to_string(resolved.view->ttl) +
                " AS BIGINT))";
    }
    for (size_t f = 0; f < resolved.features.size(); ++f) {
      select_sql += ", CASE WHEN " + in_ttl + " THEN " + alias + "." +
                    QuoteIdentifier(resolved.features[f]) + " END AS " +
                    QuoteIdentifier(resolved.output_names[f]);
    }
    const std::string match_column = "__ff_match_" + std::to_string(v);
    select_sql += ", (" + in_ttl + ") AS " + match_column;
    match_sql += (match_sql.empty() ? "" : ", ") + std::string("CAST(count_if(") + match_column +
                 ") AS BIGINT)";
  }

  const std::string joined = offline.NewTempName("joined");
  temps.Add(joined);
  Status built =
      db.Execute("CREATE TEMP TABLE " + QuoteIdentifier(joined) + " AS " + with_sql + " " +
                 select_sql + " FROM " + QuoteIdentifier(entities) + " AS e" + join_sql);
  if (!built.ok()) return built.WithContext("point-in-time join");

  RetrievalStats stats;
  stats.output_path = output_path;
  FF_ASSIGN_OR_RETURN(std::vector<int64_t> counts,
                      QueryInts(db, "SELECT CAST(count(*) AS BIGINT), " + match_sql + " FROM " +
                                        QuoteIdentifier(joined)));
  stats.entity_rows = counts[0];
  std::string output_columns;
  for (const auto& column : entity_columns) {
    stats.output_columns.push_back(column);
    output_columns += (output_columns.empty() ? "" : ", ") + QuoteIdentifier(column);
  }
  for (size_t v = 0; v < views.size(); ++v) {
    stats.views.push_back({views[v].view->name, counts[v + 1]});
    for (const auto& name : views[v].output_names) {
      stats.output_columns.push_back(name);
      output_columns += ", " + QuoteIdentifier(name);
    }
  }

  // Written to a temporary file first: readers never see a partial output.
  const auto format = offline::FormatFromExtension(output_path);
  Status written = offline.WriteResult(
      "SELECT " + output_columns + " FROM " + QuoteIdentifier(joined) + " ORDER BY " + kRowColumn,
      output_path, format);
  if (!written.ok()) return written.WithContext("writing " + output_path);

  stats.message = std::to_string(stats.entity_rows) + " entity rows";
  if (stats.entity_rows == 0) {
    stats.message = "entity file " + entity_file + " has no rows: " + output_path +
                    " holds only the column names";
  } else {
    for (const auto& view : stats.views) {
      stats.message += ", " + view.view + ": " + std::to_string(view.rows_matched) + " matched";
    }
    stats.message += " -> " + output_path;
  }
  return stats;
}

}  // namespace featureforge::retrieval
