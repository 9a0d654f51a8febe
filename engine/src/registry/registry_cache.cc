#include "featureforge/registry/registry_cache.h"

namespace featureforge::registry {

RegistryCache::RegistryCache(std::string path) : path_(std::move(path)) {}

Result<std::shared_ptr<const Registry>> RegistryCache::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  FF_ASSIGN_OR_RETURN(std::string current, Registry::Version(path_));
  if (loaded_ && current == version_) return cached_;
  // The version read with the data wins over `current`: a write landing in between is seen by
  // the next check instead of being cached under the wrong version.
  FF_ASSIGN_OR_RETURN(auto loaded, Registry::LoadVersioned(path_));
  cached_ = std::make_shared<const Registry>(std::move(loaded.first));
  version_ = std::move(loaded.second);
  loaded_ = true;
  ++loads_;
  return cached_;
}

std::string RegistryCache::version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

uint64_t RegistryCache::loads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loads_;
}

}  // namespace featureforge::registry
