// The server's direct response writer produces exactly serving::ToFeastJson(...).dump().
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "server_internal.h"

namespace featureforge::worker::server {
namespace {

using serving::FeatureColumn;
using serving::FieldStatus;
using serving::OnlineFeaturesResponse;

TEST(ResponseJson, SameBytesAsToFeastJsonForEveryValueType) {
  const TimestampMicros ts = 1'700'000'000'123'456LL;
  std::vector<Value> values = {
      Value::Null(),
      Value::Bool(true),
      Value{ValueType::kInt32, int32_t{-7}},
      Value{ValueType::kInt64, int64_t{9'007'199'254'740'993LL}},
      Value{ValueType::kFloat, 0.1f},
      Value{ValueType::kFloat, 3.0f},
      Value{ValueType::kFloat, std::numeric_limits<float>::quiet_NaN()},
      Value{ValueType::kDouble, 1e21},
      Value{ValueType::kDouble, -2.5e-7},
      Value{ValueType::kDouble, 100.0},
      Value{ValueType::kDouble, std::numeric_limits<double>::infinity()},
      Value{ValueType::kString, std::string("quote \" backslash \\ tab \t é \x01")},
      Value{ValueType::kString, std::string("bad utf-8 \xff\xfe")},
      Value{ValueType::kBytes, std::string("\x00\x01\xff", 3)},
      Value{ValueType::kUnixTimestamp, int64_t{-1}},
      Value{ValueType::kUnixTimestamp, ts},
      Value{ValueType::kFloatList, std::vector<float>{0.5f, 1.0f / 3}},
      Value{ValueType::kDoubleList, std::vector<double>{}},
      Value{ValueType::kStringList, std::vector<std::string>{"a", "b\"c"}},
      Value{ValueType::kInt64List, std::vector<int64_t>{1, -2}},
      Value{ValueType::kBoolList, std::vector<bool>{true, false}},
  };
  OnlineFeaturesResponse response;
  response.num_join_keys = 1;
  response.num_rows = values.size();
  FeatureColumn key{"driver_id", {}, {}, {}};
  FeatureColumn feature{"view__f\"eature", {}, {}, {}};
  for (size_t i = 0; i < values.size(); ++i) {
    key.values.push_back(Value{ValueType::kInt64, static_cast<int64_t>(i)});
    key.statuses.push_back(FieldStatus::kPresent);
    key.event_timestamps.push_back(0);
    feature.values.push_back(values[i]);
    feature.statuses.push_back(i % 3 == 0   ? FieldStatus::kNotFound
                               : i % 3 == 1 ? FieldStatus::kPresent
                                            : FieldStatus::kOutsideMaxAge);
    feature.event_timestamps.push_back(i % 2 == 0 ? ts : ts + static_cast<int64_t>(i));
  }
  response.columns = {key, feature};
  std::string fast;
  AppendFeastJson(response, &fast);
  EXPECT_EQ(fast, serving::ToFeastJson(response).dump(-1, ' ', false,
                                                      nlohmann::json::error_handler_t::replace));
}

TEST(ResponseJson, EmptyResponse) {
  OnlineFeaturesResponse response;
  std::string fast;
  AppendFeastJson(response, &fast);
  EXPECT_EQ(fast, serving::ToFeastJson(response).dump());
}

}  // namespace
}  // namespace featureforge::worker::server
