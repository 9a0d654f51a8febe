// The Redis online store, in Feast's layout ("Online Store Format Spec"):
//   key    = Feast entity key serialization v3 bytes + project name bytes
//   fields = mmh3_32("view:feature") as 4 little-endian bytes -> feast.types.Value bytes,
//            "_ts:<view>" -> google.protobuf.Timestamp bytes of the row's event time.
// featureforge adds one field Feast readers ignore: "_ff_order:<view>", the row's (event ts,
// created ts) as 32 hex digits that sort like the numbers, so equal event timestamps can be
// ordered by created timestamp and the write script compares plain strings.
//
// Writes, per Write call:
//  1. New keys: one pipelined `RESTORE key ttl payload` per row (no REPLACE), the payload being
//     the DUMP form of the whole hash (listpack, Redis >= 7.0). The server creates the key in
//     one step — the cost of a SET of the same bytes — or answers BUSYKEY when the key exists,
//     so this path can never replace anything, whoever else is writing.
//  2. Rows whose key existed (another view of the entity, an earlier run, a concurrent writer):
//     pipelined EVALSHA calls of up to 128 rows to a Lua script that, per key, compares the
//     stored order (or, for rows Feast wrote, the decoded `_ts:<view>`) with the new row and
//     HSETs (+ EXPIRE with a key TTL) only a newer row — atomic per key.
// Together: an older row never replaces a newer one, against concurrent writers too (each key is
// either created atomically or compared atomically). When most keys of a call existed, the next
// calls go straight to the script; a server that refuses RESTORE (older than 7.0, command not
// allowed) turns step 1 off for the store's lifetime.
// Reads: one pipeline of HMGET per Read call (one round trip).
// A server that goes away mid-call gives Unavailable naming the server; nothing is reported as
// written. The connection is re-established on the next call.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "featureforge/online/online_store.h"

namespace featureforge::online {

struct RedisStoreOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;         // empty = no AUTH
  int64_t key_ttl_seconds = 0;  // 0 = keys never expire
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds command_timeout{30000};
};

// Parses Feast's connection string "host:port[,db=N][,password=...][,ssl=false]".
Result<RedisStoreOptions> ParseRedisConnectionString(const std::string& connection_string);

// Connects (and loads the write script) eagerly, so a wrong address fails here.
Result<std::unique_ptr<OnlineStore>> OpenRedisOnlineStore(const RedisStoreOptions& options);

}  // namespace featureforge::online
