#include "featureforge/k8s/resource.h"

namespace featureforge::k8s {

std::string ResourceType::ApiVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string ResourceType::GroupVersionPath() const {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

std::string ResourceType::CollectionPath(const std::string& ns) const {
  std::string path = GroupVersionPath();
  if (namespaced && !ns.empty()) path += "/namespaces/" + ns;
  return path + "/" + resource;
}

std::string ResourceType::ObjectPath(const std::string& ns, const std::string& name) const {
  return CollectionPath(ns) + "/" + name;
}

std::string ResourceType::QualifiedName() const {
  return group.empty() ? resource : resource + "." + group;
}

ObjectKey ObjectKey::Parse(const std::string& key) {
  size_t slash = key.find('/');
  if (slash == std::string::npos) return ObjectKey{"", key};
  return ObjectKey{key.substr(0, slash), key.substr(slash + 1)};
}

ObjectKey ObjectKey::Of(const Json& object) {
  ObjectKey key;
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return key;
  key.ns = meta->value("namespace", "");
  key.name = meta->value("name", "");
  return key;
}

const std::vector<ResourceType>& BuiltinResourceTypes() {
  static const std::vector<ResourceType> kTypes = {
      {"", "v1", "pods", "Pod", true},
      {"", "v1", "services", "Service", true},
      {"", "v1", "configmaps", "ConfigMap", true},
      {"", "v1", "secrets", "Secret", true},
      {"", "v1", "serviceaccounts", "ServiceAccount", true},
      {"", "v1", "namespaces", "Namespace", false},
      {"", "v1", "events", "Event", true},
      {"", "v1", "nodes", "Node", false},
      {"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true},
      {"apps", "v1", "deployments", "Deployment", true},
      {"apps", "v1", "statefulsets", "StatefulSet", true},
      {"batch", "v1", "jobs", "Job", true},
      {"coordination.k8s.io", "v1", "leases", "Lease", true},
      {"events.k8s.io", "v1", "events", "Event", true},
      {"rbac.authorization.k8s.io", "v1", "roles", "Role", true},
      {"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true},
      {"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false},
      {"rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false},
      {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition",
       false},
      {"featureforge.dev", "v1alpha1", "featurestores", "FeatureStore", true},
      {"featureforge.dev", "v1alpha1", "computeclusters", "ComputeCluster", true},
      {"featureforge.dev", "v1alpha1", "materializationjobs", "MaterializationJob", true},
  };
  return kTypes;
}

std::optional<ResourceType> FindBuiltin(const std::string& api_version, const std::string& kind) {
  for (const auto& type : BuiltinResourceTypes()) {
    if (type.kind == kind && type.ApiVersion() == api_version) return type;
  }
  return std::nullopt;
}

namespace resources {
namespace {
const ResourceType& Builtin(const char* api_version, const char* kind) {
  for (const auto& type : BuiltinResourceTypes()) {
    if (type.kind == kind && type.ApiVersion() == api_version) return type;
  }
  std::abort();  // the table above is fixed; a miss is a programming error
}
}  // namespace
const ResourceType& Pods() {
  static const auto& t = Builtin("v1", "Pod");
  return t;
}
const ResourceType& Services() {
  static const auto& t = Builtin("v1", "Service");
  return t;
}
const ResourceType& ConfigMaps() {
  static const auto& t = Builtin("v1", "ConfigMap");
  return t;
}
const ResourceType& Secrets() {
  static const auto& t = Builtin("v1", "Secret");
  return t;
}
const ResourceType& Namespaces() {
  static const auto& t = Builtin("v1", "Namespace");
  return t;
}
const ResourceType& Events() {
  static const auto& t = Builtin("v1", "Event");
  return t;
}
const ResourceType& Deployments() {
  static const auto& t = Builtin("apps/v1", "Deployment");
  return t;
}
const ResourceType& Leases() {
  static const auto& t = Builtin("coordination.k8s.io/v1", "Lease");
  return t;
}
const ResourceType& CustomResourceDefinitions() {
  static const auto& t = Builtin("apiextensions.k8s.io/v1", "CustomResourceDefinition");
  return t;
}
}  // namespace resources

Result<std::vector<ResourceType>> ParseApiResourceList(const Json& list) {
  if (!list.is_object() || !list.contains("groupVersion") || !list["groupVersion"].is_string()) {
    return Status::InvalidArgument("APIResourceList without groupVersion");
  }
  std::string group_version = list["groupVersion"].get<std::string>();
  ResourceType base;
  size_t slash = group_version.find('/');
  if (slash == std::string::npos) {
    base.version = group_version;
  } else {
    base.group = group_version.substr(0, slash);
    base.version = group_version.substr(slash + 1);
  }
  std::vector<ResourceType> out;
  auto resources = list.find("resources");
  if (resources == list.end() || !resources->is_array()) return out;
  for (const auto& r : *resources) {
    if (!r.is_object()) continue;
    std::string name = r.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos) continue;
    ResourceType type = base;
    type.resource = name;
    type.kind = r.value("kind", "");
    type.namespaced = r.value("namespaced", true);
    out.push_back(std::move(type));
  }
  return out;
}

}  // namespace featureforge::k8s
