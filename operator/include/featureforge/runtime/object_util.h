// Helpers reconcilers need on plain JSON objects (controller-runtime's controllerutil and
// apimachinery's meta.SetStatusCondition): controller ownerReferences, finalizers and standard
// status conditions.
#pragma once

#include <optional>
#include <string>

#include "featureforge/common/time.h"
#include "featureforge/k8s/resource.h"

namespace featureforge::runtime {

using k8s::Json;

// An ownerReference to `owner` with controller=true and blockOwnerDeletion=true.
Json MakeControllerReference(const Json& owner);
// Adds (or refreshes) the controller reference to `owner` on `object`. Fails when another owner
// already controls the object (an object has at most one controller).
Status SetControllerReference(const Json& owner, Json* object);
// The uid of the object's controller owner, if any.
std::optional<std::string> ControllerUidOf(const Json& object);

bool HasFinalizer(const Json& object, const std::string& finalizer);
// Both return true when they changed the object.
bool AddFinalizer(Json* object, const std::string& finalizer);
bool RemoveFinalizer(Json* object, const std::string& finalizer);
// metadata.deletionTimestamp is set.
bool IsBeingDeleted(const Json& object);
int64_t GenerationOf(const Json& object);

struct Condition {
  std::string type;    // "Ready", "Complete", ...
  std::string status;  // "True", "False", "Unknown"
  std::string reason;  // CamelCase
  std::string message;
  int64_t observed_generation = 0;
};

// Sets `condition` in the array `*conditions` (created when null). lastTransitionTime changes
// only when the status changes; reason, message and observedGeneration are always updated.
// Returns true when anything changed (so a status write is needed).
bool SetStatusCondition(Json* conditions, const Condition& condition, TimestampMicros now);
// The condition of `type` in a conditions array, or nullptr.
const Json* FindStatusCondition(const Json& conditions, const std::string& type);
bool IsStatusConditionTrue(const Json& conditions, const std::string& type);

}  // namespace featureforge::runtime
