// meta.k8s.io/v1 Table responses (what `kubectl get` asks for with as=Table): the columns of
// the real server for built-in kinds and additionalPrinterColumns for custom resources.
#pragma once

#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api_types.h"

namespace ffharness {

// "5s", "3m20s", "4h", "2d3h": Kubernetes' duration.HumanDuration.
std::string HumanDuration(long seconds);
// RFC 3339 UTC timestamps ("2026-11-23T15:00:00Z").
std::string FormatTimestamp(std::time_t t);
bool ParseTimestamp(const std::string& text, std::time_t* out);

// A Table of `objects`. include_object: "None", "Metadata" (default) or "Object".
json MakeTable(const ResourceType& type, const std::vector<json>& objects, bool include_columns,
               const std::string& include_object, const std::string& resource_version);

}  // namespace ffharness
