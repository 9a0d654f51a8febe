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
constexpr const char* kEntityOrderColumn = "__ff_entity_order";
constexpr const char* kFeatureOrderColumn = "__ff_order";

// A HUGEINT ordering (event ts, created ts): ts * 2^64 + (created + 2^63), NULL created -> 0.
// For an entity row (`created_sql` empty) the low bits are all ones: it ranks after every
// feature row with the same ts, whatever its created ts.
std::string OrderKeySql(const std::string& ts_sql, const std::string& created_sql) {
  const std::string high =
      "CAST(epoch_us(" + ts_sql + ") AS HUGEINT) * CAST('18446744073709551616' AS HUGEINT)";
  if (created_sql.empty()) return high + " + CAST('18446744073709551615' AS HUGEINT)";
  return high + " + COALESCE(CAST(epoch_us(" + created_sql +
         ") AS HUGEINT) + CAST('9223372036854775808' AS HUGEINT), CAST(0 AS HUGEINT))";
}

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

// The feature rows a view contributes: timestamped and keyed, with the (event ts, created ts)
// order key when the view has a created column. Rows outside the entity rows' time span
// (widened by the ttl) can never match and are dropped before the join.
std::string FeatureRowsSql(const ResolvedView& resolved, const std::string& entities) {
  const std::string ts = offline::kEventTsColumn;
  std::string where = ts + " IS NOT NULL AND " + ts + " <= (SELECT max(" + kEntityTsColumn +
                      ") FROM " + QuoteIdentifier(entities) + ")";
  if (resolved.view->ttl > 0) {
    where += " AND " + ts + " >= (SELECT min(" + kEntityTsColumn + ") FROM " +
             QuoteIdentifier(entities) + ") - to_microseconds(CAST(" +
             std::to_string(resolved.view->ttl) + " AS BIGINT))";
  }
  for (const auto& key : resolved.columns.join_keys) {
    where += " AND " + QuoteIdentifier(key) + " IS NOT NULL";
  }
  std::string sql = "SELECT *";
  if (!resolved.columns.created_timestamp_column.empty()) {
    sql += ", " + OrderKeySql(ts, offline::kCreatedTsColumn) + " AS " + kFeatureOrderColumn;
  }
  return sql + " FROM (" + resolved.typed_sql + ") WHERE " + where;
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
  const std::string entity_ts =
      "CAST(" + QuoteIdentifier(kEntityTimestampColumn) + " AS TIMESTAMP)";
  Status loaded =
      db.Execute("CREATE TEMP TABLE " + QuoteIdentifier(entities) + " AS SELECT *, " + entity_ts +
                 " AS " + kEntityTsColumn + ", " + OrderKeySql(entity_ts, "") + " AS " +
                 kEntityOrderColumn + " FROM " + entity_read);
  if (!loaded.ok()) return loaded.WithContext("entity file " + entity_file);

  // One ASOF LEFT JOIN per view: the latest feature row with ts <= entity ts for equal keys;
  // the ttl lower bound is applied to that row (if the latest is too old, all older ones are).
  // Views with a created column join on a 128-bit order key, event ts in the high 64 bits and
  // created ts in the low ones (NULL lowest), against the entity ts with the highest low bits:
  // one ASOF join then also breaks event-ts ties by created ts, without a separate sort.
  std::string with_sql, select_sql, join_sql;
  select_sql = "SELECT ";
  for (size_t c = 0; c < entity_columns.size(); ++c) {
    select_sql += (c ? ", e." : "e.") + QuoteIdentifier(entity_columns[c]);
  }
  std::string output_columns;
  RetrievalStats stats;
  stats.output_path = output_path;
  stats.output_columns = entity_columns;
  std::vector<std::string> any_value_sql;  // per view: "some feature of it is not NULL"
  for (size_t v = 0; v < views.size(); ++v) {
    ResolvedView& resolved = views[v];
    FF_ASSIGN_OR_RETURN(resolved.typed_sql,
                        offline.TypedViewSql(*resolved.view, resolved.features));
    const std::string alias = "f" + std::to_string(v);
    const bool by_created = !resolved.columns.created_timestamp_column.empty();
    with_sql += (with_sql.empty() ? "WITH " : ", ") + alias + " AS (" +
                FeatureRowsSql(resolved, entities) + ")";
    std::string on;
    for (size_t k = 0; k < resolved.columns.join_keys.size(); ++k) {
      const std::string key = QuoteIdentifier(resolved.columns.join_keys[k]);
      on += "CAST(e." + key + " AS " + offline::DuckSqlType(resolved.columns.join_key_types[k]) +
            ") = " + alias + "." + key + " AND ";
    }
    on +=
        by_created
            ? std::string("e.") + kEntityOrderColumn + " >= " + alias + "." + kFeatureOrderColumn
            : std::string("e.") + kEntityTsColumn + " >= " + alias + "." + offline::kEventTsColumn;
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
    std::string any_value;
    for (size_t f = 0; f < resolved.features.size(); ++f) {
      const std::string& name = resolved.output_names[f];
      select_sql += ", CASE WHEN " + in_ttl + " THEN " + alias + "." +
                    QuoteIdentifier(resolved.features[f]) + " END AS " + QuoteIdentifier(name);
      stats.output_columns.push_back(name);
      any_value += (any_value.empty() ? "" : " OR ") + QuoteIdentifier(name) + " IS NOT NULL";
    }
    any_value_sql.push_back(any_value.empty() ? "FALSE" : any_value);
  }
  FF_ASSIGN_OR_RETURN(
      std::vector<int64_t> entity_count,
      QueryInts(db, "SELECT CAST(count(*) AS BIGINT) FROM " + QuoteIdentifier(entities)));
  stats.entity_rows = entity_count.at(0);
  const auto format_of_output = offline::FormatFromExtension(output_path);

  // Per-view counts come from the finished local file, before it is published.
  auto count_values = [&](const std::string& local_file) -> Status {
    std::string sql = "SELECT ";
    for (size_t v = 0; v < any_value_sql.size(); ++v) {
      sql += (v ? ", " : "") + std::string("CAST(count_if(") + any_value_sql[v] + ") AS BIGINT)";
    }
    FF_ASSIGN_OR_RETURN(
        std::vector<int64_t> counts,
        QueryInts(db, sql + " FROM " + offline::ReadFunctionSql(local_file, format_of_output)));
    for (size_t v = 0; v < views.size(); ++v) {
      stats.views.push_back({views[v].view->name, counts.at(v)});
    }
    return Status::OK();
  };
  Status written =
      offline.WriteResult(with_sql + " " + select_sql + " FROM " + QuoteIdentifier(entities) +
                              " AS e" + join_sql + " ORDER BY e.rowid",
                          output_path, format_of_output, count_values);
  if (!written.ok()) return written.WithContext("point-in-time join into " + output_path);

  stats.message = std::to_string(stats.entity_rows) + " entity rows";
  if (stats.entity_rows == 0) {
    stats.message = "entity file " + entity_file + " has no rows: " + output_path +
                    " holds only the column names";
  } else {
    for (const auto& view : stats.views) {
      stats.message +=
          ", " + view.view + ": " + std::to_string(view.rows_with_values) + " with values";
    }
    stats.message += " -> " + output_path;
  }
  return stats;
}

}  // namespace featureforge::retrieval
