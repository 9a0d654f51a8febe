#include <set>

#include "api_types.h"

namespace ffharness {
namespace {

ResourceType Make(std::string group, std::string version, std::string resource,
                  std::string singular, std::string kind, bool namespaced,
                  std::vector<std::string> short_names = {},
                  std::vector<std::string> categories = {}) {
  ResourceType t;
  t.group = std::move(group);
  t.version = std::move(version);
  t.resource = std::move(resource);
  t.singular = std::move(singular);
  t.kind = std::move(kind);
  t.list_kind = t.kind + "List";
  t.namespaced = namespaced;
  t.short_names = std::move(short_names);
  t.categories = std::move(categories);
  return t;
}

std::string QualifiedKind(const ResourceType& type) {
  return type.group.empty() ? type.kind : type.kind + "." + type.group;
}

}  // namespace

std::vector<ResourceType> BuiltinResourceTypes() {
  std::vector<ResourceType> types;
  auto ns = Make("", "v1", "namespaces", "namespace", "Namespace", false, {"ns"});
  ns.has_status = true;
  ns.verbs = {"create", "delete", "get", "list", "patch", "update", "watch"};
  types.push_back(ns);
  auto pods = Make("", "v1", "pods", "pod", "Pod", true, {"po"}, {"all"});
  pods.has_status = true;
  pods.has_log = true;
  types.push_back(pods);
  auto services = Make("", "v1", "services", "service", "Service", true, {"svc"}, {"all"});
  services.has_status = true;
  types.push_back(services);
  types.push_back(Make("", "v1", "configmaps", "configmap", "ConfigMap", true, {"cm"}));
  types.push_back(Make("", "v1", "secrets", "secret", "Secret", true));
  types.push_back(
      Make("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, {"sa"}));
  types.push_back(Make("", "v1", "endpoints", "endpoints", "Endpoints", true, {"ep"}));
  types.push_back(Make("", "v1", "persistentvolumeclaims", "persistentvolumeclaim",
                       "PersistentVolumeClaim", true, {"pvc"}));
  auto events = Make("", "v1", "events", "event", "Event", true, {"ev"});
  events.storage_key_override = "events";
  types.push_back(events);
  auto nodes = Make("", "v1", "nodes", "node", "Node", false, {"no"});
  nodes.has_status = true;
  types.push_back(nodes);

  auto deployments =
      Make("apps", "v1", "deployments", "deployment", "Deployment", true, {"deploy"}, {"all"});
  deployments.has_status = true;
  deployments.has_scale = true;
  deployments.tracks_generation = true;
  types.push_back(deployments);
  auto replicasets =
      Make("apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, {"rs"}, {"all"});
  replicasets.has_status = true;
  replicasets.tracks_generation = true;
  types.push_back(replicasets);
  auto statefulsets =
      Make("apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, {"sts"}, {"all"});
  statefulsets.has_status = true;
  statefulsets.tracks_generation = true;
  types.push_back(statefulsets);
  auto jobs = Make("batch", "v1", "jobs", "job", "Job", true, {}, {"all"});
  jobs.has_status = true;
  jobs.tracks_generation = true;
  types.push_back(jobs);

  types.push_back(Make("coordination.k8s.io", "v1", "leases", "lease", "Lease", true));
  auto events_v1 = Make("events.k8s.io", "v1", "events", "event", "Event", true, {"ev"});
  events_v1.storage_key_override = "events";
  types.push_back(events_v1);

  for (const char* kind : {"Role", "RoleBinding"}) {
    std::string k = kind, lower;
    for (char c : k) lower.push_back(static_cast<char>(std::tolower(c)));
    types.push_back(Make("rbac.authorization.k8s.io", "v1", lower + "s", lower, k, true));
    types.push_back(Make("rbac.authorization.k8s.io", "v1", "cluster" + lower + "s",
                         "cluster" + lower, "Cluster" + k, false));
  }
  auto daemonsets =
      Make("apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, {"ds"}, {"all"});
  daemonsets.has_status = true;
  daemonsets.tracks_generation = true;
  types.push_back(daemonsets);
  auto cronjobs = Make("batch", "v1", "cronjobs", "cronjob", "CronJob", true, {"cj"}, {"all"});
  cronjobs.has_status = true;
  cronjobs.tracks_generation = true;
  types.push_back(cronjobs);
  auto hpas = Make("autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler",
                   "HorizontalPodAutoscaler", true, {"hpa"}, {"all"});
  hpas.has_status = true;
  types.push_back(hpas);
  auto ingresses =
      Make("networking.k8s.io", "v1", "ingresses", "ingress", "Ingress", true, {"ing"});
  ingresses.has_status = true;
  types.push_back(ingresses);
  types.push_back(Make("policy", "v1", "poddisruptionbudgets", "poddisruptionbudget",
                       "PodDisruptionBudget", true, {"pdb"}));
  types.push_back(Make("networking.k8s.io", "v1", "networkpolicies", "networkpolicy",
                       "NetworkPolicy", true, {"netpol"}));

  auto crds =
      Make("apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
           "CustomResourceDefinition", false, {"crd", "crds"}, {"api-extensions"});
  crds.has_status = true;
  crds.tracks_generation = true;
  types.push_back(crds);
  return types;
}

std::vector<ResourceType> ResourceTypesFromCrd(const json& crd, std::string* error) {
  std::vector<ResourceType> out;
  auto fail = [&](const std::string& message) {
    *error = message;
    return std::vector<ResourceType>{};
  };
  const json spec = crd.value("spec", json::object());
  const json names = spec.value("names", json::object());
  std::string group = spec.value("group", "");
  std::string plural = names.value("plural", "");
  std::string kind = names.value("kind", "");
  std::string scope = spec.value("scope", "");
  std::string name = crd.value("/metadata/name"_json_pointer, "");
  if (group.empty()) return fail("spec.group: Required value");
  if (group.find('.') == std::string::npos)
    return fail("spec.group: Invalid value: \"" + group +
                "\": should be a domain with at least one dot");
  if (plural.empty()) return fail("spec.names.plural: Required value");
  if (kind.empty()) return fail("spec.names.kind: Required value");
  if (scope != "Namespaced" && scope != "Cluster")
    return fail("spec.scope: Unsupported value: \"" + scope +
                "\": supported values: \"Cluster\", \"Namespaced\"");
  if (name != plural + "." + group)
    return fail("metadata.name: Invalid value: \"" + name +
                "\": must be spec.names.plural+\".\"+spec.group");
  if (!spec.contains("versions") || !spec["versions"].is_array() || spec["versions"].empty())
    return fail(
        "spec.versions: Invalid value: null: must have exactly one version marked as storage "
        "version");
  int storage = 0;
  std::set<std::string> seen;
  for (size_t i = 0; i < spec["versions"].size(); ++i) {
    const json& v = spec["versions"][i];
    std::string field = "spec.versions[" + std::to_string(i) + "]";
    std::string vname = v.value("name", "");
    if (vname.empty()) return fail(field + ".name: Required value");
    if (!seen.insert(vname).second)
      return fail(field + ".name: Duplicate value: \"" + vname + "\"");
    if (v.value("storage", false)) ++storage;
    if (!v.contains("schema") || !v["schema"].contains("openAPIV3Schema"))
      return fail(field + ".schema.openAPIV3Schema: Required value: schemas are required");
    if (!v.value("served", false)) continue;
    ResourceType t;
    t.group = group;
    t.version = vname;
    t.resource = plural;
    t.singular = names.value("singular", "");
    if (t.singular.empty()) {
      for (char c : kind) t.singular.push_back(static_cast<char>(std::tolower(c)));
    }
    t.kind = kind;
    t.list_kind = names.value("listKind", kind + "List");
    t.namespaced = scope == "Namespaced";
    t.short_names = names.value("shortNames", std::vector<std::string>{});
    t.categories = names.value("categories", std::vector<std::string>{});
    t.is_custom = true;
    t.tracks_generation = true;
    t.allow_unconditional_update = false;
    t.schema = v["schema"]["openAPIV3Schema"];
    t.printer_columns = v.value("additionalPrinterColumns", json::array());
    const json sub = v.value("subresources", json::object());
    t.has_status = sub.contains("status");
    if (sub.contains("scale")) {
      t.has_scale = true;
      t.spec_replicas_path = sub["scale"].value("specReplicasPath", ".spec.replicas");
      t.status_replicas_path = sub["scale"].value("statusReplicasPath", ".status.replicas");
      t.label_selector_path = sub["scale"].value("labelSelectorPath", "");
    }
    out.push_back(std::move(t));
  }
  if (storage != 1)
    return fail(
        "spec.versions: Invalid value: must have exactly one version marked as storage version");
  return out;
}

json ApiError::ToStatus() const {
  json status = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
                 {"status", "Failure"}, {"message", message}, {"reason", reason},
                 {"code", code}};
  if (!details.empty()) status["details"] = details;
  return status;
}

ApiError NotFoundError(const ResourceType& type, const std::string& name) {
  return {404,
          "NotFound",
          type.qualified_resource() + " \"" + name + "\" not found",
          {{"name", name}, {"group", type.group}, {"kind", type.resource}}};
}

ApiError AlreadyExistsError(const ResourceType& type, const std::string& name) {
  return {409,
          "AlreadyExists",
          type.qualified_resource() + " \"" + name + "\" already exists",
          {{"name", name}, {"group", type.group}, {"kind", type.resource}}};
}

ApiError ConflictError(const ResourceType& type, const std::string& name, const std::string& why) {
  return {
      409,
      "Conflict",
      "Operation cannot be fulfilled on " + type.qualified_resource() + " \"" + name + "\": " + why,
      {{"name", name}, {"group", type.group}, {"kind", type.resource}}};
}

ApiError BadRequestError(const std::string& message) { return {400, "BadRequest", message, {}}; }

ApiError InvalidError(const ResourceType& type, const std::string& name, const json& causes) {
  std::vector<std::string> parts;
  for (const auto& c : causes) {
    std::string field = c.value("field", "");
    parts.push_back(field.empty() ? c.value("message", "") : field + ": " + c.value("message", ""));
  }
  std::string joined;
  if (parts.size() == 1) {
    joined = parts[0];
  } else {
    joined = "[";
    for (size_t i = 0; i < parts.size(); ++i) joined += (i ? ", " : "") + parts[i];
    joined += "]";
  }
  return {422,
          "Invalid",
          QualifiedKind(type) + " \"" + name + "\" is invalid: " + joined,
          {{"name", name}, {"group", type.group}, {"kind", type.kind}, {"causes", causes}}};
}

ApiError MethodNotAllowedError(const std::string& message) {
  return {405, "MethodNotAllowed", message, {}};
}

ApiError UnsupportedMediaTypeError(const std::string& message) {
  return {415, "UnsupportedMediaType", message, {}};
}

ApiError GoneError(const std::string& message) { return {410, "Expired", message, {}}; }

}  // namespace ffharness
