// MemoryObjectStore: a mutex-guarded map from URI to bytes.
#include "featureforge/objectstore/memory_store.h"

#include "featureforge/objectstore/local_store.h"

namespace featureforge {

Result<std::string> MemoryObjectStore::Get(const std::string& uri) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(uri);
  if (it == objects_.end()) return Status::NotFound("object not found: " + uri);
  return it->second.data;
}

Status MemoryObjectStore::GetToFile(const std::string& uri, const std::string& local_path) {
  FF_ASSIGN_OR_RETURN(std::string data, Get(uri));
  return WriteFileAtomically(local_path, data);
}

Status MemoryObjectStore::PutLocked(const std::string& uri, std::string_view data) {
  if (uri.empty()) return Status::InvalidArgument("object URI is empty");
  objects_[uri] = Object{std::string(data), next_generation_++};
  ++put_count_;
  return Status::OK();
}

Status MemoryObjectStore::Put(const std::string& uri, std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  return PutLocked(uri, data);
}

Result<VersionedObject> MemoryObjectStore::GetVersioned(const std::string& uri) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(uri);
  if (it == objects_.end()) return Status::NotFound("object not found: " + uri);
  return VersionedObject{it->second.data, std::to_string(it->second.generation)};
}

Result<std::optional<std::string>> MemoryObjectStore::CurrentVersion(const std::string& uri) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(uri);
  if (it == objects_.end()) return std::optional<std::string>();
  return std::optional<std::string>(std::to_string(it->second.generation));
}

Result<std::string> MemoryObjectStore::PutIfVersion(const std::string& uri, std::string_view data,
                                                    const std::string& expected_version) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(uri);
  if (expected_version.empty() && it != objects_.end()) {
    return Status::Conflict("conditional write of " + uri + ": the object already exists");
  }
  if (!expected_version.empty() &&
      (it == objects_.end() || std::to_string(it->second.generation) != expected_version)) {
    return Status::Conflict(
        "conditional write of " + uri + ": expected version " + expected_version + ", found " +
        (it == objects_.end() ? std::string("no object") : std::to_string(it->second.generation)));
  }
  FF_RETURN_IF_ERROR(PutLocked(uri, data));
  return std::to_string(objects_[uri].generation);
}

Status MemoryObjectStore::PutFile(const std::string& uri, const std::string& local_path) {
  LocalObjectStore local;
  auto data = local.Get(local_path);
  if (!data.ok()) {
    // A missing local file is an I/O problem of the caller, not a missing object.
    return Status::IOError("uploading " + local_path + " to " + uri + ": " +
                           data.status().message());
  }
  return Put(uri, *data);
}

Result<bool> MemoryObjectStore::Exists(const std::string& uri) {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.count(uri) > 0;
}

Result<std::vector<std::string>> MemoryObjectStore::List(const std::string& prefix_uri) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (auto it = objects_.lower_bound(prefix_uri);
       it != objects_.end() && it->first.compare(0, prefix_uri.size(), prefix_uri) == 0; ++it) {
    out.push_back(it->first);
  }
  return out;
}

Status MemoryObjectStore::Delete(const std::string& uri) {
  std::lock_guard<std::mutex> lock(mu_);
  objects_.erase(uri);
  return Status::OK();
}

size_t MemoryObjectStore::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return objects_.size();
}

void MemoryObjectStore::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  objects_.clear();
  put_count_ = 0;
}

size_t MemoryObjectStore::put_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return put_count_;
}

std::shared_ptr<MemoryObjectStore> SharedMemoryObjectStore() {
  static const auto store = std::make_shared<MemoryObjectStore>();
  return store;
}

}  // namespace featureforge
