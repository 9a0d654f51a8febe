// ObjectStore: one interface over local files, an in-memory store and S3 (LevelDB Env style).
// Every call takes a full URI, so code that reads sources, writes compute-once outputs or event
// logs never cares where the bytes live:
//   /abs/path, relative/path, file:///abs/path   local files (writes are temp file + rename)
//   mem://bucket/key                              the process-wide in-memory store (tests)
//   s3://bucket/key                               S3 or an S3-compatible server (path-style)
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "featureforge/common/status.h"

namespace featureforge {

// An object's bytes and the version they were read at. A version is an opaque token that
// changes whenever the object is replaced: S3's ETag, a generation number for mem://, the
// inode/mtime/size of a local file.
struct VersionedObject {
  std::string data;
  std::string version;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // The whole object in memory. Missing object -> NotFound naming the URI.
  virtual Result<std::string> Get(const std::string& uri) = 0;
  // Streams the object to `local_path` with bounded memory. The file appears atomically
  // (written to a temp file next to it, then renamed); on error it is left untouched.
  virtual Status GetToFile(const std::string& uri, const std::string& local_path) = 0;
  // Creates or replaces the object. Readers see the old or the new bytes, never a mix.
  virtual Status Put(const std::string& uri, std::string_view data) = 0;
  // Uploads a local file (S3: multipart above the part size, one part in memory at a time).
  virtual Status PutFile(const std::string& uri, const std::string& local_path) = 0;
  virtual Result<bool> Exists(const std::string& uri) = 0;
  // Full URIs of every object whose URI starts with `prefix_uri` (a plain string prefix, as in
  // S3: "s3://b/runs/2024" matches "s3://b/runs/2024-01.jsonl"), sorted.
  virtual Result<std::vector<std::string>> List(const std::string& prefix_uri) = 0;
  // Removes the object. Deleting a missing object is OK (S3 semantics).
  virtual Status Delete(const std::string& uri) = 0;

  // Versions, for optimistic read-modify-write and for caches that re-read only on change.
  // The defaults return NotSupported; every store in this folder implements the first two.
  //
  // The object and its version. Missing object -> NotFound naming the URI.
  virtual Result<VersionedObject> GetVersioned(const std::string& uri);
  // The current version (S3: one HEAD request), nullopt when the object does not exist.
  virtual Result<std::optional<std::string>> CurrentVersion(const std::string& uri);
  // Conditional replace: writes `data` only if the object's current version is
  // `expected_version`, or, when `expected_version` is empty, only if the object does not exist
  // (S3: If-Match / If-None-Match: *). Returns the new version. Another writer got there first
  // -> Conflict. A store or server that cannot check the condition atomically -> NotSupported
  // (callers then need another way to serialize writers).
  virtual Result<std::string> PutIfVersion(const std::string& uri, std::string_view data,
                                           const std::string& expected_version);
};

// "s3://bucket/a/b" -> {"s3", "bucket", "a/b"}; "/tmp/x" -> {"", "", "/tmp/x"};
// "file:///tmp/x" -> {"file", "", "/tmp/x"}.
struct ObjectUri {
  std::string scheme;     // lower-case, "" for plain local paths
  std::string authority;  // bucket for s3:// and mem://
  std::string path;       // key (no leading '/') for s3:// and mem://, file path otherwise
};
Result<ObjectUri> ParseObjectUri(std::string_view uri);
// The URI's scheme, lower-case; "" for plain local paths.
std::string ObjectUriScheme(std::string_view uri);
// Joins with exactly one '/' between the parts: JoinObjectUri("s3://b/logs/", "x") ->
// "s3://b/logs/x".
std::string JoinObjectUri(std::string_view prefix, std::string_view name);
// True for plain local paths and file:// URIs.
bool IsLocalObjectUri(std::string_view uri);

using ObjectStoreFactory =
    std::function<Result<std::shared_ptr<ObjectStore>>(const std::string& uri)>;

// Chooses the store for `uri` by its scheme: local paths and file://, mem:// (the process-wide
// MemoryObjectStore), s3:// (S3ObjectStore configured from the AWS_* environment), plus any
// scheme registered below. Unknown scheme -> NotSupported naming it.
Result<std::shared_ptr<ObjectStore>> OpenObjectStore(const std::string& uri);
// Adds or replaces the factory for `scheme` (lower-case, without "://"). Thread-safe.
void RegisterObjectStoreScheme(const std::string& scheme, ObjectStoreFactory factory);

}  // namespace featureforge
