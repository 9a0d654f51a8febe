#include "featureforge/offline/offline_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "featureforge/objectstore/memory_store.h"
#include "offline_test_support.h"

namespace featureforge::offline {
namespace {

namespace fs = std::filesystem;
using testing::MakeField;
using testing::MakeRepo;
using testing::MakeSource;
using testing::MakeView;
using testing::ReadRows;
using testing::ScratchDir;
using testing::ValueOrDie;
using testing::WriteBytes;
using testing::WriteFile;

constexpr const char* kStatsSql =
    "SELECT CAST(i % 3 AS BIGINT) AS driver_id, "
    "TIMESTAMP '2024-01-01' + to_hours(i) AS event_timestamp, "
    "CAST(i AS DOUBLE) / 2 AS conv_rate FROM range(6) t(i)";

class OfflineStoreTest : public ::testing::Test {
 protected:
  repo::Repo Repo() { return MakeRepo(dir_.path()); }
  ScratchDir dir_;
};

TEST_F(OfflineStoreTest, RegistersParquetSourceAsView) {
  WriteFile(dir_ / "data/stats.parquet", kStatsSql);
  repo::Repo repo = Repo();
  repo.sources.push_back(MakeSource("stats", "data/stats.parquet"));
  auto store = ValueOrDie(OfflineStore::Open(repo));
  auto rows =
      ReadRows(store->connection(), "SELECT count(*), CAST(sum(conv_rate) AS DOUBLE) FROM stats",
               {ValueType::kInt64, ValueType::kDouble});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], Value::Int64(6));
  EXPECT_EQ(rows[0][1], Value::Double(7.5));
  EXPECT_EQ(ValueOrDie(store->ViewRelationSql(MakeView("v", "stats", {}))), "\"stats\"");
}

TEST_F(OfflineStoreTest, AppliesFieldMappingAndCastsTimestampColumns) {
  // A CSV whose timestamps are text with an offset, and whose columns need renaming.
  WriteFile(dir_ / "data/raw.csv",
            "SELECT 7 AS id, '2024-01-01T02:00:00+02:00' AS ts, '2024-01-02 00:00:00' AS made, "
            "1.5 AS rate");
  repo::Repo repo = Repo();
  repo::DataSource source = MakeSource("raw", "data/raw.csv", "made");
  source.timestamp_field = "ts";
  source.field_mapping = {{"id", "driver_id"}, {"ts", "event_time"}};
  repo.sources.push_back(source);
  auto store = ValueOrDie(OfflineStore::Open(repo));
  auto rows = ReadRows(store->connection(), "SELECT driver_id, event_time, made FROM raw",
                       {ValueType::kInt64, ValueType::kUnixTimestamp, ValueType::kUnixTimestamp});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], Value::Int64(7));
  // 02:00 at +02:00 is midnight UTC.
  EXPECT_EQ(rows[0][1], Value::UnixTimestamp(ValueOrDie(ParseTimestamp("2024-01-01T00:00:00Z"))));
  EXPECT_EQ(rows[0][2], Value::UnixTimestamp(ValueOrDie(ParseTimestamp("2024-01-02T00:00:00Z"))));

  // The view's timestamp column is the mapped name.
  repo::FeatureView view = MakeView("v", "raw", {MakeField("rate", ValueType::kFloat)});
  auto columns = ValueOrDie(store->ResolveColumns(view));
  EXPECT_EQ(columns.timestamp_column, "event_time");
  EXPECT_EQ(columns.created_timestamp_column, "made");
  EXPECT_EQ(columns.join_keys, std::vector<std::string>{"driver_id"});
}

TEST_F(OfflineStoreTest, DirectoryAndGlobSourcesReadEveryFile) {
  WriteFile(dir_ / "data/parts/a.parquet", kStatsSql);
  WriteFile(dir_ / "data/parts/nested/b.parquet", kStatsSql);
  WriteBytes(dir_ / "data/parts/README.txt", "not data");
  repo::Repo repo = Repo();
  repo.sources.push_back(MakeSource("dir", "data/parts"));
  repo.sources.push_back(MakeSource("glob", "data/parts/*.parquet"));
  auto store = ValueOrDie(OfflineStore::Open(repo));
  auto count = [&](const std::string& table) {
    return ReadRows(store->connection(), "SELECT count(*) FROM " + QuoteIdentifier(table),
                    {ValueType::kInt64})
        .at(0)
        .at(0);
  };
  EXPECT_EQ(count("dir"), Value::Int64(12));
  EXPECT_EQ(count("glob"), Value::Int64(6));
}

TEST_F(OfflineStoreTest, MissingFileIsAnIOErrorNamingSourceAndPathWhenUsed) {
  repo::Repo repo = Repo();
  repo.sources.push_back(MakeSource("gone", "data/gone.parquet"));
  auto store = ValueOrDie(OfflineStore::Open(repo));  // Open itself succeeds
  Status status = store->EnsureSource("gone");
  EXPECT_EQ(status.code(), StatusCode::kIOError);
  EXPECT_NE(status.message().find("'gone'"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find(dir_ / "data/gone.parquet"), std::string::npos);
  auto relation = store->ViewRelationSql(MakeView("v", "gone", {}));
  EXPECT_EQ(relation.status().code(), StatusCode::kIOError);
  EXPECT_NE(relation.status().message().find("view 'v'"), std::string::npos);

  // The file appears later: the next use registers it.
  WriteFile(dir_ / "data/gone.parquet", kStatsSql);
  FF_ASSERT_OK(store->EnsureSource("gone"));
  FF_ASSERT_OK(store->ValidateSource("gone"));
}

TEST_F(OfflineStoreTest, CorruptParquetIsAnIOErrorNamingSourceAndPath) {
  WriteBytes(dir_ / "data/bad.parquet", "PAR1 this is not a parquet file at all");
  repo::Repo repo = Repo();
  repo.sources.push_back(MakeSource("bad", "data/bad.parquet"));
  auto store = ValueOrDie(OfflineStore::Open(repo));
  Status status = store->ValidateSource("bad");
  EXPECT_EQ(status.code(), StatusCode::kIOError);
  EXPECT_NE(status.message().find("source 'bad'"), std::string::npos) << status.ToString();
  EXPECT_NE(status.message().find(dir_ / "data/bad.parquet"), std::string::npos);
}

TEST_F(OfflineStoreTest, UnknownMappingOrTimestampColumnIsNamed) {
  WriteFile(dir_ / "data/stats.parquet", kStatsSql);
  repo::Repo repo = Repo();
  repo::DataSource source = MakeSource("stats", "data/stats.parquet");
  source.timestamp_field = "when";
  repo.sources.push_back(source);
  auto store = ValueOrDie(OfflineStore::Open(repo));
  Status status = store->EnsureSource("stats");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("timestamp_field 'when' not found"), std::string::npos)
      << status.ToString();
}

TEST_F(OfflineStoreTest, TypedViewSqlCastsAndNamesMissingColumns) {
  WriteFile(dir_ / "data/stats.parquet", kStatsSql);
  repo::Repo repo = Repo();
  repo.sources.push_back(MakeSource("stats", "data/stats.parquet"));
  auto store = ValueOrDie(OfflineStore::Open(repo));
  repo::FeatureView view = MakeView("v", "stats", {MakeField("conv_rate", ValueType::kFloat)});
  std::string sql = ValueOrDie(store->TypedViewSql(view));
  auto rows = ReadRows(
      store->connection(), sql + " ORDER BY __ff_event_ts LIMIT 1",
      {ValueType::kInt64, ValueType::kFloat, ValueType::kUnixTimestamp, ValueType::kUnixTimestamp});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][1], Value::Float(0));
  EXPECT_TRUE(rows[0][3].is_null());  // no created column

  repo::FeatureView missing = MakeView("v", "stats", {MakeField("acc_rate", ValueType::kFloat)});
  auto bad = store->TypedViewSql(missing);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("feature column 'acc_rate' not found"), std::string::npos)
      << bad.status().ToString();
  EXPECT_EQ(store->TypedViewSql(view, {"nope"}).status().code(), StatusCode::kNotFound);
}

TEST_F(OfflineStoreTest, BatchViewReadsQueryUntilComputeOnceWritesPath) {
  WriteFile(dir_ / "data/stats.parquet", kStatsSql);
  repo::Repo repo = Repo();
  repo.sources.push_back(MakeSource("stats", "data/stats.parquet"));
  repo::FeatureView view;
  view.name = "doubled";
  view.is_batch = true;
  view.entities = {"driver"};
  view.query = "SELECT driver_id, event_timestamp, conv_rate * 2 AS doubled FROM stats;\n";
  view.query_sources = {"stats"};
  view.path = "data/out/doubled.parquet";
  view.features = {MakeField("doubled", ValueType::kDouble)};
  repo.feature_views.push_back(view);
  auto store = ValueOrDie(OfflineStore::Open(repo));

  std::string relation = ValueOrDie(store->ViewRelationSql(view));
  EXPECT_EQ(relation.rfind("(SELECT", 0), 0u) << relation;
  FF_ASSERT_OK(store->ComputeOnce(view));
  const std::string path = dir_ / "data/out/doubled.parquet";
  ASSERT_TRUE(fs::exists(path));
  for (const auto& entry : fs::directory_iterator(dir_ / "data/out")) {
    EXPECT_EQ(entry.path().string(), path) << "temporary file left behind";
  }
  relation = ValueOrDie(store->ViewRelationSql(view));
  EXPECT_NE(relation.find("read_parquet"), std::string::npos) << relation;

  // Reads now come from `path`, not from the source: changing the source changes nothing.
  WriteFile(dir_ / "data/stats.parquet", "SELECT * REPLACE (conv_rate + 100 AS conv_rate) FROM (" +
                                             std::string(kStatsSql) + ")");
  auto sum = ReadRows(store->connection(), "SELECT CAST(sum(doubled) AS DOUBLE) FROM " + relation,
                      {ValueType::kDouble});
  EXPECT_EQ(sum[0][0], Value::Double(15));
}

TEST_F(OfflineStoreTest, PartitionsRunningAtOnceComputeTheOutputOnce) {
  WriteFile(dir_ / "data/stats.parquet", kStatsSql);
  repo::Repo repo = Repo();
  repo.sources.push_back(MakeSource("stats", "data/stats.parquet"));
  repo::FeatureView view;
  view.name = "doubled";
  view.is_batch = true;
  view.entities = {"driver"};
  view.query = "SELECT driver_id, event_timestamp, conv_rate * 2 AS doubled FROM stats";
  view.query_sources = {"stats"};
  view.path = "data/out/doubled.parquet";
  view.features = {MakeField("doubled", ValueType::kDouble)};
  repo.feature_views.push_back(view);

  // One store per "partition", as in separate executor processes; the lock is per open file.
  constexpr int kPartitions = 4;
  std::vector<std::unique_ptr<OfflineStore>> stores;
  for (int i = 0; i < kPartitions; ++i) stores.push_back(ValueOrDie(OfflineStore::Open(repo)));
  std::vector<Result<bool>> computed(kPartitions, Result<bool>(false));
  std::vector<std::thread> threads;
  for (int i = 0; i < kPartitions; ++i) {
    threads.emplace_back([&, i] { computed[i] = stores[i]->EnsureComputedOnce(view, false); });
  }
  for (auto& thread : threads) thread.join();
  int writers = 0;
  for (const auto& result : computed) {
    FF_ASSERT_OK(result.status());
    writers += *result ? 1 : 0;
  }
  EXPECT_EQ(writers, 1);
  EXPECT_TRUE(fs::exists(dir_ / "data/out/doubled.parquet"));

  // `recompute` writes again even though the file exists.
  EXPECT_TRUE(ValueOrDie(stores[0]->EnsureComputedOnce(view, true)));
  EXPECT_FALSE(ValueOrDie(stores[1]->EnsureComputedOnce(view, false)));
}

TEST_F(OfflineStoreTest, FailedComputeOnceKeepsThePreviousOutput) {
  WriteFile(dir_ / "data/stats.parquet", kStatsSql);
  repo::Repo repo = Repo();
  repo.sources.push_back(MakeSource("stats", "data/stats.parquet"));
  repo::FeatureView view;
  view.name = "broken";
  view.is_batch = true;
  view.entities = {"driver"};
  view.query = "SELECT no_such_column FROM stats";
  view.path = "data/broken.parquet";
  WriteFile(dir_ / "data/broken.parquet", "SELECT 1 AS previous");
  auto store = ValueOrDie(OfflineStore::Open(repo));
  Status status = store->ComputeOnce(view);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("view 'broken'"), std::string::npos) << status.ToString();
  auto previous =
      ReadRows(store->connection(),
               "SELECT previous FROM read_parquet('" + (dir_ / "data/broken.parquet") + "')",
               {ValueType::kInt32});
  ASSERT_EQ(previous.size(), 1u);
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir_ / "data")) {
    if (entry.path().filename().string()[0] != '.') files++;  // .scratch is the store's
  }
  EXPECT_EQ(files, 2u);  // stats.parquet and broken.parquet, no temporary file
}

TEST_F(OfflineStoreTest, QueryReadingABrokenSourceNamesIt) {
  repo::Repo repo = Repo();
  repo.sources.push_back(MakeSource("gone", "data/gone.parquet"));
  repo::FeatureView view;
  view.name = "agg";
  view.is_batch = true;
  view.entities = {"driver"};
  view.query = "SELECT * FROM gone";  // query_sources left empty on purpose
  auto store = ValueOrDie(OfflineStore::Open(repo));
  auto relation = store->ViewRelationSql(view);
  EXPECT_EQ(relation.status().code(), StatusCode::kIOError) << relation.status().ToString();
  EXPECT_NE(relation.status().message().find("source 'gone'"), std::string::npos);
}

// Object-store URIs (mem:// stands in for s3://: same ObjectStore interface) are staged to local
// files for DuckDB, and compute-once outputs are uploaded.
TEST_F(OfflineStoreTest, ObjectStoreSourcesAndOutputs) {
  auto objects = SharedMemoryObjectStore();
  auto upload = [&](const std::string& uri, const std::string& sql) {
    const std::string local = dir_ / "upload.parquet";
    WriteFile(local, sql);
    FF_ASSERT_OK(objects->PutFile(uri, local));
  };
  upload("mem://bucket/stats/part-0.parquet", kStatsSql);
  upload("mem://bucket/stats/part-1.parquet", kStatsSql);
  FF_ASSERT_OK(objects->Put("mem://bucket/stats/_SUCCESS", ""));
  repo::Repo repo = Repo();
  repo.sources.push_back(MakeSource("stats", "mem://bucket/stats/"));
  repo.sources.push_back(MakeSource("absent", "mem://bucket/absent.parquet"));
  repo::FeatureView view;
  view.name = "doubled";
  view.is_batch = true;
  view.entities = {"driver"};
  view.query = "SELECT driver_id, event_timestamp, conv_rate * 2 AS doubled FROM stats";
  view.query_sources = {"stats"};
  view.path = "mem://bucket/out/doubled.parquet";
  view.features = {MakeField("doubled", ValueType::kDouble)};
  auto store = ValueOrDie(OfflineStore::Open(repo));
  FF_ASSERT_OK(store->EnsureSource("stats"));  // object-store sources are fetched on first use
  auto rows = ReadRows(store->connection(), "SELECT count(*) FROM stats", {ValueType::kInt64});
  EXPECT_EQ(rows.at(0).at(0), Value::Int64(12));
  Status absent = store->EnsureSource("absent");
  EXPECT_EQ(absent.code(), StatusCode::kIOError);
  EXPECT_NE(absent.message().find("mem://bucket/absent.parquet"), std::string::npos)
      << absent.ToString();

  EXPECT_FALSE(ValueOrDie(store->PathExists(view.path)));
  FF_ASSERT_OK(store->ComputeOnce(view));
  EXPECT_TRUE(ValueOrDie(store->PathExists(view.path)));
  std::string relation = ValueOrDie(store->ViewRelationSql(view));
  auto sum = ReadRows(store->connection(), "SELECT CAST(sum(doubled) AS DOUBLE) FROM " + relation,
                      {ValueType::kDouble});
  EXPECT_EQ(sum.at(0).at(0), Value::Double(30));
  const std::string scratch = store->scratch_dir();
  store.reset();
  size_t staged = 0;
  for ([[maybe_unused]] const auto& entry : fs::recursive_directory_iterator(scratch)) {
    if (entry.is_regular_file()) staged++;
  }
  EXPECT_EQ(staged, 0u) << "staged or temporary files left in " << scratch;
  FF_ASSERT_OK(objects->Delete("mem://bucket/stats/part-0.parquet"));
  FF_ASSERT_OK(objects->Delete("mem://bucket/stats/part-1.parquet"));
  FF_ASSERT_OK(objects->Delete("mem://bucket/stats/_SUCCESS"));
  FF_ASSERT_OK(objects->Delete(view.path));
}

TEST(OfflineFormatTest, ReadFunctionsAndFormats) {
  EXPECT_EQ(FormatFromExtension("x/entities.CSV"), repo::FileFormat::kCsv);
  EXPECT_EQ(FormatFromExtension("x/entities.parquet"), repo::FileFormat::kParquet);
  EXPECT_EQ(ReadFunctionSql("/a/b.parquet", repo::FileFormat::kParquet),
            "read_parquet('/a/b.parquet')");
  EXPECT_EQ(ReadFunctionSql("/a/*.csv", repo::FileFormat::kCsv),
            "read_csv('/a/*.csv', union_by_name = true)");
}

}  // namespace
}  // namespace featureforge::offline
