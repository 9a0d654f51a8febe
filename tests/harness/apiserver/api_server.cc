#include "api_server.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "builtin_defaults.h"
#include "certs.h"
#include "selectors.h"
#include "tables.h"

namespace ffharness {

namespace {

HttpResponse JsonResponse(int code, const json& body) {
  HttpResponse r;
  r.status = code;
  r.body = body.dump();
  return r;
}

HttpResponse ErrorResponse(const ApiError& error) {
  return JsonResponse(error.code, error.ToStatus());
}

bool WantsTable(const HttpRequest& request) {
  return request.Header("accept").find("as=Table") != std::string::npos;
}

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

}  // namespace

bool ParseServiceIpRange(const std::string& cidr, uint32_t* base, uint32_t* count,
                         std::string* error) {
  unsigned a = 0, b = 0, c = 0, d = 0, prefix = 0;
  char tail = 0;
  if (std::sscanf(cidr.c_str(), "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &prefix, &tail) != 5 ||
      a > 255 || b > 255 || c > 255 || d > 255) {
    *error = "'" + cidr + "' is not an IPv4 CIDR like 10.96.0.0/16";
    return false;
  }
  if (prefix < 8 || prefix > 28) {
    *error = "prefix length of '" + cidr + "' must be in [8, 28]";
    return false;
  }
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t(0) << (32 - prefix);
  *base = ((a << 24) | (b << 16) | (c << 8) | d) & mask;
  *count = uint32_t(1) << (32 - prefix);
  return true;
}

ApiServer::ApiServer(ApiServerOptions options) : options_(std::move(options)) {
  for (auto& t : BuiltinResourceTypes()) types_.push_back(std::make_shared<ResourceType>(t));
  auto ns_type = FindType("", "v1", "namespaces");
  auto sa_type = FindType("", "v1", "serviceaccounts");
  std::lock_guard<std::mutex> lock(mu_);
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    json obj = {{"apiVersion", "v1"},
                {"kind", "Namespace"},
                {"metadata",
                 {{"name", ns},
                  {"uid", RandomHex(16)},
                  {"creationTimestamp", NowTimestamp()},
                  {"labels", {{"kubernetes.io/metadata.name", ns}}}}}};
    ApplyBuiltinDefaults(*ns_type, obj);
    CommitLocked(*ns_type, ObjectKey("", ns), obj, "ADDED", nullptr);
    json sa = {{"apiVersion", "v1"},
               {"kind", "ServiceAccount"},
               {"metadata",
                {{"name", "default"},
                 {"namespace", ns},
                 {"uid", RandomHex(16)},
                 {"creationTimestamp", NowTimestamp()}}}};
    CommitLocked(*sa_type, ObjectKey(ns, "default"), sa, "ADDED", nullptr);
  }
  background_ = std::thread([this] { BackgroundLoop(); });
}

ApiServer::~ApiServer() {
  Shutdown();
  if (background_.joinable()) background_.join();
}

void ApiServer::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
}

HttpResponse ApiServer::Handle(const HttpRequest& request) {
  static const std::vector<std::string> kPublic = {"/healthz", "/readyz", "/livez", "/version"};
  bool is_public = std::find(kPublic.begin(), kPublic.end(), request.path) != kPublic.end();
  if (!options_.token.empty() && !is_public &&
      request.Header("authorization") != "Bearer " + options_.token) {
    return ErrorResponse({401, "Unauthorized", "Unauthorized", {}});
  }
  try {
    return Route(request);
  } catch (const std::exception& e) {
    return ErrorResponse(
        {500, "InternalError", std::string("Internal error occurred: ") + e.what(), {}});
  }
}

HttpResponse ApiServer::Route(const HttpRequest& request) {
  std::string path = request.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/healthz" || path == "/readyz" || path == "/livez") {
    HttpResponse r;
    r.content_type = "text/plain";
    r.body = "ok";
    return r;
  }
  if (path == "/harness/compact" || path == "/harness/drop-watches") {
    if (request.method != "POST") return ErrorResponse(MethodNotAllowedError("use POST"));
    std::lock_guard<std::mutex> lock(mu_);
    if (path == "/harness/compact") {
      min_resumable_rv_ = rv_;
      history_.clear();
    } else {
      ++watch_epoch_;
    }
    cv_.notify_all();
    return JsonResponse(200, {{"kind", "Status"},
                              {"apiVersion", "v1"},
                              {"status", "Success"},
                              {"message", "resourceVersion " + std::to_string(rv_)}});
  }
  bool handled = false;
  HttpResponse discovery = Discovery(request, &handled);
  if (handled) return discovery;
  if (path.rfind("/api/", 0) == 0 || path.rfind("/apis/", 0) == 0) {
    ApiError error;
    auto target = ParseResourcePath(path, &error);
    if (!target) return ErrorResponse(error);
    return HandleResource(request, *target);
  }
  return ErrorResponse({404, "NotFound", "the server could not find the requested resource", {}});
}

std::optional<ApiServer::Target> ApiServer::ParseResourcePath(const std::string& path,
                                                              ApiError* error) {
  *error = {404, "NotFound", "the server could not find the requested resource", {}};
  auto seg = SplitPath(path);
  std::string group, version;
  size_t rest = 0;
  if (seg.size() >= 2 && seg[0] == "api") {
    version = seg[1];
    rest = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    group = seg[1];
    version = seg[2];
    rest = 3;
  } else {
    return std::nullopt;
  }
  std::vector<std::string> r(seg.begin() + static_cast<long>(rest), seg.end());
  if (r.empty()) return std::nullopt;
  Target t;
  std::string resource;
  if (r[0] == "namespaces" && r.size() >= 3) {
    TypePtr inner = FindType(group, version, r[2]);
    if (inner && inner->namespaced) {
      t.ns = r[1];
      resource = r[2];
      if (r.size() >= 4) t.name = r[3];
      if (r.size() >= 5) t.subresource = r[4];
      if (r.size() > 5) return std::nullopt;
    } else {
      resource = "namespaces";
      t.name = r[1];
      t.subresource = r[2];
      if (r.size() > 3) return std::nullopt;
    }
  } else {
    resource = r[0];
    if (r.size() >= 2) t.name = r[1];
    if (r.size() >= 3) t.subresource = r[2];
    if (r.size() > 3) return std::nullopt;
  }
  t.type = FindType(group, version, resource);
  if (!t.type) return std::nullopt;
  if (!t.type->namespaced && !t.ns.empty()) return std::nullopt;
  if (t.type->namespaced && t.ns.empty() && !t.name.empty()) return std::nullopt;
  const std::string& sub = t.subresource;
  if (!sub.empty() && !(sub == "status" && t.type->has_status) &&
      !(sub == "scale" && t.type->has_scale) && !(sub == "log" && t.type->has_log) &&
      !(sub == "finalize" && t.type->resource == "namespaces")) {
    return std::nullopt;
  }
  return t;
}

HttpResponse ApiServer::HandleResource(const HttpRequest& request, const Target& target) {
  const std::string& m = request.method;
  if (request.Header("content-type").find("protobuf") != std::string::npos) {
    return ErrorResponse(
        UnsupportedMediaTypeError("protobuf request bodies are not supported by the featureforge "
                                  "harness API server; send JSON "
                                  "(kubectl create -f / apply -f do; imperative generators such as "
                                  "`kubectl create configmap` send protobuf)"));
  }
  if (m != "GET" && !request.Query("dryRun").empty()) {
    return ErrorResponse(BadRequestError(
        "dryRun=" + request.Query("dryRun") +
        " is not supported by the featureforge harness API server (no server-side dry run); use "
        "kubectl --dry-run=client"));
  }
  if (m == "GET") {
    if (target.name.empty()) {
      std::string watch = request.Query("watch");
      if (watch == "true" || watch == "1") return Watch(request, target);
      return List(request, target);
    }
    if (target.subresource == "log") return PodLog(request, target);
    return Get(request, target);
  }
  if (m == "POST" && target.name.empty()) return Create(request, target);
  if (m == "PUT" && !target.name.empty()) return Update(request, target);
  if (m == "PATCH" && !target.name.empty()) return Patch(request, target);
  if (m == "DELETE")
    return target.name.empty() ? DeleteCollection(request, target) : Delete(request, target);
  return ErrorResponse(
      MethodNotAllowedError("the server does not allow this method on the requested resource"));
}

HttpResponse ApiServer::Get(const HttpRequest& request, const Target& target) {
  std::lock_guard<std::mutex> lock(mu_);
  json* stored = Lookup(*target.type, target.ns, target.name);
  if (!stored) return ErrorResponse(NotFoundError(*target.type, target.name));
  json obj = FromStorage(*target.type, *stored);
  if (target.subresource == "scale") return JsonResponse(200, ScaleOf(*target.type, obj));
  if (WantsTable(request)) {
    return JsonResponse(200, MakeTable(*target.type, {obj}, true, request.Query("includeObject"),
                                       obj["metadata"].value("resourceVersion", "")));
  }
  return JsonResponse(200, obj);
}

HttpResponse ApiServer::List(const HttpRequest& request, const Target& target) {
  std::string error;
  auto labels = LabelSelector::Parse(request.Query("labelSelector"), &error);
  if (!labels) return ErrorResponse(BadRequestError(error));
  auto fields = FieldSelector::Parse(request.Query("fieldSelector"), &error);
  if (!fields) return ErrorResponse(BadRequestError(error));
  long limit = 0;
  try {
    if (!request.Query("limit").empty()) limit = std::stol(request.Query("limit"));
  } catch (const std::exception&) {
    return ErrorResponse(
        BadRequestError("limit: invalid value \"" + request.Query("limit") + "\""));
  }
  std::string start_after;
  if (!request.Query("continue").empty()) {
    std::string decoded;
    if (!Base64Decode(request.Query("continue"), &decoded) || decoded.empty()) {
      return ErrorResponse(BadRequestError("continue: invalid continue token \"" +
                                           request.Query("continue") + "\""));
    }
    start_after = decoded;
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<json> items;
  std::string next;
  long remaining = 0;
  auto& bucket = objects_[target.type->storage_key()];
  auto it = start_after.empty() ? bucket.begin() : bucket.upper_bound(start_after);
  for (; it != bucket.end(); ++it) {
    const json& obj = it->second;
    if (!target.ns.empty() && obj["metadata"].value("namespace", "") != target.ns) continue;
    json view = FromStorage(*target.type, obj);
    if (!labels->Matches(view["metadata"].value("labels", json::object())) ||
        !fields->Matches(view))
      continue;
    if (limit > 0 && static_cast<long>(items.size()) >= limit) {
      ++remaining;
      continue;
    }
    items.push_back(std::move(view));
    if (limit > 0 && static_cast<long>(items.size()) == limit) next = it->first;
  }
  if (remaining == 0) next.clear();
  std::string rv = std::to_string(rv_);
  if (WantsTable(request)) {
    json table = MakeTable(*target.type, items, true, request.Query("includeObject"), rv);
    if (!next.empty()) table["metadata"]["continue"] = Base64Encode(next);
    return JsonResponse(200, table);
  }
  json list = {{"kind", target.type->list_kind},
               {"apiVersion", target.type->api_version()},
               {"metadata", {{"resourceVersion", rv}}},
               {"items", items}};
  if (!next.empty()) {
    list["metadata"]["continue"] = Base64Encode(next);
    list["metadata"]["remainingItemCount"] = remaining;
  }
  return JsonResponse(200, list);
}

HttpResponse ApiServer::Watch(const HttpRequest& request, const Target& target) {
  std::string error;
  auto labels = LabelSelector::Parse(request.Query("labelSelector"), &error);
  if (!labels) return ErrorResponse(BadRequestError(error));
  auto fields = FieldSelector::Parse(request.Query("fieldSelector"), &error);
  if (!fields) return ErrorResponse(BadRequestError(error));
  long timeout = 1800;
  try {
    if (!request.Query("timeoutSeconds").empty())
      timeout = std::stol(request.Query("timeoutSeconds"));
  } catch (const std::exception&) {
    return ErrorResponse(BadRequestError("timeoutSeconds: invalid value"));
  }
  bool bookmarks = request.Query("allowWatchBookmarks") == "true";
  bool send_initial = request.Query("sendInitialEvents") == "true";
  bool table = WantsTable(request);
  std::string include_object = request.Query("includeObject");
  std::string rv_param = request.Query("resourceVersion");
  TypePtr type = target.type;
  std::string ns = target.ns;
  auto matches = [labels = *labels, fields = *fields, ns](const json& obj) {
    if (!obj.is_object()) return false;
    if (!ns.empty() && obj["metadata"].value("namespace", "") != ns) return false;
    return labels.Matches(obj["metadata"].value("labels", json::object())) && fields.Matches(obj);
  };

  std::vector<json> initial;
  uint64_t start_rv = 0, epoch = 0;
  std::string gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    epoch = watch_epoch_;
    if (rv_param.empty() || rv_param == "0" || send_initial) {
      for (const auto& [key, obj] : objects_[type->storage_key()]) {
        json view = FromStorage(*type, obj);
        if (matches(view)) initial.push_back(std::move(view));
      }
      start_rv = rv_;
    } else {
      try {
        start_rv = std::stoull(rv_param);
      } catch (const std::exception&) {
        return ErrorResponse(
            BadRequestError("resourceVersion: Invalid value: \"" + rv_param + "\""));
      }
      if (start_rv < min_resumable_rv_) {
        gone = "too old resource version: " + rv_param + " (" + std::to_string(min_resumable_rv_) +
               ")";
      }
    }
  }
  HttpResponse response;
  response.stream = [=, this](ChunkWriter& writer) {
    bool first = true;
    auto render = [&](const json& obj) {
      if (!table) return obj;
      json t = MakeTable(*type, {obj}, first, include_object,
                         obj["metadata"].value("resourceVersion", ""));
      first = false;
      return t;
    };
    auto send = [&](const std::string& event_type, const json& obj) {
      return writer.Write(json({{"type", event_type}, {"object", obj}}).dump() + "\n");
    };
    if (!gone.empty()) {
      send("ERROR", GoneError(gone).ToStatus());
      return;
    }
    for (const auto& obj : initial) {
      if (!send("ADDED", render(obj))) return;
    }
    auto bookmark = [&](uint64_t rv, bool initial_end) {
      json meta = {{"resourceVersion", std::to_string(rv)}};
      if (initial_end) meta["annotations"] = {{"k8s.io/initial-events-end", "true"}};
      return send("BOOKMARK",
                  {{"kind", type->kind}, {"apiVersion", type->api_version()}, {"metadata", meta}});
    };
    if (send_initial && !bookmark(start_rv, true)) return;
    using Clock = std::chrono::steady_clock;
    auto deadline = Clock::now() + std::chrono::seconds(timeout);
    auto interval = std::chrono::seconds(std::max(1, options_.bookmark_interval_seconds));
    auto next_bookmark = Clock::now() + interval;
    uint64_t seen = start_rv;
    while (true) {
      std::vector<std::pair<std::string, json>> out;
      bool expired = false, stop = false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        auto wake = std::min({deadline, next_bookmark, Clock::now() + std::chrono::seconds(1)});
        cv_.wait_until(lock, wake,
                       [&] { return rv_ > seen || shutting_down_ || watch_epoch_ != epoch; });
        if (shutting_down_ || watch_epoch_ != epoch) stop = true;
        if (!stop && rv_ > seen) {
          if (seen < min_resumable_rv_) {
            expired = true;
          } else {
            auto it = std::lower_bound(history_.begin(), history_.end(), seen + 1,
                                       [](const Event& e, uint64_t rv) { return e.rv < rv; });
            for (; it != history_.end(); ++it) {
              if (it->storage_key != type->storage_key()) continue;
              json now = FromStorage(*type, it->object);
              bool now_match = matches(now);
              bool was_match =
                  it->type == "MODIFIED" && matches(FromStorage(*type, it->old_object));
              std::string ev = it->type;
              if (ev == "MODIFIED") {
                if (now_match && !was_match)
                  ev = "ADDED";
                else if (!now_match && was_match)
                  ev = "DELETED";
                else if (!now_match)
                  continue;
              } else if (!now_match) {
                continue;
              }
              out.emplace_back(ev, std::move(now));
            }
            seen = rv_;
          }
        }
      }
      if (expired) {
        send("ERROR", GoneError("too old resource version: " + std::to_string(seen)).ToStatus());
        return;
      }
      for (const auto& [ev, obj] : out) {
        if (!send(ev, render(obj))) return;
      }
      if (stop || writer.PeerClosed()) return;
      auto now = Clock::now();
      if (now >= deadline) return;
      if (now >= next_bookmark) {
        if (bookmarks && !bookmark(seen, false)) return;
        next_bookmark = now + interval;
      }
    }
  };
  return response;
}

// Pod logs: the process kubelet writes each container's output under the directory its Node
// publishes in the harness.featureforge.dev/pod-log-dir annotation.
HttpResponse ApiServer::PodLog(const HttpRequest& request, const Target& target) {
  std::string path, container = request.Query("container");
  {
    std::lock_guard<std::mutex> lock(mu_);
    json* pod = Lookup(*target.type, target.ns, target.name);
    if (!pod) return ErrorResponse(NotFoundError(*target.type, target.name));
    std::vector<std::string> names;
    for (const auto& c : pod->value("/spec/containers"_json_pointer, json::array()))
      names.push_back(c.value("name", ""));
    if (container.empty()) {
      if (names.size() != 1) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : " ") + n;
        return ErrorResponse(BadRequestError("a container name must be specified for pod " +
                                             target.name + ", choose one of: [" + list + "]"));
      }
      container = names[0];
    }
    if (std::find(names.begin(), names.end(), container) == names.end()) {
      return ErrorResponse(
          BadRequestError("container " + container + " is not valid for pod " + target.name));
    }
    std::string node = pod->value("/spec/nodeName"_json_pointer, "");
    json* node_obj = node.empty() ? nullptr : Lookup(*FindType("", "v1", "nodes"), "", node);
    std::string dir =
        node_obj
            ? node_obj->value(
                  "/metadata/annotations/harness.featureforge.dev~1pod-log-dir"_json_pointer, "")
            : "";
    if (dir.empty()) {
      return ErrorResponse(BadRequestError("container \"" + container + "\" in pod \"" +
                                           target.name +
                                           "\" is waiting to start: no process kubelet runs it"));
    }
    path = dir + "/" + target.ns + "_" + target.name + "_" + (*pod)["metadata"].value("uid", "") +
           "/" + container + ".log";
    if (request.Query("previous") == "true") path += ".previous";
  }
  std::ifstream in(path, std::ios::binary);
  if (!in && request.Query("previous") == "true") {
    return ErrorResponse(BadRequestError("previous terminated container \"" + container +
                                         "\" in pod \"" + target.name + "\" not found"));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  size_t offset = text.size();
  if (!request.Query("tailLines").empty()) {
    long n = std::atol(request.Query("tailLines").c_str());
    size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') --pos;
    for (long i = 0; i < n && pos != std::string::npos && pos > 0; ++i)
      pos = text.rfind('\n', pos - 1);
    if (n <= 0)
      text.clear();
    else if (pos != std::string::npos && pos > 0)
      text = text.substr(pos + 1);
  }
  HttpResponse response;
  response.content_type = "text/plain";
  if (request.Query("follow") != "true") {
    response.body = std::move(text);
    return response;
  }
  TypePtr type = target.type;
  response.stream = [this, type, target, path, text, offset, container](ChunkWriter& writer) {
    if (!text.empty() && !writer.Write(text)) return;
    size_t pos = offset;
    bool finished = false;  // the container ended: one last read, then end the stream
    while (!writer.PeerClosed()) {
      std::ifstream f(path, std::ios::binary);
      f.seekg(static_cast<std::streamoff>(pos));
      std::string more((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (!more.empty()) {
        pos += more.size();
        if (!writer.Write(more)) return;
        continue;
      }
      if (finished) return;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (shutting_down_) return;
        json* pod = Lookup(*type, target.ns, target.name);
        finished = !pod;
        for (const auto& cs :
             pod ? pod->value("/status/containerStatuses"_json_pointer, json::array())
                 : json::array()) {
          if (cs.value("name", "") == container && cs.contains("/state/terminated"_json_pointer))
            finished = true;
        }
      }
      if (!finished) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  };
  return response;
}

ApiServer::TypePtr ApiServer::FindType(const std::string& group, const std::string& version,
                                       const std::string& resource) const {
  for (const auto& t : types_) {
    if (t->group == group && t->version == version && t->resource == resource) return t;
  }
  return nullptr;
}

ApiServer::TypePtr ApiServer::StorageType(const std::string& storage_key) const {
  for (const auto& t : types_) {
    if (t->storage_key() == storage_key) return t;
  }
  return nullptr;
}

std::vector<ApiServer::TypePtr> ApiServer::ServedTypes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return types_;
}

std::string ApiServer::ObjectKey(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

json* ApiServer::Lookup(const ResourceType& type, const std::string& ns, const std::string& name) {
  auto bucket = objects_.find(type.storage_key());
  if (bucket == objects_.end()) return nullptr;
  auto it = bucket->second.find(ObjectKey(type.namespaced ? ns : "", name));
  return it == bucket->second.end() ? nullptr : &it->second;
}

json ApiServer::ToStorage(const ResourceType& type, json object) const {
  if (type.group == "events.k8s.io") return EventsV1ToCore(object);
  return object;
}

json ApiServer::FromStorage(const ResourceType& type, json object) const {
  if (!object.is_object()) return object;
  if (type.group == "events.k8s.io") return CoreToEventsV1(object);
  object["apiVersion"] = type.api_version();
  object["kind"] = type.kind;
  return object;
}

const json& ApiServer::CommitLocked(const ResourceType& type, const std::string& key, json object,
                                    const std::string& event_type, json old_object) {
  ++rv_;
  object["metadata"]["resourceVersion"] = std::to_string(rv_);
  json& slot = objects_[type.storage_key()][key];
  slot = std::move(object);
  RecordEventLocked({rv_, type.storage_key(), event_type, slot, std::move(old_object)});
  return slot;
}

json ApiServer::RemoveLocked(const ResourceType& type, const std::string& key) {
  auto& bucket = objects_[type.storage_key()];
  auto it = bucket.find(key);
  if (it == bucket.end()) return nullptr;
  json object = std::move(it->second);
  bucket.erase(it);
  ++rv_;
  object["metadata"]["resourceVersion"] = std::to_string(rv_);
  RecordEventLocked({rv_, type.storage_key(), "DELETED", object, nullptr});
  gc_dirty_ = true;
  if (type.resource == "customresourcedefinitions") {
    // Deleting a CRD deletes every instance (watchers see DELETED), then stops serving it.
    std::string storage = object.value("/spec/group"_json_pointer, "") + "/" +
                          object.value("/spec/names/plural"_json_pointer, "");
    TypePtr custom = StorageType(storage);
    if (custom) {
      std::vector<std::string> keys;
      for (const auto& [k, v] : objects_[storage]) keys.push_back(k);
      for (const auto& k : keys) RemoveLocked(*custom, k);
    }
    objects_.erase(storage);
    UnregisterCrdLocked(object);
  }
  return object;
}

void ApiServer::RecordEventLocked(Event event) {
  history_.push_back(std::move(event));
  while (history_.size() > std::max<size_t>(1, options_.watch_history)) {
    min_resumable_rv_ = history_.front().rv;
    history_.pop_front();
  }
  cv_.notify_all();
}

void ApiServer::RegisterCrdLocked(const json& crd) {
  std::string error;
  auto served = ResourceTypesFromCrd(crd, &error);
  if (!error.empty()) return;
  UnregisterCrdLocked(crd);
  for (auto& t : served) types_.push_back(std::make_shared<ResourceType>(std::move(t)));
}

void ApiServer::UnregisterCrdLocked(const json& crd) {
  std::string group = crd.value("/spec/group"_json_pointer, "");
  std::string plural = crd.value("/spec/names/plural"_json_pointer, "");
  types_.erase(std::remove_if(types_.begin(), types_.end(),
                              [&](const TypePtr& t) {
                                return t->is_custom && t->group == group && t->resource == plural;
                              }),
               types_.end());
}

bool ApiServer::NamespaceExistsLocked(const std::string& ns, bool* terminating) {
  auto bucket = objects_.find("/namespaces");
  if (bucket == objects_.end()) return false;
  auto it = bucket->second.find(ObjectKey("", ns));
  if (it == bucket->second.end()) return false;
  *terminating = it->second["metadata"].contains("deletionTimestamp");
  return true;
}

}  // namespace ffharness
