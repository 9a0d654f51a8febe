// The harness Kubernetes API server: REST semantics over in-memory objects (create, get, list,
// update, patch, delete, watch), CRDs serving custom resources, garbage collection, snapshots.
// Transport-independent: HttpServer feeds it requests.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api_types.h"
#include "featureforge/common/status.h"
#include "http_server.h"

namespace ffharness {

struct ApiServerOptions {
  size_t watch_history = 10000;       // events kept for watch resume; older RVs get 410
  int bookmark_interval_seconds = 5;  // BOOKMARK cadence on watches that allow them
  std::string token;                  // bearer token required on API requests ("" = none)
  // Services get cluster IPs base+10, base+11, ... of this IPv4 range (--service-cluster-ip-range;
  // tests use a loopback range such as 127.96.0.0/16 so ff-kube-proxy can listen on them).
  uint32_t service_ip_base = (10u << 24) | (96u << 16);
  uint32_t service_ip_count = 1u << 16;
};

// Parses an IPv4 CIDR ("10.96.0.0/16", prefix 8..28) into its first address and size.
bool ParseServiceIpRange(const std::string& cidr, uint32_t* base, uint32_t* count,
                         std::string* error);

class ApiServer {
 public:
  explicit ApiServer(ApiServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  HttpResponse Handle(const HttpRequest& request);

  // Snapshot of every object, the resourceVersion counter and the watch history.
  featureforge::Status SaveSnapshot(const std::string& path);
  featureforge::Status LoadSnapshot(const std::string& path);

  // Ends every watch stream and the garbage collector (before the HTTP server stops).
  void Shutdown();

 private:
  using TypePtr = std::shared_ptr<const ResourceType>;
  struct Event {
    uint64_t rv = 0;
    std::string storage_key;
    std::string type;  // ADDED, MODIFIED, DELETED
    json object;
    json old_object;  // for MODIFIED: the previous state (selector transitions)
  };
  struct Target {
    TypePtr type;
    std::string ns;  // empty for cluster-scoped or all-namespaces
    std::string name;
    std::string subresource;
  };
  struct ListQuery {
    std::string ns;
    std::string label_selector;
    std::string field_selector;
  };

  // Routing and reads (api_server.cc).
  HttpResponse Route(const HttpRequest& request);
  std::optional<Target> ParseResourcePath(const std::string& path, ApiError* error);
  HttpResponse HandleResource(const HttpRequest& request, const Target& target);
  HttpResponse Get(const HttpRequest& request, const Target& target);
  HttpResponse List(const HttpRequest& request, const Target& target);
  HttpResponse Watch(const HttpRequest& request, const Target& target);
  HttpResponse PodLog(const HttpRequest& request, const Target& target);

  // Discovery and OpenAPI (discovery.cc).
  HttpResponse Discovery(const HttpRequest& request, bool* handled);

  // Writes (api_mutations.cc).
  HttpResponse Create(const HttpRequest& request, const Target& target);
  HttpResponse Update(const HttpRequest& request, const Target& target);
  HttpResponse Patch(const HttpRequest& request, const Target& target);
  HttpResponse Delete(const HttpRequest& request, const Target& target);
  HttpResponse DeleteCollection(const HttpRequest& request, const Target& target);
  // The shared update path of PUT and PATCH; `object` is in the request's version.
  HttpResponse UpdateLocked(const HttpRequest& request, const Target& target, json object);
  json ScaleOf(const ResourceType& type, const json& object) const;
  // Deletes an object as DELETE does (finalizers, graceful pods, propagation). Returns the
  // object's state after the call and sets *removed when it left storage.
  json DeleteLocked(const TypePtr& type, const std::string& key, const std::string& propagation,
                    std::optional<long> grace_seconds, bool* removed);

  // Storage (api_server.cc).
  TypePtr FindType(const std::string& group, const std::string& version,
                   const std::string& resource) const;
  TypePtr StorageType(const std::string& storage_key) const;
  std::vector<TypePtr> ServedTypes() const;
  json* Lookup(const ResourceType& type, const std::string& ns, const std::string& name);
  static std::string ObjectKey(const std::string& ns, const std::string& name);
  json ToStorage(const ResourceType& type, json object) const;
  json FromStorage(const ResourceType& type, json object) const;
  // Stores `object` under a new resourceVersion and records the event. Returns the stored copy.
  const json& CommitLocked(const ResourceType& type, const std::string& key, json object,
                           const std::string& event_type, json old_object);
  json RemoveLocked(const ResourceType& type, const std::string& key);
  void RecordEventLocked(Event event);
  void RegisterCrdLocked(const json& crd);
  void UnregisterCrdLocked(const json& crd);
  bool NamespaceExistsLocked(const std::string& ns, bool* terminating);

  // Background work (api_background.cc): garbage collection, namespace and CRD cleanup.
  void BackgroundLoop();
  void CollectGarbageLocked();

  ApiServerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t rv_ = 1;
  uint64_t min_resumable_rv_ = 0;
  uint64_t watch_epoch_ = 0;  // bumped to close every open watch
  bool shutting_down_ = false;
  bool gc_dirty_ = true;
  uint32_t next_cluster_ip_ = 10;
  std::deque<Event> history_;
  std::vector<TypePtr> types_;
  std::map<std::string, std::map<std::string, json>> objects_;  // storage key -> ns/name -> object
  std::thread background_;
};

}  // namespace ffharness
