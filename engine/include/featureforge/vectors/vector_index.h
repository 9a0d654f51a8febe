// An approximate nearest-neighbour index (hnswlib HNSW) over the vectors of one embedding view,
// keyed by serialized entity key, with exact (flat) search on demand and crash-safe persistence.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/repo/model.h"

namespace featureforge::vectors {

// "COSINE", "L2", "IP".
std::string_view MetricName(repo::VectorMetric metric);

// Defaults = an embedding view's vector_index defaults (repo::VectorIndexConfig).
struct IndexParams {
  repo::VectorMetric metric = repo::VectorMetric::kCosine;
  int dimension = 0;
  int m = repo::VectorIndexConfig{}.m;
  int ef_construction = repo::VectorIndexConfig{}.ef_construction;
  int ef_search = repo::VectorIndexConfig{}.ef_search;
};

// Distances, lower is closer for every metric:
//   COSINE: 1 - cosine similarity (vectors are normalized on the way in; zero vectors stay 0)
//   IP:     1 - inner product (hnswlib's inner-product distance)
//   L2:     Euclidean distance
struct SearchHit {
  std::string key;  // the entity key as Upsert received it (serialized bytes)
  float distance = 0;
};

struct SearchOptions {
  int top_k = 10;
  bool exact = false;  // flat scan over every live vector instead of the HNSW graph
  int ef_search = 0;   // 0 = the index's ef_search; max(ef, top_k) is what HNSW uses
};

// Thread-safe: any number of concurrent Search calls; Upsert/Remove/Save exclude them.
class VectorIndex {
 public:
  static Result<std::unique_ptr<VectorIndex>> Create(const IndexParams& params,
                                                     size_t initial_capacity = 1024);
  // Loads what Save wrote under `dir` for `name`; NotFound when nothing was saved yet,
  // Corruption when the files are damaged or disagree.
  static Result<std::unique_ptr<VectorIndex>> Load(const std::string& dir, const std::string& name);
  ~VectorIndex();

  // Writes a new generation (<name>.<gen>.hnsw + <name>.<gen>.keys) and then atomically
  // replaces <name>.manifest.json, which names it; the previous generation is removed after.
  // A crash at any point leaves the last complete generation readable.
  Status Save(const std::string& dir, const std::string& name) const;

  // Inserts or replaces the vector of `key` (a moved vector is relinked in the graph).
  Status Upsert(std::string_view key, std::span<const float> vector);
  // Upserts many: `vectors` holds keys.size() * dimension floats; `threads` > 1 inserts in
  // parallel (hnswlib supports concurrent inserts of distinct keys).
  Status UpsertBatch(std::span<const std::string> keys, std::span<const float> vectors,
                     int threads = 1);
  // Removes `key` (hnswlib marks it deleted; Upsert of the same key brings it back).
  Status Remove(std::string_view key);

  Result<std::vector<SearchHit>> Search(std::span<const float> query,
                                        const SearchOptions& options) const;

  const IndexParams& params() const;
  size_t size() const;  // live (not removed) keys
  bool Contains(std::string_view key) const;

 private:
  struct Impl;
  explicit VectorIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An exclusive advisory lock (flock) on <dir>/<name>.lock, held while a writer loads, updates
// and saves an index, so concurrent materializations (e.g. partitions) never lose updates.
class IndexWriteLock {
 public:
  static Result<std::unique_ptr<IndexWriteLock>> Acquire(const std::string& dir,
                                                         const std::string& name);
  ~IndexWriteLock();

 private:
  explicit IndexWriteLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace featureforge::vectors
