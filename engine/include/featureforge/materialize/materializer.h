// Materialization: the latest row per entity key of a feature view within a time window,
// written to an online store in bounded chunks.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/offline/offline_store.h"
#include "featureforge/online/online_store.h"
#include "featureforge/repo/model.h"

namespace featureforge::materialize {

// Open-ended bounds: a window starting at kBeginningOfTime has no lower bound in SQL.
inline constexpr TimestampMicros kBeginningOfTime = std::numeric_limits<int64_t>::min();
inline constexpr TimestampMicros kEndOfTime = std::numeric_limits<int64_t>::max();

// [start, end], both inclusive, UTC microseconds.
struct Window {
  TimestampMicros start = kBeginningOfTime;
  TimestampMicros end = kEndOfTime;
  bool empty() const { return start > end; }
  // "[2024-01-01T00:00:00Z, 2024-01-02T00:00:00Z]", "-inf" for kBeginningOfTime.
  std::string ToString() const;
  bool operator==(const Window&) const = default;
};

// The window `materialize-incremental END` runs.
//  - With a watermark (the `end` of the last committed run): start = last_end + 1 microsecond.
//    The last run's window was inclusive of last_end, so a row stamped exactly at last_end was
//    already read; starting one microsecond later (the timestamp resolution) reads every later
//    row exactly once, and nothing between the two windows is skipped.
//  - Without one: start = end - ttl (inclusive, Feast's rule), or kBeginningOfTime when ttl is 0.
// When end <= last_end the result is empty() (nothing new); MaterializeView rejects empty
// windows, so callers check empty() first.
Window IncrementalWindow(std::optional<TimestampMicros> last_end, TimestampMicros end,
                         DurationMicros ttl);

// Which slice of the entity keys a run owns: keys with hash(key) % count == index.
// The hash is DuckDB's hash() over the join key values cast to the entity's declared type
// (so an INT32 and an INT64 file agree), in entity order. It is deterministic for one DuckDB
// build, and every executor of a job runs the same featureforge binary, so the partitions
// 0..count-1 of one job cover every key exactly once.
struct Partition {
  int index = 0;
  int count = 1;
  std::string ToString() const { return std::to_string(index) + "/" + std::to_string(count); }
  bool operator==(const Partition&) const = default;
};

struct MaterializeOptions {
  int64_t chunk_size = 10000;  // rows per online write
  // Called after each chunk is written with (source rows done, source rows in total): the rows
  // of the window behind the entities written so far, out of rows_read — so the count moves at
  // the pace of the work and ends at exactly the total.
  std::function<void(int64_t rows_done, int64_t rows_total)> progress;
  // Batch views with `path`: run the query and rewrite `path` before reading it. A job whose
  // partitions run in parallel can compute once up front and pass false to its partitions,
  // which then read the existing `path` (computing only when it is missing).
  bool recompute_path = true;
  // Bounded memory: finding the latest row per key holds the rows being compared, so a window
  // with more rows than this is processed in ceil(rows / rows_per_pass) passes, each over the
  // keys of one hash bucket (one extra scan of the data per pass). 0 = always one pass;
  // -1 (default) = 250 x chunk_size, at least 100,000, so memory follows the chunk size.
  // Unless the repo sets offline_store.memory_limit, DuckDB's memory_limit is held to
  // max(48 MiB, 128 B x rows_per_pass) during the run (beyond it DuckDB spills to disk), with
  // preserve_insertion_order off and, unless offline_store.threads is set, one DuckDB thread.
  int64_t rows_per_pass = -1;
  // Write chunk i on a background thread while chunk i+1 is read and converted (at most two
  // chunks in memory). The store sees one Write call at a time, in chunk order, either way.
  bool overlap_writes = true;
};

struct ViewMaterialization {
  std::string view;
  Window window;
  Partition partition;
  int64_t rows_read = 0;           // rows in the window in this partition (non-NULL keys)
  int64_t entities = 0;            // distinct entity keys among them
  int64_t entities_written = 0;    // latest rows the store accepted
  int64_t rows_skipped_stale = 0;  // store already held a newer (or equally new) value
  int64_t chunks_written = 0;
  int64_t passes = 0;          // hash-bucket passes over the data (see rows_per_pass)
  bool computed_path = false;  // a compute-once `path` was (re)written by this run
  bool empty = false;          // nothing in the window: nothing was written
  std::string message;         // one human line; says why when empty
};

// Reads `view` in `window` for `partition`, keeps the latest row per entity key by
// (event ts desc, created ts desc), and writes them to `store` in chunks of
// options.chunk_size rows. Rows with a NULL event timestamp or join key are never read.
// Does not record watermarks: the caller records them after this returned OK.
// Errors: FailedPrecondition for offline-only views, InvalidArgument for a bad window,
// partition or chunk size, IOError naming the source for unreadable data, the store's
// error when a write fails (earlier chunks stay written; the caller must not record success).
Result<ViewMaterialization> MaterializeView(offline::OfflineStore& offline, const repo::Repo& repo,
                                            const repo::FeatureView& view, const Window& window,
                                            const Partition& partition, online::OnlineStore& store,
                                            const MaterializeOptions& options = {});

// The SQL predicate selecting `partition` over already-typed key columns, e.g.
// "hash("driver_id") % 4 = 1"; "TRUE" for a single partition. Exposed for tests and tools.
std::string PartitionPredicate(const std::vector<std::string>& join_keys,
                               const Partition& partition);

}  // namespace featureforge::materialize
