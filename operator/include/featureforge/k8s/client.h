// A Kubernetes API client: typed CRUD, patches, the /status subresource, streamed watches and
// discovery. Objects are nlohmann::json. Thread-safe; connections are pooled and reused.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "featureforge/common/status.h"
#include "featureforge/k8s/config.h"
#include "featureforge/k8s/errors.h"
#include "featureforge/k8s/resource.h"
#include "featureforge/k8s/watch_decoder.h"

namespace featureforge::k8s {

class HttpTransport;

struct ListOptions {
  std::string label_selector;  // "app=x,tier!=db"
  std::string field_selector;  // "metadata.name=x"
  int64_t limit = 0;           // 0: no paging
  std::string continue_token;
  std::string resource_version;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // start after this version
  bool allow_bookmarks = true;
  int timeout_seconds = 0;  // server-side end of the watch; 0: the server's default
};

struct DeleteOptions {
  std::string propagation_policy;  // "", "Foreground", "Background", "Orphan"
  std::optional<int64_t> grace_period_seconds;
  std::string precondition_uid;
  std::string precondition_resource_version;
};

enum class PatchType {
  kMerge,           // application/merge-patch+json (RFC 7386)
  kJsonPatch,       // application/json-patch+json (RFC 6902)
  kStrategicMerge,  // application/strategic-merge-patch+json (built-in kinds only)
};

// Receives watch events (ADDED/MODIFIED/DELETED/BOOKMARK); return false to end the watch.
using WatchHandler = std::function<bool(WatchEvent&&)>;

class Client {
 public:
  static Result<std::shared_ptr<Client>> Create(RestConfig config);
  ~Client();

  const RestConfig& config() const;
  // New TCP connections opened so far; requests reuse pooled connections otherwise.
  uint64_t connections_opened() const;

  Result<Json> Get(const ResourceType& type, const std::string& ns, const std::string& name);
  // One page (or the whole list when options.limit is 0): a *List object with items and
  // metadata.resourceVersion / metadata.continue.
  Result<Json> List(const ResourceType& type, const std::string& ns,
                    const ListOptions& options = {});
  // Follows continue tokens until the end; returns one list whose resourceVersion is the last
  // page's.
  Result<Json> ListAll(const ResourceType& type, const std::string& ns, ListOptions options = {});
  // Namespace comes from the object's metadata (or the config's default namespace).
  Result<Json> Create(const ResourceType& type, const Json& object);
  // PUT with the object's metadata.resourceVersion: Conflict when someone else wrote first.
  Result<Json> Update(const ResourceType& type, const Json& object);
  Result<Json> UpdateStatus(const ResourceType& type, const Json& object);
  Status Delete(const ResourceType& type, const std::string& ns, const std::string& name,
                const DeleteOptions& options = {});
  // `subresource` is "" or "status".
  Result<Json> Patch(const ResourceType& type, const std::string& ns, const std::string& name,
                     PatchType patch_type, const Json& patch, const std::string& subresource = "");
  // Streams events to `handler` until the server ends the watch (returns OK), the handler
  // returns false (OK), `cancel` becomes true (OK), or an error: transport failure, a stream
  // cut mid-object (Unavailable), or an ERROR event (e.g. Gone for a too old resourceVersion).
  Status Watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
               const WatchHandler& handler, const std::atomic<bool>* cancel = nullptr);

  // The resource type serving `kind` in `api_version`: the built-in table first, then server
  // discovery (cached per group/version).
  Result<ResourceType> Resolve(const std::string& api_version, const std::string& kind);
  // Discovery of one group/version ("v1", "apps/v1").
  Result<std::vector<ResourceType>> Discover(const std::string& api_version);

  // Raw JSON request; `path_and_query` starts with '/'. For paths no typed call covers.
  Result<Json> Request(const std::string& method, const std::string& path_and_query,
                       const Json* body = nullptr, const std::string& content_type = "");

 private:
  explicit Client(std::unique_ptr<HttpTransport> transport);
  std::string NamespaceOf(const Json& object) const;

  std::unique_ptr<HttpTransport> transport_;
  std::mutex discovery_mu_;
  std::map<std::string, std::vector<ResourceType>> discovery_cache_;
};

// Percent-encodes a query parameter value.
std::string UrlEncode(const std::string& value);

}  // namespace featureforge::k8s
