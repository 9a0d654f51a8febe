#include "yaml_reader.h"

#include <charconv>
#include <set>

#include "env_expand.h"

namespace featureforge::repo {

int LineOf(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

std::string DescribeNodeType(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

void YamlContext::Report(int line, const std::string& field, const std::string& message,
                         bool not_supported) const {
  diagnostics->Add(Problem{file, line, subject, field.empty() ? field : field_prefix + field,
                           message, not_supported});
}

MapReader::MapReader(const YAML::Node& node, YamlContext context)
    : context_(std::move(context)), line_(repo::LineOf(node)) {
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      context_.Report(repo::LineOf(key), "",
                      "keys must be plain names, got " + DescribeNodeType(key));
      continue;
    }
    if (!seen.insert(key.Scalar()).second) {
      context_.Report(repo::LineOf(key), key.Scalar(), "field given twice");
      continue;
    }
    entries_.push_back({key.Scalar(), key, it->second});
  }
}

void MapReader::CheckFields(const std::vector<std::string>& allowed) {
  for (const auto& entry : entries_) {
    bool known = false;
    for (const auto& name : allowed) known = known || name == entry.key;
    if (!known) {
      context_.Report(repo::LineOf(entry.key_node), entry.key,
                      "unknown field" + DidYouMean(entry.key, allowed));
    }
  }
}

const MapReader::Entry* MapReader::Find(const std::string& field) const {
  for (const auto& entry : entries_) {
    if (entry.key == field) return &entry;
  }
  return nullptr;
}

bool MapReader::Has(const std::string& field) const {
  const Entry* entry = Find(field);
  return entry != nullptr && !entry->value.IsNull();
}

YAML::Node MapReader::Get(const std::string& field) const {
  const Entry* entry = Find(field);
  return entry ? entry->value : YAML::Node(YAML::NodeType::Undefined);
}

int MapReader::LineOf(const std::string& field) const {
  const Entry* entry = Find(field);
  if (entry == nullptr) return line_;
  int line = repo::LineOf(entry->key_node);
  return line > 0 ? line : line_;
}

std::optional<MapReader> MapReader::Nested(const std::string& field) const {
  YAML::Node node = Get(field);
  if (!node.IsMap()) {
    Report(field, "expected a map, got " + DescribeNodeType(node));
    return std::nullopt;
  }
  YamlContext context = context_;
  context.field_prefix += field + ".";
  return MapReader(node, context);
}

const MapReader::Entry* MapReader::Present(const std::string& field, bool required) const {
  const Entry* entry = Find(field);
  if (entry == nullptr || entry->value.IsNull()) {
    if (required) Report(field, entry ? "missing value" : "missing required field");
    return nullptr;
  }
  return entry;
}

void MapReader::Report(const std::string& field, const std::string& message,
                       bool not_supported) const {
  context_.Report(LineOf(field), field, message, not_supported);
}

std::optional<std::string> MapReader::Expand(const std::string& text, const std::string& field,
                                             int line) {
  if (context_.env == nullptr || text.find('$') == std::string::npos) return text;
  auto expanded = ExpandEnvReferences(text, *context_.env, context_.keep_unset_env);
  if (!expanded.ok()) {
    context_.Report(line, field, expanded.status().message());
    return std::nullopt;
  }
  if (context_.env_substitutions != nullptr) {
    context_.env_substitutions->insert(context_.env_substitutions->end(),
                                       expanded->substitutions.begin(),
                                       expanded->substitutions.end());
  }
  if (expanded->deferred) deferred_.insert(field);
  return std::move(expanded->text);
}

std::optional<std::string> MapReader::String(const std::string& field, bool required) {
  const Entry* entry = Present(field, required);
  if (entry == nullptr) return std::nullopt;
  if (!entry->value.IsScalar()) {
    Report(field, "expected a string, got " + DescribeNodeType(entry->value));
    return std::nullopt;
  }
  std::optional<std::string> text = Expand(entry->value.Scalar(), field, LineOf(field));
  if (!text) return std::nullopt;
  if (required && text->empty()) {
    Report(field, entry->value.Scalar().empty()
                      ? "must not be empty"
                      : "must not be empty ('" + entry->value.Scalar() + "' expanded to nothing)");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> MapReader::Bool(const std::string& field) {
  const Entry* entry = Present(field, false);
  if (entry == nullptr) return std::nullopt;
  bool value = false;
  std::optional<std::string> text;
  if (entry->value.IsScalar()) {
    text = Expand(entry->value.Scalar(), field, LineOf(field));
    if (!text) return std::nullopt;
    if (Deferred(field)) return std::nullopt;
  }
  if (!text || !YAML::convert<bool>::decode(YAML::Node(*text), value)) {
    Report(field, "expected true or false, got " + DescribeNodeType(entry->value));
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> MapReader::Int(const std::string& field) {
  const Entry* entry = Present(field, false);
  if (entry == nullptr) return std::nullopt;
  if (entry->value.IsScalar()) {
    std::optional<std::string> expanded = Expand(entry->value.Scalar(), field, LineOf(field));
    if (!expanded) return std::nullopt;
    if (Deferred(field)) return std::nullopt;
    const std::string& text = *expanded;
    int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size() && !text.empty()) return value;
  }
  Report(field, "expected an integer, got " + DescribeNodeType(entry->value));
  return std::nullopt;
}

std::optional<std::vector<std::string>> MapReader::StringList(const std::string& field,
                                                              bool required) {
  const Entry* entry = Present(field, required);
  if (entry == nullptr) return std::nullopt;
  if (!entry->value.IsSequence()) {
    Report(field, "expected a list, got " + DescribeNodeType(entry->value));
    return std::nullopt;
  }
  std::vector<std::string> values;
  bool ok = true;
  for (size_t i = 0; i < entry->value.size(); ++i) {
    const YAML::Node item = entry->value[i];
    if (!item.IsScalar() || item.Scalar().empty()) {
      context_.Report(repo::LineOf(item) > 0 ? repo::LineOf(item) : LineOf(field),
                      field + "[" + std::to_string(i) + "]",
                      "expected a name, got " + DescribeNodeType(item));
      ok = false;
      continue;
    }
    const std::string item_field = field + "[" + std::to_string(i) + "]";
    std::optional<std::string> text = Expand(
        item.Scalar(), item_field, repo::LineOf(item) > 0 ? repo::LineOf(item) : LineOf(field));
    if (!text) {
      ok = false;
      continue;
    }
    values.push_back(std::move(*text));
  }
  if (!ok) return std::nullopt;
  return values;
}

std::optional<std::map<std::string, std::string>> MapReader::StringMap(const std::string& field) {
  const Entry* entry = Present(field, false);
  if (entry == nullptr) return std::nullopt;
  if (!entry->value.IsMap()) {
    Report(field, "expected a map, got " + DescribeNodeType(entry->value));
    return std::nullopt;
  }
  std::map<std::string, std::string> values;
  bool ok = true;
  for (auto it = entry->value.begin(); it != entry->value.end(); ++it) {
    if (!it->first.IsScalar() || !(it->second.IsScalar() || it->second.IsNull())) {
      context_.Report(repo::LineOf(it->first) > 0 ? repo::LineOf(it->first) : LineOf(field), field,
                      "expected plain `key: value` pairs, got " + DescribeNodeType(it->second));
      ok = false;
      continue;
    }
    std::optional<std::string> text =
        it->second.IsNull()
            ? std::optional<std::string>("")
            : Expand(it->second.Scalar(), field + "." + it->first.Scalar(),
                     repo::LineOf(it->first) > 0 ? repo::LineOf(it->first) : LineOf(field));
    if (!text) {
      ok = false;
      continue;
    }
    values[it->first.Scalar()] = std::move(*text);
  }
  if (!ok) return std::nullopt;
  return values;
}

}  // namespace featureforge::repo
