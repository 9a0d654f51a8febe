#include "featureforge/types/value.h"

#include <array>
#include <cstdio>
#include <utility>

#include "featureforge/common/time.h"

namespace featureforge {
namespace {

struct TypeName {
  ValueType type;
  std::string_view dtype;     // Feast's type-system spelling
  std::string_view enum_name;  // Feast's ValueType enum spelling
};

constexpr std::array<TypeName, 17> kTypeNames = {{
    {ValueType::kBytes, "Bytes", "BYTES"},
    {ValueType::kString, "String", "STRING"},
    {ValueType::kInt32, "Int32", "INT32"},
    {ValueType::kInt64, "Int64", "INT64"},
    {ValueType::kDouble, "Float64", "DOUBLE"},
    {ValueType::kFloat, "Float32", "FLOAT"},
    {ValueType::kBool, "Bool", "BOOL"},
    {ValueType::kUnixTimestamp, "UnixTimestamp", "UNIX_TIMESTAMP"},
    {ValueType::kBytesList, "Array(Bytes)", "BYTES_LIST"},
    {ValueType::kStringList, "Array(String)", "STRING_LIST"},
    {ValueType::kInt32List, "Array(Int32)", "INT32_LIST"},
    {ValueType::kInt64List, "Array(Int64)", "INT64_LIST"},
    {ValueType::kDoubleList, "Array(Float64)", "DOUBLE_LIST"},
    {ValueType::kFloatList, "Array(Float32)", "FLOAT_LIST"},
    {ValueType::kBoolList, "Array(Bool)", "BOOL_LIST"},
    {ValueType::kUnixTimestampList, "Array(UnixTimestamp)", "UNIX_TIMESTAMP_LIST"},
    {ValueType::kNull, "Null", "NULL"},
}};

template <typename T>
std::string JoinList(const std::vector<T>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ", ";
    if constexpr (std::is_same_v<T, std::string>) {
      out += items[i];
    } else if constexpr (std::is_same_v<T, bool>) {
      out += items[i] ? "true" : "false";
    } else {
      out += std::to_string(items[i]);
    }
  }
  return out + "]";
}

}  // namespace

std::optional<ValueType> ParseValueType(std::string_view name) {
  for (const auto& t : kTypeNames) {
    if (name == t.dtype || name == t.enum_name) return t.type;
  }
  // Common aliases users write.
  if (name == "Float") return ValueType::kFloat;
  if (name == "Double") return ValueType::kDouble;
  if (name == "Int") return ValueType::kInt64;
  return std::nullopt;
}

std::string_view ValueTypeName(ValueType type) {
  for (const auto& t : kTypeNames) {
    if (t.type == type) return t.dtype;
  }
  return "Invalid";
}

bool IsListType(ValueType type) {
  int v = static_cast<int>(type);
  return v >= 11 && v <= 18;
}

ValueType ElementType(ValueType list_type) {
  if (!IsListType(list_type)) return list_type;
  return static_cast<ValueType>(static_cast<int>(list_type) - 10);
}

std::string Value::ToString() const {
  if (type == ValueType::kUnixTimestamp) {
    if (auto* v = std::get_if<int64_t>(&data)) return FormatTimestamp(*v);
  }
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return "null";
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
          char buf[64];
          std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(v));
          return buf;
        } else if constexpr (std::is_arithmetic_v<T>) {
          return std::to_string(v);
        } else {
          return JoinList(v);
        }
      },
      data);
}

std::string EntityKey::ToString() const {
  std::string out;
  for (size_t i = 0; i < join_keys.size(); ++i) {
    if (i) out += ",";
    out += join_keys[i] + "=" + (i < values.size() ? values[i].ToString() : "?");
  }
  return out;
}

}  // namespace featureforge
