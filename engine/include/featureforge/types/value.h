// Feature values. ValueType numbers are Feast's (feast/types/Value.proto) so serialized values and
// entity keys are byte-compatible with what a Feast deployment reads and writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace featureforge {

enum class ValueType : int32_t {
  kInvalid = 0,
  kBytes = 1,
  kString = 2,
  kInt32 = 3,
  kInt64 = 4,
  kDouble = 5,
  kFloat = 6,
  kBool = 7,
  kUnixTimestamp = 8,
  kBytesList = 11,
  kStringList = 12,
  kInt32List = 13,
  kInt64List = 14,
  kDoubleList = 15,
  kFloatList = 16,
  kBoolList = 17,
  kUnixTimestampList = 18,
  kNull = 19,
};

// Feast's schema dtype names ("Int64", "Float32", "Array(Float32)", ...) and ValueType enum names
// ("INT64", "FLOAT_LIST", ...) both parse.
std::optional<ValueType> ParseValueType(std::string_view name);
// Feast dtype spelling: "Int64", "Float32", "Array(String)".
std::string_view ValueTypeName(ValueType type);
bool IsListType(ValueType type);
ValueType ElementType(ValueType list_type);

// One value. Unix timestamps are held as microseconds since the epoch (UTC); serialization to
// Feast's wire format converts to its unit.
struct Value {
  using Storage = std::variant<std::monostate, bool, int32_t, int64_t, float, double, std::string,
                               std::vector<std::string>, std::vector<int32_t>,
                               std::vector<int64_t>, std::vector<float>, std::vector<double>,
                               std::vector<bool>>;
  ValueType type = ValueType::kNull;
  Storage data;

  static Value Null() { return {}; }
  static Value Bool(bool v) { return {ValueType::kBool, v}; }
  static Value Int32(int32_t v) { return {ValueType::kInt32, v}; }
  static Value Int64(int64_t v) { return {ValueType::kInt64, v}; }
  static Value Float(float v) { return {ValueType::kFloat, v}; }
  static Value Double(double v) { return {ValueType::kDouble, v}; }
  static Value String(std::string v) { return {ValueType::kString, std::move(v)}; }
  static Value Bytes(std::string v) { return {ValueType::kBytes, std::move(v)}; }
  static Value UnixTimestamp(int64_t micros) { return {ValueType::kUnixTimestamp, micros}; }
  static Value FloatList(std::vector<float> v) { return {ValueType::kFloatList, std::move(v)}; }
  static Value DoubleList(std::vector<double> v) { return {ValueType::kDoubleList, std::move(v)}; }
  static Value Int64List(std::vector<int64_t> v) { return {ValueType::kInt64List, std::move(v)}; }
  static Value StringList(std::vector<std::string> v) {
    return {ValueType::kStringList, std::move(v)};
  }

  bool is_null() const { return type == ValueType::kNull; }
  bool operator==(const Value& other) const = default;
  // Human/JSON-friendly rendering for logs, tables and test failure messages.
  std::string ToString() const;
};

// An entity key: join key names and their values, in the order the entity defines them.
// Serialization sorts by join key name (Feast's rule), so order here does not matter for storage.
struct EntityKey {
  std::vector<std::string> join_keys;
  std::vector<Value> values;
  bool operator==(const EntityKey& other) const = default;
  std::string ToString() const;
};

}  // namespace featureforge
