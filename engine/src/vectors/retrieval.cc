#include "featureforge/vectors/retrieval.h"

#include <sys/stat.h>

#include "featureforge/online/serialization.h"
#include "featureforge/vectors/embedding_views.h"

namespace featureforge::vectors {

Result<std::shared_ptr<const VectorIndex>> IndexCache::Get(const std::string& dir,
                                                           const std::string& name) {
  const std::string manifest = dir + "/" + name + ".manifest.json";
  struct stat info {};
  if (::stat(manifest.c_str(), &info) != 0) {
    return Status::NotFound("no vector index at " + manifest);
  }
  const std::string stamp = std::to_string(info.st_mtim.tv_sec) + "." +
                            std::to_string(info.st_mtim.tv_nsec) + ":" +
                            std::to_string(info.st_size) + ":" + std::to_string(info.st_ino);
  std::lock_guard guard(mutex_);
  auto it = entries_.find(manifest);
  if (it != entries_.end() && it->second.stamp == stamp) return it->second.index;
  FF_ASSIGN_OR_RETURN(std::unique_ptr<VectorIndex> loaded, VectorIndex::Load(dir, name));
  std::shared_ptr<const VectorIndex> index = std::move(loaded);
  entries_[manifest] = Entry{stamp, index};
  return index;
}

Result<serving::OnlineFeaturesResponse> RetrieveOnlineDocuments(
    const repo::Repo& repo, online::OnlineStore& store, IndexCache& cache,
    const DocumentQuery& query, TimestampMicros now, embeddings::Embedder* embedder) {
  const repo::FeatureView* view = repo.FindFeatureView(query.view);
  if (view == nullptr) {
    return Status::InvalidArgument("unknown feature view '" + query.view + "'");
  }
  if (!view->embedding) {
    return Status::InvalidArgument("feature view '" + query.view +
                                   "' has no embedding: documents are retrieved from embedding "
                                   "views only");
  }
  for (const auto& feature : query.features) {
    if (view->FindFeature(feature) == nullptr) {
      return Status::InvalidArgument("feature view '" + query.view + "' has no feature '" +
                                     feature + "'");
    }
  }
  if (query.top_k < 1) {
    return Status::InvalidArgument("top_k must be at least 1, got " + std::to_string(query.top_k));
  }
  if (query.vector.has_value() == !query.text.empty()) {
    return Status::InvalidArgument("give exactly one of a query vector and a query text");
  }
  const IndexParams params = ParamsFor(*view);
  if (query.metric && *query.metric != params.metric) {
    return Status::InvalidArgument("view '" + query.view + "' is indexed with " +
                                   std::string(MetricName(params.metric)) + ", not " +
                                   std::string(MetricName(*query.metric)));
  }
  std::vector<float> vector;
  if (query.vector) {
    vector = *query.vector;
  } else {
    std::unique_ptr<embeddings::Embedder> owned;
    if (embedder == nullptr) {
      FF_ASSIGN_OR_RETURN(owned, embeddings::MakeEmbedder(*view->embedding, view->name));
      embedder = owned.get();
    }
    auto embedded = embedder->Embed(std::vector<std::string>{query.text});
    if (!embedded.ok()) return embedded.status().WithContext("embedding the query text");
    vector = std::move((*embedded)[0]);
  }
  if (static_cast<int>(vector.size()) != params.dimension) {
    return Status::InvalidArgument("query vector has dimension " + std::to_string(vector.size()) +
                                   "; view '" + query.view + "' has embedding.dimension " +
                                   std::to_string(params.dimension));
  }
  auto index = cache.Get(IndexDir(repo), IndexName(repo, view->name));
  if (!index.ok()) {
    if (index.status().code() == StatusCode::kNotFound) {
      return Status::FailedPrecondition("view '" + query.view +
                                        "' has no vector index yet: materialize it first (" +
                                        index.status().message() + ")");
    }
    return index.status();
  }
  SearchOptions options;
  options.top_k = query.top_k;
  options.exact = query.exact.value_or(view->vector_index ? view->vector_index->exact : false);
  options.ef_search = query.ef_search > 0 ? query.ef_search : params.ef_search;
  FF_ASSIGN_OR_RETURN(std::vector<SearchHit> hits, (*index)->Search(vector, options));

  // Entity columns of the hits, in hit order.
  const std::vector<std::string> join_keys = repo.JoinKeys(*view);
  std::map<std::string, std::vector<Value>> entity_columns;
  for (const auto& k : join_keys) entity_columns[k];
  std::vector<EntityKey> keys;
  for (const auto& hit : hits) {
    FF_ASSIGN_OR_RETURN(EntityKey key, online::DeserializeEntityKey(hit.key));
    for (size_t i = 0; i < key.join_keys.size(); ++i) {
      entity_columns[key.join_keys[i]].push_back(key.values[i]);
    }
    keys.push_back(std::move(key));
  }
  serving::OnlineFeaturesResponse response;
  if (!query.features.empty()) {
    FF_ASSIGN_OR_RETURN(response,
                        serving::GetOnlineFeatures(repo, store, {{view->name, query.features}},
                                                   entity_columns, false, now));
  } else {
    response.num_join_keys = join_keys.size();
    response.num_rows = hits.size();
    for (const auto& k : join_keys) {
      serving::FeatureColumn column;
      column.name = k;
      column.values = entity_columns[k];
      column.statuses.assign(hits.size(), serving::FieldStatus::kPresent);
      column.event_timestamps.assign(hits.size(), 0);
      response.columns.push_back(std::move(column));
    }
  }
  serving::FeatureColumn distance;
  distance.name = "distance";
  for (const auto& hit : hits) {
    distance.values.push_back(Value::Float(hit.distance));
    distance.statuses.push_back(serving::FieldStatus::kPresent);
    distance.event_timestamps.push_back(0);
  }
  response.columns.push_back(std::move(distance));
  response.num_rows = hits.size();
  return response;
}

}  // namespace featureforge::vectors
