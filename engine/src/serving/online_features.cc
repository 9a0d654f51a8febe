#include "featureforge/serving/online_features.h"

#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>

#include "featureforge/online/serialization.h"

namespace featureforge::serving {
namespace {

// The features one view contributes, and where each lands in the response.
struct ViewRequest {
  const repo::FeatureView* view = nullptr;
  std::vector<std::string> features;
  std::vector<ValueType> types;
  std::vector<size_t> output_columns;
};

ValueType JoinKeyType(const repo::Repo& repo, const repo::FeatureView& view,
                      const std::string& join_key) {
  for (const auto& entity_name : view.entities) {
    const repo::Entity* entity = repo.FindEntity(entity_name);
    if (entity == nullptr) continue;
    for (const auto& k : entity->join_keys) {
      if (k == join_key) return entity->value_type;
    }
  }
  return ValueType::kInvalid;
}

// Converts a request value to the join key's declared type; nullopt-like Null passes through.
Result<Value> CoerceJoinKeyValue(const Value& v, ValueType want, const std::string& join_key,
                                 size_t row) {
  if (v.is_null() || v.type == want || want == ValueType::kInvalid) return v;
  if (want == ValueType::kInt64 && v.type == ValueType::kInt32) {
    return Value::Int64(std::get<int32_t>(v.data));
  }
  if (want == ValueType::kInt32 && v.type == ValueType::kInt64) {
    int64_t x = std::get<int64_t>(v.data);
    if (x >= std::numeric_limits<int32_t>::min() && x <= std::numeric_limits<int32_t>::max()) {
      return Value::Int32(static_cast<int32_t>(x));
    }
  }
  if (want == ValueType::kUnixTimestamp && v.type == ValueType::kInt64) {
    return Value::UnixTimestamp(std::get<int64_t>(v.data));
  }
  return Status::InvalidArgument("join key '" + join_key + "' row " + std::to_string(row) +
                                 ": value " + v.ToString() + " of type " +
                                 std::string(ValueTypeName(v.type)) + " where the entity says " +
                                 std::string(ValueTypeName(want)));
}

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint32_t{static_cast<unsigned char>(in[i])} << 16) |
                 (uint32_t{static_cast<unsigned char>(in[i + 1])} << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(n >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t n = uint32_t{static_cast<unsigned char>(in[i])} << 16;
    if (i + 1 < in.size()) n |= uint32_t{static_cast<unsigned char>(in[i + 1])} << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

int64_t FloorSeconds(int64_t micros) {
  int64_t s = micros / kMicrosPerSecond;
  return micros % kMicrosPerSecond < 0 ? s - 1 : s;
}

template <typename F>
nlohmann::json JsonNumber(F v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

}  // namespace

std::string_view FieldStatusName(FieldStatus status) {
  switch (status) {
    case FieldStatus::kPresent:
      return "PRESENT";
    case FieldStatus::kNotFound:
      return "NOT_FOUND";
    case FieldStatus::kOutsideMaxAge:
      return "OUTSIDE_MAX_AGE";
  }
  return "INVALID";
}

Result<OnlineFeaturesResponse> GetOnlineFeatures(
    const repo::Repo& repo, online::OnlineStore& store,
    const std::vector<repo::FeatureViewProjection>& features,
    const std::map<std::string, std::vector<Value>>& entity_columns, bool full_feature_names,
    TimestampMicros now) {
  if (entity_columns.empty()) {
    return Status::InvalidArgument("no entity columns given: pass at least one join key");
  }
  OnlineFeaturesResponse response;
  response.num_rows = entity_columns.begin()->second.size();
  for (const auto& [name, values] : entity_columns) {
    if (values.size() != response.num_rows) {
      return Status::InvalidArgument("entity columns have different lengths: '" +
                                     entity_columns.begin()->first + "' has " +
                                     std::to_string(response.num_rows) + " values, '" + name +
                                     "' has " + std::to_string(values.size()));
    }
  }
  if (features.empty()) return Status::InvalidArgument("no features requested");

  // Entity columns first, PRESENT, like Feast.
  for (const auto& [name, values] : entity_columns) {
    FeatureColumn column;
    column.name = name;
    column.values = values;
    column.statuses.assign(values.size(), FieldStatus::kPresent);
    column.event_timestamps.assign(values.size(), 0);
    response.columns.push_back(std::move(column));
  }
  response.num_join_keys = response.columns.size();

  // Resolve the request into per-view reads, keeping the requested column order.
  std::vector<ViewRequest> requests;
  std::map<std::string, size_t> request_of_view;
  std::set<std::string> output_names;
  for (const auto& projection : features) {
    const repo::FeatureView* view = repo.FindFeatureView(projection.view);
    if (view == nullptr) {
      return Status::InvalidArgument("unknown feature view '" + projection.view + "'");
    }
    if (!view->online) {
      return Status::FailedPrecondition("feature view '" + view->name +
                                        "' is offline-only (online: false)");
    }
    if (view->entities.empty()) {
      return Status::NotSupported("online reads of entity-less feature view '" + view->name + "'");
    }
    auto [it, inserted] = request_of_view.try_emplace(view->name, requests.size());
    if (inserted) requests.push_back(ViewRequest{view, {}, {}, {}});
    ViewRequest& request = requests[it->second];
    std::vector<std::string> names = projection.features;
    if (names.empty()) {
      for (const auto& f : view->features) names.push_back(f.name);
    }
    for (const auto& feature : names) {
      const repo::Field* field = view->FindFeature(feature);
      if (field == nullptr) {
        return Status::InvalidArgument("feature view '" + view->name + "' has no feature '" +
                                       feature + "'");
      }
      FeatureColumn column;
      column.name = full_feature_names ? view->name + "__" + feature : feature;
      if (!output_names.insert(column.name).second) {
        return Status::InvalidArgument(
            "feature name '" + column.name + "' is requested twice" +
            (full_feature_names ? "" : " (use full_feature_names to tell views apart)"));
      }
      column.values.assign(response.num_rows, Value::Null());
      column.statuses.assign(response.num_rows, FieldStatus::kNotFound);
      column.event_timestamps.assign(response.num_rows, 0);
      request.features.push_back(feature);
      request.types.push_back(field->type);
      request.output_columns.push_back(response.columns.size());
      response.columns.push_back(std::move(column));
    }
  }

  // Distinct keys per view; key_of_row[v][row] indexes reads[v].keys, or is -1 when a join
  // value is null.
  std::vector<online::ReadRequest> reads;
  std::vector<std::vector<int64_t>> key_of_row(requests.size());
  for (size_t v = 0; v < requests.size(); ++v) {
    const ViewRequest& request = requests[v];
    const repo::FeatureView& view = *request.view;
    const std::vector<std::string> join_keys = repo.JoinKeys(view);
    std::vector<const std::vector<Value>*> key_columns;
    std::vector<ValueType> key_types;
    for (const auto& join_key : join_keys) {
      auto it = entity_columns.find(join_key);
      if (it == entity_columns.end()) {
        return Status::InvalidArgument("missing join key column '" + join_key +
                                       "' needed by feature view '" + view.name + "'");
      }
      key_columns.push_back(&it->second);
      key_types.push_back(JoinKeyType(repo, view, join_key));
    }

    online::ReadRequest read{
        online::ViewSpec{repo.config.project, view.name, request.features, request.types}, {}};
    key_of_row[v].assign(response.num_rows, -1);
    std::unordered_map<std::string, size_t> index_of_key;
    std::string serialized;
    for (size_t row = 0; row < response.num_rows; ++row) {
      EntityKey key;
      key.join_keys = join_keys;
      bool has_null = false;
      for (size_t k = 0; k < join_keys.size(); ++k) {
        FF_ASSIGN_OR_RETURN(Value value, CoerceJoinKeyValue((*key_columns[k])[row], key_types[k],
                                                            join_keys[k], row));
        has_null |= value.is_null();
        key.values.push_back(std::move(value));
      }
      if (has_null) continue;
      FF_ASSIGN_OR_RETURN(serialized, online::SerializeEntityKey(key));
      auto [it, inserted] = index_of_key.try_emplace(serialized, read.keys.size());
      if (inserted) read.keys.push_back(std::move(key));
      key_of_row[v][row] = static_cast<int64_t>(it->second);
    }
    reads.push_back(std::move(read));
  }

  // Every view in one call: one round trip on Redis.
  FF_ASSIGN_OR_RETURN(auto results, store.ReadMany(reads));
  if (results.size() != reads.size()) {
    return Status::Internal(store.Describe() + " answered " + std::to_string(results.size()) +
                            " of " + std::to_string(reads.size()) + " view reads");
  }
  for (size_t v = 0; v < requests.size(); ++v) {
    const ViewRequest& request = requests[v];
    const repo::FeatureView& view = *request.view;
    const std::vector<online::ReadRow>& rows = results[v];
    if (rows.size() != reads[v].keys.size()) {
      return Status::Internal(store.Describe() + " returned " + std::to_string(rows.size()) +
                              " rows for " + std::to_string(reads[v].keys.size()) + " keys");
    }
    for (size_t row = 0; row < response.num_rows; ++row) {
      if (key_of_row[v][row] < 0) continue;
      const online::ReadRow& read = rows[static_cast<size_t>(key_of_row[v][row])];
      if (!read.found) continue;
      const bool expired = view.ttl > 0 && read.event_ts < now - view.ttl;
      for (size_t f = 0; f < request.features.size(); ++f) {
        FeatureColumn& column = response.columns[request.output_columns[f]];
        column.event_timestamps[row] = read.event_ts;
        if (expired) {
          column.statuses[row] = FieldStatus::kOutsideMaxAge;
        } else {
          column.statuses[row] = FieldStatus::kPresent;
          if (f < read.values.size()) column.values[row] = read.values[f];
        }
      }
    }
  }
  return response;
}

nlohmann::json ValueToJson(const Value& value) {
  const auto& d = value.data;
  switch (value.type) {
    case ValueType::kNull:
    case ValueType::kInvalid:
      return nullptr;
    case ValueType::kBytes:
      return Base64(std::get<std::string>(d));
    case ValueType::kString:
      return std::get<std::string>(d);
    case ValueType::kInt32:
      return std::get<int32_t>(d);
    case ValueType::kInt64:
      return std::get<int64_t>(d);
    case ValueType::kDouble:
      return JsonNumber(std::get<double>(d));
    case ValueType::kFloat:
      return JsonNumber(std::get<float>(d));
    case ValueType::kBool:
      return std::get<bool>(d);
    case ValueType::kUnixTimestamp:
      return FloorSeconds(std::get<int64_t>(d));
    case ValueType::kBytesList: {
      auto out = nlohmann::json::array();
      for (const auto& s : std::get<std::vector<std::string>>(d)) out.push_back(Base64(s));
      return out;
    }
    case ValueType::kStringList:
      return std::get<std::vector<std::string>>(d);
    case ValueType::kInt32List:
      return std::get<std::vector<int32_t>>(d);
    case ValueType::kInt64List:
      return std::get<std::vector<int64_t>>(d);
    case ValueType::kDoubleList: {
      auto out = nlohmann::json::array();
      for (double x : std::get<std::vector<double>>(d)) out.push_back(JsonNumber(x));
      return out;
    }
    case ValueType::kFloatList: {
      auto out = nlohmann::json::array();
      for (float x : std::get<std::vector<float>>(d)) out.push_back(JsonNumber(x));
      return out;
    }
    case ValueType::kBoolList: {
      auto out = nlohmann::json::array();
      for (bool x : std::get<std::vector<bool>>(d)) out.push_back(x);
      return out;
    }
    case ValueType::kUnixTimestampList: {
      auto out = nlohmann::json::array();
      for (int64_t x : std::get<std::vector<int64_t>>(d)) out.push_back(FloorSeconds(x));
      return out;
    }
  }
  return nullptr;
}

nlohmann::json ToFeastJson(const OnlineFeaturesResponse& response) {
  nlohmann::json names = nlohmann::json::array();
  nlohmann::json results = nlohmann::json::array();
  for (const FeatureColumn& column : response.columns) {
    names.push_back(column.name);
    nlohmann::json values = nlohmann::json::array();
    nlohmann::json statuses = nlohmann::json::array();
    nlohmann::json timestamps = nlohmann::json::array();
    for (size_t row = 0; row < column.values.size(); ++row) {
      values.push_back(ValueToJson(column.values[row]));
      statuses.push_back(std::string(FieldStatusName(column.statuses[row])));
      timestamps.push_back(FormatTimestamp(column.event_timestamps[row]));
    }
    results.push_back({{"values", std::move(values)},
                       {"statuses", std::move(statuses)},
                       {"event_timestamps", std::move(timestamps)}});
  }
  return {{"metadata", {{"feature_names", std::move(names)}}}, {"results", std::move(results)}};
}

}  // namespace featureforge::serving
