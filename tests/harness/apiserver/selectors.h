// Label selectors, field selectors and the JSONPath subset used by printer columns.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ffharness {

using nlohmann::json;

struct LabelRequirement {
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kEquals;
  std::vector<std::string> values;
};

class LabelSelector {
 public:
  // Parses "a=b,c!=d,e in (x,y),f notin (z),g,!h". Returns nullopt and sets *error on bad syntax.
  static std::optional<LabelSelector> Parse(const std::string& text, std::string* error);
  // Builds from a metav1.LabelSelector object {matchLabels, matchExpressions}.
  static std::optional<LabelSelector> FromObject(const json& selector, std::string* error);
  bool Matches(const json& labels) const;
  bool empty() const { return requirements_.empty(); }
  std::string ToString() const;

 private:
  std::vector<LabelRequirement> requirements_;
};

class FieldSelector {
 public:
  // Parses "metadata.name=x,spec.nodeName!=y" (any dotted field path of the object).
  static std::optional<FieldSelector> Parse(const std::string& text, std::string* error);
  bool Matches(const json& object) const;
  bool empty() const { return terms_.empty(); }
  // The value required for `path` with "=", if the selector has one (used to narrow lookups).
  std::optional<std::string> EqualsValue(const std::string& path) const;

 private:
  struct Term {
    std::string path;
    bool negate = false;
    std::string value;
  };
  std::vector<Term> terms_;
};

// Value at a dotted path ("metadata.name") as the string a field selector compares with.
std::string FieldValueAsString(const json& object, const std::string& path);

// Evaluates a JSONPath subset: .a.b, .a[0], .a[*].b, .a[?(@.type=="Ready")].status, {.a.b}.
std::vector<json> EvaluateJsonPath(const json& object, const std::string& path);

// Reads/writes a simple dotted path (".spec.replicas") used by scale subresources.
const json* FindDottedPath(const json& object, const std::string& path);
void SetDottedPath(json& object, const std::string& path, const json& value);

}  // namespace ffharness
