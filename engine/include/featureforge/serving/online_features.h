// The online read path: feature values, statuses and event timestamps per requested feature and
// entity row, and Feast's feature-server JSON shape for them.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/online/online_store.h"
#include "featureforge/repo/model.h"
#include "featureforge/types/value.h"

namespace featureforge::serving {

// Feast's serving.FieldStatus names for the statuses we produce.
enum class FieldStatus {
  kPresent,        // a value was found and is within the view's ttl
  kNotFound,       // the online store holds no row for this entity key and view
  kOutsideMaxAge,  // a row exists but its event ts is older than now - ttl; its value is Null
};
std::string_view FieldStatusName(FieldStatus status);  // "PRESENT", "NOT_FOUND", ...

// One output column: an entity join key or a requested feature, one entry per entity row.
struct FeatureColumn {
  std::string name;  // join key, "feature", or "view__feature" with full_feature_names
  std::vector<Value> values;
  std::vector<FieldStatus> statuses;
  // Event ts of the row the value came from; 0 for entity columns and NOT_FOUND.
  std::vector<TimestampMicros> event_timestamps;
};

struct OnlineFeaturesResponse {
  size_t num_join_keys = 0;  // the first columns are the entity columns, in join key order
  std::vector<FeatureColumn> columns;  // entity columns, then features in request order
  size_t num_rows = 0;
};

// Reads `features` for the entity rows given as columns (join key -> values, all the same
// length). One store Read per feature view. A view's ttl (0 = no limit) bounds what is
// PRESENT: rows with event_ts < now - ttl are OUTSIDE_MAX_AGE (exactly now - ttl is PRESENT).
// Null join key values read as NOT_FOUND. Integer join key values are converted between
// Int32 and Int64 when the value fits (JSON cannot tell them apart); other type mismatches are
// errors naming the join key. Without full_feature_names, two views sharing a feature name
// is an error (Feast's rule).
Result<OnlineFeaturesResponse> GetOnlineFeatures(
    const repo::Repo& repo, online::OnlineStore& store,
    const std::vector<repo::FeatureViewProjection>& features,
    const std::map<std::string, std::vector<Value>>& entity_columns, bool full_feature_names,
    TimestampMicros now);

// Feast's feature-server response:
// {"metadata": {"feature_names": [join keys..., features...]},
//  "results": [{"values": [...], "statuses": [...], "event_timestamps": [...]}, ...]}
// one result per column, one entry per entity row. Entity columns are PRESENT with event
// timestamp "1970-01-01T00:00:00Z". Values render as JSON natives; Bytes as base64; UNIX_TIMESTAMP
// values as integer seconds (Feast's wire unit); NaN/Inf as null.
nlohmann::json ToFeastJson(const OnlineFeaturesResponse& response);

// A Value as Feast's feature server renders it in "values".
nlohmann::json ValueToJson(const Value& value);

}  // namespace featureforge::serving
