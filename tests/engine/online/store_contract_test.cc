// The OnlineStore contract, run against both real stores — SQLite on a temp file and a real
// redis-server started by the test on a free loopback port — and the in-memory test double.
#include <gtest/gtest.h>

#include <memory>

#include "featureforge/online/memory_store.h"
#include "featureforge/online/online_store.h"
#include "featureforge/online/redis_store.h"
#include "featureforge/online/sqlite_store.h"
#include "featureforge/testutil/testutil.h"

namespace featureforge::online {
namespace {

using testutil::RedisServer;
using testutil::TempDir;

constexpr TimestampMicros kDay = 86'400'000'000;
constexpr TimestampMicros kT0 = 1'700'000'000'000'000;  // whole seconds

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      store_ = NewMemoryOnlineStore();
    } else if (GetParam() == "sqlite") {
      auto store = OpenSqliteOnlineStore({dir_.Join("nested/online.db")});
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      store_ = std::move(store).value();
    } else {
      // Deep validation of DUMP payloads: a malformed RESTORE of a new key fails loudly here.
      std::string error = redis_.Start({"--sanitize-dump-payload", "yes"});
      ASSERT_EQ(error, "") << error;
      RedisStoreOptions options;
      options.port = redis_.port();
      auto store = OpenRedisOnlineStore(options);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      store_ = std::move(store).value();
    }
  }

  static EntityKey Key(int64_t id) { return EntityKey{{"driver_id"}, {Value::Int64(id)}}; }

  static ViewSpec Stats() {
    return ViewSpec{
        "proj", "driver_stats", {"conv_rate", "trips"}, {ValueType::kDouble, ValueType::kInt64}};
  }

  static WriteRow Row(int64_t id, double rate, int64_t trips, TimestampMicros ts,
                      TimestampMicros created = 0) {
    return WriteRow{Key(id), {Value::Double(rate), Value::Int64(trips)}, ts, created};
  }

  ReadRow ReadOne(const ViewSpec& view, const EntityKey& key) {
    auto rows = store_->Read(view, std::vector<EntityKey>{key});
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok() || rows->size() != 1) return {};
    return rows->front();
  }

  TempDir dir_{"ff-online"};
  RedisServer redis_;
  std::unique_ptr<OnlineStore> store_;
};

TEST_P(StoreContractTest, RoundTripsEveryValueType) {
  struct Feature {
    std::string name;
    Value value;
  };
  const std::vector<Feature> features = {
      {"f_bytes", Value::Bytes(std::string("\x00\xffz", 3))},
      {"f_string", Value::String("héllo")},
      {"f_int32", Value::Int32(-7)},
      {"f_int64", Value::Int64(1LL << 50)},
      {"f_double", Value::Double(0.125)},
      {"f_float", Value::Float(-3.5f)},
      {"f_bool", Value::Bool(true)},
      {"f_ts", Value::UnixTimestamp(kT0)},
      {"f_bytes_list", Value{ValueType::kBytesList, std::vector<std::string>{"a", ""}}},
      {"f_string_list", Value::StringList({"x", "y"})},
      {"f_int32_list", Value{ValueType::kInt32List, std::vector<int32_t>{1, -2}}},
      {"f_int64_list", Value::Int64List({3, -4})},
      {"f_double_list", Value::DoubleList({0.5, 1.5})},
      {"f_float_list", Value::FloatList({0.25f, 0.75f, 1.0f})},
      {"f_bool_list", Value{ValueType::kBoolList, std::vector<bool>{true, false}}},
      {"f_ts_list", Value{ValueType::kUnixTimestampList, std::vector<int64_t>{kT0, 0}}},
  };
  ViewSpec view{"proj", "all_types", {}, {}};
  WriteRow full{Key(1), {}, kT0, 0};
  WriteRow nulls{Key(2), {}, kT0 + 1, 0};
  for (const auto& f : features) {
    view.feature_names.push_back(f.name);
    view.feature_types.push_back(f.value.type);
    full.values.push_back(f.value);
    nulls.values.push_back(Value::Null());
  }
  auto stats = store_->Write(view, std::vector<WriteRow>{full, nulls});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows_written, 2);
  EXPECT_EQ(stats->rows_skipped_stale, 0);

  // Missing key, repeated key, both rows.
  auto rows = store_->Read(view, std::vector<EntityKey>{Key(1), Key(99), Key(2), Key(1)});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_TRUE((*rows)[0].found);
  EXPECT_EQ((*rows)[0].event_ts, kT0);
  for (size_t i = 0; i < features.size(); ++i) {
    EXPECT_EQ((*rows)[0].values[i], features[i].value) << features[i].name;
  }
  EXPECT_FALSE((*rows)[1].found);
  ASSERT_EQ((*rows)[1].values.size(), features.size());
  EXPECT_TRUE((*rows)[1].values[0].is_null());
  EXPECT_TRUE((*rows)[2].found);
  EXPECT_EQ((*rows)[2].event_ts, kT0 + 1);  // event timestamps keep micros
  for (const auto& v : (*rows)[2].values) EXPECT_TRUE(v.is_null());
  EXPECT_EQ((*rows)[3].values, (*rows)[0].values);
}

TEST_P(StoreContractTest, OlderRowsNeverReplaceNewerOnes) {
  const ViewSpec view = Stats();
  ASSERT_EQ(store_->Write(view, std::vector{Row(1, 0.5, 10, kT0)})->rows_written, 1);

  auto older = store_->Write(view, std::vector{Row(1, 0.1, 1, kT0 - kDay, /*created=*/kT0 * 2)});
  ASSERT_TRUE(older.ok());
  EXPECT_EQ(older->rows_written, 0);
  EXPECT_EQ(older->rows_skipped_stale, 1);
  EXPECT_EQ(ReadOne(view, Key(1)).values[1], Value::Int64(10));

  // Equal event ts and equal (absent) created ts: the stored row stays (Feast skips equal ts).
  auto same = store_->Write(view, std::vector{Row(1, 0.2, 2, kT0)});
  EXPECT_EQ(same->rows_skipped_stale, 1);
  EXPECT_EQ(ReadOne(view, Key(1)).values[1], Value::Int64(10));

  // Equal event ts, later created ts: the new row wins.
  auto later_created = store_->Write(view, std::vector{Row(1, 0.3, 3, kT0, kT0 + 5)});
  EXPECT_EQ(later_created->rows_written, 1);
  EXPECT_EQ(ReadOne(view, Key(1)).values[1], Value::Int64(3));

  // Equal event ts, earlier created ts: skipped.
  auto earlier_created = store_->Write(view, std::vector{Row(1, 0.4, 4, kT0, kT0 + 1)});
  EXPECT_EQ(earlier_created->rows_skipped_stale, 1);
  EXPECT_EQ(ReadOne(view, Key(1)).values[1], Value::Int64(3));

  // Newer event ts wins even with an older created ts.
  auto newer = store_->Write(view, std::vector{Row(1, 0.9, 9, kT0 + 1, 0)});
  EXPECT_EQ(newer->rows_written, 1);
  ReadRow row = ReadOne(view, Key(1));
  EXPECT_EQ(row.values[1], Value::Int64(9));
  EXPECT_EQ(row.event_ts, kT0 + 1);
}

TEST_P(StoreContractTest, TimestampsBeforeTheEpochOrderCorrectly) {
  const ViewSpec view = Stats();
  ASSERT_EQ(store_->Write(view, std::vector{Row(1, 0.5, 1, -5'000'000)})->rows_written, 1);
  EXPECT_EQ(store_->Write(view, std::vector{Row(1, 0.5, 2, -10'000'000)})->rows_skipped_stale, 1);
  ReadRow row = ReadOne(view, Key(1));
  EXPECT_EQ(row.values[1], Value::Int64(1));
  EXPECT_EQ(row.event_ts, -5'000'000);
  EXPECT_EQ(store_->Write(view, std::vector{Row(1, 0.5, 3, 0)})->rows_written, 1);
  EXPECT_EQ(ReadOne(view, Key(1)).values[1], Value::Int64(3));
}

TEST_P(StoreContractTest, MixedChunkWritesOnlyTheNewerRows) {
  const ViewSpec view = Stats();
  ASSERT_TRUE(store_->Write(view, std::vector{Row(1, 0.5, 10, kT0), Row(2, 0.5, 20, kT0)}).ok());
  auto stats = store_->Write(
      view, std::vector{Row(1, 0.6, 11, kT0 + 1), Row(2, 0.4, 19, kT0 - 1), Row(3, 0.1, 30, 0)});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows_written, 2);
  EXPECT_EQ(stats->rows_skipped_stale, 1);
  auto rows = store_->Read(view, std::vector{Key(1), Key(2), Key(3)});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].values[1], Value::Int64(11));
  EXPECT_EQ((*rows)[1].values[1], Value::Int64(20));
  EXPECT_EQ((*rows)[2].values[1], Value::Int64(30));
}

TEST_P(StoreContractTest, ReadsASubsetAndUnknownFeaturesAsNull) {
  const ViewSpec view = Stats();
  ASSERT_TRUE(store_->Write(view, std::vector{Row(1, 0.5, 10, kT0)}).ok());
  ViewSpec subset{"proj", "driver_stats", {"trips", "added_later"}, {}};
  ReadRow row = ReadOne(subset, Key(1));
  EXPECT_TRUE(row.found);
  ASSERT_EQ(row.values.size(), 2u);
  EXPECT_EQ(row.values[0], Value::Int64(10));
  EXPECT_TRUE(row.values[1].is_null());
}

TEST_P(StoreContractTest, ViewsAndProjectsAreIsolatedAndDeleteViewRemovesOne) {
  const ViewSpec stats = Stats();
  const ViewSpec other{"proj", "driver_profile", {"city"}, {ValueType::kString}};
  const ViewSpec other_project{"proj2", "driver_stats", {"conv_rate", "trips"}, {}};
  ASSERT_TRUE(store_->Write(stats, std::vector{Row(1, 0.5, 10, kT0)}).ok());
  ASSERT_TRUE(
      store_->Write(other, std::vector{WriteRow{Key(1), {Value::String("Oslo")}, kT0, 0}}).ok());
  ASSERT_TRUE(store_->Write(other_project, std::vector{Row(1, 0.7, 70, kT0)}).ok());

  EXPECT_EQ(ReadOne(stats, Key(1)).values[1], Value::Int64(10));
  EXPECT_EQ(ReadOne(other, Key(1)).values[0], Value::String("Oslo"));
  EXPECT_EQ(ReadOne(other_project, Key(1)).values[1], Value::Int64(70));

  ASSERT_TRUE(store_->DeleteView("proj", "driver_stats").ok());
  EXPECT_FALSE(ReadOne(stats, Key(1)).found);
  EXPECT_TRUE(ReadOne(other, Key(1)).found);
  EXPECT_TRUE(ReadOne(other_project, Key(1)).found);
  // Deleting a view that was never written is fine; writing again after a delete works.
  EXPECT_TRUE(store_->DeleteView("proj", "never_written").ok());
  ASSERT_TRUE(store_->Write(stats, std::vector{Row(1, 0.1, 1, kT0 - kDay)}).ok());
  EXPECT_EQ(ReadOne(stats, Key(1)).values[1], Value::Int64(1));
}

TEST_P(StoreContractTest, ReadManyAnswersEveryViewInRequestOrder) {
  const ViewSpec stats = Stats();
  const ViewSpec profile{"proj", "driver_profile", {"city"}, {ValueType::kString}};
  ASSERT_TRUE(store_->Write(stats, std::vector{Row(1, 0.5, 10, kT0), Row(2, 0.6, 20, kT0)}).ok());
  ASSERT_TRUE(
      store_->Write(profile, std::vector{WriteRow{Key(2), {Value::String("Oslo")}, kT0, 0}}).ok());
  std::vector<ReadRequest> requests = {
      {profile, {Key(1), Key(2)}}, {stats, {Key(2), Key(3), Key(1)}}, {profile, {}}};
  auto results = store_->ReadMany(requests);
  ASSERT_TRUE(results.ok()) << results.status().ToString();
  ASSERT_EQ(results->size(), 3u);
  ASSERT_EQ((*results)[0].size(), 2u);
  EXPECT_FALSE((*results)[0][0].found);
  EXPECT_EQ((*results)[0][1].values[0], Value::String("Oslo"));
  ASSERT_EQ((*results)[1].size(), 3u);
  EXPECT_EQ((*results)[1][0].values[1], Value::Int64(20));
  EXPECT_FALSE((*results)[1][1].found);
  EXPECT_EQ((*results)[1][2].values[1], Value::Int64(10));
  EXPECT_TRUE((*results)[2].empty());
}

TEST_P(StoreContractTest, CompositeEntityKeys) {
  ViewSpec view{"proj", "pair_stats", {"score"}, {ValueType::kFloat}};
  EntityKey a{{"user", "merchant"}, {Value::String("u1"), Value::Int32(7)}};
  EntityKey a_reordered{{"merchant", "user"}, {Value::Int32(7), Value::String("u1")}};
  EntityKey b{{"user", "merchant"}, {Value::String("u1"), Value::Int32(8)}};
  ASSERT_TRUE(store_->Write(view, std::vector{WriteRow{a, {Value::Float(1.5f)}, kT0, 0}}).ok());
  auto rows = store_->Read(view, std::vector{a_reordered, b});
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE((*rows)[0].found);
  EXPECT_EQ((*rows)[0].values[0], Value::Float(1.5f));
  EXPECT_FALSE((*rows)[1].found);
}

TEST_P(StoreContractTest, BadInputIsRejectedBeforeAnythingIsWritten) {
  const ViewSpec view = Stats();
  std::vector<WriteRow> chunk = {Row(1, 0.5, 10, kT0), Row(2, 0.5, 20, kT0)};
  chunk[1].values[1] = Value::String("twenty");  // wrong type for Int64 `trips`
  auto result = store_->Write(view, chunk);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("trips"), std::string::npos)
      << result.status().message();
  EXPECT_FALSE(ReadOne(view, Key(1)).found);

  std::vector<WriteRow> short_row = {WriteRow{Key(3), {Value::Double(1)}, kT0, 0}};
  EXPECT_EQ(store_->Write(view, short_row).status().code(), StatusCode::kInvalidArgument);

  std::vector<WriteRow> float_key = {WriteRow{
      EntityKey{{"driver_id"}, {Value::Double(1)}}, {Value::Null(), Value::Null()}, kT0, 0}};
  EXPECT_EQ(store_->Write(view, float_key).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreContractTest, ManyKeysInOneReadAndWrite) {
  const ViewSpec view = Stats();
  std::vector<WriteRow> rows;
  for (int64_t id = 0; id < 1500; ++id) rows.push_back(Row(id, id * 0.5, id, kT0 + id));
  auto stats = store_->Write(view, rows);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->rows_written, 1500);
  std::vector<EntityKey> keys;
  for (int64_t id = 1999; id >= 0; id -= 1) keys.push_back(Key(id));  // 500 missing
  auto read = store_->Read(view, keys);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    int64_t id = 1999 - static_cast<int64_t>(i);
    ASSERT_EQ((*read)[i].found, id < 1500) << id;
    if (id < 1500) {
      EXPECT_EQ((*read)[i].values[1], Value::Int64(id));
      EXPECT_EQ((*read)[i].event_ts, kT0 + id);
    }
  }
}

TEST_P(StoreContractTest, EmptyCallsAndDescribe) {
  EXPECT_EQ(store_->Write(Stats(), {})->rows_written, 0);
  EXPECT_TRUE(store_->Read(Stats(), {})->empty());
  // Reading a view nobody wrote: not found, not an error.
  EXPECT_FALSE(ReadOne(ViewSpec{"proj", "nothing", {"x"}, {}}, Key(1)).found);
  EXPECT_TRUE(store_->Describe().starts_with(GetParam() + ":")) << store_->Describe();
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContractTest, ::testing::Values("sqlite", "redis", "memory"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace featureforge::online
