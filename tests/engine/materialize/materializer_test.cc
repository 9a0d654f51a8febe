#include "featureforge/materialize/materializer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <set>

#include "offline_test_support.h"

namespace featureforge::materialize {
namespace {

namespace fs = std::filesystem;
using testing::InMemoryOnlineStore;
using testing::MakeField;
using testing::MakeRepo;
using testing::MakeSource;
using testing::MakeView;
using testing::ScratchDir;
using testing::ValueOrDie;
using testing::WriteFile;

TimestampMicros Ts(const std::string& text) { return ValueOrDie(ParseTimestamp(text)); }

class MaterializerTest : public ::testing::Test {
 protected:
  // One source "stats" (driver_id, event_timestamp, created, rate DOUBLE) from `rows_sql`.
  void SetUpStats(const std::string& rows_sql, const std::string& created = "created") {
    WriteFile(dir_ / "data/stats.parquet", rows_sql);
    repo_ = MakeRepo(dir_.path());
    repo_.sources.push_back(MakeSource("stats", "data/stats.parquet", created));
    repo_.feature_views.push_back(
        MakeView("stats_view", "stats", {MakeField("rate", ValueType::kDouble)}));
    offline_ = ValueOrDie(offline::OfflineStore::Open(repo_));
  }
  const repo::FeatureView& View(const std::string& name = "stats_view") {
    return *repo_.FindFeatureView(name);
  }
  Result<ViewMaterialization> Run(const Window& window, const Partition& partition = {},
                                  MaterializeOptions options = {}) {
    return MaterializeView(*offline_, repo_, View(), window, partition, store_, options);
  }
  const std::map<std::string, InMemoryOnlineStore::Stored>& Stored(
      const std::string& view = "stats_view") {
    return store_.Table("test_project", view);
  }

  ScratchDir dir_;
  repo::Repo repo_;
  std::unique_ptr<offline::OfflineStore> offline_;
  InMemoryOnlineStore store_;
};

TEST_F(MaterializerTest, WindowIncludesBothEdgesAndNothingOutside) {
  const TimestampMicros start = Ts("2024-01-01T00:00:00Z");
  const TimestampMicros end = Ts("2024-01-02T00:00:00Z");
  // One driver per candidate timestamp, so each row's fate is visible on its own.
  SetUpStats(
      "SELECT CAST(d AS BIGINT) AS driver_id, make_timestamp(CAST(t AS BIGINT)) AS "
      "event_timestamp, NULL::TIMESTAMP AS created, CAST(d AS DOUBLE) AS rate FROM (VALUES "
      "(1, " +
      std::to_string(start - 1) + "), (2, " + std::to_string(start) + "), (3, " +
      std::to_string(start + 1) + "), (4, " + std::to_string(end - 1) + "), (5, " +
      std::to_string(end) + "), (6, " + std::to_string(end + 1) + ")) v(d, t)");
  ViewMaterialization result = ValueOrDie(Run({start, end}));
  EXPECT_EQ(result.rows_read, 4);
  EXPECT_EQ(result.entities_written, 4);
  EXPECT_FALSE(result.empty);
  std::set<std::string> keys;
  for (const auto& [key, stored] : Stored()) keys.insert(key);
  EXPECT_EQ(keys,
            (std::set<std::string>{"driver_id=2", "driver_id=3", "driver_id=4", "driver_id=5"}));
  EXPECT_EQ(Stored().at("driver_id=2").event_ts, start);
  EXPECT_EQ(Stored().at("driver_id=5").event_ts, end);
  EXPECT_EQ(Stored().at("driver_id=5").values, std::vector<Value>{Value::Double(5)});
}

TEST_F(MaterializerTest, LatestRowPerKeyBreaksEventTsTiesByCreatedTs) {
  // driver 1: same event ts, created decides (NULL created ranks last).
  // driver 2: a later event ts wins even with an older created ts.
  SetUpStats(
      "SELECT CAST(driver_id AS BIGINT) AS driver_id, CAST(event_timestamp AS TIMESTAMP) AS "
      "event_timestamp, CAST(created AS TIMESTAMP) AS created, rate FROM (VALUES "
      "(1, '2024-01-01 10:00', '2024-01-01 11:00', 1.0), "
      "(1, '2024-01-01 10:00', '2024-01-01 12:00', 2.0), "
      "(1, '2024-01-01 10:00', NULL, 3.0), "
      "(1, '2024-01-01 09:00', '2024-01-05 00:00', 4.0), "
      "(2, '2024-01-01 10:00', '2024-01-03 00:00', 5.0), "
      "(2, '2024-01-01 11:00', '2024-01-02 00:00', 6.0)) v(driver_id, event_timestamp, created, "
      "rate)");
  ViewMaterialization result = ValueOrDie(Run({}));
  EXPECT_EQ(result.rows_read, 6);
  EXPECT_EQ(result.entities, 2);
  EXPECT_EQ(Stored().at("driver_id=1").values, std::vector<Value>{Value::Double(2)});
  EXPECT_EQ(Stored().at("driver_id=1").created_ts, Ts("2024-01-01T12:00:00Z"));
  EXPECT_EQ(Stored().at("driver_id=2").values, std::vector<Value>{Value::Double(6)});
  EXPECT_EQ(Stored().at("driver_id=2").event_ts, Ts("2024-01-01T11:00:00Z"));
}

TEST_F(MaterializerTest, PartitionsCoverEveryKeyExactlyOnce) {
  SetUpStats(
      "SELECT CAST(i % 997 AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' + to_seconds(i) AS "
      "event_timestamp, NULL::TIMESTAMP AS created, CAST(i AS DOUBLE) AS rate FROM range(5000) "
      "t(i)");
  constexpr int kPartitions = 5;
  std::map<std::string, int> owners;
  int64_t rows_read = 0;
  for (int index = 0; index < kPartitions; ++index) {
    InMemoryOnlineStore partition_store;
    ViewMaterialization result = ValueOrDie(
        MaterializeView(*offline_, repo_, View(), {}, {index, kPartitions}, partition_store, {}));
    EXPECT_EQ(result.partition, (Partition{index, kPartitions}));
    EXPECT_GT(result.entities_written, 0) << "partition " << index << " is empty";
    rows_read += result.rows_read;
    for (const auto& [key, stored] : partition_store.Table("test_project", "stats_view")) {
      owners[key]++;
    }
  }
  EXPECT_EQ(rows_read, 5000);
  EXPECT_EQ(owners.size(), 997u);
  for (const auto& [key, count] : owners) EXPECT_EQ(count, 1) << key;

  // The same split holds when the file stores the key as INT32: keys are hashed as declared.
  WriteFile(dir_ / "data/stats.parquet",
            "SELECT CAST(i % 997 AS INTEGER) AS driver_id, TIMESTAMP '2024-01-01' + to_seconds(i) "
            "AS event_timestamp, NULL::TIMESTAMP AS created, CAST(i AS DOUBLE) AS rate FROM "
            "range(5000) t(i)");
  offline_ = ValueOrDie(offline::OfflineStore::Open(repo_));
  InMemoryOnlineStore int32_store;
  ValueOrDie(MaterializeView(*offline_, repo_, View(), {}, {2, kPartitions}, int32_store, {}));
  InMemoryOnlineStore int64_reference;
  WriteFile(dir_ / "data/stats.parquet",
            "SELECT CAST(i % 997 AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' + to_seconds(i) "
            "AS event_timestamp, NULL::TIMESTAMP AS created, CAST(i AS DOUBLE) AS rate FROM "
            "range(5000) t(i)");
  offline_ = ValueOrDie(offline::OfflineStore::Open(repo_));
  ValueOrDie(MaterializeView(*offline_, repo_, View(), {}, {2, kPartitions}, int64_reference, {}));
  std::set<std::string> a, b;
  for (const auto& [key, stored] : int32_store.Table("test_project", "stats_view")) a.insert(key);
  for (const auto& [key, stored] : int64_reference.Table("test_project", "stats_view")) {
    b.insert(key);
  }
  EXPECT_EQ(a, b);
}

TEST_F(MaterializerTest, ManyPassesWriteTheSameAsOnePass) {
  // Several rows per key with distinct timestamps: the latest must win in every bucket.
  SetUpStats(
      "SELECT CAST(i % 997 AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' + to_seconds((i * "
      "7919) % 5000) AS event_timestamp, NULL::TIMESTAMP AS created, CAST(i AS DOUBLE) AS rate "
      "FROM range(5000) t(i)");
  ViewMaterialization single = ValueOrDie(Run({}));
  EXPECT_EQ(single.passes, 1);
  for (const Partition& partition : {Partition{0, 1}, Partition{1, 3}}) {
    InMemoryOnlineStore one_pass, many_passes;
    ViewMaterialization a =
        ValueOrDie(MaterializeView(*offline_, repo_, View(), {}, partition, one_pass, {}));
    MaterializeOptions small;
    small.rows_per_pass = 300;
    std::vector<int64_t> progress;
    small.progress = [&](int64_t done, int64_t) { progress.push_back(done); };
    ViewMaterialization b =
        ValueOrDie(MaterializeView(*offline_, repo_, View(), {}, partition, many_passes, small));
    EXPECT_GT(b.passes, 1);
    EXPECT_EQ(b.passes, (b.rows_read + 299) / 300);
    EXPECT_EQ(a.rows_read, b.rows_read);
    EXPECT_EQ(a.entities, b.entities);
    EXPECT_EQ(b.entities, b.entities_written);
    ASSERT_FALSE(progress.empty());
    EXPECT_EQ(progress.back(), b.rows_read);
    const auto& expected = one_pass.Table("test_project", "stats_view");
    const auto& actual = many_passes.Table("test_project", "stats_view");
    ASSERT_EQ(expected.size(), actual.size());
    for (const auto& [key, stored] : expected) {
      ASSERT_TRUE(actual.count(key)) << key;
      EXPECT_EQ(actual.at(key).event_ts, stored.event_ts) << key;
      EXPECT_EQ(actual.at(key).values, stored.values) << key;
    }
  }
}

TEST_F(MaterializerTest, WritesInChunksOfAtMostChunkSize) {
  SetUpStats(
      "SELECT CAST(i AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' + to_seconds(i) AS "
      "event_timestamp, NULL::TIMESTAMP AS created, CAST(i AS DOUBLE) AS rate FROM range(5000) "
      "t(i)");
  std::vector<std::pair<int64_t, int64_t>> progress;
  MaterializeOptions options;
  options.chunk_size = 7;
  options.progress = [&](int64_t done, int64_t total) { progress.emplace_back(done, total); };
  ViewMaterialization result = ValueOrDie(Run({}, {}, options));
  EXPECT_EQ(result.entities_written, 5000);
  int64_t total = 0;
  for (int64_t size : store_.batch_sizes()) {
    EXPECT_LE(size, 7);
    EXPECT_GT(size, 0);
    total += size;
  }
  EXPECT_EQ(total, 5000);
  EXPECT_EQ(store_.batch_sizes().size(), 715u);  // ceil(5000 / 7)
  EXPECT_EQ(result.chunks_written, 715);
  ASSERT_EQ(progress.size(), 715u);
  EXPECT_EQ(progress.back(), (std::pair<int64_t, int64_t>{5000, 5000}));
}

TEST_F(MaterializerTest, EmptyWindowIsReportedAndWritesNothing) {
  SetUpStats(
      "SELECT CAST(1 AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' AS event_timestamp, "
      "NULL::TIMESTAMP AS created, 1.0 AS rate");
  ViewMaterialization result =
      ValueOrDie(Run({Ts("2025-01-01T00:00:00Z"), Ts("2025-02-01T00:00:00Z")}));
  EXPECT_TRUE(result.empty);
  EXPECT_EQ(result.rows_read, 0);
  EXPECT_EQ(result.entities_written, 0);
  EXPECT_NE(result.message.find("no rows of view 'stats_view'"), std::string::npos)
      << result.message;
  EXPECT_TRUE(store_.batch_sizes().empty());
}

TEST_F(MaterializerTest, RejectsOfflineOnlyViewsAndBadArguments) {
  SetUpStats(
      "SELECT CAST(1 AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' AS event_timestamp, "
      "NULL::TIMESTAMP AS created, 1.0 AS rate");
  repo_.feature_views[0].online = false;
  auto offline_only = Run({});
  EXPECT_EQ(offline_only.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(offline_only.status().message().rfind("view stats_view is offline-only", 0), 0u)
      << offline_only.status().ToString();
  repo_.feature_views[0].online = true;
  EXPECT_EQ(Run({10, 9}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Run({}, {3, 3}).status().code(), StatusCode::kInvalidArgument);
  MaterializeOptions zero_chunk;
  zero_chunk.chunk_size = 0;
  EXPECT_EQ(Run({}, {}, zero_chunk).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(MaterializerTest, StoreFailureIsReturnedWithContext) {
  SetUpStats(
      "SELECT CAST(i AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' AS event_timestamp, "
      "NULL::TIMESTAMP AS created, 1.0 AS rate FROM range(100) t(i)");
  store_.FailAfterWrites(2);
  MaterializeOptions options;
  options.chunk_size = 10;
  auto result = Run({}, {}, options);
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find("writing chunk 3"), std::string::npos)
      << result.status().ToString();
}

TEST_F(MaterializerTest, MissingSourceIsAnIOError) {
  repo_ = MakeRepo(dir_.path());
  repo_.sources.push_back(MakeSource("stats", "data/missing.parquet"));
  repo_.feature_views.push_back(
      MakeView("stats_view", "stats", {MakeField("rate", ValueType::kDouble)}));
  offline_ = ValueOrDie(offline::OfflineStore::Open(repo_));
  auto result = Run({});
  EXPECT_EQ(result.status().code(), StatusCode::kIOError);
  EXPECT_NE(result.status().message().find("data/missing.parquet"), std::string::npos);
}

TEST_F(MaterializerTest, CorruptFileIsAnIOErrorNamingIt) {
  // Registration reads the first file's footer; the corrupt second file is only met while
  // scanning: both must come back as IOErrors naming the file.
  WriteFile(dir_ / "data/stats/a.parquet",
            "SELECT CAST(1 AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' AS event_timestamp, "
            "1.0 AS rate");
  testing::WriteBytes(dir_ / "data/stats/b.parquet", "PAR1 truncated garbage PAR1");
  repo_ = MakeRepo(dir_.path());
  repo_.sources.push_back(MakeSource("stats", "data/stats"));
  repo_.feature_views.push_back(
      MakeView("stats_view", "stats", {MakeField("rate", ValueType::kDouble)}));
  offline_ = ValueOrDie(offline::OfflineStore::Open(repo_));
  auto result = Run({});
  EXPECT_EQ(result.status().code(), StatusCode::kIOError) << result.status().ToString();
  EXPECT_NE(result.status().message().find("b.parquet"), std::string::npos)
      << result.status().ToString();

  testing::WriteBytes(dir_ / "data/stats/a.parquet", "not parquet");
  offline_ = ValueOrDie(offline::OfflineStore::Open(repo_));
  result = Run({});
  EXPECT_EQ(result.status().code(), StatusCode::kIOError) << result.status().ToString();
  EXPECT_NE(result.status().message().find("source 'stats'"), std::string::npos)
      << result.status().ToString();
}

TEST_F(MaterializerTest, ConvertsEveryValueType) {
  WriteFile(dir_ / "data/typed.parquet",
            "SELECT CAST(k AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' AS event_timestamp, "
            "CAST(k AS INTEGER) AS i32, CAST(k * 10 AS BIGINT) AS i64, CAST(k AS FLOAT) / 4 AS "
            "f32, CAST(k AS DOUBLE) / 8 AS f64, 'name' || k AS str, k % 2 = 0 AS flag, "
            "TIMESTAMP '2023-06-01' + to_seconds(k) AS seen, CAST('b' || k AS BLOB) AS raw, "
            "[CAST(k AS FLOAT), 0.5] AS emb, ['x', 'y' || k] AS tags, [k, k + 1] AS ids, "
            "CASE WHEN k = 2 THEN NULL ELSE k END AS maybe FROM range(1, 3) t(k)");
  repo_ = MakeRepo(dir_.path());
  repo_.sources.push_back(MakeSource("typed", "data/typed.parquet"));
  repo_.feature_views.push_back(
      MakeView("typed_view", "typed",
               {MakeField("i32", ValueType::kInt32), MakeField("i64", ValueType::kInt64),
                MakeField("f32", ValueType::kFloat), MakeField("f64", ValueType::kDouble),
                MakeField("str", ValueType::kString), MakeField("flag", ValueType::kBool),
                MakeField("seen", ValueType::kUnixTimestamp), MakeField("raw", ValueType::kBytes),
                MakeField("emb", ValueType::kFloatList), MakeField("tags", ValueType::kStringList),
                MakeField("ids", ValueType::kInt64List), MakeField("maybe", ValueType::kInt64)}));
  offline_ = ValueOrDie(offline::OfflineStore::Open(repo_));
  ValueOrDie(MaterializeView(*offline_, repo_, View("typed_view"), {}, {}, store_, {}));
  const auto& table = Stored("typed_view");
  ASSERT_EQ(table.size(), 2u);
  const std::vector<Value>& row = table.at("driver_id=2").values;
  ASSERT_EQ(row.size(), 12u);
  EXPECT_EQ(row[0], Value::Int32(2));
  EXPECT_EQ(row[1], Value::Int64(20));
  EXPECT_EQ(row[2], Value::Float(0.5f));
  EXPECT_EQ(row[3], Value::Double(0.25));
  EXPECT_EQ(row[4], Value::String("name2"));
  EXPECT_EQ(row[5], Value::Bool(true));
  EXPECT_EQ(row[6], Value::UnixTimestamp(Ts("2023-06-01T00:00:02Z")));
  EXPECT_EQ(row[7], Value::Bytes("b2"));
  EXPECT_EQ(row[8], Value::FloatList({2.0f, 0.5f}));
  EXPECT_EQ(row[9], Value::StringList({"x", "y2"}));
  EXPECT_EQ(row[10], Value::Int64List({2, 3}));
  EXPECT_TRUE(row[11].is_null());
  EXPECT_EQ(table.at("driver_id=1").values[11], Value::Int64(1));
  EXPECT_EQ(table.at("driver_id=1").values[5], Value::Bool(false));
}

TEST_F(MaterializerTest, BatchViewComputesPathOnceAndReadsIt) {
  SetUpStats(
      "SELECT CAST(i % 4 AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' + to_hours(i) AS "
      "event_timestamp, NULL::TIMESTAMP AS created, CAST(i AS DOUBLE) AS rate FROM range(8) t(i)");
  repo::FeatureView batch;
  batch.name = "rate_max";
  batch.is_batch = true;
  batch.entities = {"driver"};
  batch.query =
      "SELECT driver_id, max(event_timestamp) AS event_timestamp, max(rate) AS top FROM stats "
      "GROUP BY driver_id";
  batch.query_sources = {"stats"};
  batch.path = "data/computed/rate_max.parquet";
  batch.features = {MakeField("top", ValueType::kDouble)};
  repo_.feature_views.push_back(batch);
  offline_ = ValueOrDie(offline::OfflineStore::Open(repo_));

  ViewMaterialization first =
      ValueOrDie(MaterializeView(*offline_, repo_, View("rate_max"), {}, {}, store_, {}));
  EXPECT_TRUE(first.computed_path);
  EXPECT_TRUE(fs::exists(dir_ / "data/computed/rate_max.parquet"));
  EXPECT_EQ(Stored("rate_max").at("driver_id=3").values, std::vector<Value>{Value::Double(7)});

  // With recompute_path = false an existing `path` is read as is, even if sources changed.
  WriteFile(dir_ / "data/stats.parquet",
            "SELECT CAST(3 AS BIGINT) AS driver_id, TIMESTAMP '2024-02-01' AS event_timestamp, "
            "NULL::TIMESTAMP AS created, 100.0 AS rate");
  InMemoryOnlineStore second_store;
  MaterializeOptions reuse;
  reuse.recompute_path = false;
  ViewMaterialization second =
      ValueOrDie(MaterializeView(*offline_, repo_, View("rate_max"), {}, {}, second_store, reuse));
  EXPECT_FALSE(second.computed_path);
  EXPECT_EQ(second_store.Table("test_project", "rate_max").at("driver_id=3").values,
            std::vector<Value>{Value::Double(7)});

  // The default recomputes.
  InMemoryOnlineStore third_store;
  ViewMaterialization third =
      ValueOrDie(MaterializeView(*offline_, repo_, View("rate_max"), {}, {}, third_store, {}));
  EXPECT_TRUE(third.computed_path);
  EXPECT_EQ(third.entities, 1);
  EXPECT_EQ(third_store.Table("test_project", "rate_max").at("driver_id=3").values,
            std::vector<Value>{Value::Double(100)});
}

TEST(IncrementalWindowTest, StartsAfterTheWatermarkElseEndMinusTtl) {
  const TimestampMicros end = Ts("2024-01-10T00:00:00Z");
  const DurationMicros day = 86400 * kMicrosPerSecond;
  EXPECT_EQ(IncrementalWindow(Ts("2024-01-09T00:00:00Z"), end, day),
            (Window{Ts("2024-01-09T00:00:00Z") + 1, end}));
  EXPECT_EQ(IncrementalWindow(std::nullopt, end, day), (Window{end - day, end}));
  EXPECT_EQ(IncrementalWindow(std::nullopt, end, 0), (Window{kBeginningOfTime, end}));
  EXPECT_TRUE(IncrementalWindow(end, end, day).empty());
  EXPECT_EQ(Window({kBeginningOfTime, end}).ToString(), "[-inf, 2024-01-10T00:00:00Z]");
}

TEST_F(MaterializerTest, IncrementalRunsReadEveryRowExactlyOnce) {
  // A row every hour; consecutive incremental runs end exactly on row timestamps.
  SetUpStats(
      "SELECT CAST(i AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' + to_hours(i) AS "
      "event_timestamp, NULL::TIMESTAMP AS created, CAST(i AS DOUBLE) AS rate FROM range(48) "
      "t(i)");
  std::optional<TimestampMicros> watermark;
  int64_t rows_read = 0;
  for (const char* end : {"2024-01-01T05:00:00Z", "2024-01-01T05:00:00Z", "2024-01-01T17:00:00Z",
                          "2024-01-02T23:00:00Z"}) {
    Window window = IncrementalWindow(watermark, Ts(end), 0);
    if (window.empty()) continue;
    ViewMaterialization result = ValueOrDie(Run(window));
    rows_read += result.rows_read;
    watermark = window.end;  // what the caller records once the write committed
  }
  EXPECT_EQ(rows_read, 48);
  EXPECT_EQ(Stored().size(), 48u);
}

// Counts Write calls and fails the `fail_on`-th one (1-based); the others go to `inner`.
class CountingStore : public online::OnlineStore {
 public:
  CountingStore(online::OnlineStore& inner, int fail_on) : inner_(inner), fail_on_(fail_on) {}
  Result<online::WriteStats> Write(const online::ViewSpec& view,
                                   std::span<const online::WriteRow> rows) override {
    if (++calls_ == fail_on_) return Status::Unavailable("counting store: injected failure");
    return inner_.Write(view, rows);
  }
  Result<std::vector<online::ReadRow>> Read(const online::ViewSpec& view,
                                            std::span<const EntityKey> keys) override {
    return inner_.Read(view, keys);
  }
  Status DeleteView(const std::string& project, const std::string& view) override {
    return inner_.DeleteView(project, view);
  }
  std::string Describe() const override { return "counting:"; }
  int calls() const { return calls_; }

 private:
  online::OnlineStore& inner_;
  int fail_on_;
  std::atomic<int> calls_ = 0;
};

TEST_F(MaterializerTest, OverlappedWritesMatchSequentialWrites) {
  SetUpStats(
      "SELECT CAST(i % 1500 AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' + to_seconds(i) AS "
      "event_timestamp, NULL::TIMESTAMP AS created, CAST(i AS DOUBLE) AS rate FROM range(6000) "
      "t(i)");
  std::vector<std::pair<int64_t, int64_t>> progress[2];
  std::map<std::string, InMemoryOnlineStore::Stored> stored[2];
  ViewMaterialization results[2];
  for (int overlap = 0; overlap < 2; ++overlap) {
    InMemoryOnlineStore store;
    MaterializeOptions options;
    options.chunk_size = 64;
    options.rows_per_pass = 2500;  // several passes, each streaming into the same writer
    options.overlap_writes = overlap == 1;
    options.progress = [&, overlap](int64_t done, int64_t total) {
      progress[overlap].emplace_back(done, total);
    };
    results[overlap] =
        ValueOrDie(MaterializeView(*offline_, repo_, View(), {}, {}, store, options));
    stored[overlap] = store.Table("test_project", "stats_view");
  }
  EXPECT_EQ(results[1].entities_written, 1500);
  EXPECT_EQ(results[0].entities_written, results[1].entities_written);
  EXPECT_EQ(results[0].chunks_written, results[1].chunks_written);
  EXPECT_EQ(results[0].passes, results[1].passes);
  EXPECT_EQ(progress[0], progress[1]);
  ASSERT_FALSE(progress[1].empty());
  EXPECT_EQ(progress[1].back(), (std::pair<int64_t, int64_t>{6000, 6000}));
  ASSERT_EQ(stored[0].size(), stored[1].size());
  for (const auto& [key, row] : stored[0]) {
    EXPECT_EQ(stored[1].at(key).values, row.values) << key;
    EXPECT_EQ(stored[1].at(key).event_ts, row.event_ts) << key;
  }
}

TEST_F(MaterializerTest, AFailedOverlappedWriteStopsTheRunAtThatChunk) {
  SetUpStats(
      "SELECT CAST(i AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' AS event_timestamp, "
      "NULL::TIMESTAMP AS created, 1.0 AS rate FROM range(1000) t(i)");
  CountingStore store(store_, /*fail_on=*/3);
  MaterializeOptions options;
  options.chunk_size = 10;
  auto result = MaterializeView(*offline_, repo_, View(), {}, {}, store, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find("writing chunk 3 (10 rows) to counting:"),
            std::string::npos)
      << result.status().ToString();
  // Nothing is written after the failed chunk: the chunk being filled meanwhile is dropped.
  EXPECT_EQ(store.calls(), 3);
  EXPECT_EQ(store_.batch_sizes().size(), 2u);
}

}  // namespace
}  // namespace featureforge::materialize
