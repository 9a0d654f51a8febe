// LocalObjectStore: plain files. Writes go to a temp file in the target's folder and are renamed
// into place, so a crash never leaves a half-written object behind.
#pragma once

#include <memory>
#include <string>

#include "featureforge/objectstore/object_store.h"

namespace featureforge {

class LocalObjectStore : public ObjectStore {
 public:
  // Accepts plain paths and file:// URIs (empty host or "localhost").
  Result<std::string> Get(const std::string& uri) override;
  Status GetToFile(const std::string& uri, const std::string& local_path) override;
  Status Put(const std::string& uri, std::string_view data) override;
  Status PutFile(const std::string& uri, const std::string& local_path) override;
  Result<bool> Exists(const std::string& uri) override;
  // Walks the folder of the prefix recursively; paths come back in the form the prefix used
  // (file:// in, file:// out). Temp files of in-flight writes are not listed.
  Result<std::vector<std::string>> List(const std::string& prefix_uri) override;
  Status Delete(const std::string& uri) override;
  // Version = device, inode, mtime and size (every write renames a new file into place).
  // PutIfVersion is not supported: local writers serialize with flock (see registry/).
  Result<VersionedObject> GetVersioned(const std::string& uri) override;
  Result<std::optional<std::string>> CurrentVersion(const std::string& uri) override;
};

// The file path a local URI names: "file:///a/b" -> "/a/b", "a/b" -> "a/b".
Result<std::string> LocalPathFromUri(std::string_view uri);

// Writes `data` to `path` atomically (temp file in the same folder, fsync, rename), creating
// missing parent folders. Shared by the local store and anything staging files.
Status WriteFileAtomically(const std::string& path, std::string_view data);

}  // namespace featureforge
