// Historical retrieval: a point-in-time correct join of an entity dataframe to feature views,
// the training-data path of the engine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/offline/offline_store.h"
#include "featureforge/repo/model.h"

namespace featureforge::retrieval {

// The column of the entity file holding each row's point in time.
inline constexpr const char* kEntityTimestampColumn = "event_timestamp";

struct ViewRetrievalStats {
  std::string view;
  // Entity rows that got at least one non-NULL feature of the view (a row whose match holds
  // only NULL values counts as without values).
  int64_t rows_with_values = 0;
};

struct RetrievalStats {
  int64_t entity_rows = 0;
  std::string output_path;
  std::vector<std::string> output_columns;  // entity columns first, then features
  std::vector<ViewRetrievalStats> views;    // in request order
  // One human line (says so when the entity file has no rows).
  std::string message;
};

// For each row of `entity_file` (Parquet or CSV, by extension; a directory or glob reads every
// Parquet file; it holds `event_timestamp` and the join keys of every requested view) and each
// projection, joins the latest feature row of that view with the same keys and
//   entity_ts - ttl <= feature_ts <= entity_ts      (ttl 0: no lower bound),
// ties on feature_ts broken by the created timestamp, newest first (NULL created ranks last;
// rows equal in both are interchangeable). Entity rows without a
// match get NULL features. The output keeps every entity column and the entity rows in input
// order, followed by one column per feature named `feature` or, with full_feature_names,
// `view__feature`. Output format by extension: .csv -> CSV with header, otherwise Parquet.
// Written to a temporary file and renamed, so a failure never leaves a partial output.
//
// Errors: NotFound for an unknown view or feature; FailedPrecondition for an online-only
// view (offline: false); InvalidArgument when output names collide (naming both views), or
// the entity file lacks a needed column; IOError for unreadable inputs.
Result<RetrievalStats> GetHistoricalFeatures(
    offline::OfflineStore& offline, const repo::Repo& repo, const std::string& entity_file,
    const std::vector<repo::FeatureViewProjection>& features, bool full_feature_names,
    const std::string& output_path);

}  // namespace featureforge::retrieval
