// Embedding feature views end to end: where their vector indexes live, materialization that
// computes the embedding column chunk by chunk and keeps the index in step with the online
// store, and compute-once outputs that include the embedding column.
#pragma once

#include <memory>
#include <string>

#include "featureforge/common/status.h"
#include "featureforge/embeddings/embedder.h"
#include "featureforge/materialize/materializer.h"
#include "featureforge/offline/offline_store.h"
#include "featureforge/online/online_store.h"
#include "featureforge/repo/model.h"
#include "featureforge/vectors/vector_index.h"

namespace featureforge::vectors {

// Folder of the repo's vector indexes: online_store.vector_index_path when set (relative to
// the repo root), else "<sqlite path>.vectors" for SQLite and "<root>/data/vector_index" for
// Redis.
std::string IndexDir(const repo::Repo& repo);
// File stem of a view's index inside IndexDir: "<project>__<view>".
std::string IndexName(const repo::Repo& repo, const std::string& view);
// The index parameters a view's definition asks for.
IndexParams ParamsFor(const repo::FeatureView& view);

// Materializes an embedding view (view.embedding set) like materialize::MaterializeView, and:
//  - computes embedding.output from embedding.source_column for the latest row per key, one
//    write chunk at a time (memory bounded by the chunk size), unless the rows already carry it
//    (a compute-once `path` written by ComputeEmbeddingPath);
//  - for batch views with `query` + `path`, (re)writes `path` with ComputeEmbeddingPath first;
//  - after each chunk the online store committed, upserts the stored vectors of its keys into
//    the view's index (values the store kept because they were newer are read back, so the
//    index always holds what the store holds); rows whose text is NULL store a NULL embedding
//    and leave the index;
//  - saves the index once at the end (also after a failed chunk: what was written is indexed),
//    holding IndexWriteLock the whole time so concurrent runs never lose each other's updates.
// `embedder` overrides the view's own (tests); null = MakeEmbedder(view.embedding).
Result<materialize::ViewMaterialization> MaterializeEmbeddingView(
    offline::OfflineStore& offline, const repo::Repo& repo, const repo::FeatureView& view,
    const materialize::Window& window, const materialize::Partition& partition,
    online::OnlineStore& store, const materialize::MaterializeOptions& options,
    embeddings::Embedder* embedder = nullptr);

// Compute once for embedding views: runs the view's `query` and writes its rows plus the
// embedding.output column (LIST of FLOAT, NULL where the text is NULL) to `path` as Parquet,
// atomically. Texts are embedded `chunk_rows` at a time; the query result is held in a DuckDB
// temporary table (which spills to the offline store's scratch folder), not in memory.
Status ComputeEmbeddingPath(offline::OfflineStore& offline, const repo::Repo& repo,
                            const repo::FeatureView& view, embeddings::Embedder& embedder,
                            int64_t chunk_rows = 2048);

}  // namespace featureforge::vectors
