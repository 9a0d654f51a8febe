// Background work of the API server process: ownerReference garbage collection (background and
// foreground propagation), namespace termination, and state snapshots.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

#include "api_server.h"

namespace ffharness {

void ApiServer::BackgroundLoop() {
  using Clock = std::chrono::steady_clock;
  auto last_full = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutting_down_) {
    cv_.wait_for(lock, std::chrono::milliseconds(200));
    if (shutting_down_) return;
    if (gc_dirty_ || Clock::now() - last_full > std::chrono::seconds(2)) {
      last_full = Clock::now();
      gc_dirty_ = false;
      CollectGarbageLocked();
    }
  }
}

void ApiServer::CollectGarbageLocked() {
  std::set<std::string> live_uids, foreground_uids, owners_with_dependents;
  for (const auto& [skey, bucket] : objects_) {
    for (const auto& [key, obj] : bucket) {
      const json& meta = obj["metadata"];
      live_uids.insert(meta.value("uid", ""));
      if (meta.contains("deletionTimestamp")) {
        auto f = meta.value("finalizers", json::array());
        if (std::find(f.begin(), f.end(), "foregroundDeletion") != f.end())
          foreground_uids.insert(meta.value("uid", ""));
      }
    }
  }
  struct Action {
    std::string storage_key, key;
    bool remove = false;  // delete the dependent; else rewrite its ownerReferences
    json refs;
  };
  std::vector<Action> actions;
  std::vector<std::string> terminating_namespaces;
  for (const auto& [skey, bucket] : objects_) {
    for (const auto& [key, obj] : bucket) {
      const json& meta = obj["metadata"];
      if (skey == "/namespaces" && meta.contains("deletionTimestamp"))
        terminating_namespaces.push_back(meta.value("name", ""));
      if (!meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) continue;
      json live = json::array();
      bool owner_in_foreground = false;
      for (const auto& ref : meta["ownerReferences"]) {
        std::string uid = ref.value("uid", "");
        if (live_uids.count(uid)) {
          live.push_back(ref);
          owners_with_dependents.insert(uid);
        }
        if (foreground_uids.count(uid)) owner_in_foreground = true;
      }
      if (meta["ownerReferences"].empty()) continue;
      if (live.empty() || owner_in_foreground) {
        if (!meta.contains("deletionTimestamp")) actions.push_back({skey, key, true, nullptr});
      } else if (live.size() != meta["ownerReferences"].size()) {
        actions.push_back({skey, key, false, live});
      }
    }
  }
  for (const auto& a : actions) {
    TypePtr type = StorageType(a.storage_key);
    if (!type || !objects_[a.storage_key].count(a.key)) continue;
    if (a.remove) {
      bool removed = false;
      DeleteLocked(type, a.key, "Background", 0, &removed);
    } else {
      json before = objects_[a.storage_key][a.key];
      json after = before;
      after["metadata"]["ownerReferences"] = a.refs;
      CommitLocked(*type, a.key, std::move(after), "MODIFIED", std::move(before));
    }
  }
  // Foreground deletion finishes once no dependent is left.
  for (const auto& uid : foreground_uids) {
    if (owners_with_dependents.count(uid)) continue;
    for (auto& [skey, bucket] : objects_) {
      TypePtr type = StorageType(skey);
      std::string found;
      for (auto& [key, obj] : bucket) {
        if (obj["metadata"].value("uid", "") == uid) found = key;
      }
      if (found.empty() || !type) continue;
      json before = bucket[found];
      json after = before;
      json kept = json::array();
      for (const auto& f : after["metadata"].value("finalizers", json::array())) {
        if (f != "foregroundDeletion") kept.push_back(f);
      }
      after["metadata"]["finalizers"] = kept;
      if (kept.empty()) {
        bucket[found] = after;
        RemoveLocked(*type, found);
      } else {
        CommitLocked(*type, found, std::move(after), "MODIFIED", std::move(before));
      }
      break;
    }
  }
  for (const auto& ns : terminating_namespaces) {
    bool any = false;
    for (auto& [skey, bucket] : objects_) {
      if (skey == "/namespaces") continue;
      TypePtr type = StorageType(skey);
      if (!type) continue;
      std::vector<std::string> keys;
      for (const auto& [key, obj] : bucket) {
        if (obj["metadata"].value("namespace", "") == ns) keys.push_back(key);
      }
      for (const auto& key : keys) {
        any = true;
        bool removed = false;
        if (!bucket[key]["metadata"].contains("deletionTimestamp") || type->resource == "pods") {
          DeleteLocked(type, key, "Background", 0, &removed);
        }
      }
    }
    if (!any) {
      TypePtr ns_type = StorageType("/namespaces");
      RemoveLocked(*ns_type, ObjectKey("", ns));
    } else {
      gc_dirty_ = true;
    }
  }
  if (!actions.empty()) gc_dirty_ = true;
}

featureforge::Status ApiServer::SaveSnapshot(const std::string& path) {
  json snapshot;
  {
    std::lock_guard<std::mutex> lock(mu_);
    json objects = json::array();
    for (const auto& [skey, bucket] : objects_) {
      for (const auto& [key, obj] : bucket)
        objects.push_back({{"storageKey", skey}, {"key", key}, {"object", obj}});
    }
    json history = json::array();
    for (const auto& e : history_) {
      history.push_back({{"rv", e.rv},
                         {"storageKey", e.storage_key},
                         {"type", e.type},
                         {"object", e.object},
                         {"oldObject", e.old_object}});
    }
    snapshot = {{"resourceVersion", rv_},
                {"minResumableResourceVersion", min_resumable_rv_},
                {"nextClusterIP", next_cluster_ip_},
                {"objects", objects},
                {"history", history}};
  }
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return featureforge::Status::IOError("cannot write snapshot " + tmp);
    out << snapshot.dump();
    if (!out) return featureforge::Status::IOError("cannot write snapshot " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return featureforge::Status::IOError("cannot rename " + tmp + " to " + path);
  }
  return featureforge::Status::OK();
}

featureforge::Status ApiServer::LoadSnapshot(const std::string& path) {
  std::ifstream in(path);
  if (!in) return featureforge::Status::NotFound("snapshot " + path + " does not exist");
  std::stringstream buffer;
  buffer << in.rdbuf();
  json snapshot;
  try {
    snapshot = json::parse(buffer.str());
  } catch (const std::exception& e) {
    return featureforge::Status::Corruption("snapshot " + path + " is not valid JSON: " + e.what());
  }
  std::lock_guard<std::mutex> lock(mu_);
  objects_.clear();
  history_.clear();
  rv_ = snapshot.value("resourceVersion", 1ULL);
  min_resumable_rv_ = snapshot.value("minResumableResourceVersion", 0ULL);
  next_cluster_ip_ = snapshot.value("nextClusterIP", 10U);
  for (const auto& entry : snapshot.value("objects", json::array())) {
    objects_[entry.value("storageKey", "")][entry.value("key", "")] = entry["object"];
  }
  for (const auto& e : snapshot.value("history", json::array())) {
    history_.push_back({e.value("rv", 0ULL), e.value("storageKey", ""), e.value("type", ""),
                        e["object"], e["oldObject"]});
  }
  for (const auto& [key, crd] : objects_["apiextensions.k8s.io/customresourcedefinitions"])
    RegisterCrdLocked(crd);
  return featureforge::Status::OK();
}

}  // namespace ffharness
