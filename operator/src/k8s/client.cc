#include "featureforge/k8s/client.h"

#include "http_transport.h"

namespace featureforge::k8s {
namespace {

void AddParam(std::string* query, const std::string& key, const std::string& value) {
  if (value.empty()) return;
  *query += query->empty() ? '?' : '&';
  *query += key + "=" + UrlEncode(value);
}

// Turns a non-2xx response into a typed status, surfacing the server's Status message.
Status ErrorFromResponse(const std::string& what, const HttpResponse& response) {
  std::string reason;
  std::string message;
  Json body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.value("kind", "") == "Status") {
    if (body.contains("reason") && body["reason"].is_string()) reason = body["reason"];
    if (body.contains("message") && body["message"].is_string()) message = body["message"];
  } else {
    message = response.body.substr(0, 300);
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
      message.pop_back();
    }
  }
  return MakeK8sStatus(static_cast<int>(response.status), reason, what, message);
}

Status ErrorFromWatchStatus(const std::string& what, const Json& status) {
  int code = status.is_object() ? status.value("code", 500) : 500;
  std::string reason = status.is_object() ? status.value("reason", "") : "";
  std::string message = status.is_object() ? status.value("message", "") : status.dump();
  return MakeK8sStatus(code, reason, what, message);
}

bool IsStrategicMergeCapable(const ResourceType& type) {
  if (type.group == "featureforge.dev") return false;
  for (const auto& builtin : BuiltinResourceTypes()) {
    if (builtin == type) return true;
  }
  return false;
}

}  // namespace

std::string UrlEncode(const std::string& value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Client::Client(std::unique_ptr<HttpTransport> transport) : transport_(std::move(transport)) {}
Client::~Client() = default;

Result<std::shared_ptr<Client>> Client::Create(RestConfig config) {
  if (config.server.empty()) return Status::InvalidArgument("rest config: server is empty");
  return std::shared_ptr<Client>(new Client(std::make_unique<HttpTransport>(std::move(config))));
}

const RestConfig& Client::config() const { return transport_->config(); }

uint64_t Client::connections_opened() const { return transport_->connections_opened(); }

std::string Client::NamespaceOf(const Json& object) const {
  ObjectKey key = ObjectKey::Of(object);
  return key.ns.empty() ? config().default_namespace : key.ns;
}

Result<Json> Client::Request(const std::string& method, const std::string& path_and_query,
                             const Json* body, const std::string& content_type) {
  HttpRequest request;
  request.method = method;
  request.path_and_query = path_and_query;
  if (body != nullptr) {
    request.body = body->dump();
    request.content_type = content_type.empty() ? "application/json" : content_type;
  }
  FF_ASSIGN_OR_RETURN(HttpResponse response, transport_->Perform(request));
  std::string what = method + " " + path_and_query;
  if (response.status < 200 || response.status >= 300) return ErrorFromResponse(what, response);
  if (response.body.empty()) return Json::object();
  Json parsed = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return MakeK8sStatus(static_cast<int>(response.status), "", what,
                         "response is not JSON: " + response.body.substr(0, 200));
  }
  return parsed;
}

Result<Json> Client::Get(const ResourceType& type, const std::string& ns, const std::string& name) {
  return Request("GET", type.ObjectPath(ns, name));
}

Result<Json> Client::List(const ResourceType& type, const std::string& ns,
                          const ListOptions& options) {
  std::string query;
  AddParam(&query, "labelSelector", options.label_selector);
  AddParam(&query, "fieldSelector", options.field_selector);
  if (options.limit > 0) AddParam(&query, "limit", std::to_string(options.limit));
  AddParam(&query, "continue", options.continue_token);
  AddParam(&query, "resourceVersion", options.resource_version);
  return Request("GET", type.CollectionPath(ns) + query);
}

Result<Json> Client::ListAll(const ResourceType& type, const std::string& ns, ListOptions options) {
  Json all;
  while (true) {
    FF_ASSIGN_OR_RETURN(Json page, List(type, ns, options));
    if (all.is_null()) {
      all = page;
      all["items"] = Json::array();
    }
    if (page.contains("items") && page["items"].is_array()) {
      for (auto& item : page["items"]) all["items"].push_back(std::move(item));
    }
    std::string next;
    if (page.contains("metadata") && page["metadata"].is_object()) {
      next = page["metadata"].value("continue", "");
      all["metadata"]["resourceVersion"] = page["metadata"].value("resourceVersion", "");
    }
    if (next.empty()) break;
    options.continue_token = next;
    options.resource_version.clear();  // continue tokens carry the version
  }
  if (all.contains("metadata") && all["metadata"].is_object()) all["metadata"].erase("continue");
  return all;
}

Result<Json> Client::Create(const ResourceType& type, const Json& object) {
  return Request("POST", type.CollectionPath(NamespaceOf(object)), &object);
}

Result<Json> Client::Update(const ResourceType& type, const Json& object) {
  ObjectKey key = ObjectKey::Of(object);
  if (key.name.empty()) return Status::InvalidArgument("update: object has no metadata.name");
  return Request("PUT", type.ObjectPath(NamespaceOf(object), key.name), &object);
}

Result<Json> Client::UpdateStatus(const ResourceType& type, const Json& object) {
  ObjectKey key = ObjectKey::Of(object);
  if (key.name.empty())
    return Status::InvalidArgument("update status: object has no metadata.name");
  return Request("PUT", type.ObjectPath(NamespaceOf(object), key.name) + "/status", &object);
}

Status Client::Delete(const ResourceType& type, const std::string& ns, const std::string& name,
                      const DeleteOptions& options) {
  Json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!options.propagation_policy.empty()) body["propagationPolicy"] = options.propagation_policy;
  if (options.grace_period_seconds) body["gracePeriodSeconds"] = *options.grace_period_seconds;
  if (!options.precondition_uid.empty()) body["preconditions"]["uid"] = options.precondition_uid;
  if (!options.precondition_resource_version.empty()) {
    body["preconditions"]["resourceVersion"] = options.precondition_resource_version;
  }
  auto result = Request("DELETE", type.ObjectPath(ns, name), &body);
  return result.status();
}

Result<Json> Client::Patch(const ResourceType& type, const std::string& ns, const std::string& name,
                           PatchType patch_type, const Json& patch,
                           const std::string& subresource) {
  std::string content_type;
  switch (patch_type) {
    case PatchType::kMerge:
      content_type = "application/merge-patch+json";
      break;
    case PatchType::kJsonPatch:
      content_type = "application/json-patch+json";
      break;
    case PatchType::kStrategicMerge:
      if (!IsStrategicMergeCapable(type)) {
        return Status::NotSupported("strategic merge patch of " + type.QualifiedName() +
                                    " (custom resources accept merge or JSON patch)");
      }
      content_type = "application/strategic-merge-patch+json";
      break;
  }
  std::string path = type.ObjectPath(ns, name);
  if (!subresource.empty()) path += "/" + subresource;
  return Request("PATCH", path, &patch, content_type);
}

Status Client::Watch(const ResourceType& type, const std::string& ns, const WatchOptions& options,
                     const WatchHandler& handler, const std::atomic<bool>* cancel) {
  std::string query = "?watch=1";
  AddParam(&query, "labelSelector", options.label_selector);
  AddParam(&query, "fieldSelector", options.field_selector);
  AddParam(&query, "resourceVersion", options.resource_version);
  if (options.allow_bookmarks) AddParam(&query, "allowWatchBookmarks", "true");
  if (options.timeout_seconds > 0) {
    AddParam(&query, "timeoutSeconds", std::to_string(options.timeout_seconds));
  }
  HttpRequest request;
  request.path_and_query = type.CollectionPath(ns) + query;
  request.streaming = true;
  // A dead peer that never closes the socket must not hang the watch forever.
  if (options.timeout_seconds > 0) request.timeout_ms = (options.timeout_seconds + 30) * 1000L;
  std::string what = "WATCH " + request.path_and_query;

  WatchDecoder decoder;
  Status stream_error;
  bool handler_stopped = false;
  std::vector<WatchEvent> events;
  auto on_chunk = [&](std::string_view chunk) {
    events.clear();
    Status fed = decoder.Feed(chunk, &events);
    if (!fed.ok()) {
      stream_error = MakeTransportStatus(K8sReason::kUnavailable, what, fed.message());
      return false;
    }
    for (auto& event : events) {
      if (event.type == "ERROR") {
        stream_error = ErrorFromWatchStatus(what, event.object);
        return false;
      }
      if (!handler(std::move(event))) {
        handler_stopped = true;
        return false;
      }
    }
    return true;
  };
  auto response = transport_->Perform(request, on_chunk, cancel);
  if (!stream_error.ok()) return stream_error;
  if (handler_stopped || (cancel != nullptr && cancel->load())) return Status::OK();
  if (!response.ok()) return response.status();
  if (response->status < 200 || response->status >= 300) {
    return ErrorFromResponse(what, *response);
  }
  Status finished = decoder.Finish();
  if (!finished.ok()) return MakeTransportStatus(K8sReason::kUnavailable, what, finished.message());
  return Status::OK();
}

Result<std::vector<ResourceType>> Client::Discover(const std::string& api_version) {
  {
    std::lock_guard<std::mutex> lock(discovery_mu_);
    auto it = discovery_cache_.find(api_version);
    if (it != discovery_cache_.end()) return it->second;
  }
  std::string path =
      api_version.find('/') == std::string::npos ? "/api/" + api_version : "/apis/" + api_version;
  FF_ASSIGN_OR_RETURN(Json list, Request("GET", path));
  FF_ASSIGN_OR_RETURN(std::vector<ResourceType> types, ParseApiResourceList(list));
  std::lock_guard<std::mutex> lock(discovery_mu_);
  discovery_cache_[api_version] = types;
  return types;
}

Result<ResourceType> Client::Resolve(const std::string& api_version, const std::string& kind) {
  if (auto builtin = FindBuiltin(api_version, kind)) return *builtin;
  FF_ASSIGN_OR_RETURN(std::vector<ResourceType> types, Discover(api_version));
  for (const auto& type : types) {
    if (type.kind == kind) return type;
  }
  // The cache may predate a CRD that was created since: forget it so the next call rediscovers.
  {
    std::lock_guard<std::mutex> lock(discovery_mu_);
    discovery_cache_.erase(api_version);
  }
  return Status::NotFound("kind " + kind + " is not served in " + api_version);
}

}  // namespace featureforge::k8s
