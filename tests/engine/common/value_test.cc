#include "featureforge/types/value.h"

#include <gtest/gtest.h>

namespace featureforge {
namespace {

TEST(ValueTest, ParsesFeastTypeNames) {
  EXPECT_EQ(ParseValueType("Int64"), ValueType::kInt64);
  EXPECT_EQ(ParseValueType("INT64"), ValueType::kInt64);
  EXPECT_EQ(ParseValueType("Float32"), ValueType::kFloat);
  EXPECT_EQ(ParseValueType("Array(Float32)"), ValueType::kFloatList);
  EXPECT_EQ(ParseValueType("FLOAT_LIST"), ValueType::kFloatList);
  EXPECT_FALSE(ParseValueType("Decimal").has_value());
  EXPECT_EQ(ValueTypeName(ValueType::kDouble), "Float64");
  EXPECT_EQ(ElementType(ValueType::kStringList), ValueType::kString);
}

TEST(ValueTest, Renders) {
  EXPECT_EQ(Value::Int64(42).ToString(), "42");
  EXPECT_EQ(Value::Null().ToString(), "null");
  EXPECT_EQ(Value::FloatList({1.5f, 2}).ToString(), "[1.500000, 2.000000]");
  EXPECT_EQ(Value::UnixTimestamp(0).ToString(), "1970-01-01T00:00:00Z");
  EntityKey key{{"driver_id"}, {Value::Int64(1001)}};
  EXPECT_EQ(key.ToString(), "driver_id=1001");
}

}  // namespace
}  // namespace featureforge
