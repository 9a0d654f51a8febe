#include "tables.h"

#include <cstdio>

#include "selectors.h"

namespace ffharness {
namespace {

json Column(const std::string& name, const std::string& type, int priority = 0,
            const std::string& format = "", const std::string& description = "") {
  return {{"name", name},
          {"type", type},
          {"format", format},
          {"description", description},
          {"priority", priority}};
}

std::string Age(const json& obj) {
  std::time_t created = 0;
  if (!ParseTimestamp(obj.value("/metadata/creationTimestamp"_json_pointer, ""), &created))
    return "<unknown>";
  return HumanDuration(static_cast<long>(std::time(nullptr) - created));
}

std::string Str(const json& obj, const char* pointer, const std::string& fallback = "") {
  json::json_pointer p(pointer);
  if (!obj.contains(p) || !obj[p].is_string()) return fallback;
  return obj[p].get<std::string>();
}

long Int(const json& obj, const char* pointer) {
  json::json_pointer p(pointer);
  if (!obj.contains(p) || !obj[p].is_number()) return 0;
  return obj[p].get<long>();
}

std::string PodStatusReason(const json& pod) {
  std::string reason = Str(pod, "/status/reason", Str(pod, "/status/phase", "Pending"));
  for (const auto& cs : pod.value("/status/containerStatuses"_json_pointer, json::array())) {
    if (cs.contains("state")) {
      const json& st = cs["state"];
      if (st.contains("waiting") && st["waiting"].contains("reason"))
        reason = st["waiting"]["reason"];
      else if (st.contains("terminated")) {
        reason = st["terminated"].value("reason", "");
        if (reason.empty())
          reason = "ExitCode:" + std::to_string(st["terminated"].value("exitCode", 0));
      }
    }
  }
  if (pod.contains("/metadata/deletionTimestamp"_json_pointer)) reason = "Terminating";
  return reason;
}

std::vector<std::string> BuiltinColumns(const ResourceType& type, json* defs) {
  const std::string& r = type.resource;
  auto add = [&](json c) { defs->push_back(std::move(c)); };
  if (r == "pods") {
    add(Column("Ready", "string"));
    add(Column("Status", "string"));
    add(Column("Restarts", "string"));
    add(Column("Age", "string"));
    add(Column("IP", "string", 1));
    add(Column("Node", "string", 1));
  } else if (r == "deployments") {
    add(Column("Ready", "string"));
    add(Column("Up-to-date", "integer"));
    add(Column("Available", "integer"));
    add(Column("Age", "string"));
    add(Column("Containers", "string", 1));
    add(Column("Images", "string", 1));
  } else if (r == "services") {
    add(Column("Type", "string"));
    add(Column("Cluster-IP", "string"));
    add(Column("External-IP", "string"));
    add(Column("Port(s)", "string"));
    add(Column("Age", "string"));
    add(Column("Selector", "string", 1));
  } else if (r == "configmaps") {
    add(Column("Data", "integer"));
    add(Column("Age", "string"));
  } else if (r == "secrets") {
    add(Column("Type", "string"));
    add(Column("Data", "integer"));
    add(Column("Age", "string"));
  } else if (r == "namespaces" || r == "nodes") {
    add(Column("Status", "string"));
    add(Column("Age", "string"));
  } else if (r == "leases") {
    add(Column("Holder", "string"));
    add(Column("Age", "string"));
  } else if (r == "customresourcedefinitions") {
    add(Column("Created At", "date"));
  } else if (r == "events" && type.group.empty()) {
    defs->clear();
    add(Column("Last Seen", "string"));
    add(Column("Type", "string"));
    add(Column("Reason", "string"));
    add(Column("Object", "string"));
    add(Column("Message", "string"));
  } else {
    add(Column("Age", "string"));
  }
  return {};
}

json BuiltinCells(const ResourceType& type, const json& obj) {
  const std::string& r = type.resource;
  json cells = json::array();
  std::string name = Str(obj, "/metadata/name");
  if (!(r == "events" && type.group.empty())) cells.push_back(name);
  if (r == "pods") {
    int ready = 0;
    long restarts = 0;
    auto statuses = obj.value("/status/containerStatuses"_json_pointer, json::array());
    for (const auto& cs : statuses) {
      if (cs.value("ready", false)) ++ready;
      restarts += cs.value("restartCount", 0L);
    }
    size_t total = obj.value("/spec/containers"_json_pointer, json::array()).size();
    cells.push_back(std::to_string(ready) + "/" + std::to_string(total));
    cells.push_back(PodStatusReason(obj));
    cells.push_back(std::to_string(restarts));
    cells.push_back(Age(obj));
    cells.push_back(Str(obj, "/status/podIP", "<none>"));
    cells.push_back(Str(obj, "/spec/nodeName", "<none>"));
  } else if (r == "deployments") {
    cells.push_back(std::to_string(Int(obj, "/status/readyReplicas")) + "/" +
                    std::to_string(obj.contains("/spec/replicas"_json_pointer)
                                       ? Int(obj, "/spec/replicas")
                                       : 1));
    cells.push_back(Int(obj, "/status/updatedReplicas"));
    cells.push_back(Int(obj, "/status/availableReplicas"));
    cells.push_back(Age(obj));
    std::string names, images;
    for (const auto& c : obj.value("/spec/template/spec/containers"_json_pointer, json::array())) {
      names += (names.empty() ? "" : ",") + c.value("name", "");
      images += (images.empty() ? "" : ",") + c.value("image", "");
    }
    cells.push_back(names);
    cells.push_back(images);
  } else if (r == "services") {
    cells.push_back(Str(obj, "/spec/type", "ClusterIP"));
    cells.push_back(Str(obj, "/spec/clusterIP", "<none>"));
    cells.push_back("<none>");
    std::string ports;
    for (const auto& p : obj.value("/spec/ports"_json_pointer, json::array())) {
      ports += (ports.empty() ? "" : ",") + std::to_string(p.value("port", 0)) + "/" +
               p.value("protocol", "TCP");
    }
    cells.push_back(ports.empty() ? "<none>" : ports);
    cells.push_back(Age(obj));
    std::string selector;
    const json service_selector = obj.value("/spec/selector"_json_pointer, json::object());
    for (const auto& [k, v] : service_selector.items()) {
      selector += (selector.empty() ? "" : ",") + k + "=" +
                  (v.is_string() ? v.get<std::string>() : v.dump());
    }
    cells.push_back(selector.empty() ? "<none>" : selector);
  } else if (r == "configmaps") {
    cells.push_back(obj.value("data", json::object()).size() +
                    obj.value("binaryData", json::object()).size());
    cells.push_back(Age(obj));
  } else if (r == "secrets") {
    cells.push_back(obj.value("type", "Opaque"));
    cells.push_back(obj.value("data", json::object()).size());
    cells.push_back(Age(obj));
  } else if (r == "namespaces") {
    cells.push_back(Str(obj, "/status/phase", "Active"));
    cells.push_back(Age(obj));
  } else if (r == "nodes") {
    std::string ready = "Unknown";
    for (const auto& c : obj.value("/status/conditions"_json_pointer, json::array())) {
      if (c.value("type", "") == "Ready")
        ready = c.value("status", "") == "True" ? "Ready" : "NotReady";
    }
    cells.push_back(ready);
    cells.push_back(Age(obj));
  } else if (r == "leases") {
    cells.push_back(Str(obj, "/spec/holderIdentity", ""));
    cells.push_back(Age(obj));
  } else if (r == "customresourcedefinitions") {
    cells.push_back(Str(obj, "/metadata/creationTimestamp"));
  } else if (r == "events" && type.group.empty()) {
    std::time_t last = 0;
    std::string ts =
        Str(obj, "/lastTimestamp", Str(obj, "/eventTime", Str(obj, "/metadata/creationTimestamp")));
    cells.push_back(ParseTimestamp(ts, &last)
                        ? HumanDuration(static_cast<long>(std::time(nullptr) - last))
                        : "<unknown>");
    cells.push_back(obj.value("type", ""));
    cells.push_back(obj.value("reason", ""));
    std::string kind = Str(obj, "/involvedObject/kind");
    for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    cells.push_back(kind + "/" + Str(obj, "/involvedObject/name"));
    cells.push_back(obj.value("message", ""));
  } else {
    cells.push_back(Age(obj));
  }
  return cells;
}

json CustomColumns(const ResourceType& type) {
  json defs = json::array();
  if (type.printer_columns.empty()) {
    defs.push_back(Column("Age", "date"));
    return defs;
  }
  for (const auto& c : type.printer_columns) {
    defs.push_back(Column(c.value("name", ""), c.value("type", "string"), c.value("priority", 0),
                          c.value("format", ""), c.value("description", "")));
  }
  return defs;
}

json CustomCells(const ResourceType& type, const json& obj) {
  json cells = json::array();
  cells.push_back(Str(obj, "/metadata/name"));
  json columns = type.printer_columns;
  if (columns.empty())
    columns = json::array({{{"type", "date"}, {"jsonPath", ".metadata.creationTimestamp"}}});
  for (const auto& c : columns) {
    std::vector<json> values = EvaluateJsonPath(obj, c.value("jsonPath", ""));
    if (values.empty() || values[0].is_null()) {
      cells.push_back(nullptr);
      continue;
    }
    const json& v = values[0];
    std::string col_type = c.value("type", "string");
    std::time_t t = 0;
    if (col_type == "date" && v.is_string() && ParseTimestamp(v.get<std::string>(), &t)) {
      cells.push_back(HumanDuration(static_cast<long>(std::time(nullptr) - t)));
    } else if (v.is_object() || v.is_array()) {
      cells.push_back(v.dump());
    } else {
      cells.push_back(v);
    }
  }
  return cells;
}

}  // namespace

std::string HumanDuration(long s) {
  char buf[64];
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%lds", s);
    return buf;
  }
  long minutes = s / 60;
  if (minutes < 10) {
    long sec = s % 60;
    if (sec == 0)
      std::snprintf(buf, sizeof buf, "%ldm", minutes);
    else
      std::snprintf(buf, sizeof buf, "%ldm%lds", minutes, sec);
    return buf;
  }
  if (minutes < 180) {
    std::snprintf(buf, sizeof buf, "%ldm", minutes);
    return buf;
  }
  long hours = s / 3600;
  if (hours < 8) {
    long m = minutes % 60;
    if (m == 0)
      std::snprintf(buf, sizeof buf, "%ldh", hours);
    else
      std::snprintf(buf, sizeof buf, "%ldh%ldm", hours, m);
  } else if (hours < 48) {
    std::snprintf(buf, sizeof buf, "%ldh", hours);
  } else if (hours < 24 * 8) {
    long h = hours % 24;
    if (h == 0)
      std::snprintf(buf, sizeof buf, "%ldd", hours / 24);
    else
      std::snprintf(buf, sizeof buf, "%ldd%ldh", hours / 24, h);
  } else if (hours < 24 * 365 * 2) {
    std::snprintf(buf, sizeof buf, "%ldd", hours / 24);
  } else {
    std::snprintf(buf, sizeof buf, "%ldy", hours / 24 / 365);
  }
  return buf;
}

std::string FormatTimestamp(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool ParseTimestamp(const std::string& text, std::time_t* out) {
  std::tm tm{};
  if (text.size() < 19) return false;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return false;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  *out = timegm(&tm);
  return true;
}

json MakeTable(const ResourceType& type, const std::vector<json>& objects, bool include_columns,
               const std::string& include_object, const std::string& resource_version) {
  json table = {{"kind", "Table"},
                {"apiVersion", "meta.k8s.io/v1"},
                {"metadata", {{"resourceVersion", resource_version}}}};
  json defs = json::array();
  defs.push_back(Column("Name", "string", 0, "name", "Name must be unique within a namespace."));
  if (type.is_custom) {
    for (auto& c : CustomColumns(type)) defs.push_back(c);
  } else {
    BuiltinColumns(type, &defs);
  }
  if (include_columns)
    table["columnDefinitions"] = defs;
  else
    table["columnDefinitions"] = nullptr;
  json rows = json::array();
  for (const auto& obj : objects) {
    json row = {{"cells", type.is_custom ? CustomCells(type, obj) : BuiltinCells(type, obj)}};
    if (include_object == "Object") {
      row["object"] = obj;
    } else if (include_object != "None") {
      row["object"] = {{"kind", "PartialObjectMetadata"},
                       {"apiVersion", "meta.k8s.io/v1"},
                       {"metadata", obj.value("metadata", json::object())}};
    }
    rows.push_back(std::move(row));
  }
  table["rows"] = rows;
  return table;
}

}  // namespace ffharness
