// The online store interface: latest feature values per entity key, per feature view.
// Implementations: SQLite (embedded default) and Redis (Feast's key layout).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/repo/model.h"
#include "featureforge/types/value.h"

namespace featureforge::online {

// Which view (and which of its features) a write or read is about.
struct ViewSpec {
  std::string project;
  std::string view;
  std::vector<std::string> feature_names;
  std::vector<ValueType> feature_types;  // aligned with feature_names
};

struct WriteRow {
  EntityKey entity_key;
  std::vector<Value> values;  // aligned with ViewSpec::feature_names
  TimestampMicros event_ts = 0;
  TimestampMicros created_ts = 0;  // 0 when the source has no created timestamp
};

struct WriteStats {
  int64_t rows_written = 0;
  // Rows not written because the store already held a value with a newer (or equal)
  // event timestamp for that entity key: an online write never replaces newer with older.
  int64_t rows_skipped_stale = 0;
};

struct ReadRow {
  bool found = false;
  TimestampMicros event_ts = 0;
  std::vector<Value> values;  // aligned with the requested ViewSpec::feature_names; Null if absent
};

// One view's part of a multi-view read.
struct ReadRequest {
  ViewSpec view;
  std::vector<EntityKey> keys;
};

class OnlineStore {
 public:
  virtual ~OnlineStore() = default;

  // Writes rows for one view. Atomic per row; a failed call returns an error and the caller
  // must not record the write as done.
  virtual Result<WriteStats> Write(const ViewSpec& view, std::span<const WriteRow> rows) = 0;

  // Reads the requested features of `view` for each key, one ReadRow per key, same order.
  virtual Result<std::vector<ReadRow>> Read(const ViewSpec& view,
                                            std::span<const EntityKey> keys) = 0;

  // Reads several views at once: one vector of ReadRow per request, same order. The default
  // calls Read per request; stores with a network round trip (Redis) override it to read
  // everything in one.
  virtual Result<std::vector<std::vector<ReadRow>>> ReadMany(
      std::span<const ReadRequest> requests) {
    std::vector<std::vector<ReadRow>> out;
    out.reserve(requests.size());
    for (const ReadRequest& request : requests) {
      FF_ASSIGN_OR_RETURN(std::vector<ReadRow> rows, Read(request.view, request.keys));
      out.push_back(std::move(rows));
    }
    return out;
  }

  // Removes everything stored for a view (used when a view is deleted from the repo).
  virtual Status DeleteView(const std::string& project, const std::string& view) = 0;

  // "sqlite:/path/online.db", "redis:127.0.0.1:6379" — for logs and errors.
  virtual std::string Describe() const = 0;
};

// Opens the store the repo config names.
Result<std::unique_ptr<OnlineStore>> OpenOnlineStore(const repo::Repo& repo);

}  // namespace featureforge::online
