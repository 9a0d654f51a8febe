// Helpers shared by the online store implementations (not a public header).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "featureforge/online/online_store.h"

namespace featureforge::online {

// Checks a chunk before anything is written, so bad input never half-writes: values aligned with
// the view's features, value types matching the declared feature types (Null always allowed),
// entity key value types that Feast's key serialization supports.
Status ValidateWriteRows(const ViewSpec& view, std::span<const WriteRow> rows);

// Feast's Redis field names (mmh3 of "view:feature", 4 LE bytes) for the view's features.
std::vector<std::string> FeatureFields(const ViewSpec& view);

// The SQLite row payload: per feature, its 4-byte field name, a varint length and the
// feast.types.Value bytes.
void EncodePayload(const std::vector<std::string>& fields, const std::vector<Value>& values,
                   std::string* out);
// Fills `values` (sized like `fields`) with the payload's values for `fields`; features the
// payload does not hold stay Null.
Status DecodePayload(const std::vector<std::string>& fields, std::string_view payload,
                     std::vector<Value>* values);

}  // namespace featureforge::online
