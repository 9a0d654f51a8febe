// Resource types served by the harness API server and Kubernetes-style API errors.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ffharness {

using nlohmann::json;

// One served resource in one group/version (a built-in or a CRD version).
struct ResourceType {
  std::string group;     // "" for core
  std::string version;   // v1, v1alpha1, ...
  std::string resource;  // plural: pods, deployments, featurestores
  std::string singular;
  std::string kind;
  std::string list_kind;
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<std::string> verbs{"create", "delete", "deletecollection", "get",
                                 "list",   "patch",  "update",           "watch"};
  bool has_status = false;         // /status subresource
  bool has_scale = false;          // /scale subresource
  bool has_log = false;            // pods/log
  bool tracks_generation = false;  // metadata.generation bumps on spec changes
  bool is_custom = false;          // served from a CRD
  bool allow_unconditional_update = true;
  std::string spec_replicas_path = ".spec.replicas";
  std::string status_replicas_path = ".status.replicas";
  std::string label_selector_path;
  json schema;           // openAPIV3Schema (custom resources), null if none
  json printer_columns;  // additionalPrinterColumns (custom resources)
  // Objects of types with the same storage key share storage (events v1 and events.k8s.io).
  std::string storage_key_override;

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  std::string storage_key() const {
    return storage_key_override.empty() ? group + "/" + resource : storage_key_override;
  }
  // "deployments.apps", "pods": the name Kubernetes uses in error messages.
  std::string qualified_resource() const {
    return group.empty() ? resource : resource + "." + group;
  }
};

// The built-in types: core v1, apps/v1, coordination.k8s.io/v1, events.k8s.io/v1,
// apiextensions.k8s.io/v1.
std::vector<ResourceType> BuiltinResourceTypes();

// The resource types a CRD object serves (one per served version). Returns an error message in
// *error when the CRD is invalid.
std::vector<ResourceType> ResourceTypesFromCrd(const json& crd, std::string* error);

// A Kubernetes API error, rendered as a metav1.Status.
struct ApiError {
  int code = 500;
  std::string reason;  // NotFound, AlreadyExists, Conflict, Invalid, BadRequest, ...
  std::string message;
  json details = json::object();

  json ToStatus() const;
};

ApiError NotFoundError(const ResourceType& type, const std::string& name);
ApiError AlreadyExistsError(const ResourceType& type, const std::string& name);
ApiError ConflictError(const ResourceType& type, const std::string& name, const std::string& why);
ApiError BadRequestError(const std::string& message);
// causes: [{reason, message, field}] ; message is built the way the real server builds it.
ApiError InvalidError(const ResourceType& type, const std::string& name, const json& causes);
ApiError MethodNotAllowedError(const std::string& message);
ApiError UnsupportedMediaTypeError(const std::string& message);
ApiError GoneError(const std::string& message);

}  // namespace ffharness
