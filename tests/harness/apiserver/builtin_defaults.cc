#include "builtin_defaults.h"

#include <ctime>
#include <regex>

#include "tables.h"

namespace ffharness {
namespace {

void Default(json& obj, const char* key, const json& value) {
  if (!obj.contains(key) || obj[key].is_null()) obj[key] = value;
}

void DefaultContainers(json& spec, const char* field) {
  if (!spec.contains(field) || !spec[field].is_array()) return;
  for (auto& c : spec[field]) {
    if (!c.is_object()) continue;
    Default(c, "terminationMessagePath", "/dev/termination-log");
    Default(c, "terminationMessagePolicy", "File");
    std::string image = c.value("image", "");
    bool latest = image.find(':') == std::string::npos ||
                  (image.size() >= 7 && image.substr(image.size() - 7) == ":latest");
    Default(c, "imagePullPolicy", latest ? "Always" : "IfNotPresent");
    Default(c, "resources", json::object());
    if (c.contains("ports") && c["ports"].is_array()) {
      for (auto& p : c["ports"]) Default(p, "protocol", "TCP");
    }
  }
}

void DefaultPodSpec(json& spec) {
  if (!spec.is_object()) return;
  Default(spec, "restartPolicy", "Always");
  Default(spec, "terminationGracePeriodSeconds", 30);
  Default(spec, "dnsPolicy", "ClusterFirst");
  Default(spec, "schedulerName", "default-scheduler");
  Default(spec, "securityContext", json::object());
  DefaultContainers(spec, "containers");
  DefaultContainers(spec, "initContainers");
}

json Cause(const std::string& reason, const std::string& field, const std::string& message) {
  return {{"reason", reason}, {"field", field}, {"message", message}};
}

void ValidatePodSpec(const json& spec, const std::string& path, json& causes) {
  if (!spec.is_object() || !spec.contains("containers") || !spec["containers"].is_array() ||
      spec["containers"].empty()) {
    causes.push_back(Cause("FieldValueRequired", path + ".containers", "Required value"));
    return;
  }
  for (size_t i = 0; i < spec["containers"].size(); ++i) {
    const json& c = spec["containers"][i];
    std::string field = path + ".containers[" + std::to_string(i) + "]";
    if (c.value("name", "").empty())
      causes.push_back(Cause("FieldValueRequired", field + ".name", "Required value"));
    if (c.value("image", "").empty())
      causes.push_back(Cause("FieldValueRequired", field + ".image", "Required value"));
  }
  std::string policy = spec.value("restartPolicy", "Always");
  if (policy != "Always" && policy != "OnFailure" && policy != "Never") {
    causes.push_back(Cause("FieldValueNotSupported", path + ".restartPolicy",
                           "Unsupported value: \"" + policy +
                               "\": supported values: \"Always\", \"OnFailure\", \"Never\""));
  }
}

}  // namespace

std::string NowTimestamp() { return FormatTimestamp(std::time(nullptr)); }

std::string ValidateObjectName(const ResourceType& type, const std::string& name) {
  static const std::regex kSubdomain(
      "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");
  static const std::regex kLabel("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
  bool label_only = type.resource == "namespaces" || type.resource == "services";
  if (type.resource == "events" || type.resource == "leases" ||
      type.group == "rbac.authorization.k8s.io") {
    if (name.find('/') != std::string::npos || name == "." || name == "..")
      return "Invalid value: \"" + name + "\": may not contain '/'";
    return "";
  }
  if (label_only) {
    if (name.size() > 63 || !std::regex_match(name, kLabel)) {
      return "Invalid value: \"" + name +
             "\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', "
             "and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', "
             "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
    }
    return "";
  }
  if (name.size() > 253 || !std::regex_match(name, kSubdomain)) {
    return "Invalid value: \"" + name +
           "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
           "'-' "
           "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
           "regex "
           "used for validation is "
           "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return "";
}

void ApplyBuiltinDefaults(const ResourceType& type, json& obj) {
  if (type.is_custom) return;
  const std::string& r = type.resource;
  if (r == "pods") {
    if (obj.contains("spec") && obj["spec"].is_object()) {
      DefaultPodSpec(obj["spec"]);
      // What the ServiceAccount admission plugin does for pods (not for templates).
      json& spec = obj["spec"];
      Default(spec, "serviceAccountName", "default");
      Default(spec, "serviceAccount", spec["serviceAccountName"]);
    }
  } else if (r == "deployments") {
    json& spec = obj["spec"];
    if (!spec.is_object()) spec = json::object();
    Default(spec, "replicas", 1);
    Default(spec, "revisionHistoryLimit", 10);
    Default(spec, "progressDeadlineSeconds", 600);
    Default(spec, "strategy",
            json({{"type", "RollingUpdate"},
                  {"rollingUpdate", {{"maxSurge", "25%"}, {"maxUnavailable", "25%"}}}}));
    if (spec.contains("template") && spec["template"].contains("spec"))
      DefaultPodSpec(spec["template"]["spec"]);
  } else if (r == "services") {
    json& spec = obj["spec"];
    if (!spec.is_object()) spec = json::object();
    Default(spec, "type", "ClusterIP");
    Default(spec, "sessionAffinity", "None");
    if (spec.contains("ports") && spec["ports"].is_array()) {
      for (auto& p : spec["ports"]) {
        Default(p, "protocol", "TCP");
        if (p.contains("port")) Default(p, "targetPort", p["port"]);
      }
    }
  } else if (r == "secrets") {
    Default(obj, "type", "Opaque");
  } else if (r == "namespaces") {
    if (!obj.contains("status") || !obj["status"].is_object()) obj["status"] = json::object();
    Default(obj["status"], "phase", "Active");
    json& spec = obj["spec"];
    if (!spec.is_object()) spec = json::object();
    Default(spec, "finalizers", json::array({"kubernetes"}));
  }
}

json ValidateBuiltin(const ResourceType& type, const json& obj) {
  json causes = json::array();
  if (type.is_custom) return causes;
  const std::string& r = type.resource;
  if (r == "pods") {
    ValidatePodSpec(obj.value("spec", json::object()), "spec", causes);
  } else if (r == "deployments") {
    const json spec = obj.value("spec", json::object());
    if (!spec.contains("selector"))
      causes.push_back(Cause("FieldValueRequired", "spec.selector", "Required value"));
    const json labels = spec.value("/template/metadata/labels"_json_pointer, json::object());
    const json match_labels = spec.value("/selector/matchLabels"_json_pointer, json::object());
    for (const auto& [k, v] : match_labels.items()) {
      if (!labels.contains(k) || labels[k] != v) {
        causes.push_back(Cause(
            "FieldValueInvalid", "spec.template.metadata.labels",
            "Invalid value: " + labels.dump() + ": `selector` does not match template `labels`"));
        break;
      }
    }
    ValidatePodSpec(spec.value("/template/spec"_json_pointer, json::object()), "spec.template.spec",
                    causes);
    if (spec.contains("replicas") &&
        (!spec["replicas"].is_number_integer() || spec["replicas"].get<long>() < 0)) {
      causes.push_back(Cause(
          "FieldValueInvalid", "spec.replicas",
          "Invalid value: " + spec["replicas"].dump() + ": must be greater than or equal to 0"));
    }
  } else if (r == "configmaps" || r == "secrets") {
    for (const char* field : {"data", "binaryData", "stringData"}) {
      if (obj.contains(field) && !obj[field].is_object() && !obj[field].is_null()) {
        causes.push_back(
            Cause("FieldValueTypeInvalid", field, "Invalid value: must be a map of strings"));
      }
    }
  } else if (r == "leases") {
    const json spec = obj.value("spec", json::object());
    if (spec.contains("leaseDurationSeconds") && spec["leaseDurationSeconds"].is_number() &&
        spec["leaseDurationSeconds"].get<long>() <= 0) {
      causes.push_back(Cause(
          "FieldValueInvalid", "spec.leaseDurationSeconds",
          "Invalid value: " + spec["leaseDurationSeconds"].dump() + ": must be greater than 0"));
    }
  }
  return causes;
}

json EventsV1ToCore(const json& e) {
  json out = e;
  out["apiVersion"] = "v1";
  out["kind"] = "Event";
  auto move = [&](const char* from, const char* to) {
    if (out.contains(from)) {
      out[to] = out[from];
      out.erase(from);
    }
  };
  move("regarding", "involvedObject");
  move("note", "message");
  move("deprecatedCount", "count");
  move("deprecatedFirstTimestamp", "firstTimestamp");
  move("deprecatedLastTimestamp", "lastTimestamp");
  move("deprecatedSource", "source");
  move("reportingController", "reportingComponent");
  if (!out.contains("lastTimestamp") && out.contains("eventTime"))
    out["lastTimestamp"] = out["eventTime"];
  if (out.contains("series")) {
    if (out["series"].contains("count")) out["count"] = out["series"]["count"];
    if (out["series"].contains("lastObservedTime"))
      out["lastTimestamp"] = out["series"]["lastObservedTime"];
  }
  return out;
}

json CoreToEventsV1(const json& e) {
  json out = e;
  out["apiVersion"] = "events.k8s.io/v1";
  out["kind"] = "Event";
  auto move = [&](const char* from, const char* to) {
    if (out.contains(from)) {
      out[to] = out[from];
      out.erase(from);
    }
  };
  move("involvedObject", "regarding");
  move("message", "note");
  move("count", "deprecatedCount");
  move("firstTimestamp", "deprecatedFirstTimestamp");
  move("lastTimestamp", "deprecatedLastTimestamp");
  move("source", "deprecatedSource");
  move("reportingComponent", "reportingController");
  return out;
}

}  // namespace ffharness
