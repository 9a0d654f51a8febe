// Structural-schema handling for custom resources: pruning of unknown fields, defaulting and
// validation (types, required, enum, minimum/maximum, lengths, pattern, items).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ffharness {

using nlohmann::json;

struct SchemaOutcome {
  json causes = json::array();              // [{reason, message, field}] of violations
  std::vector<std::string> unknown_fields;  // pruned paths, e.g. "spec.replica"
};

// Prunes unknown fields, applies defaults and validates `object` (a whole custom resource) in
// place against `schema` (openAPIV3Schema). apiVersion, kind and metadata are left alone.
SchemaOutcome ApplySchema(json& object, const json& schema);

}  // namespace ffharness
