// Top-k document retrieval over an embedding view: the nearest entity keys to a query vector
// (or to a query text embedded with the view's own embedder), with the view's other features
// read from the online store, in Feast's retrieve_online_documents_v2 shape.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/embeddings/embedder.h"
#include "featureforge/online/online_store.h"
#include "featureforge/repo/model.h"
#include "featureforge/serving/online_features.h"
#include "featureforge/vectors/vector_index.h"

namespace featureforge::vectors {

// Loaded indexes by folder and name, shared by concurrent readers. An entry is reloaded when
// its manifest changed on disk (a materialization saved a new generation). Thread-safe.
class IndexCache {
 public:
  // NotFound (naming the view's index path) when the view was never materialized.
  Result<std::shared_ptr<const VectorIndex>> Get(const std::string& dir, const std::string& name);

 private:
  struct Entry {
    std::string stamp;  // manifest mtime + size
    std::shared_ptr<const VectorIndex> index;
  };
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

struct DocumentQuery {
  std::string view;                          // an embedding view
  std::vector<std::string> features;         // features of the view to return (may include the
                                             // embedding); empty = none, only keys and distance
  std::optional<std::vector<float>> vector;  // query vector, or
  std::string text;                          // query text (embedded with the view's embedder)
  int top_k = 10;
  std::optional<repo::VectorMetric> metric;  // when given it must be the index's metric
  std::optional<bool> exact;                 // unset = the view's vector_index.exact
  int ef_search = 0;                         // 0 = the view's vector_index.ef_search
};

// The hits, nearest first: columns are the view's join keys, the requested features (values,
// statuses and event timestamps as GetOnlineFeatures gives them, TTL included) and "distance"
// (Float, lower is closer; see SearchHit for the definition per metric).
// `embedder` overrides the view's embedder for text queries (tests); null = the view's own.
Result<serving::OnlineFeaturesResponse> RetrieveOnlineDocuments(
    const repo::Repo& repo, online::OnlineStore& store, IndexCache& cache,
    const DocumentQuery& query, TimestampMicros now, embeddings::Embedder* embedder = nullptr);

}  // namespace featureforge::vectors
