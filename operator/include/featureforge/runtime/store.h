// The informer's local cache: the latest version of every object, indexed by namespace and by
// owner uid. Objects are immutable once stored (shared_ptr<const Json>), so readers never copy.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "featureforge/k8s/resource.h"

namespace featureforge::runtime {

using k8s::Json;
using k8s::ObjectKey;
using ObjectPtr = std::shared_ptr<const Json>;

// metadata.resourceVersion, metadata.uid, metadata.ownerReferences[*].uid of an object.
std::string ResourceVersionOf(const Json& object);
std::string UidOf(const Json& object);
std::vector<std::string> OwnerUidsOf(const Json& object);

class Store {
 public:
  // Inserts or replaces; returns the previous version (nullptr when the key was new).
  ObjectPtr Upsert(ObjectPtr object);
  // Removes; returns the removed object (nullptr when absent).
  ObjectPtr Remove(const ObjectKey& key);

  ObjectPtr Get(const ObjectKey& key) const;
  std::vector<ObjectPtr> List() const;
  std::vector<ObjectKey> Keys() const;
  std::vector<ObjectPtr> ByNamespace(const std::string& ns) const;
  // Objects with an ownerReference to `uid` (controller or not).
  std::vector<ObjectPtr> ByOwnerUid(const std::string& uid) const;
  // The object with this metadata.uid, if cached.
  ObjectPtr ByUid(const std::string& uid) const;
  size_t size() const;

 private:
  void IndexLocked(const ObjectKey& key, const Json& object);
  void UnindexLocked(const ObjectKey& key, const Json& object);

  mutable std::shared_mutex mu_;
  std::map<ObjectKey, ObjectPtr> objects_;
  std::unordered_map<std::string, std::set<ObjectKey>> by_namespace_;
  std::unordered_map<std::string, std::set<ObjectKey>> by_owner_uid_;
  std::unordered_map<std::string, ObjectKey> by_uid_;
};

}  // namespace featureforge::runtime
