// Discovery (/api, /apis, group versions), /version and the OpenAPI documents kubectl reads.
#include <algorithm>
#include <set>

#include "api_server.h"

namespace ffharness {
namespace {

HttpResponse JsonOk(const json& body) {
  HttpResponse r;
  r.body = body.dump();
  return r;
}

json ResourceEntry(const ResourceType& t) {
  json e = {{"name", t.resource},
            {"singularName", t.singular},
            {"namespaced", t.namespaced},
            {"kind", t.kind},
            {"verbs", t.verbs}};
  if (!t.short_names.empty()) e["shortNames"] = t.short_names;
  if (!t.categories.empty()) e["categories"] = t.categories;
  return e;
}

json ResourceList(const std::string& group_version,
                  const std::vector<std::shared_ptr<const ResourceType>>& types) {
  json resources = json::array();
  for (const auto& t : types) {
    if (t->api_version() != group_version) continue;
    resources.push_back(ResourceEntry(*t));
    json sub_verbs = json::array({"get", "patch", "update"});
    if (t->has_status) {
      resources.push_back({{"name", t->resource + "/status"},
                           {"singularName", ""},
                           {"namespaced", t->namespaced},
                           {"kind", t->kind},
                           {"verbs", sub_verbs}});
    }
    if (t->has_scale) {
      resources.push_back({{"name", t->resource + "/scale"},
                           {"singularName", ""},
                           {"namespaced", t->namespaced},
                           {"group", "autoscaling"},
                           {"version", "v1"},
                           {"kind", "Scale"},
                           {"verbs", sub_verbs}});
    }
    if (t->has_log) {
      resources.push_back({{"name", t->resource + "/log"},
                           {"singularName", ""},
                           {"namespaced", t->namespaced},
                           {"kind", t->kind},
                           {"verbs", json::array({"get"})}});
    }
  }
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group_version},
          {"resources", resources}};
}

// Groups in serving order with their versions (first = preferred).
std::vector<std::pair<std::string, std::vector<std::string>>> Groups(
    const std::vector<std::shared_ptr<const ResourceType>>& types) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const auto& t : types) {
    if (t->group.empty()) continue;
    auto it =
        std::find_if(out.begin(), out.end(), [&](const auto& g) { return g.first == t->group; });
    if (it == out.end()) {
      out.push_back({t->group, {}});
      it = out.end() - 1;
    }
    if (std::find(it->second.begin(), it->second.end(), t->version) == it->second.end())
      it->second.push_back(t->version);
  }
  return out;
}

json GroupJson(const std::string& name, const std::vector<std::string>& versions) {
  json vs = json::array();
  for (const auto& v : versions) vs.push_back({{"groupVersion", name + "/" + v}, {"version", v}});
  return {{"name", name}, {"versions", vs}, {"preferredVersion", vs[0]}};
}

// A v3 document with one path per resource whose PATCH operation names its kind and accepts
// fieldValidation: kubectl then leaves validation to this server instead of downloading the v2
// (protobuf) document, and computes strategic merge patches from its compiled-in types.
json OpenApiV3Document(const std::string& group_version,
                       const std::vector<std::shared_ptr<const ResourceType>>& types) {
  json paths = json::object();
  for (const auto& t : types) {
    if (t->api_version() != group_version) continue;
    std::string prefix = t->group.empty() ? "/api/v1" : "/apis/" + t->api_version();
    std::string path =
        prefix + (t->namespaced ? "/namespaces/{namespace}/" : "/") + t->resource + "/{name}";
    json gvk = {{"group", t->group}, {"version", t->version}, {"kind", t->kind}};
    json params = json::array();
    for (const char* name : {"dryRun", "fieldManager", "fieldValidation", "force"}) {
      params.push_back({{"name", name}, {"in", "query"}, {"schema", {{"type", "string"}}}});
    }
    json op = {{"operationId", "patch" + t->kind},
               {"parameters", params},
               {"responses", {{"200", {{"description", "OK"}}}}},
               {"x-kubernetes-action", "patch"},
               {"x-kubernetes-group-version-kind", gvk}};
    paths[path] = {{"patch", op}};
  }
  // Custom resources carry their structural schema, so `kubectl explain` can describe them.
  json schemas = json::object();
  for (const auto& t : types) {
    if (t->api_version() != group_version || !t->is_custom || !t->schema.is_object()) continue;
    json schema = t->schema;
    if (!schema.contains("properties")) schema["properties"] = json::object();
    schema["properties"]["apiVersion"] = {{"type", "string"},
                                          {"description", "APIVersion of the object."}};
    schema["properties"]["kind"] = {{"type", "string"}, {"description", "Kind of the object."}};
    schema["properties"]["metadata"] = {{"type", "object"},
                                        {"description", "Standard object metadata."}};
    schema["x-kubernetes-group-version-kind"] =
        json::array({{{"group", t->group}, {"version", t->version}, {"kind", t->kind}}});
    std::string reversed;  // featureforge.dev -> dev.featureforge
    std::string group = t->group;
    while (!group.empty()) {
      size_t dot = group.rfind('.');
      reversed +=
          (reversed.empty() ? "" : ".") + group.substr(dot == std::string::npos ? 0 : dot + 1);
      group = dot == std::string::npos ? "" : group.substr(0, dot);
    }
    schemas[reversed + "." + t->version + "." + t->kind] = schema;
  }
  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
          {"paths", paths},
          {"components", {{"schemas", schemas}}}};
}

}  // namespace

HttpResponse ApiServer::Discovery(const HttpRequest& request, bool* handled) {
  *handled = true;
  std::string path = request.path;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (request.method != "GET") {
    *handled =
        path == "/api" || path == "/apis" || path == "/version" || path.rfind("/openapi", 0) == 0;
    if (*handled) {
      HttpResponse r;
      r.status = 405;
      r.body = MethodNotAllowedError("discovery documents are read-only").ToStatus().dump();
      return r;
    }
    return {};
  }
  if (path == "/version") {
    return JsonOk({{"major", "1"},
                   {"minor", "32"},
                   {"gitVersion", "v1.32.0-ffharness"},
                   {"gitCommit", "featureforge-harness"},
                   {"gitTreeState", "clean"},
                   {"buildDate", "2026-01-01T00:00:00Z"},
                   {"goVersion", "go1.23"},
                   {"compiler", "gc"},
                   {"platform", "linux/amd64"}});
  }
  auto types = ServedTypes();
  if (path == "/api") {
    return JsonOk({{"kind", "APIVersions"},
                   {"versions", json::array({"v1"})},
                   {"serverAddressByClientCIDRs",
                    json::array({{{"clientCIDR", "0.0.0.0/0"},
                                  {"serverAddress", request.Header("host")}}})}});
  }
  if (path == "/api/v1") return JsonOk(ResourceList("v1", types));
  auto groups = Groups(types);
  if (path == "/apis") {
    json list = json::array();
    for (const auto& [name, versions] : groups) list.push_back(GroupJson(name, versions));
    return JsonOk({{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}});
  }
  if (path.rfind("/apis/", 0) == 0) {
    std::string rest = path.substr(6);
    size_t slash = rest.find('/');
    std::string group = rest.substr(0, slash);
    for (const auto& [name, versions] : groups) {
      if (name != group) continue;
      if (slash == std::string::npos) {
        json g = GroupJson(name, versions);
        g["kind"] = "APIGroup";
        g["apiVersion"] = "v1";
        return JsonOk(g);
      }
      std::string version = rest.substr(slash + 1);
      if (version.find('/') == std::string::npos) {
        for (const auto& v : versions) {
          if (v == version) return JsonOk(ResourceList(group + "/" + version, types));
        }
      }
    }
    if (slash == std::string::npos || rest.find('/', slash + 1) == std::string::npos) {
      HttpResponse r;
      r.status = 404;
      r.body = ApiError{404, "NotFound", "the server could not find the requested resource", {}}
                   .ToStatus()
                   .dump();
      return r;
    }
    *handled = false;
    return {};
  }
  if (path == "/openapi/v3") {
    json paths = json::object();
    paths["api/v1"] = {{"serverRelativeURL", "/openapi/v3/api/v1"}};
    for (const auto& [name, versions] : groups) {
      for (const auto& v : versions) {
        paths["apis/" + name + "/" + v] = {
            {"serverRelativeURL", "/openapi/v3/apis/" + name + "/" + v}};
      }
    }
    return JsonOk({{"paths", paths}});
  }
  if (path.rfind("/openapi/v3/", 0) == 0) {
    std::string gv = path.substr(12);  // api/v1 or apis/<group>/<version>
    if (gv == "api/v1") return JsonOk(OpenApiV3Document("v1", types));
    if (gv.rfind("apis/", 0) == 0) return JsonOk(OpenApiV3Document(gv.substr(5), types));
  }
  if (path == "/openapi/v2") {
    return JsonOk({{"swagger", "2.0"},
                   {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
                   {"paths", json::object()},
                   {"definitions", json::object()}});
  }
  *handled = false;
  return {};
}

}  // namespace ffharness
