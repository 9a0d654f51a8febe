// An exclusive advisory lock (flock) on "<registry>.lock", held while a process reads, changes
// and saves the registry, so concurrent CLI runs and executor pods never lose each other's
// watermarks.
#pragma once

#include <string>

#include "featureforge/common/status.h"

namespace featureforge::store {

class RegistryLock {
 public:
  // Blocks until the lock is held. Creates the lock file's folder when needed.
  static Result<RegistryLock> Acquire(const std::string& registry_path);
  RegistryLock(RegistryLock&& other) noexcept;
  RegistryLock& operator=(RegistryLock&&) = delete;
  RegistryLock(const RegistryLock&) = delete;
  ~RegistryLock();

 private:
  explicit RegistryLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace featureforge::store
