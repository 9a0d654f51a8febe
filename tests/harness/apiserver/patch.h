// PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes strategic merge
// patch (as far as `kubectl apply` produces it for built-in types).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace ffharness {

using nlohmann::json;

// Applies a strategic merge patch to `target` in place. Lists whose items have a known merge key
// (containers/env/volumes by name, container ports by containerPort, service ports by port,
// conditions by type, ...) are merged item by item; $patch, $setElementOrder, $retainKeys and
// $deleteFromPrimitiveList directives are honoured. Returns false and sets *error on bad input.
bool ApplyStrategicMergePatch(json& target, const json& patch, std::string* error);

// Applies a JSON patch; false and *error on a failed operation (test failure, missing path).
bool ApplyJsonPatch(json& target, const json& patch, std::string* error);

}  // namespace ffharness
