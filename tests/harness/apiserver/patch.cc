#include "patch.h"

#include <algorithm>

namespace ffharness {
namespace {

bool IsDirective(const std::string& key) { return !key.empty() && key[0] == '$'; }

json StripDirectives(const json& value) {
  if (value.is_object()) {
    json out = json::object();
    for (const auto& [k, v] : value.items()) {
      if (!IsDirective(k)) out[k] = StripDirectives(v);
    }
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const auto& item : value) {
      if (item.is_object() && item.contains("$patch")) continue;
      out.push_back(StripDirectives(item));
    }
    return out;
  }
  return value;
}

// The patch merge key of a list field, or "" when the list is replaced as a whole.
std::string MergeKeyFor(const std::string& field, const json& sample_a, const json& sample_b) {
  static const std::pair<const char*, const char*> kKeys[] = {
      {"containers", "name"},
      {"initContainers", "name"},
      {"ephemeralContainers", "name"},
      {"volumes", "name"},
      {"env", "name"},
      {"imagePullSecrets", "name"},
      {"volumeMounts", "mountPath"},
      {"volumeDevices", "devicePath"},
      {"hostAliases", "ip"},
      {"conditions", "type"},
      {"ownerReferences", "uid"},
      {"resourceClaims", "name"},
      {"topologySpreadConstraints", "topologyKey"}};
  for (const auto& [name, key] : kKeys) {
    if (field == name) return key;
  }
  if (field == "ports") {
    auto has = [](const json& list, const char* key) {
      return list.is_array() && !list.empty() && list[0].is_object() && list[0].contains(key);
    };
    if (has(sample_a, "containerPort") || has(sample_b, "containerPort")) return "containerPort";
    return "port";
  }
  return "";
}

bool IsMergedPrimitiveList(const std::string& field) { return field == "finalizers"; }

bool MergeMap(json& original, const json& patch, std::string* error);

bool SameKey(const json& a, const json& b, const std::string& key) {
  return a.is_object() && b.is_object() && a.contains(key) && b.contains(key) && a[key] == b[key];
}

bool MergeList(const std::string& field, json& original, const json& patch, std::string* error) {
  for (const auto& item : patch) {
    if (item.is_object() && item.value("$patch", "") == "replace") {
      original = StripDirectives(patch);
      return true;
    }
  }
  std::string key = MergeKeyFor(field, original, patch);
  if (key.empty()) {
    if (IsMergedPrimitiveList(field)) {
      for (const auto& item : patch) {
        if (std::find(original.begin(), original.end(), item) == original.end())
          original.push_back(item);
      }
    } else {
      original = StripDirectives(patch);
    }
    return true;
  }
  for (const auto& item : patch) {
    if (!item.is_object() || !item.contains(key)) {
      *error = "strategic merge patch: an item of list \"" + field + "\" has no merge key \"" +
               key + "\"";
      return false;
    }
    auto it = std::find_if(original.begin(), original.end(),
                           [&](const json& o) { return SameKey(o, item, key); });
    if (item.value("$patch", "") == "delete") {
      if (it != original.end()) original.erase(it);
      continue;
    }
    if (it == original.end()) {
      original.push_back(StripDirectives(item));
    } else if (!MergeMap(*it, item, error)) {
      return false;
    }
  }
  return true;
}

void ApplyElementOrder(json& list, const json& order, const std::string& field) {
  if (!list.is_array() || !order.is_array()) return;
  std::string key = MergeKeyFor(field, list, order);
  json sorted = json::array();
  std::vector<bool> used(list.size(), false);
  for (const auto& wanted : order) {
    for (size_t i = 0; i < list.size(); ++i) {
      if (used[i]) continue;
      bool match = key.empty() ? list[i] == wanted : SameKey(list[i], wanted, key);
      if (match) {
        sorted.push_back(list[i]);
        used[i] = true;
        break;
      }
    }
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (!used[i]) sorted.push_back(list[i]);
  }
  list = std::move(sorted);
}

bool MergeMap(json& original, const json& patch, std::string* error) {
  if (!patch.is_object()) {
    original = patch;
    return true;
  }
  if (!original.is_object()) original = json::object();
  std::string directive = patch.value("$patch", "");
  if (directive == "replace") {
    original = StripDirectives(patch);
    return true;
  }
  for (const auto& [k, v] : patch.items()) {
    if (k == "$patch" || k == "$retainKeys") continue;
    if (k.rfind("$setElementOrder/", 0) == 0) continue;
    if (k.rfind("$deleteFromPrimitiveList/", 0) == 0) {
      std::string field = k.substr(std::string("$deleteFromPrimitiveList/").size());
      if (original.contains(field) && original[field].is_array() && v.is_array()) {
        json kept = json::array();
        for (const auto& item : original[field]) {
          if (std::find(v.begin(), v.end(), item) == v.end()) kept.push_back(item);
        }
        original[field] = kept;
      }
      continue;
    }
    if (IsDirective(k)) {
      *error = "strategic merge patch: unknown directive \"" + k + "\"";
      return false;
    }
    if (v.is_null()) {
      original.erase(k);
    } else if (v.is_object()) {
      std::string sub = v.value("$patch", "");
      if (sub == "delete") {
        original.erase(k);
      } else if (!original.contains(k) || !original[k].is_object()) {
        original[k] = StripDirectives(v);
      } else if (!MergeMap(original[k], v, error)) {
        return false;
      }
    } else if (v.is_array() && original.contains(k) && original[k].is_array()) {
      if (!MergeList(k, original[k], v, error)) return false;
    } else {
      original[k] = StripDirectives(v);
    }
  }
  for (const auto& [k, v] : patch.items()) {
    if (k.rfind("$setElementOrder/", 0) == 0) {
      std::string field = k.substr(std::string("$setElementOrder/").size());
      if (original.contains(field)) ApplyElementOrder(original[field], v, field);
    }
  }
  if (patch.contains("$retainKeys") && patch["$retainKeys"].is_array()) {
    const json& keep = patch["$retainKeys"];
    for (auto it = original.begin(); it != original.end();) {
      if (std::find(keep.begin(), keep.end(), it.key()) == keep.end()) {
        it = original.erase(it);
      } else {
        ++it;
      }
    }
  }
  return true;
}

}  // namespace

bool ApplyStrategicMergePatch(json& target, const json& patch, std::string* error) {
  if (!patch.is_object()) {
    *error = "strategic merge patch: the patch must be a JSON object";
    return false;
  }
  return MergeMap(target, patch, error);
}

bool ApplyJsonPatch(json& target, const json& patch, std::string* error) {
  if (!patch.is_array()) {
    *error = "json patch: the patch must be a JSON array of operations";
    return false;
  }
  try {
    target = target.patch(patch);
    return true;
  } catch (const std::exception& e) {
    *error = std::string("json patch: ") + e.what();
    return false;
  }
}

}  // namespace ffharness
