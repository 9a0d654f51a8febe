// ComputeCluster spec parsing/validation and the objects it renders (head Service, head and
// worker pods). Pure functions; see cluster_logic.h.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <set>

#include "featureforge/controllers/computecluster/cluster_logic.h"
#include "featureforge/runtime/object_util.h"

namespace featureforge::controllers::cc {
namespace {

template <typename T>
Result<T> Integer(const Json& obj, const char* field, T fallback, T minimum,
                  const std::string& path) {
  if (!obj.is_object() || !obj.contains(field) || obj[field].is_null()) return fallback;
  if (!obj[field].is_number_integer()) {
    return Status::InvalidArgument(path + field + " must be an integer");
  }
  int64_t value = obj[field].get<int64_t>();
  if (value < static_cast<int64_t>(minimum) ||
      value > static_cast<int64_t>(std::numeric_limits<T>::max())) {
    return Status::InvalidArgument(path + field + " must be >= " + std::to_string(minimum) +
                                   ", got " + std::to_string(value));
  }
  return static_cast<T>(value);
}

Result<std::map<std::string, std::string>> StringMap(const Json& obj, const char* field,
                                                     const std::string& path) {
  std::map<std::string, std::string> out;
  if (!obj.contains(field) || obj[field].is_null()) return out;
  if (!obj[field].is_object()) return Status::InvalidArgument(path + field + " must be a map");
  for (const auto& [k, v] : obj[field].items()) {
    if (k.empty() || k.find_first_of(" =") != std::string::npos) {
      return Status::InvalidArgument(path + field + ": invalid flag name '" + k + "'");
    }
    if (!v.is_string()) {
      return Status::InvalidArgument(path + field + "." + k + " must be a string");
    }
    out[k] = v.get<std::string>();
  }
  return out;
}

bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 30) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
}

Status CheckTemplate(const Json& parent, const std::string& path, Json* out) {
  if (!parent.contains("template") || parent["template"].is_null()) {
    return Status::InvalidArgument(path + "template is required (a pod template: spec.containers)");
  }
  const Json& t = parent["template"];
  if (!t.is_object()) return Status::InvalidArgument(path + "template must be an object");
  if (t.contains("spec") && !t["spec"].is_object()) {
    return Status::InvalidArgument(path + "template.spec must be an object");
  }
  if (t.contains("spec") && t["spec"].contains("containers")) {
    const Json& containers = t["spec"]["containers"];
    if (!containers.is_array()) {
      return Status::InvalidArgument(path + "template.spec.containers must be a list");
    }
    for (size_t i = 0; i < containers.size(); ++i) {
      if (!containers[i].is_object()) {
        return Status::InvalidArgument(path + "template.spec.containers[" + std::to_string(i) +
                                       "] must be an object");
      }
    }
  }
  *out = t;
  return Status::OK();
}

uint64_t Fnv1a(const std::string& data) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

Json StartParamArgs(const std::map<std::string, std::string>& params) {
  Json args = Json::array();
  for (const auto& [k, v] : params) {
    args.push_back("--" + k);
    if (!v.empty()) args.push_back(v);
  }
  return args;
}

Json BaseLabels(const Json& cluster, const OperatorConfig& config, const std::string& node_type) {
  Json labels = {{kClusterLabel, cluster["metadata"].value("name", "")},
                 {kNodeTypeLabel, node_type},
                 {"app.kubernetes.io/name", "featureforge-computecluster"},
                 {"app.kubernetes.io/instance", cluster["metadata"].value("name", "")},
                 {"app.kubernetes.io/managed-by", "featureforge-operator"}};
  for (const auto& [k, v] : config.extra_labels) labels[k] = v;
  return labels;
}

// The pod from a user template: the first container runs featureforge with `args`.
Json PodFromTemplate(const Json& cluster, const Json& tmpl, const OperatorConfig& config,
                     const std::string& default_container_name, Json args, Json env,
                     const Json& resources, Json labels, const std::string& name) {
  Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", Json::object()}};
  Json metadata = tmpl.value("metadata", Json::object());
  pod["metadata"]["name"] = name;
  pod["metadata"]["namespace"] = cluster["metadata"].value("namespace", "default");
  Json all_labels = metadata.value("labels", Json::object());
  for (auto& [k, v] : labels.items()) all_labels[k] = v;
  pod["metadata"]["labels"] = all_labels;
  if (metadata.contains("annotations")) pod["metadata"]["annotations"] = metadata["annotations"];
  Json spec = tmpl.value("spec", Json::object());
  if (!spec.contains("containers") || !spec["containers"].is_array() ||
      spec["containers"].empty()) {
    spec["containers"] = Json::array({Json::object()});
  }
  Json& c = spec["containers"][0];
  if (c.value("name", "").empty()) c["name"] = default_container_name;
  if (c.value("image", "").empty()) c["image"] = config.executor_image;
  if (!c.contains("command") || c["command"].empty()) {
    c["command"] = Json::array({config.featureforge_command});
  }
  c["args"] = std::move(args);
  Json container_env = c.value("env", Json::array());
  for (auto& e : env) {
    container_env.erase(
        std::remove_if(container_env.begin(), container_env.end(),
                       [&](const Json& x) { return x.value("name", "") == e.value("name", ""); }),
        container_env.end());
    container_env.push_back(e);
  }
  c["env"] = container_env;
  if (!resources.is_null()) c["resources"] = resources;
  if (!spec.contains("restartPolicy")) spec["restartPolicy"] = "Always";
  pod["spec"] = std::move(spec);
  (void)runtime::SetControllerReference(cluster, &pod);
  return pod;
}

Json RenderHead(const Json& cluster, const ClusterSpec& spec, const OperatorConfig& config,
                const std::string& name) {
  Json args = {"head", "--port", std::to_string(spec.head.port)};
  for (const auto& a : StartParamArgs(spec.head.start_params)) args.push_back(a);
  // The head listens on its pod IP: on a real node any address works, in the process harness
  // pods share the loopback interface and the head Service's proxy owns clusterIP:port.
  Json env = Json::array(
      {{{"name", "FEATUREFORGE_BIND"},
        {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}},
       {{"name", "FEATUREFORGE_CLUSTER"}, {"value", cluster["metadata"].value("name", "")}}});
  Json pod = PodFromTemplate(cluster, spec.head.template_, config, "head", args, env, Json(),
                             BaseLabels(cluster, config, "head"), name);
  Json& c = pod["spec"]["containers"][0];
  Json ports = c.value("ports", Json::array());
  bool has_port = std::any_of(ports.begin(), ports.end(), [&](const Json& p) {
    return p.value("containerPort", 0) == spec.head.port;
  });
  if (!has_port) ports.push_back({{"name", "grpc"}, {"containerPort", spec.head.port}});
  c["ports"] = ports;
  if (!c.contains("readinessProbe")) {
    c["readinessProbe"] = {
        {"tcpSocket", {{"port", spec.head.port}}}, {"periodSeconds", 1}, {"failureThreshold", 3}};
  }
  return pod;
}

Json RenderWorker(const Json& cluster, const WorkerGroupSpec& group, const ClusterSpec& spec,
                  const OperatorConfig& config, const std::string& name,
                  const std::string& head_address) {
  (void)spec;
  Json args = {"worker", "--head", head_address, "--worker-id", name, "--group", group.name};
  for (const auto& a : StartParamArgs(group.start_params)) args.push_back(a);
  Json env = Json::array(
      {{{"name", "FEATUREFORGE_CLUSTER"}, {"value", cluster["metadata"].value("name", "")}},
       {{"name", "FEATUREFORGE_POD_NAME"},
        {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}}});
  Json labels = BaseLabels(cluster, config, "worker");
  labels[kGroupLabel] = group.name;
  return PodFromTemplate(cluster, group.template_, config, "worker", args, env, group.resources,
                         labels, name);
}

std::string HashOf(Json pod) {
  // Only what the user controls through the spec: not the name, not the head address.
  pod["metadata"].erase("name");
  pod["metadata"].erase("ownerReferences");
  char buf[17];
  std::snprintf(
      buf, sizeof(buf), "%016llx",
      static_cast<unsigned long long>(Fnv1a(pod["spec"].dump() + pod["metadata"].dump())));
  return std::string(buf, 10);
}

}  // namespace

Result<ClusterSpec> ParseClusterSpec(const Json& cluster) {
  if (!cluster.contains("spec") || !cluster["spec"].is_object()) {
    return Status::InvalidArgument("spec is missing");
  }
  const Json& spec = cluster["spec"];
  ClusterSpec out;
  if (spec.contains("suspend") && spec["suspend"].is_boolean()) {
    out.suspend = spec["suspend"].get<bool>();
  }
  if (!spec.contains("headGroupSpec") || !spec["headGroupSpec"].is_object()) {
    return Status::InvalidArgument("spec.headGroupSpec is required");
  }
  const Json& head = spec["headGroupSpec"];
  const std::string hp = "spec.headGroupSpec.";
  FF_RETURN_IF_ERROR(CheckTemplate(head, hp, &out.head.template_));
  out.head.service_type = head.value("serviceType", "ClusterIP");
  if (out.head.service_type != "ClusterIP" && out.head.service_type != "NodePort" &&
      out.head.service_type != "LoadBalancer") {
    return Status::InvalidArgument(hp +
                                   "serviceType must be ClusterIP, NodePort or LoadBalancer, "
                                   "got '" +
                                   out.head.service_type + "'");
  }
  FF_ASSIGN_OR_RETURN(out.head.port, Integer<int>(head, "port", 6380, 1, hp));
  if (out.head.port > 65535) {
    return Status::InvalidArgument(hp + "port must be <= 65535, got " +
                                   std::to_string(out.head.port));
  }
  FF_ASSIGN_OR_RETURN(out.head.start_params, StringMap(head, "headStartParams", hp));

  std::set<std::string> names;
  const Json groups = spec.value("workerGroupSpecs", Json::array());
  if (!groups.is_array()) return Status::InvalidArgument("spec.workerGroupSpecs must be a list");
  for (size_t i = 0; i < groups.size(); ++i) {
    const Json& g = groups[i];
    std::string path = "spec.workerGroupSpecs[" + std::to_string(i) + "]";
    if (!g.is_object()) return Status::InvalidArgument(path + " must be an object");
    WorkerGroupSpec group;
    group.name = g.value("groupName", "");
    if (!IsDnsLabel(group.name)) {
      return Status::InvalidArgument(path + ".groupName '" + group.name +
                                     "' must be a DNS label of at most 30 characters");
    }
    if (!names.insert(group.name).second) {
      return Status::InvalidArgument(path + ".groupName '" + group.name + "' is used twice");
    }
    path += " (group " + group.name + ").";
    FF_ASSIGN_OR_RETURN(group.min_replicas, Integer<int>(g, "minReplicas", 0, 0, path));
    FF_ASSIGN_OR_RETURN(group.max_replicas, Integer<int>(g, "maxReplicas", 2147483647, 0, path));
    FF_ASSIGN_OR_RETURN(group.replicas,
                        Integer<int>(g, "replicas", std::max(1, group.min_replicas), 0, path));
    if (group.min_replicas > group.max_replicas) {
      return Status::InvalidArgument(path + "minReplicas " + std::to_string(group.min_replicas) +
                                     " > maxReplicas " + std::to_string(group.max_replicas));
    }
    if (group.replicas < group.min_replicas || group.replicas > group.max_replicas) {
      return Status::InvalidArgument(path + "replicas " + std::to_string(group.replicas) +
                                     " is outside [minReplicas " +
                                     std::to_string(group.min_replicas) + ", maxReplicas " +
                                     std::to_string(group.max_replicas) + "]");
    }
    FF_RETURN_IF_ERROR(CheckTemplate(g, path, &group.template_));
    if (g.contains("resources") && !g["resources"].is_null()) {
      if (!g["resources"].is_object()) {
        return Status::InvalidArgument(path + "resources must be an object (requests/limits)");
      }
      group.resources = g["resources"];
    }
    FF_ASSIGN_OR_RETURN(group.start_params, StringMap(g, "workerStartParams", path));
    out.groups.push_back(std::move(group));
  }

  const Json autoscaling = spec.value("autoscaling", Json::object());
  if (!autoscaling.is_object())
    return Status::InvalidArgument("spec.autoscaling must be an object");
  if (autoscaling.contains("enabled") && autoscaling["enabled"].is_boolean()) {
    out.autoscaling.enabled = autoscaling["enabled"].get<bool>();
  }
  FF_ASSIGN_OR_RETURN(
      out.autoscaling.idle_timeout_seconds,
      Integer<int64_t>(autoscaling, "idleTimeoutSeconds", 60, 0, "spec.autoscaling."));
  std::string mode = autoscaling.value("upscalingMode", "Default");
  if (mode == "Default") {
    out.autoscaling.upscaling_mode = UpscalingMode::kDefault;
  } else if (mode == "Aggressive") {
    out.autoscaling.upscaling_mode = UpscalingMode::kAggressive;
  } else if (mode == "Conservative") {
    out.autoscaling.upscaling_mode = UpscalingMode::kConservative;
  } else {
    return Status::InvalidArgument(
        "spec.autoscaling.upscalingMode must be Default, Aggressive or Conservative, got '" + mode +
        "'");
  }
  return out;
}

std::string ServiceName(const std::string& cluster) { return cluster + "-head"; }
std::string HeadPodPrefix(const std::string& cluster) { return cluster + "-head-"; }
std::string WorkerPodPrefix(const std::string& cluster, const std::string& group) {
  return cluster + "-" + group + "-";
}

Json MakeHeadService(const Json& cluster, const ClusterSpec& spec, const OperatorConfig& config) {
  const std::string name = cluster["metadata"].value("name", "");
  Json labels = BaseLabels(cluster, config, "head");
  Json service = {{"apiVersion", "v1"},
                  {"kind", "Service"},
                  {"metadata",
                   {{"name", ServiceName(name)},
                    {"namespace", cluster["metadata"].value("namespace", "default")},
                    {"labels", labels}}},
                  {"spec",
                   {{"type", spec.head.service_type},
                    {"selector", {{kClusterLabel, name}, {kNodeTypeLabel, "head"}}},
                    {"ports",
                     {{{"name", "grpc"},
                       {"protocol", "TCP"},
                       {"port", spec.head.port},
                       {"targetPort", spec.head.port}}}}}}};
  (void)runtime::SetControllerReference(cluster, &service);
  return service;
}

Json MakeHeadPod(const Json& cluster, const ClusterSpec& spec, const OperatorConfig& config,
                 const std::string& name) {
  Json pod = RenderHead(cluster, spec, config, name);
  pod["metadata"]["labels"][kTemplateHashLabel] =
      HashOf(RenderHead(cluster, spec, config, "template"));
  return pod;
}

Json MakeWorkerPod(const Json& cluster, const WorkerGroupSpec& group, const ClusterSpec& spec,
                   const OperatorConfig& config, const std::string& name,
                   const std::string& head_address) {
  Json pod = RenderWorker(cluster, group, spec, config, name, head_address);
  pod["metadata"]["labels"][kTemplateHashLabel] =
      HashOf(RenderWorker(cluster, group, spec, config, "template", "head"));
  return pod;
}

std::string TemplateHash(const Json& pod) {
  return pod["metadata"].value("labels", Json::object()).value(kTemplateHashLabel, "");
}

}  // namespace featureforge::controllers::cc
