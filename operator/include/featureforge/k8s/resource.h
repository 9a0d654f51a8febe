// Typed resource addressing: which URL serves a kind, and object keys.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "featureforge/common/status.h"

namespace featureforge::k8s {

using Json = nlohmann::json;

struct ResourceType {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string resource;  // plural, lower case: "pods"
  std::string kind;      // "Pod"
  bool namespaced = true;

  // "v1" or "apps/v1"
  std::string ApiVersion() const;
  // "/api/v1" or "/apis/apps/v1"
  std::string GroupVersionPath() const;
  // The collection URL path; `ns` is ignored for cluster-scoped types and "" lists across all
  // namespaces.
  std::string CollectionPath(const std::string& ns) const;
  std::string ObjectPath(const std::string& ns, const std::string& name) const;
  // "pods" or "deployments.apps", as kubectl names them.
  std::string QualifiedName() const;
  bool operator==(const ResourceType& o) const {
    return group == o.group && version == o.version && resource == o.resource;
  }
  bool operator<(const ResourceType& o) const {
    return std::tie(group, version, resource) < std::tie(o.group, o.version, o.resource);
  }
};

// namespace/name of an object; namespace is empty for cluster-scoped objects.
struct ObjectKey {
  std::string ns;
  std::string name;

  // "ns/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKey).
  std::string ToString() const { return ns.empty() ? name : ns + "/" + name; }
  static ObjectKey Parse(const std::string& key);
  static ObjectKey Of(const Json& object);
  bool operator==(const ObjectKey& o) const { return ns == o.ns && name == o.name; }
  bool operator<(const ObjectKey& o) const { return std::tie(ns, name) < std::tie(o.ns, o.name); }
};

// The built-in kinds the operator and controllers use: Pod, Service, ConfigMap, Secret,
// ServiceAccount, Namespace, Event (core and events.k8s.io), Deployment, Lease,
// CustomResourceDefinition, and the featureforge.dev/v1alpha1 kinds.
const std::vector<ResourceType>& BuiltinResourceTypes();
// Looks a kind up in the built-in table by apiVersion ("apps/v1") and kind ("Deployment").
std::optional<ResourceType> FindBuiltin(const std::string& api_version, const std::string& kind);

// Common built-ins, by name.
namespace resources {
const ResourceType& Pods();
const ResourceType& Services();
const ResourceType& ConfigMaps();
const ResourceType& Secrets();
const ResourceType& Namespaces();
const ResourceType& Events();
const ResourceType& Deployments();
const ResourceType& Leases();
const ResourceType& CustomResourceDefinitions();
}  // namespace resources

// Parses one group/version resource list ("GET /apis/<group>/<version>") into resource types;
// subresources ("pods/status") are skipped.
Result<std::vector<ResourceType>> ParseApiResourceList(const Json& list);

}  // namespace featureforge::k8s
