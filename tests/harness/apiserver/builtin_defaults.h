// Defaulting and minimal validation of built-in kinds (what the real API server's strategies do
// that clients notice), object name validation, and events.k8s.io <-> core/v1 Event conversion.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "api_types.h"

namespace ffharness {

std::string NowTimestamp();

// Empty when `name` is a valid object name for `type`, else the cause message.
std::string ValidateObjectName(const ResourceType& type, const std::string& name);

void ApplyBuiltinDefaults(const ResourceType& type, json& object);

// Causes ([{reason, message, field}]) for built-in objects that would never work.
json ValidateBuiltin(const ResourceType& type, const json& object);

// events.k8s.io/v1 Event <-> core/v1 Event (the storage form).
json EventsV1ToCore(const json& event);
json CoreToEventsV1(const json& event);

}  // namespace ffharness
