// The embedded default online store: one SQLite file (WAL mode), one table per project + view.
//
// Layout (row per entity, chosen over Feast's row per feature because a materialized row is then
// one B-tree insert instead of one per feature, and a read is one lookup per key):
//   CREATE TABLE "ff_<project>__<view>" (
//     entity_key BLOB PRIMARY KEY,   -- Feast entity key serialization v3
//     event_ts   INTEGER NOT NULL,   -- micros since the epoch, UTC
//     created_ts INTEGER NOT NULL,   -- micros; 0 when the source has no created timestamp
//     payload    BLOB NOT NULL)      -- per feature: u32 LE mmh3("view:feature"), varint length,
//                                    -- feast.types.Value protobuf bytes
// Monotonic writes are one UPSERT whose WHERE clause keeps the stored row unless the new row has
// a later event ts, or the same event ts and a later created ts. Equal (event ts, created ts)
// keeps the stored row, like Feast's Redis store, which skips equal timestamps.
// Each Write call is one transaction (the caller's chunk); reads go by batches of keys.
#pragma once

#include <memory>
#include <string>

#include "featureforge/online/online_store.h"

namespace featureforge::online {

struct SqliteStoreOptions {
  std::string path;             // the database file; parent folders are created
  int busy_timeout_ms = 30000;  // other processes (partitions) may hold the write lock
  int64_t cache_pages = 16384;  // SQLite's page cache, in (4 KiB) pages: at most 64 MiB
};

// The page cache for writes of `chunk_size` rows: a chunk's UPSERTs touch at most one leaf page
// per row plus the B-tree's interior pages, so that many pages keep a chunk's write from
// re-reading pages, and memory follows the chunk size (at most 64 MiB).
int64_t SqliteCachePagesForChunk(int64_t chunk_size);

Result<std::unique_ptr<OnlineStore>> OpenSqliteOnlineStore(const SqliteStoreOptions& options);

}  // namespace featureforge::online
