// Typed, diagnosed access to one YAML map: every lookup that fails adds a Problem naming the
// file, line, subject and field instead of throwing.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "diagnostics.h"
#include "featureforge/repo/loader.h"

namespace featureforge::repo {

// 1-based line of a node, 0 when yaml-cpp has no mark for it.
int LineOf(const YAML::Node& node);
// "a map", "a list", "a scalar", "null".
std::string DescribeNodeType(const YAML::Node& node);

// Where problems go and how they are labelled.
struct YamlContext {
  Diagnostics* diagnostics = nullptr;
  std::string file;
  std::string subject;       // "entity 'driver'"
  std::string field_prefix;  // "online_store." for nested maps
  // When set, scalar values expand ${NAME} references (feature_store.yaml only); every value
  // taken from the environment is appended to `env_substitutions` (for redaction).
  const EnvLookup* env = nullptr;
  std::vector<std::pair<std::string, std::string>>* env_substitutions = nullptr;
  bool keep_unset_env = false;  // unset variables stay as written (the field is "deferred")

  void Report(int line, const std::string& field, const std::string& message,
              bool not_supported = false) const;
};

class MapReader {
 public:
  // `node` must be a map (the caller checked); duplicate keys are reported here.
  MapReader(const YAML::Node& node, YamlContext context);

  // Reports every key not in `allowed`, with a "did you mean" hint when one is close.
  void CheckFields(const std::vector<std::string>& allowed);

  void set_subject(std::string subject) { context_.subject = std::move(subject); }
  void set_keep_unset_env(bool keep) { context_.keep_unset_env = keep; }
  // True when the field's value still holds a ${NAME} reference to an unset variable (only
  // with keep_unset_env): value checks should skip it.
  bool Deferred(const std::string& field) const { return deferred_.count(field) > 0; }
  const YamlContext& context() const { return context_; }
  int line() const { return line_; }
  bool Has(const std::string& field) const;
  // The value node (an undefined node when absent) and the line of the field (map line if absent).
  YAML::Node Get(const std::string& field) const;
  int LineOf(const std::string& field) const;
  // The map at `field` as a reader whose field names are prefixed "<field>."; nullopt (reported)
  // when the value is not a map.
  std::optional<MapReader> Nested(const std::string& field) const;
  // Adds a problem at `field`'s line.
  void Report(const std::string& field, const std::string& message,
              bool not_supported = false) const;

  // Each returns nullopt when the field is absent, null or has the wrong type (reported);
  // `required` also reports an absent field.
  std::optional<std::string> String(const std::string& field, bool required = false);
  std::optional<bool> Bool(const std::string& field);
  std::optional<int64_t> Int(const std::string& field);
  // A list of strings; a lone scalar is not accepted (a list is what Feast users write).
  std::optional<std::vector<std::string>> StringList(const std::string& field,
                                                     bool required = false);
  std::optional<std::map<std::string, std::string>> StringMap(const std::string& field);

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };
  const Entry* Find(const std::string& field) const;
  // The field's entry when it has a value; nullptr otherwise (reported when `required`).
  const Entry* Present(const std::string& field, bool required) const;
  // The scalar's text with ${NAME} expanded (when the context expands); nullopt after
  // reporting a reference that cannot be expanded at `line`.
  std::optional<std::string> Expand(const std::string& text, const std::string& field, int line);

  YamlContext context_;
  std::set<std::string> deferred_;
  int line_ = 0;
  std::vector<Entry> entries_;
};

}  // namespace featureforge::repo
