#include "store_util.h"

#include "featureforge/online/serialization.h"

namespace featureforge::online {

Status ValidateWriteRows(const ViewSpec& view, std::span<const WriteRow> rows) {
  const size_t n = view.feature_names.size();
  const bool typed = view.feature_types.size() == n;
  if (!view.feature_types.empty() && !typed) {
    return Status::InvalidArgument("view " + view.view + ": " + std::to_string(n) +
                                   " feature names but " +
                                   std::to_string(view.feature_types.size()) + " feature types");
  }
  for (const WriteRow& row : rows) {
    if (row.values.size() != n) {
      return Status::InvalidArgument("view " + view.view + " key " + row.entity_key.ToString() +
                                     ": " + std::to_string(row.values.size()) + " values for " +
                                     std::to_string(n) + " features");
    }
    if (Status s = ValidateEntityKeyTypes(row.entity_key); !s.ok()) {
      return s.WithContext("view " + view.view);
    }
    if (!typed) continue;
    for (size_t i = 0; i < n; ++i) {
      const Value& v = row.values[i];
      if (!v.is_null() && v.type != view.feature_types[i]) {
        return Status::InvalidArgument(
            "view " + view.view + " feature " + view.feature_names[i] + " key " +
            row.entity_key.ToString() + ": value of type " + std::string(ValueTypeName(v.type)) +
            " where the schema says " + std::string(ValueTypeName(view.feature_types[i])));
      }
    }
  }
  return Status::OK();
}

std::vector<std::string> FeatureFields(const ViewSpec& view) {
  std::vector<std::string> fields;
  fields.reserve(view.feature_names.size());
  for (const auto& f : view.feature_names) fields.push_back(RedisFeatureField(view.view, f));
  return fields;
}

void EncodePayload(const std::vector<std::string>& fields, const std::vector<Value>& values,
                   std::string* out) {
  std::string value_bytes;
  for (size_t i = 0; i < fields.size(); ++i) {
    value_bytes.clear();
    EncodeValueProtoTo(values[i], &value_bytes);
    out->append(fields[i]);
    AppendVarint(value_bytes.size(), out);
    out->append(value_bytes);
  }
}

Status DecodePayload(const std::vector<std::string>& fields, std::string_view payload,
                     std::vector<Value>* values) {
  values->assign(fields.size(), Value::Null());
  size_t pos = 0;
  while (pos < payload.size()) {
    if (payload.size() - pos < 4) return Status::Corruption("online row payload: truncated field");
    std::string_view field = payload.substr(pos, 4);
    pos += 4;
    uint64_t len = 0;
    if (!ReadVarint(payload, &pos, &len) || len > payload.size() - pos) {
      return Status::Corruption("online row payload: truncated value");
    }
    std::string_view bytes = payload.substr(pos, len);
    pos += len;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i] != field) continue;
      FF_ASSIGN_OR_RETURN((*values)[i], DecodeValueProto(bytes));
    }
  }
  return Status::OK();
}

}  // namespace featureforge::online
