// GetOnlineFeatures statuses, TTL edges, naming, errors and Feast's JSON shape, over a real
// SQLite store (and a counting wrapper to check one store Read per view).
#include "featureforge/serving/online_features.h"

#include <gtest/gtest.h>

#include "featureforge/online/memory_store.h"
#include "featureforge/online/sqlite_store.h"
#include "featureforge/testutil/testutil.h"

namespace featureforge::serving {
namespace {

constexpr TimestampMicros kHour = 3'600'000'000;
constexpr TimestampMicros kNow = 1'700'000'000'000'000;

repo::Repo MakeRepo() {
  repo::Repo repo;
  repo.config.project = "proj";
  repo.entities.push_back(repo::Entity{"driver", {"driver_id"}, ValueType::kInt64, "", {}, {}});
  repo.entities.push_back(repo::Entity{"city", {"city_id"}, ValueType::kInt32, "", {}, {}});
  repo::FeatureView stats;
  stats.name = "driver_stats";
  stats.entities = {"driver"};
  stats.ttl = 2 * kHour;
  stats.features = {{"conv_rate", ValueType::kDouble, "", {}},
                    {"trips", ValueType::kInt64, "", {}}};
  repo.feature_views.push_back(stats);
  repo::FeatureView profile;
  profile.name = "driver_profile";
  profile.entities = {"driver"};
  profile.ttl = 0;  // never expires
  profile.features = {{"name", ValueType::kString, "", {}}, {"trips", ValueType::kInt64, "", {}}};
  repo.feature_views.push_back(profile);
  repo::FeatureView city;
  city.name = "city_stats";
  city.entities = {"city"};
  city.features = {{"population", ValueType::kInt64, "", {}}};
  repo.feature_views.push_back(city);
  repo::FeatureView labels;
  labels.name = "labels";
  labels.entities = {"driver"};
  labels.online = false;
  labels.features = {{"label", ValueType::kBool, "", {}}};
  repo.feature_views.push_back(labels);
  return repo;
}

EntityKey Driver(int64_t id) { return EntityKey{{"driver_id"}, {Value::Int64(id)}}; }

// Counts store reads so tests can check one Read per view.
class CountingStore : public online::OnlineStore {
 public:
  explicit CountingStore(online::OnlineStore& inner) : inner_(inner) {}
  Result<online::WriteStats> Write(const online::ViewSpec& v,
                                   std::span<const online::WriteRow> rows) override {
    return inner_.Write(v, rows);
  }
  Result<std::vector<online::ReadRow>> Read(const online::ViewSpec& v,
                                            std::span<const EntityKey> keys) override {
    ++reads;
    keys_read += keys.size();
    return inner_.Read(v, keys);
  }
  Status DeleteView(const std::string& p, const std::string& v) override {
    return inner_.DeleteView(p, v);
  }
  std::string Describe() const override { return inner_.Describe(); }
  int reads = 0;
  size_t keys_read = 0;

 private:
  online::OnlineStore& inner_;
};

class OnlineFeaturesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = online::OpenSqliteOnlineStore({dir_.Join("online.db")});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    sqlite_ = std::move(store).value();
    online::ViewSpec stats{
        "proj", "driver_stats", {"conv_rate", "trips"}, {ValueType::kDouble, ValueType::kInt64}};
    // Driver 1: fresh. Driver 2: exactly at the ttl edge (PRESENT). Driver 3: one micro past it.
    std::vector<online::WriteRow> rows = {
        {Driver(1), {Value::Double(0.5), Value::Int64(10)}, kNow - kHour, 0},
        {Driver(2), {Value::Double(0.6), Value::Int64(20)}, kNow - 2 * kHour, 0},
        {Driver(3), {Value::Double(0.7), Value::Int64(30)}, kNow - 2 * kHour - 1, 0},
    };
    ASSERT_TRUE(sqlite_->Write(stats, rows).ok());
    online::ViewSpec profile{"proj", "driver_profile", {"name", "trips"}, {}};
    std::vector<online::WriteRow> profiles = {
        {Driver(1), {Value::String("Ann"), Value::Int64(100)}, kNow - 1000 * kHour, 0},
    };
    ASSERT_TRUE(sqlite_->Write(profile, profiles).ok());
  }

  testutil::TempDir dir_;
  repo::Repo repo_ = MakeRepo();
  std::unique_ptr<online::OnlineStore> sqlite_;
};

TEST_F(OnlineFeaturesTest, StatusesAndTtlEdges) {
  std::map<std::string, std::vector<Value>> entities = {
      {"driver_id", {Value::Int64(1), Value::Int64(2), Value::Int64(3), Value::Int64(4)}}};
  auto response =
      GetOnlineFeatures(repo_, *sqlite_, {{"driver_stats", {"trips"}}}, entities, false, kNow);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  ASSERT_EQ(response->columns.size(), 2u);
  EXPECT_EQ(response->num_join_keys, 1u);
  EXPECT_EQ(response->num_rows, 4u);
  const FeatureColumn& trips = response->columns[1];
  EXPECT_EQ(trips.name, "trips");
  EXPECT_EQ(trips.statuses,
            (std::vector<FieldStatus>{FieldStatus::kPresent, FieldStatus::kPresent,
                                      FieldStatus::kOutsideMaxAge, FieldStatus::kNotFound}));
  EXPECT_EQ(trips.values[0], Value::Int64(10));
  EXPECT_EQ(trips.values[1], Value::Int64(20));
  EXPECT_TRUE(trips.values[2].is_null());  // expired values are not served
  EXPECT_TRUE(trips.values[3].is_null());
  EXPECT_EQ(trips.event_timestamps, (std::vector<TimestampMicros>{kNow - kHour, kNow - 2 * kHour,
                                                                  kNow - 2 * kHour - 1, 0}));
}

TEST_F(OnlineFeaturesTest, TtlZeroNeverExpiresAndFullNamesTellViewsApart) {
  std::map<std::string, std::vector<Value>> entities = {{"driver_id", {Value::Int64(1)}}};
  auto clash = GetOnlineFeatures(repo_, *sqlite_,
                                 {{"driver_stats", {"trips"}}, {"driver_profile", {"trips"}}},
                                 entities, false, kNow);
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.status().message().find("trips"), std::string::npos);

  auto response = GetOnlineFeatures(
      repo_, *sqlite_, {{"driver_stats", {"trips"}}, {"driver_profile", {}}}, entities, true, kNow);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  std::vector<std::string> names;
  for (const auto& c : response->columns) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"driver_id", "driver_stats__trips",
                                             "driver_profile__name", "driver_profile__trips"}));
  EXPECT_EQ(response->columns[2].statuses[0], FieldStatus::kPresent);  // 1000 h old, ttl 0
  EXPECT_EQ(response->columns[2].values[0], Value::String("Ann"));
  EXPECT_EQ(response->columns[3].values[0], Value::Int64(100));
}

TEST_F(OnlineFeaturesTest, OneStoreReadPerViewWithDistinctKeys) {
  CountingStore counting(*sqlite_);
  std::map<std::string, std::vector<Value>> entities = {
      {"driver_id", {Value::Int64(1), Value::Int64(1), Value::Int64(2), Value::Null()}}};
  auto response = GetOnlineFeatures(
      repo_, counting,
      {{"driver_stats", {"trips"}}, {"driver_profile", {"name"}}, {"driver_stats", {"conv_rate"}}},
      entities, false, kNow);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(counting.reads, 2);
  EXPECT_EQ(counting.keys_read, 4u);  // {1, 2} per view; the null key is not read
  const FeatureColumn& conv_rate = response->columns[3];
  EXPECT_EQ(conv_rate.name, "conv_rate");
  EXPECT_EQ(conv_rate.values[1], Value::Double(0.5));
  EXPECT_EQ(conv_rate.statuses[3], FieldStatus::kNotFound);
}

TEST_F(OnlineFeaturesTest, RequestErrorsNameWhatIsWrong) {
  auto call = [&](std::vector<repo::FeatureViewProjection> features,
                  std::map<std::string, std::vector<Value>> entities) {
    return GetOnlineFeatures(repo_, *sqlite_, features, entities, false, kNow).status();
  };
  Status missing = call({{"driver_stats", {"trips"}}}, {{"city_id", {Value::Int32(1)}}});
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("driver_id"), std::string::npos) << missing.message();

  Status wrong_type = call({{"driver_stats", {"trips"}}}, {{"driver_id", {Value::String("1")}}});
  EXPECT_EQ(wrong_type.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong_type.message().find("driver_id"), std::string::npos) << wrong_type.message();

  Status lengths =
      call({{"driver_stats", {"trips"}}}, {{"driver_id", {Value::Int64(1)}}, {"city_id", {}}});
  EXPECT_EQ(lengths.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(lengths.message().find("city_id"), std::string::npos) << lengths.message();

  Status unknown_view = call({{"nope", {}}}, {{"driver_id", {Value::Int64(1)}}});
  EXPECT_NE(unknown_view.message().find("nope"), std::string::npos);
  Status unknown_feature = call({{"driver_stats", {"nope"}}}, {{"driver_id", {Value::Int64(1)}}});
  EXPECT_NE(unknown_feature.message().find("nope"), std::string::npos);
  Status offline = call({{"labels", {}}}, {{"driver_id", {Value::Int64(1)}}});
  EXPECT_EQ(offline.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(call({}, {{"driver_id", {Value::Int64(1)}}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(call({{"driver_stats", {}}}, {}).code(), StatusCode::kInvalidArgument);
}

TEST_F(OnlineFeaturesTest, IntegerJoinKeysConvertWhenTheyFit) {
  auto store = online::NewMemoryOnlineStore();
  online::ViewSpec city{"proj", "city_stats", {"population"}, {ValueType::kInt64}};
  ASSERT_TRUE(
      store
          ->Write(city,
                  std::vector<online::WriteRow>{
                      {EntityKey{{"city_id"}, {Value::Int32(7)}}, {Value::Int64(700000)}, kNow, 0}})
          .ok());
  // JSON integers arrive as Int64; the entity says Int32.
  auto response = GetOnlineFeatures(repo_, *store, {{"city_stats", {}}},
                                    {{"city_id", {Value::Int64(7)}}}, false, kNow);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->columns[1].values[0], Value::Int64(700000));
  auto too_big = GetOnlineFeatures(repo_, *store, {{"city_stats", {}}},
                                   {{"city_id", {Value::Int64(1LL << 40)}}}, false, kNow);
  EXPECT_EQ(too_big.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(OnlineFeaturesTest, FeastJsonShape) {
  std::map<std::string, std::vector<Value>> entities = {
      {"driver_id", {Value::Int64(1), Value::Int64(3), Value::Int64(4)}}};
  auto response = GetOnlineFeatures(repo_, *sqlite_, {{"driver_stats", {"conv_rate", "trips"}}},
                                    entities, false, kNow);
  ASSERT_TRUE(response.ok());
  const std::string t1 = FormatTimestamp(kNow - kHour);
  const std::string t3 = FormatTimestamp(kNow - 2 * kHour - 1);
  nlohmann::json expected = nlohmann::json::parse(R"({
    "metadata": {"feature_names": ["driver_id", "conv_rate", "trips"]},
    "results": [
      {"values": [1, 3, 4], "statuses": ["PRESENT", "PRESENT", "PRESENT"],
       "event_timestamps": ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"]},
      {"values": [0.5, null, null], "statuses": ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"],
       "event_timestamps": ["T1", "T3", "1970-01-01T00:00:00Z"]},
      {"values": [10, null, null], "statuses": ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"],
       "event_timestamps": ["T1", "T3", "1970-01-01T00:00:00Z"]}
    ]})");
  for (int i : {1, 2}) {
    expected["results"][i]["event_timestamps"][0] = t1;
    expected["results"][i]["event_timestamps"][1] = t3;
  }
  EXPECT_EQ(ToFeastJson(*response), expected) << ToFeastJson(*response).dump(2);
}

TEST(ValueToJsonTest, EveryType) {
  EXPECT_EQ(ValueToJson(Value::Null()), nullptr);
  EXPECT_EQ(ValueToJson(Value::Bytes("hi!")), "aGkh");
  EXPECT_EQ(ValueToJson(Value::Bytes("h")), "aA==");
  EXPECT_EQ(ValueToJson(Value::String("x")), "x");
  EXPECT_EQ(ValueToJson(Value::Int32(-3)), -3);
  EXPECT_EQ(ValueToJson(Value::Int64(1LL << 40)), 1LL << 40);
  EXPECT_EQ(ValueToJson(Value::Double(0.25)), 0.25);
  EXPECT_EQ(ValueToJson(Value::Double(std::nan(""))), nullptr);
  EXPECT_EQ(ValueToJson(Value::Float(1.5f)), 1.5);
  EXPECT_EQ(ValueToJson(Value::Bool(true)), true);
  EXPECT_EQ(ValueToJson(Value::UnixTimestamp(kNow + 999'999)), kNow / 1'000'000);
  EXPECT_EQ(ValueToJson(Value::StringList({"a", "b"})), nlohmann::json({"a", "b"}));
  EXPECT_EQ(ValueToJson(Value::FloatList({0.5f})), nlohmann::json({0.5}));
  EXPECT_EQ(ValueToJson(Value{ValueType::kBoolList, std::vector<bool>{true, false}}),
            nlohmann::json({true, false}));
  EXPECT_EQ(ValueToJson(Value::Int64List({1, 2})), nlohmann::json({1, 2}));
  EXPECT_EQ(ValueToJson(Value{ValueType::kUnixTimestampList, std::vector<int64_t>{2'500'000}}),
            nlohmann::json({2}));
}

}  // namespace
}  // namespace featureforge::serving
