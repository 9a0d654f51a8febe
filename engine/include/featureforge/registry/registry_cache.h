// RegistryCache: a reader's copy of the registry that is re-read only when the stored registry
// changed (local file: inode/mtime/size; S3: ETag from one HEAD request per check). For
// long-running readers such as the feature server.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "featureforge/common/status.h"
#include "featureforge/registry/registry.h"

namespace featureforge::registry {

class RegistryCache {
 public:
  explicit RegistryCache(std::string path);

  // Checks the stored version and returns the cached registry, re-reading it first when the
  // version changed (a registry that does not exist yet is an empty one). On an error the
  // cached copy is kept and the error returned, so callers may keep serving what they had.
  // Thread-safe; concurrent callers share one check.
  Result<std::shared_ptr<const Registry>> Get();

  const std::string& path() const { return path_; }
  // Version of the cached copy ("" before the first load or while none exists).
  std::string version() const;
  // How many times the registry was read (the first load included).
  uint64_t loads() const;

 private:
  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const Registry> cached_;
  std::string version_;
  bool loaded_ = false;
  uint64_t loads_ = 0;
};

}  // namespace featureforge::registry
