#include "featureforge/runtime/store.h"

#include <mutex>

namespace featureforge::runtime {

std::string ResourceVersionOf(const Json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  auto rv = meta->find("resourceVersion");
  return (rv != meta->end() && rv->is_string()) ? rv->get<std::string>() : "";
}

std::string UidOf(const Json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  auto uid = meta->find("uid");
  return (uid != meta->end() && uid->is_string()) ? uid->get<std::string>() : "";
}

std::vector<std::string> OwnerUidsOf(const Json& object) {
  std::vector<std::string> uids;
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return uids;
  auto refs = meta->find("ownerReferences");
  if (refs == meta->end() || !refs->is_array()) return uids;
  for (const auto& ref : *refs) {
    if (ref.is_object() && ref.contains("uid") && ref["uid"].is_string()) {
      uids.push_back(ref["uid"].get<std::string>());
    }
  }
  return uids;
}

void Store::IndexLocked(const ObjectKey& key, const Json& object) {
  by_namespace_[key.ns].insert(key);
  for (const auto& uid : OwnerUidsOf(object)) by_owner_uid_[uid].insert(key);
  std::string uid = UidOf(object);
  if (!uid.empty()) by_uid_[uid] = key;
}

void Store::UnindexLocked(const ObjectKey& key, const Json& object) {
  auto erase_from = [&key](auto& index, const std::string& value) {
    auto it = index.find(value);
    if (it == index.end()) return;
    it->second.erase(key);
    if (it->second.empty()) index.erase(it);
  };
  erase_from(by_namespace_, key.ns);
  for (const auto& uid : OwnerUidsOf(object)) erase_from(by_owner_uid_, uid);
  std::string uid = UidOf(object);
  auto it = by_uid_.find(uid);
  if (it != by_uid_.end() && it->second == key) by_uid_.erase(it);
}

ObjectPtr Store::Upsert(ObjectPtr object) {
  ObjectKey key = ObjectKey::Of(*object);
  std::unique_lock lock(mu_);
  ObjectPtr previous;
  auto it = objects_.find(key);
  if (it != objects_.end()) {
    previous = it->second;
    UnindexLocked(key, *previous);
    it->second = object;
  } else {
    objects_.emplace(key, object);
  }
  IndexLocked(key, *object);
  return previous;
}

ObjectPtr Store::Remove(const ObjectKey& key) {
  std::unique_lock lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return nullptr;
  ObjectPtr removed = it->second;
  UnindexLocked(key, *removed);
  objects_.erase(it);
  return removed;
}

ObjectPtr Store::Get(const ObjectKey& key) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Store::List() const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(object);
  return out;
}

std::vector<ObjectKey> Store::Keys() const {
  std::shared_lock lock(mu_);
  std::vector<ObjectKey> out;
  out.reserve(objects_.size());
  for (const auto& [key, object] : objects_) out.push_back(key);
  return out;
}

std::vector<ObjectPtr> Store::ByNamespace(const std::string& ns) const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  auto it = by_namespace_.find(ns);
  if (it == by_namespace_.end()) return out;
  for (const auto& key : it->second) out.push_back(objects_.at(key));
  return out;
}

std::vector<ObjectPtr> Store::ByOwnerUid(const std::string& uid) const {
  std::shared_lock lock(mu_);
  std::vector<ObjectPtr> out;
  auto it = by_owner_uid_.find(uid);
  if (it == by_owner_uid_.end()) return out;
  for (const auto& key : it->second) out.push_back(objects_.at(key));
  return out;
}

ObjectPtr Store::ByUid(const std::string& uid) const {
  std::shared_lock lock(mu_);
  auto it = by_uid_.find(uid);
  if (it == by_uid_.end()) return nullptr;
  auto obj = objects_.find(it->second);
  return obj == objects_.end() ? nullptr : obj->second;
}

size_t Store::size() const {
  std::shared_lock lock(mu_);
  return objects_.size();
}

}  // namespace featureforge::runtime
