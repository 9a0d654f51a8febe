#include "featureforge/retrieval/historical.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <random>

#include "featureforge/materialize/materializer.h"
#include "featureforge/objectstore/memory_store.h"
#include "offline_test_support.h"

namespace featureforge::retrieval {
namespace {

namespace fs = std::filesystem;
using offline::QuoteLiteral;
using testing::MakeField;
using testing::MakeRepo;
using testing::MakeSource;
using testing::MakeView;
using testing::ReadRows;
using testing::ScratchDir;
using testing::TestDb;
using testing::ValueOrDie;
using testing::WriteFile;

constexpr TimestampMicros kSecond = kMicrosPerSecond;
const TimestampMicros kBase = ValueOrDie(ParseTimestamp("2024-01-01T00:00:00Z"));

std::string TsSql(std::optional<TimestampMicros> ts) {
  return ts ? "make_timestamp(CAST(" + std::to_string(*ts) + " AS BIGINT))"
            : "CAST(NULL AS TIMESTAMP)";
}
std::string NumSql(std::optional<double> v) { return v ? std::to_string(*v) : "NULL"; }

// One feature row as generated; the reference join reads these directly.
struct FeatureRow {
  int64_t key = 0;
  std::optional<TimestampMicros> ts;
  std::optional<TimestampMicros> created;
  std::optional<double> value;
};

struct EntityRow {
  int64_t key = 0;
  std::optional<TimestampMicros> ts;
  int64_t label = 0;  // an extra entity column that must pass through untouched
};

void WriteFeatureRows(const std::string& path, const std::vector<FeatureRow>& rows,
                      const std::string& value_column) {
  std::string sql =
      "SELECT CAST(k AS BIGINT) AS driver_id, ts AS event_timestamp, c AS created, "
      "CAST(v AS DOUBLE) AS " +
      value_column + " FROM (VALUES ";
  for (size_t i = 0; i < rows.size(); ++i) {
    sql += (i ? ", (" : "(") + std::to_string(rows[i].key) + ", " + TsSql(rows[i].ts) + ", " +
           TsSql(rows[i].created) + ", " + NumSql(rows[i].value) + ")";
  }
  WriteFile(path, sql + ") t(k, ts, c, v)");
}

void WriteEntityRows(const std::string& path, const std::vector<EntityRow>& rows) {
  std::string sql =
      "SELECT CAST(k AS BIGINT) AS driver_id, ts AS event_timestamp, "
      "CAST(l AS BIGINT) AS label FROM (VALUES ";
  for (size_t i = 0; i < rows.size(); ++i) {
    sql += (i ? ", (" : "(") + std::to_string(rows[i].key) + ", " + TsSql(rows[i].ts) + ", " +
           std::to_string(rows[i].label) + ")";
  }
  WriteFile(path, sql + ") t(k, ts, l)");
}

// The brute-force point-in-time join: scan every feature row for every entity row.
std::optional<double> ReferenceLookup(const EntityRow& entity, const std::vector<FeatureRow>& rows,
                                      DurationMicros ttl, bool* matched) {
  *matched = false;
  const FeatureRow* best = nullptr;
  if (!entity.ts) return std::nullopt;
  for (const auto& row : rows) {
    if (row.key != entity.key || !row.ts || *row.ts > *entity.ts) continue;
    if (ttl > 0 && *row.ts < *entity.ts - ttl) continue;
    auto created = [](const FeatureRow* r) { return r->created.value_or(INT64_MIN); };
    if (best == nullptr || *row.ts > *best->ts ||
        (*row.ts == *best->ts && created(&row) > created(best))) {
      best = &row;
    }
  }
  if (best == nullptr) return std::nullopt;
  *matched = true;
  return best->value;
}

class HistoricalTest : public ::testing::Test {
 protected:
  void SetUp() override { repo_ = MakeRepo(dir_.path()); }
  std::unique_ptr<offline::OfflineStore> Open() {
    return ValueOrDie(offline::OfflineStore::Open(repo_));
  }
  // The output's rows: (driver_id, event_timestamp, label, features...).
  std::vector<std::vector<Value>> Output(const std::string& path, size_t feature_count) {
    std::vector<ValueType> types = {ValueType::kInt64, ValueType::kUnixTimestamp,
                                    ValueType::kInt64};
    types.insert(types.end(), feature_count, ValueType::kDouble);
    return ReadRows(TestDb(), "SELECT * FROM read_parquet(" + QuoteLiteral(path) + ")", types);
  }

  ScratchDir dir_;
  repo::Repo repo_;
};

TEST_F(HistoricalTest, MatchesBruteForceOnRandomData) {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
    // Timestamps on a coarse grid so equal timestamps and exact ttl edges are common.
    auto grid_ts = [&]() { return kBase + pick(60) * 10 * kSecond; };
    const int64_t keys = 12;

    // View a: created column, duplicate (key, ts) rows with distinct created ts, NULL values,
    // NULL event timestamps; ttl 100 s. View b: no created column, unique (key, ts), no ttl.
    // View c: a batch view whose query reads source a.
    std::vector<FeatureRow> a_rows, b_rows;
    std::set<std::pair<int64_t, TimestampMicros>> b_seen, a_null_created;
    for (int i = 0; i < 400; ++i) {
      FeatureRow row;
      row.key = pick(keys);
      row.ts = pick(40) == 0 ? std::nullopt : std::optional(grid_ts());
      row.value = pick(8) == 0 ? std::nullopt : std::optional(static_cast<double>(pick(1000)) / 4);
      // Created ts are unique per row, or NULL at most once per (key, ts), so ties resolve.
      if (pick(5) == 0 && row.ts && a_null_created.insert({row.key, *row.ts}).second) {
        row.created = std::nullopt;
      } else {
        row.created = kBase + 1000 * kSecond + i;
      }
      a_rows.push_back(row);
    }
    for (int i = 0; i < 300; ++i) {
      FeatureRow row;
      row.key = pick(keys);
      row.ts = grid_ts();
      if (!b_seen.insert({row.key, *row.ts}).second) continue;
      row.value = pick(10) == 0 ? std::nullopt : std::optional(static_cast<double>(pick(100)));
      b_rows.push_back(row);
    }
    std::vector<EntityRow> entities;
    for (int i = 0; i < 500; ++i) {
      EntityRow row;
      row.key = pick(keys + 2);  // some keys have no features at all
      row.ts = pick(50) == 0 ? std::nullopt : std::optional(grid_ts() + (pick(3) - 1) * kSecond);
      row.label = i;
      entities.push_back(row);
    }
    const std::string tag = std::to_string(seed);
    WriteFeatureRows(dir_ / ("data/a" + tag + ".parquet"), a_rows, "va");
    WriteFeatureRows(dir_ / ("data/b" + tag + ".parquet"), b_rows, "vb");
    WriteEntityRows(dir_ / ("entities" + tag + ".parquet"), entities);

    repo_ = MakeRepo(dir_.path());
    repo_.sources.push_back(MakeSource("a_src", "data/a" + tag + ".parquet", "created"));
    repo_.sources.push_back(MakeSource("b_src", "data/b" + tag + ".parquet"));
    repo_.feature_views.push_back(
        MakeView("a", "a_src", {MakeField("va", ValueType::kDouble)}, 100 * kSecond));
    repo_.feature_views.push_back(MakeView("b", "b_src", {MakeField("vb", ValueType::kDouble)}));
    repo::FeatureView c;
    c.name = "c";
    c.is_batch = true;
    c.entities = {"driver"};
    c.ttl = 30 * kSecond;
    c.query = "SELECT driver_id, event_timestamp, created, va * 2 AS vc FROM a_src";
    c.query_sources = {"a_src"};
    c.created_timestamp_column = "created";
    c.features = {MakeField("vc", ValueType::kDouble)};
    repo_.feature_views.push_back(c);
    auto offline = Open();

    const std::string out = dir_ / ("out" + tag + ".parquet");
    RetrievalStats stats = ValueOrDie(GetHistoricalFeatures(
        *offline, repo_, dir_ / ("entities" + tag + ".parquet"), {{"a", {}}, {"b", {}}, {"c", {}}},
        /*full_feature_names=*/true, out));
    EXPECT_EQ(stats.entity_rows, 500);
    EXPECT_EQ(stats.output_columns, (std::vector<std::string>{"driver_id", "event_timestamp",
                                                              "label", "a__va", "b__vb", "c__vc"}));
    auto rows = Output(out, 3);
    ASSERT_EQ(rows.size(), entities.size());
    int64_t with_a = 0, with_b = 0, with_c = 0, matched_a = 0;
    for (size_t i = 0; i < entities.size(); ++i) {
      SCOPED_TRACE("entity row " + std::to_string(i));
      ASSERT_EQ(rows[i][2], Value::Int64(entities[i].label)) << "row order changed";
      bool matched = false;
      auto expect = [&](const std::optional<double>& v) {
        return v ? Value::Double(*v) : Value::Null();
      };
      auto a_value = ReferenceLookup(entities[i], a_rows, 100 * kSecond, &matched);
      matched_a += matched;
      EXPECT_EQ(rows[i][3], expect(a_value));
      with_a += a_value.has_value();
      auto b_value = ReferenceLookup(entities[i], b_rows, 0, &matched);
      EXPECT_EQ(rows[i][4], expect(b_value));
      with_b += b_value.has_value();
      auto c_value = ReferenceLookup(entities[i], a_rows, 30 * kSecond, &matched);
      EXPECT_EQ(rows[i][5], expect(c_value ? std::optional(*c_value * 2) : std::nullopt));
      with_c += c_value.has_value();
    }
    ASSERT_EQ(stats.views.size(), 3u);
    EXPECT_EQ(stats.views[0].rows_with_values, with_a);
    EXPECT_EQ(stats.views[1].rows_with_values, with_b);
    EXPECT_EQ(stats.views[2].rows_with_values, with_c);
    EXPECT_GT(with_a, matched_a / 2);
    EXPECT_GT(matched_a, 0);
    EXPECT_LT(matched_a, 500);
  }
}

// Training and serving read the same data the same way: what materialization writes for
// [-inf, T] equals what a point-in-time lookup at T returns, key by key (ties included).
TEST_F(HistoricalTest, MaterializedValuesEqualPointInTimeLookupAtWindowEnd) {
  std::mt19937_64 rng(42);
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
  std::vector<FeatureRow> rows;
  std::set<std::pair<int64_t, TimestampMicros>> null_created;
  for (int i = 0; i < 2000; ++i) {
    FeatureRow row;
    row.key = pick(50);
    row.ts = kBase + pick(30) * kSecond;
    row.value = static_cast<double>(i);
    if (pick(4) == 0 && null_created.insert({row.key, *row.ts}).second) {
      row.created = std::nullopt;
    } else {
      row.created = kBase + pick(1000000) * 1000 + i;  // unique
    }
    rows.push_back(row);
  }
  WriteFeatureRows(dir_ / "data/f.parquet", rows, "v");
  const TimestampMicros end = kBase + 20 * kSecond;
  std::vector<EntityRow> entities;
  for (int64_t key = 0; key < 50; ++key) entities.push_back({key, end, key});
  WriteEntityRows(dir_ / "entities.parquet", entities);
  repo_.sources.push_back(MakeSource("f_src", "data/f.parquet", "created"));
  repo_.feature_views.push_back(MakeView("f", "f_src", {MakeField("v", ValueType::kDouble)}));
  auto offline = Open();

  testing::InMemoryOnlineStore online;
  materialize::MaterializeOptions options;
  options.rows_per_pass = 500;  // several passes
  ValueOrDie(materialize::MaterializeView(*offline, repo_, repo_.feature_views[0],
                                          {materialize::kBeginningOfTime, end}, {}, online,
                                          options));
  ValueOrDie(GetHistoricalFeatures(*offline, repo_, dir_ / "entities.parquet", {{"f", {}}}, false,
                                   dir_ / "out.parquet"));
  auto offline_rows = Output(dir_ / "out.parquet", 1);
  ASSERT_EQ(offline_rows.size(), 50u);
  const auto& served = online.Table("test_project", "f");
  for (int64_t key = 0; key < 50; ++key) {
    const std::string name = "driver_id=" + std::to_string(key);
    if (offline_rows[key][3].is_null()) {
      EXPECT_FALSE(served.count(name)) << name;
      continue;
    }
    ASSERT_TRUE(served.count(name)) << name;
    EXPECT_EQ(served.at(name).values.at(0), offline_rows[key][3]) << name;
  }
}

TEST_F(HistoricalTest, TtlEdgesAndEntityTimestampEdge) {
  const DurationMicros ttl = 3600 * kSecond;
  const TimestampMicros t = kBase + 10 * ttl;
  // One feature row per key, at a chosen distance before (or after) the entity time t.
  WriteFeatureRows(dir_ / "data/f.parquet",
                   {{1, t - ttl, std::nullopt, 1.0},      // exactly ttl old: included
                    {2, t - ttl - 1, std::nullopt, 2.0},  // 1 us older: excluded
                    {3, t, std::nullopt, 3.0},            // exactly at entity time: included
                    {4, t + 1, std::nullopt, 4.0}},       // 1 us later: excluded
                   "v");
  WriteEntityRows(dir_ / "entities.parquet", {{1, t, 0}, {2, t, 1}, {3, t, 2}, {4, t, 3}});
  repo_.sources.push_back(MakeSource("f_src", "data/f.parquet"));
  repo_.feature_views.push_back(MakeView("f", "f_src", {MakeField("v", ValueType::kDouble)}, ttl));
  auto offline = Open();
  const std::string out = dir_ / "out.parquet";
  ValueOrDie(GetHistoricalFeatures(*offline, repo_, dir_ / "entities.parquet", {{"f", {"v"}}},
                                   false, out));
  auto rows = Output(out, 1);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0][3], Value::Double(1));
  EXPECT_TRUE(rows[1][3].is_null());
  EXPECT_EQ(rows[2][3], Value::Double(3));
  EXPECT_TRUE(rows[3][3].is_null());
}

TEST_F(HistoricalTest, TiesOnEventTsGoToTheNewestCreatedTs) {
  const TimestampMicros t = kBase;
  WriteFeatureRows(dir_ / "data/f.parquet",
                   {{1, t, t + 5, 1.0},
                    {1, t, t + 9, 2.0},
                    {1, t, std::nullopt, 3.0},
                    {1, t, t + 7, 4.0},
                    {1, t - 1, t + 100, 5.0}},
                   "v");
  WriteEntityRows(dir_ / "entities.parquet", {{1, t, 0}});
  repo_.sources.push_back(MakeSource("f_src", "data/f.parquet", "created"));
  repo_.feature_views.push_back(MakeView("f", "f_src", {MakeField("v", ValueType::kDouble)}));
  auto offline = Open();
  const std::string out = dir_ / "out.parquet";
  ValueOrDie(
      GetHistoricalFeatures(*offline, repo_, dir_ / "entities.parquet", {{"f", {}}}, false, out));
  EXPECT_EQ(Output(out, 1).at(0)[3], Value::Double(2));
}

TEST_F(HistoricalTest, NameCollisionsWithoutFullNamesNameBothViews) {
  WriteFeatureRows(dir_ / "data/f.parquet", {{1, kBase, std::nullopt, 1.0}}, "v");
  WriteEntityRows(dir_ / "entities.parquet", {{1, kBase, 0}});
  repo_.sources.push_back(MakeSource("f_src", "data/f.parquet"));
  repo_.feature_views.push_back(MakeView("first", "f_src", {MakeField("v", ValueType::kDouble)}));
  repo_.feature_views.push_back(MakeView("second", "f_src", {MakeField("v", ValueType::kDouble)}));
  repo_.feature_views.push_back(
      MakeView("labelled", "f_src", {MakeField("label", ValueType::kDouble)}));
  auto offline = Open();
  auto result = GetHistoricalFeatures(*offline, repo_, dir_ / "entities.parquet",
                                      {{"first", {}}, {"second", {}}}, false, dir_ / "o.parquet");
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("view 'second'"), std::string::npos);
  EXPECT_NE(result.status().message().find("view 'first'"), std::string::npos)
      << result.status().ToString();
  EXPECT_FALSE(fs::exists(dir_ / "o.parquet"));

  // A feature named like an entity column collides too.
  auto entity_clash = GetHistoricalFeatures(*offline, repo_, dir_ / "entities.parquet",
                                            {{"labelled", {}}}, false, dir_ / "o.parquet");
  EXPECT_EQ(entity_clash.status().code(), StatusCode::kInvalidArgument);

  RetrievalStats stats =
      ValueOrDie(GetHistoricalFeatures(*offline, repo_, dir_ / "entities.parquet",
                                       {{"first", {}}, {"second", {}}}, true, dir_ / "o.parquet"));
  EXPECT_EQ(stats.output_columns.back(), "second__v");
}

TEST_F(HistoricalTest, BatchViewFallsBackToQueryUntilPathExists) {
  WriteFeatureRows(dir_ / "data/f.parquet", {{1, kBase, std::nullopt, 1.0}}, "v");
  WriteEntityRows(dir_ / "entities.parquet", {{1, kBase + kSecond, 0}});
  repo_.sources.push_back(MakeSource("f_src", "data/f.parquet"));
  repo::FeatureView batch;
  batch.name = "plus";
  batch.is_batch = true;
  batch.entities = {"driver"};
  batch.query = "SELECT driver_id, event_timestamp, v + 10 AS plus_ten FROM f_src";
  batch.path = "data/plus.parquet";
  batch.features = {MakeField("plus_ten", ValueType::kDouble)};
  repo_.feature_views.push_back(batch);
  auto offline = Open();
  const std::string out = dir_ / "out.parquet";
  auto retrieve = [&] {
    ValueOrDie(GetHistoricalFeatures(*offline, repo_, dir_ / "entities.parquet", {{"plus", {}}},
                                     false, out));
    return Output(out, 1).at(0)[3];
  };
  EXPECT_EQ(retrieve(), Value::Double(11));  // no path yet: the query runs
  FF_ASSERT_OK(offline->ComputeOnce(batch));
  // Sources change after the compute: retrieval reads the computed `path`, not the query.
  WriteFeatureRows(dir_ / "data/f.parquet", {{1, kBase, std::nullopt, 50.0}}, "v");
  EXPECT_EQ(retrieve(), Value::Double(11));
  fs::remove(dir_ / "data/plus.parquet");
  EXPECT_EQ(retrieve(), Value::Double(60));  // path gone: back to the query
}

TEST_F(HistoricalTest, CsvInAndOutKeepsRowOrderAndEntityColumns) {
  WriteFeatureRows(dir_ / "data/f.parquet",
                   {{1, kBase, std::nullopt, 1.0}, {2, kBase, std::nullopt, 2.0}}, "v");
  // Out-of-order timestamps and keys: the output must keep the file's order.
  WriteFile(dir_ / "entities.csv",
            "SELECT * FROM (VALUES (2, '2024-01-02 00:00:00', 'b'), (1, '2023-12-31 00:00:00', "
            "'a'), (1, '2024-01-03 00:00:00', 'c'), (9, '2024-01-03 00:00:00', 'd')) "
            "t(driver_id, event_timestamp, note)");
  repo_.sources.push_back(MakeSource("f_src", "data/f.parquet"));
  repo_.feature_views.push_back(MakeView("f", "f_src", {MakeField("v", ValueType::kDouble)}));
  auto offline = Open();
  const std::string out = dir_ / "out/result.csv";
  RetrievalStats stats = ValueOrDie(
      GetHistoricalFeatures(*offline, repo_, dir_ / "entities.csv", {{"f", {}}}, false, out));
  EXPECT_EQ(stats.views.at(0).rows_with_values, 2);
  auto rows =
      ReadRows(TestDb(), "SELECT note, CAST(v AS DOUBLE) FROM read_csv(" + QuoteLiteral(out) + ")",
               {ValueType::kString, ValueType::kDouble});
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<Value>{Value::String("b"), Value::Double(2)}));
  EXPECT_EQ(rows[1], (std::vector<Value>{Value::String("a"), Value::Null()}));
  EXPECT_EQ(rows[2], (std::vector<Value>{Value::String("c"), Value::Double(1)}));
  EXPECT_EQ(rows[3], (std::vector<Value>{Value::String("d"), Value::Null()}));
}

TEST_F(HistoricalTest, BadRequestsAreClearErrors) {
  WriteFeatureRows(dir_ / "data/f.parquet", {{1, kBase, std::nullopt, 1.0}}, "v");
  WriteEntityRows(dir_ / "entities.parquet", {{1, kBase, 0}});
  WriteFile(dir_ / "no_ts.parquet", "SELECT 1 AS driver_id");
  repo_.sources.push_back(MakeSource("f_src", "data/f.parquet"));
  repo_.sources.push_back(MakeSource("gone_src", "data/gone.parquet"));
  repo_.feature_views.push_back(MakeView("f", "f_src", {MakeField("v", ValueType::kDouble)}));
  repo_.feature_views.push_back(MakeView("gone", "gone_src", {MakeField("v", ValueType::kDouble)}));
  repo::FeatureView online_only =
      MakeView("serving", "f_src", {MakeField("v", ValueType::kDouble)});
  online_only.offline = false;
  repo_.feature_views.push_back(online_only);
  auto offline = Open();
  const std::string entities = dir_ / "entities.parquet";
  const std::string out = dir_ / "out.parquet";
  EXPECT_EQ(
      GetHistoricalFeatures(*offline, repo_, entities, {{"nope", {}}}, false, out).status().code(),
      StatusCode::kNotFound);
  EXPECT_EQ(
      GetHistoricalFeatures(*offline, repo_, entities, {{"f", {"w"}}}, false, out).status().code(),
      StatusCode::kNotFound);
  EXPECT_EQ(GetHistoricalFeatures(*offline, repo_, entities, {{"serving", {}}}, false, out)
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
  auto no_ts =
      GetHistoricalFeatures(*offline, repo_, dir_ / "no_ts.parquet", {{"f", {}}}, false, out);
  EXPECT_EQ(no_ts.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_ts.status().message().find("event_timestamp"), std::string::npos);
  auto no_file =
      GetHistoricalFeatures(*offline, repo_, dir_ / "missing.parquet", {{"f", {}}}, false, out);
  EXPECT_EQ(no_file.status().code(), StatusCode::kIOError);
  auto gone = GetHistoricalFeatures(*offline, repo_, entities, {{"gone", {}}}, false, out);
  EXPECT_EQ(gone.status().code(), StatusCode::kIOError);
  EXPECT_NE(gone.status().message().find("data/gone.parquet"), std::string::npos)
      << gone.status().ToString();
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(HistoricalTest, EntityFileAndOutputOnObjectStorage) {
  WriteFeatureRows(dir_ / "data/f.parquet", {{1, kBase, std::nullopt, 1.0}}, "v");
  WriteEntityRows(dir_ / "entities.parquet", {{1, kBase + kSecond, 7}, {2, kBase, 8}});
  auto objects = SharedMemoryObjectStore();
  FF_ASSERT_OK(objects->PutFile("mem://training/entities.parquet", dir_ / "entities.parquet"));
  repo_.sources.push_back(MakeSource("f_src", "data/f.parquet"));
  repo_.feature_views.push_back(MakeView("f", "f_src", {MakeField("v", ValueType::kDouble)}));
  auto offline = Open();
  RetrievalStats stats =
      ValueOrDie(GetHistoricalFeatures(*offline, repo_, "mem://training/entities.parquet",
                                       {{"f", {}}}, false, "mem://training/out/result.parquet"));
  EXPECT_EQ(stats.entity_rows, 2);
  FF_ASSERT_OK(objects->GetToFile("mem://training/out/result.parquet", dir_ / "result.parquet"));
  auto rows = Output(dir_ / "result.parquet", 1);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][3], Value::Double(1));
  EXPECT_TRUE(rows[1][3].is_null());
  FF_ASSERT_OK(objects->Delete("mem://training/entities.parquet"));
  FF_ASSERT_OK(objects->Delete("mem://training/out/result.parquet"));
}

TEST_F(HistoricalTest, EmptyEntityFileIsReported) {
  WriteFeatureRows(dir_ / "data/f.parquet", {{1, kBase, std::nullopt, 1.0}}, "v");
  WriteFile(dir_ / "entities.parquet",
            "SELECT CAST(1 AS BIGINT) AS driver_id, TIMESTAMP '2024-01-01' AS event_timestamp "
            "LIMIT 0");
  repo_.sources.push_back(MakeSource("f_src", "data/f.parquet"));
  repo_.feature_views.push_back(MakeView("f", "f_src", {MakeField("v", ValueType::kDouble)}));
  auto offline = Open();
  RetrievalStats stats = ValueOrDie(GetHistoricalFeatures(
      *offline, repo_, dir_ / "entities.parquet", {{"f", {}}}, false, dir_ / "out.parquet"));
  EXPECT_EQ(stats.entity_rows, 0);
  EXPECT_NE(stats.message.find("has no rows"), std::string::npos) << stats.message;
}

}  // namespace
}  // namespace featureforge::retrieval
