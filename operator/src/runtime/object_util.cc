#include "featureforge/runtime/object_util.h"

#include <algorithm>

#include "featureforge/runtime/leader_election.h"

namespace featureforge::runtime {
namespace {

Json* MetadataOf(Json* object) {
  if (!(*object)["metadata"].is_object()) (*object)["metadata"] = Json::object();
  return &(*object)["metadata"];
}

// metav1.Time: RFC 3339 with whole seconds.
std::string FormatTime(TimestampMicros ts) { return FormatMicroTime(ts).substr(0, 19) + "Z"; }

}  // namespace

Json MakeControllerReference(const Json& owner) {
  const Json& meta = owner.contains("metadata") ? owner["metadata"] : Json::object();
  return {{"apiVersion", owner.value("apiVersion", "")},
          {"kind", owner.value("kind", "")},
          {"name", meta.value("name", "")},
          {"uid", meta.value("uid", "")},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

std::optional<std::string> ControllerUidOf(const Json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return std::nullopt;
  auto refs = meta->find("ownerReferences");
  if (refs == meta->end() || !refs->is_array()) return std::nullopt;
  for (const auto& ref : *refs) {
    if (ref.is_object() && ref.value("controller", false)) return ref.value("uid", "");
  }
  return std::nullopt;
}

Status SetControllerReference(const Json& owner, Json* object) {
  Json ref = MakeControllerReference(owner);
  if (ref["uid"].get<std::string>().empty()) {
    return Status::InvalidArgument("controller reference: owner " + ref.value("name", "") +
                                   " has no metadata.uid (was it created yet?)");
  }
  Json* meta = MetadataOf(object);
  if (!(*meta)["ownerReferences"].is_array()) (*meta)["ownerReferences"] = Json::array();
  Json& refs = (*meta)["ownerReferences"];
  for (auto& existing : refs) {
    if (existing.value("uid", "") == ref["uid"]) {
      existing = ref;
      return Status::OK();
    }
    if (existing.value("controller", false)) {
      return Status::AlreadyExists("object " + meta->value("name", "") +
                                   " is already controlled by " + existing.value("kind", "") + " " +
                                   existing.value("name", ""));
    }
  }
  refs.push_back(std::move(ref));
  return Status::OK();
}

bool HasFinalizer(const Json& object, const std::string& finalizer) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->contains("finalizers")) return false;
  const Json& list = (*meta)["finalizers"];
  return list.is_array() && std::find(list.begin(), list.end(), finalizer) != list.end();
}

bool AddFinalizer(Json* object, const std::string& finalizer) {
  if (HasFinalizer(*object, finalizer)) return false;
  Json* meta = MetadataOf(object);
  if (!(*meta)["finalizers"].is_array()) (*meta)["finalizers"] = Json::array();
  (*meta)["finalizers"].push_back(finalizer);
  return true;
}

bool RemoveFinalizer(Json* object, const std::string& finalizer) {
  if (!HasFinalizer(*object, finalizer)) return false;
  Json& list = (*object)["metadata"]["finalizers"];
  Json kept = Json::array();
  for (const auto& f : list) {
    if (f != finalizer) kept.push_back(f);
  }
  list = std::move(kept);
  return true;
}

bool IsBeingDeleted(const Json& object) {
  auto meta = object.find("metadata");
  return meta != object.end() && meta->is_object() && meta->contains("deletionTimestamp") &&
         !(*meta)["deletionTimestamp"].is_null();
}

int64_t GenerationOf(const Json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return 0;
  auto generation = meta->find("generation");
  return (generation != meta->end() && generation->is_number_integer()) ? generation->get<int64_t>()
                                                                        : 0;
}

const Json* FindStatusCondition(const Json& conditions, const std::string& type) {
  if (!conditions.is_array()) return nullptr;
  for (const auto& c : conditions) {
    if (c.is_object() && c.value("type", "") == type) return &c;
  }
  return nullptr;
}

bool IsStatusConditionTrue(const Json& conditions, const std::string& type) {
  const Json* c = FindStatusCondition(conditions, type);
  return c != nullptr && c->value("status", "") == "True";
}

bool SetStatusCondition(Json* conditions, const Condition& condition, TimestampMicros now) {
  if (!conditions->is_array()) *conditions = Json::array();
  for (auto& existing : *conditions) {
    if (!existing.is_object() || existing.value("type", "") != condition.type) continue;
    bool changed = false;
    auto set = [&](const char* key, const Json& value) {
      if (!existing.contains(key) || existing[key] != value) {
        existing[key] = value;
        changed = true;
      }
    };
    if (existing.value("status", "") != condition.status) {
      existing["lastTransitionTime"] = FormatTime(now);
    }
    set("status", condition.status);
    set("reason", condition.reason);
    set("message", condition.message);
    set("observedGeneration", condition.observed_generation);
    return changed;
  }
  conditions->push_back({{"type", condition.type},
                         {"status", condition.status},
                         {"reason", condition.reason},
                         {"message", condition.message},
                         {"observedGeneration", condition.observed_generation},
                         {"lastTransitionTime", FormatTime(now)}});
  return true;
}

}  // namespace featureforge::runtime
