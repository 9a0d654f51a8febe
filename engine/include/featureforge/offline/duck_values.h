// Mapping between featureforge value types and DuckDB: the SQL type a feature is cast to, and
// the conversion of a result vector of that type into Values.
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"
#include "featureforge/types/value.h"

namespace featureforge::offline {

// The DuckDB SQL type a value of `type` is read as: Int64 -> BIGINT, Float32 -> FLOAT,
// UnixTimestamp -> TIMESTAMP, Array(Float32) -> FLOAT[], ... Empty for kInvalid/kNull.
std::string DuckSqlType(ValueType type);

// Converts rows [0, count) of `vector` (whose DuckDB type must be DuckSqlType(type)) into
// Values appended to `out`. SQL NULL becomes Value::Null(). NULL elements inside a list become
// NaN for float/double lists; in other lists they are an InvalidArgument error (our Value lists
// cannot hold them). `what` names the column in errors.
Status AppendVectorValues(duckdb_vector vector, uint64_t count, ValueType type,
                          const std::string& what, std::vector<Value>* out);

// Reads one TIMESTAMP vector as microseconds; NULL rows get `null_value`.
void ReadTimestampVector(duckdb_vector vector, uint64_t count, TimestampMicros null_value,
                         std::vector<TimestampMicros>* out);

}  // namespace featureforge::offline
