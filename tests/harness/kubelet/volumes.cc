#include "volumes.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "certs.h"
#include "featureforge/k8s/errors.h"

namespace ffharness::kubelet {
namespace {

namespace k8s = featureforge::k8s;
using featureforge::Result;
using featureforge::Status;

Status WriteFile(const std::string& path, const std::string& data) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) return Status::IOError("cannot write " + path);
  return Status::OK();
}

// Files of a ConfigMap or Secret source ({name, items, optional}).
Status WriteKeys(k8s::Client& client, const std::string& ns, const json& source, bool secret,
                 const std::string& dir) {
  std::string name = source.value(secret ? "secretName" : "name", source.value("name", ""));
  auto obj =
      client.Get(secret ? k8s::resources::Secrets() : k8s::resources::ConfigMaps(), ns, name);
  if (!obj.ok()) {
    if (source.value("optional", false) && k8s::IsNotFound(obj.status())) return Status::OK();
    return Status::NotFound(std::string(secret ? "secret" : "configmap") + " \"" + name +
                            "\" not found");
  }
  std::map<std::string, std::string> files;
  const json data = obj->value("data", json::object());
  for (const auto& [k, v] : data.items()) {
    std::string value = v.is_string() ? v.get<std::string>() : "";
    if (secret) {
      std::string decoded;
      if (Base64Decode(value, &decoded)) value = decoded;
    }
    files[k] = value;
  }
  const json binary = obj->value("binaryData", json::object());
  for (const auto& [k, v] : binary.items()) {
    std::string decoded;
    if (v.is_string() && Base64Decode(v.get<std::string>(), &decoded)) files[k] = decoded;
  }
  if (source.contains("items") && source["items"].is_array()) {
    for (const auto& item : source["items"]) {
      auto it = files.find(item.value("key", ""));
      if (it == files.end()) {
        if (source.value("optional", false)) continue;
        return Status::NotFound("couldn't find key " + item.value("key", "") + " in " +
                                (secret ? "Secret " : "ConfigMap ") + ns + "/" + name);
      }
      FF_RETURN_IF_ERROR(WriteFile(dir + "/" + item.value("path", it->first), it->second));
    }
    return Status::OK();
  }
  for (const auto& [k, v] : files) FF_RETURN_IF_ERROR(WriteFile(dir + "/" + k, v));
  return Status::OK();
}

Result<std::string> Materialize(k8s::Client& client, const json& pod, const json& volume,
                                const std::string& pod_dir, const std::string& root_dir) {
  std::string ns = pod["metadata"].value("namespace", "");
  std::string name = volume.value("name", "");
  std::string dir = pod_dir + "/volumes/" + name;
  std::error_code ec;
  if (volume.contains("hostPath")) return volume["hostPath"].value("path", "");
  if (volume.contains("persistentVolumeClaim")) {
    dir = root_dir + "/pvc/" + ns + "/" + volume["persistentVolumeClaim"].value("claimName", "");
    std::filesystem::create_directories(dir, ec);
    return dir;
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir + ": " + ec.message());
  if (volume.contains("emptyDir")) return dir;
  if (volume.contains("configMap")) {
    FF_RETURN_IF_ERROR(WriteKeys(client, ns, volume["configMap"], false, dir));
    return dir;
  }
  if (volume.contains("secret")) {
    FF_RETURN_IF_ERROR(WriteKeys(client, ns, volume["secret"], true, dir));
    return dir;
  }
  if (volume.contains("projected")) {
    for (const auto& source : volume["projected"].value("sources", json::array())) {
      if (source.contains("configMap"))
        FF_RETURN_IF_ERROR(WriteKeys(client, ns, source["configMap"], false, dir));
      else if (source.contains("secret"))
        FF_RETURN_IF_ERROR(WriteKeys(client, ns, source["secret"], true, dir));
      else
        return Status::NotSupported("volume \"" + name +
                                    "\": projected sources other than configMap/secret");
    }
    return dir;
  }
  std::string type = "unknown";
  for (const auto& [k, v] : volume.items()) {
    if (k != "name") type = k;
  }
  return Status::NotSupported("volume \"" + name + "\" of type " + type +
                              " is not supported by the process kubelet");
}

}  // namespace

Result<MountMap> PrepareMounts(k8s::Client& client, const json& pod, const json& container,
                               const std::string& pod_dir, const std::string& root_dir) {
  MountMap mounts;
  const json volumes = pod.value("/spec/volumes"_json_pointer, json::array());
  for (const auto& mount : container.value("volumeMounts", json::array())) {
    std::string name = mount.value("name", "");
    auto it = std::find_if(volumes.begin(), volumes.end(),
                           [&](const json& v) { return v.value("name", "") == name; });
    if (it == volumes.end()) {
      return Status::InvalidArgument("container \"" + container.value("name", "") +
                                     "\": volumeMount \"" + name + "\" names no volume of the pod");
    }
    FF_ASSIGN_OR_RETURN(std::string host, Materialize(client, pod, *it, pod_dir, root_dir));
    std::string sub = mount.value("subPath", "");
    if (!sub.empty()) host += "/" + sub;
    std::string path = mount.value("mountPath", "");
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    mounts[path] = host;
  }
  return mounts;
}

std::string MapMountedPaths(const std::string& text, const MountMap& mounts) {
  std::vector<std::pair<std::string, std::string>> by_length(mounts.begin(), mounts.end());
  std::sort(by_length.begin(), by_length.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    bool boundary =
        i == 0 || std::string_view("=:, \"'").find(text[i - 1]) != std::string_view::npos;
    bool replaced = false;
    if (boundary && text[i] == '/') {
      for (const auto& [mount, host] : by_length) {
        size_t end = i + mount.size();
        if (text.compare(i, mount.size(), mount) == 0 && (end == text.size() || text[end] == '/')) {
          out += host;
          i = end;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out.push_back(text[i++]);
  }
  return out;
}

}  // namespace ffharness::kubelet
