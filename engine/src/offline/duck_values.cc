#include "featureforge/offline/duck_values.h"

#include <cmath>
#include <limits>
#include <string_view>

namespace featureforge::offline {
namespace {

duckdb_type ExpectedTypeId(ValueType type) {
  switch (type) {
    case ValueType::kBytes:
      return DUCKDB_TYPE_BLOB;
    case ValueType::kString:
      return DUCKDB_TYPE_VARCHAR;
    case ValueType::kInt32:
      return DUCKDB_TYPE_INTEGER;
    case ValueType::kInt64:
      return DUCKDB_TYPE_BIGINT;
    case ValueType::kDouble:
      return DUCKDB_TYPE_DOUBLE;
    case ValueType::kFloat:
      return DUCKDB_TYPE_FLOAT;
    case ValueType::kBool:
      return DUCKDB_TYPE_BOOLEAN;
    case ValueType::kUnixTimestamp:
      return DUCKDB_TYPE_TIMESTAMP;
    default:
      return IsListType(type) ? DUCKDB_TYPE_LIST : DUCKDB_TYPE_INVALID;
  }
}

duckdb_type VectorTypeId(duckdb_vector vector) {
  duckdb_logical_type logical = duckdb_vector_get_column_type(vector);
  duckdb_type id = duckdb_get_type_id(logical);
  duckdb_destroy_logical_type(&logical);
  return id;
}

bool RowValid(const uint64_t* validity, uint64_t row) {
  return validity == nullptr || duckdb_validity_row_is_valid(const_cast<uint64_t*>(validity), row);
}

std::string ReadString(duckdb_string_t* strings, uint64_t row) {
  duckdb_string_t* s = &strings[row];
  return std::string(duckdb_string_t_data(s), duckdb_string_t_length(*s));
}

// Reads element `i` of a flat child vector of scalar type `element` into `list`.
template <typename T>
Status AppendElements(duckdb_vector child, const duckdb_list_entry& entry, ValueType element,
                      const std::string& what, std::vector<T>* list) {
  const uint64_t* validity = duckdb_vector_get_validity(child);
  void* data = duckdb_vector_get_data(child);
  list->reserve(entry.length);
  for (uint64_t i = entry.offset; i < entry.offset + entry.length; ++i) {
    if (!RowValid(validity, i)) {
      if constexpr (std::is_floating_point_v<T>) {
        list->push_back(std::numeric_limits<T>::quiet_NaN());
        continue;
      } else {
        return Status::InvalidArgument(what + ": a list holds a NULL element, which " +
                                       std::string(ValueTypeName(element)) +
                                       " lists cannot represent");
      }
    }
    if constexpr (std::is_same_v<T, std::string>) {
      list->push_back(ReadString(static_cast<duckdb_string_t*>(data), i));
    } else if constexpr (std::is_same_v<T, bool>) {
      list->push_back(static_cast<const bool*>(data)[i]);
    } else if (element == ValueType::kUnixTimestamp) {
      list->push_back(static_cast<const duckdb_timestamp*>(data)[i].micros);
    } else {
      list->push_back(static_cast<const T*>(data)[i]);
    }
  }
  return Status::OK();
}

template <typename T>
Status AppendList(duckdb_vector vector, uint64_t count, ValueType type, const std::string& what,
                  std::vector<Value>* out) {
  const uint64_t* validity = duckdb_vector_get_validity(vector);
  const auto* entries = static_cast<const duckdb_list_entry*>(duckdb_vector_get_data(vector));
  duckdb_vector child = duckdb_list_vector_get_child(vector);
  if (VectorTypeId(child) != ExpectedTypeId(ElementType(type))) {
    return Status::Internal(what + ": list elements are not " + DuckSqlType(ElementType(type)));
  }
  for (uint64_t row = 0; row < count; ++row) {
    if (!RowValid(validity, row)) {
      out->push_back(Value::Null());
      continue;
    }
    std::vector<T> list;
    FF_RETURN_IF_ERROR(AppendElements(child, entries[row], ElementType(type), what, &list));
    out->push_back(Value{type, std::move(list)});
  }
  return Status::OK();
}

template <typename T>
void AppendScalars(duckdb_vector vector, uint64_t count, ValueType type, std::vector<Value>* out) {
  const uint64_t* validity = duckdb_vector_get_validity(vector);
  const T* data = static_cast<const T*>(duckdb_vector_get_data(vector));
  for (uint64_t row = 0; row < count; ++row) {
    if (!RowValid(validity, row)) {
      out->push_back(Value::Null());
    } else {
      out->push_back(Value{type, data[row]});
    }
  }
}

}  // namespace

std::string DuckSqlType(ValueType type) {
  switch (type) {
    case ValueType::kBytes:
      return "BLOB";
    case ValueType::kString:
      return "VARCHAR";
    case ValueType::kInt32:
      return "INTEGER";
    case ValueType::kInt64:
      return "BIGINT";
    case ValueType::kDouble:
      return "DOUBLE";
    case ValueType::kFloat:
      return "FLOAT";
    case ValueType::kBool:
      return "BOOLEAN";
    case ValueType::kUnixTimestamp:
      return "TIMESTAMP";
    default:
      if (IsListType(type)) return DuckSqlType(ElementType(type)) + "[]";
      return "";
  }
}

Status AppendVectorValues(duckdb_vector vector, uint64_t count, ValueType type,
                          const std::string& what, std::vector<Value>* out) {
  duckdb_type expected = ExpectedTypeId(type);
  if (expected == DUCKDB_TYPE_INVALID) {
    return Status::InvalidArgument(what + ": value type " + std::string(ValueTypeName(type)) +
                                   " cannot be read from DuckDB");
  }
  if (VectorTypeId(vector) != expected) {
    return Status::Internal(what + ": DuckDB column is not " + DuckSqlType(type));
  }
  out->reserve(out->size() + count);
  switch (type) {
    case ValueType::kBytes:
    case ValueType::kString: {
      const uint64_t* validity = duckdb_vector_get_validity(vector);
      auto* strings = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vector));
      for (uint64_t row = 0; row < count; ++row) {
        if (!RowValid(validity, row)) {
          out->push_back(Value::Null());
        } else {
          out->push_back(Value{type, ReadString(strings, row)});
        }
      }
      return Status::OK();
    }
    case ValueType::kInt32:
      AppendScalars<int32_t>(vector, count, type, out);
      return Status::OK();
    case ValueType::kInt64:
      AppendScalars<int64_t>(vector, count, type, out);
      return Status::OK();
    case ValueType::kDouble:
      AppendScalars<double>(vector, count, type, out);
      return Status::OK();
    case ValueType::kFloat:
      AppendScalars<float>(vector, count, type, out);
      return Status::OK();
    case ValueType::kBool:
      AppendScalars<bool>(vector, count, type, out);
      return Status::OK();
    case ValueType::kUnixTimestamp: {
      std::vector<TimestampMicros> micros;
      const uint64_t* validity = duckdb_vector_get_validity(vector);
      ReadTimestampVector(vector, count, 0, &micros);
      for (uint64_t row = 0; row < count; ++row) {
        out->push_back(RowValid(validity, row) ? Value::UnixTimestamp(micros[row]) : Value::Null());
      }
      return Status::OK();
    }
    case ValueType::kBytesList:
    case ValueType::kStringList:
      return AppendList<std::string>(vector, count, type, what, out);
    case ValueType::kInt32List:
      return AppendList<int32_t>(vector, count, type, what, out);
    case ValueType::kInt64List:
    case ValueType::kUnixTimestampList:
      return AppendList<int64_t>(vector, count, type, what, out);
    case ValueType::kDoubleList:
      return AppendList<double>(vector, count, type, what, out);
    case ValueType::kFloatList:
      return AppendList<float>(vector, count, type, what, out);
    case ValueType::kBoolList:
      return AppendList<bool>(vector, count, type, what, out);
    default:
      return Status::InvalidArgument(what + ": unsupported value type " +
                                     std::string(ValueTypeName(type)));
  }
}

void ReadTimestampVector(duckdb_vector vector, uint64_t count, TimestampMicros null_value,
                         std::vector<TimestampMicros>* out) {
  const uint64_t* validity = duckdb_vector_get_validity(vector);
  const auto* data = static_cast<const duckdb_timestamp*>(duckdb_vector_get_data(vector));
  out->clear();
  out->reserve(count);
  for (uint64_t row = 0; row < count; ++row) {
    out->push_back(RowValid(validity, row) ? data[row].micros : null_value);
  }
}

}  // namespace featureforge::offline
