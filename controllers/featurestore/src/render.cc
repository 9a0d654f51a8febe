// Pure rendering of a FeatureStore into repo files and the owned ConfigMap / Deployment /
// Service. No I/O: the reconciler decides what to do with the results.
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdio>

#include "featureforge/controllers/featurestore.h"

namespace featureforge::controllers {
namespace {

using k8s::Json;

const Json& Field(const Json& object, const char* name) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(name);
  return it == object.end() ? kNull : *it;
}

std::string CamelToSnake(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      out.push_back('_');
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Emits JSON as block YAML (so the engine's file:line messages point at distinct lines), keys
// converted from the CRD's camelCase to feature_store.yaml's snake_case.
void EmitJson(YAML::Emitter& out, const Json& value, bool snake_keys) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (auto it = value.begin(); it != value.end(); ++it) {
      out << YAML::Key << (snake_keys ? CamelToSnake(it.key()) : it.key()) << YAML::Value;
      EmitJson(out, it.value(), snake_keys);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : value) EmitJson(out, item, snake_keys);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << value.get<std::string>();
  } else if (value.is_boolean()) {
    out << value.get<bool>();
  } else if (value.is_number_integer()) {
    out << value.get<int64_t>();
  } else if (value.is_number()) {
    out << value.get<double>();
  } else {
    out << YAML::Null;
  }
}

std::string NameOf(const Json& store) { return store["metadata"].value("name", ""); }
std::string NamespaceOf(const Json& store) { return store["metadata"].value("namespace", ""); }

Json CommonLabels(const Json& store, const std::string& component) {
  return Json{{"app.kubernetes.io/name", "featureforge"},
              {"app.kubernetes.io/component", component},
              {"app.kubernetes.io/instance", NameOf(store)},
              {"app.kubernetes.io/managed-by", "featureforge-operator"},
              {"featureforge.dev/featurestore", NameOf(store)}};
}

constexpr const char* kRepoMountPath = "/etc/featureforge/repo";

}  // namespace

const k8s::ResourceType& FeatureStoreResource() {
  static const k8s::ResourceType kType{"featureforge.dev", "v1alpha1", "featurestores",
                                       "FeatureStore", true};
  return kType;
}

std::string RepoConfigMapName(const std::string& store_name) { return store_name + "-repo"; }
std::string ServerName(const std::string& store_name) { return store_name + "-server"; }

std::string RegistryPathOf(const Json& store, const OperatorConfig& config) {
  const Json& path = Field(Field(Field(store, "spec"), "registry"), "path");
  if (path.is_string() && !path.get<std::string>().empty()) return path.get<std::string>();
  return config.work_dir + "/registries/" + NamespaceOf(store) + "/" + NameOf(store) +
         "/registry.pb";
}

std::string HashJson(const Json& value) {
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : value.dump()) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

Result<RepoFiles> RenderRepoFiles(const Json& store, const OperatorConfig& config,
                                  const Json* referenced_data) {
  const Json& spec = Field(store, "spec");
  const Json& project = Field(spec, "feastProject");
  if (!project.is_string() || project.get<std::string>().empty()) {
    return Status::InvalidArgument("spec.feastProject: required");
  }
  const std::string registry = RegistryPathOf(store, config);
  RepoFiles files;
  if (referenced_data != nullptr) {
    if (!referenced_data->is_object() || !referenced_data->contains("feature_store.yaml")) {
      return Status::InvalidArgument(
          "spec.repoConfigMapRef: the ConfigMap has no 'feature_store.yaml' key");
    }
    for (auto it = referenced_data->begin(); it != referenced_data->end(); ++it) {
      if (!it.value().is_string()) continue;
      files[it.key()] = it.value().get<std::string>();
    }
    // The CR owns project and registry location, whatever the ConfigMap says.
    YAML::Node config_yaml;
    try {
      config_yaml = YAML::Load(files["feature_store.yaml"]);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument("spec.repoConfigMapRef: feature_store.yaml:" +
                                     std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (!config_yaml.IsMap()) {
      return Status::InvalidArgument(
          "spec.repoConfigMapRef: feature_store.yaml:1: must be a mapping");
    }
    config_yaml["project"] = project.get<std::string>();
    config_yaml["registry"] = registry;
    YAML::Emitter out;
    out << config_yaml;
    files["feature_store.yaml"] = std::string(out.c_str()) + "\n";
    return files;
  }

  const Json& store_yaml = Field(spec, "featureStoreYaml");
  Json config_json = Json::object();
  config_json["project"] = project;
  config_json["registry"] = registry;
  config_json["provider"] = "local";
  if (store_yaml.is_object()) {
    for (auto it = store_yaml.begin(); it != store_yaml.end(); ++it) {
      if (it.key() == "project" || it.key() == "registry") continue;
      config_json[it.key()] = it.value();
    }
  }
  YAML::Emitter out;
  out << YAML::Comment("Rendered by featureforge-operator from FeatureStore " + NamespaceOf(store) +
                       "/" + NameOf(store) + "; do not edit.");
  EmitJson(out, config_json, /*snake_keys=*/true);
  files["feature_store.yaml"] = std::string(out.c_str()) + "\n";

  const Json& definitions = Field(spec, "definitions");
  if (!definitions.is_string() || definitions.get<std::string>().empty()) {
    return Status::InvalidArgument(
        "spec.definitions: required (YAML: entities, sources, feature_views, ...) unless "
        "spec.repoConfigMapRef is set");
  }
  files["definitions.yaml"] = definitions.get<std::string>();
  return files;
}

Json BuildRepoConfigMap(const Json& store, const RepoFiles& files) {
  Json data = Json::object();
  for (const auto& [name, content] : files) data[name] = content;
  return Json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata",
               {{"name", RepoConfigMapName(NameOf(store))},
                {"namespace", NamespaceOf(store)},
                {"labels", CommonLabels(store, "repo")}}},
              {"data", data}};
}

Json BuildServerDeployment(const Json& store, const OperatorConfig& config,
                           const std::string& repo_hash) {
  const Json& server =
      Field(Field(Field(Field(store, "spec"), "services"), "onlineStore"), "server");
  const std::string name = ServerName(NameOf(store));
  Json selector = {{"app.kubernetes.io/component", "feature-server"},
                   {"featureforge.dev/featurestore", NameOf(store)}};
  std::string image = config.feature_server_image;
  if (Field(server, "image").is_string() && !server["image"].get<std::string>().empty()) {
    image = server["image"].get<std::string>();
  }
  Json container = {
      {"name", "feature-server"},
      {"image", image},
      {"command", Json::array({config.featureforge_command})},
      // Listens on the pod IP (downward API), as every pod has its own.
      {"args", Json::array({"serve", "--repo", kRepoMountPath, "--host", "$(POD_IP)", "--port",
                            std::to_string(config.feature_server_port)})},
      {"ports", Json::array({{{"name", "http"},
                              {"containerPort", config.feature_server_port},
                              {"protocol", "TCP"}}})},
      {"volumeMounts",
       Json::array({{{"name", "repo"}, {"mountPath", kRepoMountPath}, {"readOnly", true}}})},
      {"readinessProbe",
       {{"httpGet", {{"path", "/health"}, {"port", "http"}}}, {"periodSeconds", 5}}}};
  if (Field(server, "resources").is_object()) container["resources"] = server["resources"];
  Json env = Json::array(
      {{{"name", "POD_IP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}}});
  // The store's credentials first, so the server's own entries can override them.
  const Json& credentials = Field(Field(store, "spec"), "credentials");
  Json env_from = Json::array();
  for (const Json* source : {&credentials, &server}) {
    if (Field(*source, "env").is_array()) {
      for (const auto& var : (*source)["env"]) env.push_back(var);
    }
    if (Field(*source, "envFrom").is_array()) {
      for (const auto& from : (*source)["envFrom"]) env_from.push_back(from);
    }
  }
  container["env"] = env;
  if (!env_from.empty()) container["envFrom"] = env_from;
  Json pod_spec = {
      {"containers", Json::array({container})},
      {"volumes", Json::array({{{"name", "repo"},
                                {"configMap", {{"name", RepoConfigMapName(NameOf(store))}}}}})}};
  Json labels = CommonLabels(store, "feature-server");
  return Json{
      {"apiVersion", "apps/v1"},
      {"kind", "Deployment"},
      {"metadata", {{"name", name}, {"namespace", NamespaceOf(store)}, {"labels", labels}}},
      {"spec",
       {{"replicas",
         Field(server, "replicas").is_number_integer() ? server["replicas"].get<int64_t>() : 1},
        {"selector", {{"matchLabels", selector}}},
        {"template",
         {{"metadata",
           {{"labels", labels},
            // A new repo rolls the server pods (they read the repo at start).
            {"annotations", {{"featureforge.dev/repo-hash", repo_hash}}}}},
          {"spec", pod_spec}}}}}};
}

Json BuildServerService(const Json& store, const OperatorConfig& config) {
  return Json{{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata",
               {{"name", ServerName(NameOf(store))},
                {"namespace", NamespaceOf(store)},
                {"labels", CommonLabels(store, "feature-server")}}},
              {"spec",
               {{"selector",
                 {{"app.kubernetes.io/component", "feature-server"},
                  {"featureforge.dev/featurestore", NameOf(store)}}},
                {"ports", Json::array({{{"name", "http"},
                                        {"port", config.feature_server_port},
                                        {"targetPort", "http"},
                                        {"protocol", "TCP"}}})}}}};
}

}  // namespace featureforge::controllers
