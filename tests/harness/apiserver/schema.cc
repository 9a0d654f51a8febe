#include "schema.h"

#include <cmath>
#include <regex>

namespace ffharness {
namespace {

std::string TypeOf(const json& v) {
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  return "null";
}

bool MatchesType(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    if (v.is_number_float()) {
      double d = v.get<double>();
      return std::isfinite(d) && std::floor(d) == d;
    }
    return false;
  }
  if (type == "number") return v.is_number();
  return true;
}

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

class Walker {
 public:
  explicit Walker(SchemaOutcome* out) : out_(out) {}

  void Add(const char* reason, const std::string& field, const std::string& message) {
    out_->causes.push_back({{"reason", reason}, {"message", message}, {"field", field}});
  }

  void Walk(json& v, const json& s, const std::string& path) {
    if (!s.is_object()) return;
    bool preserve = s.value("x-kubernetes-preserve-unknown-fields", false);
    if (v.is_null()) {
      if (!s.value("nullable", false) && s.contains("type")) {
        Add("FieldValueTypeInvalid", path,
            "Invalid value: \"null\": " + path + " in body must be of type " +
                s["type"].get<std::string>() + ": \"null\"");
      }
      return;
    }
    if (s.value("x-kubernetes-int-or-string", false)) {
      if (!v.is_number_integer() && !v.is_string()) {
        Add("FieldValueTypeInvalid", path,
            "Invalid value: \"" + TypeOf(v) + "\": " + path +
                " in body must be of type integer or string: \"" + TypeOf(v) + "\"");
        return;
      }
    } else if (s.contains("type") && s["type"].is_string()) {
      std::string type = s["type"];
      if (!MatchesType(v, type)) {
        Add("FieldValueTypeInvalid", path,
            "Invalid value: \"" + TypeOf(v) + "\": " + path + " in body must be of type " + type +
                ": \"" + TypeOf(v) + "\"");
        return;
      }
    }
    if (v.is_object()) WalkObject(v, s, path, preserve);
    if (v.is_array()) WalkArray(v, s, path);
    CheckScalar(v, s, path);
  }

 private:
  void WalkObject(json& v, const json& s, const std::string& path, bool preserve) {
    const json props = s.value("properties", json::object());
    const json additional = s.contains("additionalProperties") ? s["additionalProperties"] : json();
    bool embedded = s.value("x-kubernetes-embedded-resource", false);
    for (auto it = v.begin(); it != v.end();) {
      const std::string key = it.key();
      if (embedded && (key == "apiVersion" || key == "kind" || key == "metadata")) {
        ++it;
        continue;
      }
      if (props.contains(key)) {
        Walk(it.value(), props[key], Join(path, key));
        ++it;
      } else if (additional.is_object()) {
        Walk(it.value(), additional, Join(path, key));
        ++it;
      } else if ((additional.is_boolean() && additional.get<bool>()) || preserve) {
        ++it;
      } else {
        out_->unknown_fields.push_back(Join(path, key));
        it = v.erase(it);
      }
    }
    for (const auto& [key, sub] : props.items()) {
      if (!v.contains(key) && sub.is_object() && sub.contains("default")) {
        v[key] = sub["default"];
        Walk(v[key], sub, Join(path, key));
      }
    }
    for (const auto& req : s.value("required", json::array())) {
      if (req.is_string() && !v.contains(req.get<std::string>())) {
        Add("FieldValueRequired", Join(path, req.get<std::string>()), "Required value");
      }
    }
    if (s.contains("minProperties") && v.size() < s["minProperties"].get<size_t>()) {
      Add("FieldValueInvalid", path,
          "Invalid value: " + std::to_string(v.size()) + ": " + path +
              " in body should have at least " + s["minProperties"].dump() + " properties");
    }
  }

  void WalkArray(json& v, const json& s, const std::string& path) {
    if (s.contains("items") && s["items"].is_object()) {
      for (size_t i = 0; i < v.size(); ++i)
        Walk(v[i], s["items"], path + "[" + std::to_string(i) + "]");
    }
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) {
      Add("FieldValueInvalid", path,
          "Invalid value: " + std::to_string(v.size()) + ": " + path +
              " in body should have at least " + s["minItems"].dump() + " items");
    }
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) {
      Add("FieldValueTooMany", path,
          "Too many: " + std::to_string(v.size()) + ": must have at most " + s["maxItems"].dump() +
              " items");
    }
  }

  void CheckScalar(const json& v, const json& s, const std::string& path) {
    if (s.contains("enum") && s["enum"].is_array()) {
      bool found = false;
      for (const auto& allowed : s["enum"]) found |= (allowed == v);
      if (!found) {
        std::string list;
        for (const auto& allowed : s["enum"]) list += (list.empty() ? "" : ", ") + allowed.dump();
        Add("FieldValueNotSupported", path,
            "Unsupported value: " + v.dump() + ": supported values: " + list);
      }
    }
    if (v.is_number()) {
      double d = v.get<double>();
      if (s.contains("minimum") && s["minimum"].is_number()) {
        double m = s["minimum"].get<double>();
        bool exclusive = s.value("exclusiveMinimum", false);
        if (exclusive ? d <= m : d < m) {
          Add("FieldValueInvalid", path,
              "Invalid value: " + v.dump() + ": " + path + " in body should be greater than " +
                  (exclusive ? "" : "or equal to ") + s["minimum"].dump());
        }
      }
      if (s.contains("maximum") && s["maximum"].is_number()) {
        double m = s["maximum"].get<double>();
        bool exclusive = s.value("exclusiveMaximum", false);
        if (exclusive ? d >= m : d > m) {
          Add("FieldValueInvalid", path,
              "Invalid value: " + v.dump() + ": " + path + " in body should be less than " +
                  (exclusive ? "" : "or equal to ") + s["maximum"].dump());
        }
      }
    }
    if (v.is_string()) {
      const std::string& str = v.get_ref<const std::string&>();
      if (s.contains("minLength") && str.size() < s["minLength"].get<size_t>()) {
        Add("FieldValueInvalid", path,
            "Invalid value: " + v.dump() + ": " + path + " in body should be at least " +
                s["minLength"].dump() + " chars long");
      }
      if (s.contains("maxLength") && str.size() > s["maxLength"].get<size_t>()) {
        Add("FieldValueTooLong", path, "Too long: may not be longer than " + s["maxLength"].dump());
      }
      if (s.contains("pattern") && s["pattern"].is_string()) {
        try {
          std::regex re(s["pattern"].get<std::string>(), std::regex::ECMAScript);
          if (!std::regex_search(str, re)) {
            Add("FieldValueInvalid", path,
                "Invalid value: " + v.dump() + ": " + path + " in body should match '" +
                    s["pattern"].get<std::string>() + "'");
          }
        } catch (const std::regex_error&) {
          // A pattern std::regex cannot compile is not enforced (the real server uses RE2).
        }
      }
    }
  }

  SchemaOutcome* out_;
};

}  // namespace

SchemaOutcome ApplySchema(json& object, const json& schema) {
  SchemaOutcome out;
  Walker walker(&out);
  if (!object.is_object() || !schema.is_object()) return out;
  json root_schema = schema;
  json props = root_schema.value("properties", json::object());
  for (const char* k : {"apiVersion", "kind", "metadata"}) props.erase(k);
  root_schema["properties"] = props;
  json metadata = object.contains("metadata") ? object["metadata"] : json::object();
  std::string api_version = object.value("apiVersion", "");
  std::string kind = object.value("kind", "");
  object.erase("metadata");
  object.erase("apiVersion");
  object.erase("kind");
  walker.Walk(object, root_schema, "");
  object["apiVersion"] = api_version;
  object["kind"] = kind;
  object["metadata"] = metadata;
  return out;
}

}  // namespace ffharness
