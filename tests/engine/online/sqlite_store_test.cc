// SQLite-specific behaviour: persistence, WAL mode, two handles on one file, the table layout,
// and OpenOnlineStore choosing the store from the repo config.
#include "featureforge/online/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "featureforge/online/online_store.h"
#include "featureforge/online/serialization.h"
#include "featureforge/testutil/testutil.h"

namespace featureforge::online {
namespace {

constexpr TimestampMicros kT0 = 1'700'000'000'000'000;

EntityKey Key(int64_t id) { return EntityKey{{"driver_id"}, {Value::Int64(id)}}; }
ViewSpec Stats() { return ViewSpec{"proj", "driver_stats", {"trips"}, {ValueType::kInt64}}; }
WriteRow Row(int64_t id, int64_t trips, TimestampMicros ts) {
  return WriteRow{Key(id), {Value::Int64(trips)}, ts, 0};
}

std::string QueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    out = text ? reinterpret_cast<const char*>(text) : "";
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

TEST(SqliteStoreTest, DataSurvivesReopenAndUsesWal) {
  testutil::TempDir dir;
  const std::string path = dir.Join("online.db");
  {
    auto store = OpenSqliteOnlineStore({path});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Write(Stats(), std::vector{Row(1, 10, kT0)}).ok());
  }
  auto store = OpenSqliteOnlineStore({path});
  ASSERT_TRUE(store.ok());
  auto rows = (*store)->Read(Stats(), std::vector{Key(1)});
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE((*rows)[0].found);
  EXPECT_EQ((*rows)[0].values[0], Value::Int64(10));
  EXPECT_EQ(QueryText(path, "PRAGMA journal_mode"), "wal");
  // One table per project + view, keyed by Feast's serialized entity key.
  EXPECT_EQ(QueryText(path, "SELECT name FROM sqlite_master WHERE type='table'"),
            "ff_proj__driver_stats");
  Result<std::string> key = SerializeEntityKey(Key(1));
  ASSERT_TRUE(key.ok());
  std::string key_hex;
  for (unsigned char c : key.value()) {
    char buf[3];
    std::snprintf(buf, sizeof(buf), "%02X", c);
    key_hex += buf;
  }
  EXPECT_EQ(QueryText(path, "SELECT hex(entity_key) FROM ff_proj__driver_stats"), key_hex);
}

TEST(SqliteStoreTest, TwoHandlesOnOneFileKeepTheMonotonicRule) {
  testutil::TempDir dir;
  const std::string path = dir.Join("online.db");
  auto a = OpenSqliteOnlineStore({path});
  auto b = OpenSqliteOnlineStore({path});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ((*a)->Write(Stats(), std::vector{Row(1, 10, kT0 + 5)})->rows_written, 1);
  EXPECT_EQ((*b)->Write(Stats(), std::vector{Row(1, 1, kT0)})->rows_skipped_stale, 1);
  auto rows = (*b)->Read(Stats(), std::vector{Key(1)});
  EXPECT_EQ((*rows)[0].values[0], Value::Int64(10));
}

TEST(SqliteStoreTest, UnopenablePathIsAnIOErrorNamingIt) {
  testutil::TempDir dir;
  dir.WriteFile("file", "x");
  auto store = OpenSqliteOnlineStore({dir.Join("file/online.db")});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIOError);
  EXPECT_NE(store.status().message().find(dir.Join("file")), std::string::npos);
}

TEST(SqliteStoreTest, CacheFollowsTheChunkSize) {
  EXPECT_EQ(SqliteCachePagesForChunk(1000), 1256);
  EXPECT_EQ(SqliteCachePagesForChunk(1), 257);            // the interior pages at least
  EXPECT_EQ(SqliteCachePagesForChunk(1'000'000), 16384);  // at most 64 MiB
}

// SQLite's own allocation high-water mark over a write of a ~20 MiB table: the page cache is
// what grows with the table, and it stays within the configured number of pages.
TEST(SqliteStoreTest, PageCacheIsBoundedByTheConfiguredPages) {
  const ViewSpec wide{"proj", "wide", {"text"}, {ValueType::kString}};
  auto peak_for = [&](int64_t cache_pages) {
    testutil::TempDir dir;
    SqliteStoreOptions options{dir.Join("online.db")};
    options.cache_pages = cache_pages;
    auto store = OpenSqliteOnlineStore(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    sqlite3_memory_highwater(/*resetFlag=*/1);
    for (int chunk = 0; chunk < 40; ++chunk) {
      std::vector<WriteRow> rows;
      for (int i = 0; i < 1000; ++i) {
        int64_t id = static_cast<int64_t>(i) * 40 + chunk;  // keys spread over the whole table
        rows.push_back(WriteRow{Key(id), {Value::String(std::string(500, 'x'))}, kT0, 0});
      }
      EXPECT_TRUE((*store)->Write(wide, rows).ok());
    }
    return sqlite3_memory_highwater(/*resetFlag=*/0);
  };
  const int64_t small = peak_for(300);    // 1.2 MiB of pages
  const int64_t large = peak_for(16384);  // up to 64 MiB: holds the whole table
  EXPECT_LT(small, 4 << 20) << "small cache peak " << small;
  EXPECT_GT(large, 16 << 20) << "large cache peak " << large;
}

TEST(OpenOnlineStoreTest, SqlitePathIsRelativeToTheRepoRoot) {
  testutil::TempDir dir;
  repo::Repo repo;
  repo.root = dir.path();
  repo.config.project = "proj";
  repo.config.online_store.path = "data/online.db";
  auto store = OpenOnlineStore(repo);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Describe(), "sqlite:" + dir.Join("data/online.db"));
  EXPECT_TRUE(std::filesystem::exists(dir.Join("data/online.db")));
}

TEST(OpenOnlineStoreTest, RedisFromTheConnectionString) {
  testutil::RedisServer redis;
  ASSERT_EQ(redis.Start(), "");
  repo::Repo repo;
  repo.config.online_store.type = "redis";
  repo.config.online_store.connection_string = redis.address() + ",db=1";
  auto store = OpenOnlineStore(repo);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Describe(), "redis:" + redis.address() + "/1");
}

TEST(OpenOnlineStoreTest, UnknownTypeAndBadConfigAreInvalidArgument) {
  repo::Repo repo;
  repo.config.online_store.type = "dynamodb";
  auto unknown = OpenOnlineStore(repo);
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("dynamodb"), std::string::npos);
  repo.config.online_store.type = "redis";
  repo.config.online_store.connection_string = "localhost:0";
  EXPECT_EQ(OpenOnlineStore(repo).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace featureforge::online
