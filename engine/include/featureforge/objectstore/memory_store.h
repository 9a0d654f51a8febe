// MemoryObjectStore: objects in a map, for unit tests of code that uses ObjectStore.
// OpenObjectStore("mem://...") returns one process-wide instance (SharedMemoryObjectStore()),
// so code under test and the test itself see the same objects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "featureforge/objectstore/object_store.h"

namespace featureforge {

class MemoryObjectStore : public ObjectStore {
 public:
  // Keys are the full URIs as given (any scheme), so one instance can stand in for S3 too.
  Result<std::string> Get(const std::string& uri) override;
  Status GetToFile(const std::string& uri, const std::string& local_path) override;
  Status Put(const std::string& uri, std::string_view data) override;
  Status PutFile(const std::string& uri, const std::string& local_path) override;
  Result<bool> Exists(const std::string& uri) override;
  Result<std::vector<std::string>> List(const std::string& prefix_uri) override;
  Status Delete(const std::string& uri) override;
  // Versions are generation numbers; PutIfVersion is atomic (one mutex).
  Result<VersionedObject> GetVersioned(const std::string& uri) override;
  Result<std::optional<std::string>> CurrentVersion(const std::string& uri) override;
  Result<std::string> PutIfVersion(const std::string& uri, std::string_view data,
                                   const std::string& expected_version) override;

  // Test helpers.
  size_t size() const;
  void Clear();
  // How many Put/PutFile calls succeeded (lets tests check upload batching).
  size_t put_count() const;

 private:
  mutable std::mutex mu_;
  struct Object {
    std::string data;
    uint64_t generation = 0;
  };
  Status PutLocked(const std::string& uri, std::string_view data);  // mu_ held

  std::map<std::string, Object> objects_;
  uint64_t next_generation_ = 1;
  size_t put_count_ = 0;
};

// The instance behind mem:// URIs.
std::shared_ptr<MemoryObjectStore> SharedMemoryObjectStore();

}  // namespace featureforge
