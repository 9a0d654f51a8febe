// Request JSON -> engine values: entity columns, columnar dataframes, typed cells. Every error
// names the field ("entities.driver_id[1]", "df.conv_rate") so a client can find its mistake.
#include <cmath>
#include <limits>

#include "server_internal.h"

namespace featureforge::worker::server {
namespace {

std::string JsonKind(const nlohmann::json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer()) return "an integer";
  if (v.is_number_float()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

bool IntegerCell(const nlohmann::json& cell, int64_t lo, int64_t hi, int64_t* out,
                 std::string* problem) {
  if (cell.is_number_unsigned()) {
    uint64_t u = cell.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) {
      *problem = "integer " + cell.dump() + " is out of range";
      return false;
    }
    *out = static_cast<int64_t>(u);
    return true;
  }
  if (cell.is_number_integer()) {
    int64_t v = cell.get<int64_t>();
    if (v < lo || v > hi) {
      *problem = "integer " + cell.dump() + " is out of range";
      return false;
    }
    *out = v;
    return true;
  }
  *problem = "expected an integer, got " + JsonKind(cell) + " " + cell.dump();
  return false;
}

bool NumberCell(const nlohmann::json& cell, double* out, std::string* problem) {
  if (!cell.is_number()) {
    *problem = "expected a number, got " + JsonKind(cell) + " " + cell.dump();
    return false;
  }
  *out = cell.get<double>();
  return true;
}

}  // namespace

bool ParseJsonObject(const std::string& body, nlohmann::json* out, RequestError* error) {
  *out = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) {
    // Re-parse with exceptions only to get the position for the message.
    std::string detail = "not valid JSON";
    try {
      nlohmann::json ignored = nlohmann::json::parse(body);
      (void)ignored;
    } catch (const nlohmann::json::parse_error& e) {
      detail = e.what();
    }
    *error = {400, "malformed JSON body: " + detail, "body"};
    return false;
  }
  if (!out->is_object()) {
    *error = {422, "the request body must be a JSON object, got " + JsonKind(*out), "body"};
    return false;
  }
  return true;
}

bool JsonToTimestamp(const nlohmann::json& cell, TimestampMicros* out, std::string* problem) {
  if (cell.is_string()) {
    auto ts = ParseTimestamp(cell.get<std::string>());
    if (!ts.ok()) {
      *problem = ts.status().message();
      return false;
    }
    *out = *ts;
    return true;
  }
  if (cell.is_number()) {
    double seconds = cell.get<double>();
    if (!std::isfinite(seconds) || std::abs(seconds) > 9.2e12) {
      *problem = "timestamp " + cell.dump() + " is out of range";
      return false;
    }
    *out = cell.is_number_integer() ? cell.get<int64_t>() * kMicrosPerSecond
                                    : static_cast<TimestampMicros>(std::llround(seconds * 1e6));
    return true;
  }
  *problem = "expected an ISO-8601 timestamp string or epoch seconds, got " + JsonKind(cell);
  return false;
}

bool JsonToValue(const nlohmann::json& cell, ValueType type, Value* out, std::string* problem) {
  if (cell.is_null()) {
    *out = Value::Null();
    return true;
  }
  if (IsListType(type)) {
    if (!cell.is_array()) {
      *problem =
          "expected an array for " + std::string(ValueTypeName(type)) + ", got " + JsonKind(cell);
      return false;
    }
    ValueType element = ElementType(type);
    std::vector<Value> items;
    for (size_t i = 0; i < cell.size(); ++i) {
      Value item;
      if (!JsonToValue(cell[i], element, &item, problem) || item.is_null()) {
        if (item.is_null() && problem->empty()) *problem = "null inside a list";
        *problem = "element " + std::to_string(i) + ": " + *problem;
        return false;
      }
      items.push_back(std::move(item));
    }
    Value list;
    list.type = type;
    auto fill = [&](auto vec) {
      using T = typename decltype(vec)::value_type;
      for (auto& item : items) vec.push_back(std::get<T>(item.data));
      list.data = std::move(vec);
    };
    switch (type) {
      case ValueType::kStringList:
      case ValueType::kBytesList:
        fill(std::vector<std::string>{});
        break;
      case ValueType::kInt32List:
        fill(std::vector<int32_t>{});
        break;
      case ValueType::kInt64List:
      case ValueType::kUnixTimestampList:
        fill(std::vector<int64_t>{});
        break;
      case ValueType::kFloatList:
        fill(std::vector<float>{});
        break;
      case ValueType::kDoubleList:
        fill(std::vector<double>{});
        break;
      case ValueType::kBoolList:
        fill(std::vector<bool>{});
        break;
      default:
        *problem = "unsupported list type " + std::string(ValueTypeName(type));
        return false;
    }
    *out = std::move(list);
    return true;
  }
  switch (type) {
    case ValueType::kInt64: {
      int64_t v = 0;
      if (!IntegerCell(cell, std::numeric_limits<int64_t>::min(),
                       std::numeric_limits<int64_t>::max(), &v, problem)) {
        return false;
      }
      *out = Value::Int64(v);
      return true;
    }
    case ValueType::kInt32: {
      int64_t v = 0;
      if (!IntegerCell(cell, std::numeric_limits<int32_t>::min(),
                       std::numeric_limits<int32_t>::max(), &v, problem)) {
        return false;
      }
      *out = Value::Int32(static_cast<int32_t>(v));
      return true;
    }
    case ValueType::kDouble:
    case ValueType::kFloat: {
      double v = 0;
      if (!NumberCell(cell, &v, problem)) return false;
      *out = type == ValueType::kDouble ? Value::Double(v) : Value::Float(static_cast<float>(v));
      return true;
    }
    case ValueType::kBool:
      if (!cell.is_boolean()) {
        *problem = "expected a boolean, got " + JsonKind(cell) + " " + cell.dump();
        return false;
      }
      *out = Value::Bool(cell.get<bool>());
      return true;
    case ValueType::kString:
    case ValueType::kBytes:
      if (!cell.is_string()) {
        *problem = "expected a string, got " + JsonKind(cell) + " " + cell.dump();
        return false;
      }
      *out = type == ValueType::kString ? Value::String(cell.get<std::string>())
                                        : Value::Bytes(cell.get<std::string>());
      return true;
    case ValueType::kUnixTimestamp: {
      TimestampMicros ts = 0;
      if (!JsonToTimestamp(cell, &ts, problem)) return false;
      *out = Value::UnixTimestamp(ts);
      return true;
    }
    default:
      *problem = "unsupported value type " + std::string(ValueTypeName(type));
      return false;
  }
}

bool EntityColumnsFromJson(const repo::Repo& repo, const nlohmann::json& entities,
                           std::map<std::string, std::vector<Value>>* columns,
                           RequestError* error) {
  if (!entities.is_object() || entities.empty()) {
    *error = {422, "\"entities\" must be an object of join key -> list of values", "entities"};
    return false;
  }
  size_t rows = 0;
  bool first = true;
  for (const auto& [key, values] : entities.items()) {
    const std::string field = "entities." + key;
    const repo::Entity* entity = nullptr;
    for (const auto& e : repo.entities) {
      for (const auto& k : e.join_keys) {
        if (k == key) entity = &e;
      }
    }
    if (entity == nullptr) {
      std::string known;
      for (const auto& e : repo.entities) {
        for (const auto& k : e.join_keys) known += (known.empty() ? "" : ", ") + k;
      }
      *error = {422, "unknown join key '" + key + "' (known: " + known + ")", field};
      return false;
    }
    if (!values.is_array()) {
      *error = {422, "entity column '" + key + "' must be a list of values", field};
      return false;
    }
    if (!first && values.size() != rows) {
      *error = {422,
                "entity column '" + key + "' has " + std::to_string(values.size()) +
                    " values, other columns have " + std::to_string(rows),
                field};
      return false;
    }
    first = false;
    rows = values.size();
    std::vector<Value>& column = (*columns)[key];
    column.reserve(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      Value v;
      std::string problem;
      if (!JsonToValue(values[i], entity->value_type, &v, &problem)) {
        *error = {422,
                  "join key '" + key + "' of entity '" + entity->name + "' is " +
                      std::string(ValueTypeName(entity->value_type)) + ": " + problem,
                  field + "[" + std::to_string(i) + "]"};
        return false;
      }
      column.push_back(std::move(v));
    }
  }
  return true;
}

bool RowsFromDataframe(const repo::Repo& repo, const repo::FeatureView& view,
                       const nlohmann::json& df, const std::string& timestamp_field,
                       const std::string& created_field,
                       const std::map<std::string, std::string>& field_mapping,
                       std::vector<online::WriteRow>* rows, RequestError* error) {
  if (!df.is_object() || df.empty()) {
    *error = {422, "\"df\" must be an object of column -> list of values", "df"};
    return false;
  }
  size_t n = 0;
  bool first = true;
  for (const auto& [name, column] : df.items()) {
    if (!column.is_array()) {
      *error = {422, "column '" + name + "' must be a list of values", "df." + name};
      return false;
    }
    if (!first && column.size() != n) {
      *error = {422,
                "column '" + name + "' has " + std::to_string(column.size()) +
                    " values, other columns have " + std::to_string(n),
                "df." + name};
      return false;
    }
    first = false;
    n = column.size();
  }
  // The df uses source column names; field_mapping renames source columns to feature names.
  auto column_for = [&](const std::string& feature) {
    for (const auto& [source_col, feature_name] : field_mapping) {
      if (feature_name == feature) return source_col;
    }
    return feature;
  };
  auto require = [&](const std::string& col, const std::string& what) -> const nlohmann::json* {
    if (!df.contains(col)) {
      *error = {422,
                "missing column '" + col + "' (" + what + " of feature view '" + view.name + "')",
                "df." + col};
      return nullptr;
    }
    return &df[col];
  };

  std::vector<std::string> join_keys;
  std::vector<ValueType> key_types;
  for (const auto& entity_name : view.entities) {
    const repo::Entity* e = repo.FindEntity(entity_name);
    if (e == nullptr) continue;
    for (const auto& k : e->join_keys) {
      join_keys.push_back(k);
      key_types.push_back(e->value_type);
    }
  }
  std::vector<const nlohmann::json*> key_cols;
  for (const auto& k : join_keys) {
    const nlohmann::json* c = require(k, "join key");
    if (c == nullptr) return false;
    key_cols.push_back(c);
  }
  const nlohmann::json* ts_col = require(timestamp_field, "timestamp field");
  if (ts_col == nullptr) return false;
  const nlohmann::json* created_col =
      !created_field.empty() && df.contains(created_field) ? &df[created_field] : nullptr;
  std::vector<const nlohmann::json*> feature_cols;
  std::vector<std::string> feature_col_names;
  for (const auto& f : view.features) {
    std::string col = column_for(f.name);
    const nlohmann::json* c = require(col, "feature");
    if (c == nullptr) return false;
    feature_cols.push_back(c);
    feature_col_names.push_back(col);
  }

  rows->reserve(n);
  for (size_t i = 0; i < n; ++i) {
    online::WriteRow row;
    const std::string at = "[" + std::to_string(i) + "]";
    std::string problem;
    for (size_t k = 0; k < join_keys.size(); ++k) {
      Value v;
      if (!JsonToValue((*key_cols[k])[i], key_types[k], &v, &problem) || v.is_null()) {
        if (problem.empty()) problem = "a join key cannot be null";
        *error = {422, "join key '" + join_keys[k] + "': " + problem, "df." + join_keys[k] + at};
        return false;
      }
      row.entity_key.join_keys.push_back(join_keys[k]);
      row.entity_key.values.push_back(std::move(v));
    }
    if (!JsonToTimestamp((*ts_col)[i], &row.event_ts, &problem)) {
      *error = {422, "timestamp field '" + timestamp_field + "': " + problem,
                "df." + timestamp_field + at};
      return false;
    }
    if (created_col != nullptr && !(*created_col)[i].is_null() &&
        !JsonToTimestamp((*created_col)[i], &row.created_ts, &problem)) {
      *error = {422, "created timestamp '" + created_field + "': " + problem,
                "df." + created_field + at};
      return false;
    }
    for (size_t f = 0; f < view.features.size(); ++f) {
      Value v;
      if (!JsonToValue((*feature_cols[f])[i], view.features[f].type, &v, &problem)) {
        *error = {422,
                  "feature '" + view.features[f].name + "' is " +
                      std::string(ValueTypeName(view.features[f].type)) + ": " + problem,
                  "df." + feature_col_names[f] + at};
        return false;
      }
      row.values.push_back(std::move(v));
    }
    rows->push_back(std::move(row));
  }
  return true;
}

}  // namespace featureforge::worker::server
