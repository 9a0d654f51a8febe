// Definition files: top-level lists of entities, sources, feature views, batch feature views and
// feature services, turned into model objects. References between objects are checked later
// (validate.cc) because they may cross files.
#include <cctype>

#include "featureforge/common/time.h"
#include "load_state.h"
#include "yaml_reader.h"

namespace featureforge::repo {
namespace {

const std::vector<std::string> kTopLevelLists = {"entities", "sources", "feature_views",
                                                 "batch_feature_views", "feature_services"};

std::vector<std::string> KnownTypeNames() {
  std::vector<std::string> names;
  for (int v = 1; v <= 18; ++v) {
    std::string_view name = ValueTypeName(static_cast<ValueType>(v));
    if (name != "Invalid") names.emplace_back(name);
  }
  return names;
}

// Parses a dtype / value_type; kInvalid (reported) when unknown.
ValueType ParseType(MapReader& reader, const std::string& field, const std::string& text) {
  auto type = ParseValueType(text);
  if (!type || *type == ValueType::kInvalid || *type == ValueType::kNull) {
    reader.Report(field, "unknown type '" + text + "'" + DidYouMean(text, KnownTypeNames()));
    return ValueType::kInvalid;
  }
  return *type;
}

// Names become SQL identifiers, online store keys and "view:feature" references, so they are
// kept to letters, digits, '_', '-' and '.'.
void CheckName(MapReader& reader, const std::string& field, const std::string& name) {
  if (name.empty()) return;
  bool valid = name.front() != '-' && name.front() != '.';
  for (char c : name) {
    valid =
        valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  }
  if (!valid) {
    reader.Report(field, "'" + name +
                             "' may contain only letters, digits, '_', '-' and '.' (and "
                             "start with a letter, digit or '_')");
  }
}

// Runs `parse_item` on every map in the list `node`; reports items that are not maps.
template <typename ParseItem>
void ForEachItem(const YAML::Node& node, const std::string& list_name, const std::string& kind,
                 const YamlContext& file_context, ParseItem parse_item) {
  if (!node.IsSequence()) {
    file_context.Report(
        LineOf(node), list_name,
        "expected a list of " + kind + " definitions, got " + DescribeNodeType(node));
    return;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    YamlContext context = file_context;
    context.subject = Subject(kind, "", i);
    if (!item.IsMap()) {
      context.Report(LineOf(item), "", "expected a map with a name, got " + DescribeNodeType(item));
      continue;
    }
    MapReader reader(item, context);
    std::string name = reader.String("name", true).value_or("");
    if (!name.empty()) reader.set_subject(Subject(kind, name, i));
    CheckName(reader, "name", name);
    parse_item(reader, name);
  }
}

void ParseEntity(MapReader& reader, const std::string& name, LoadState* state) {
  reader.CheckFields({"name", "join_keys", "value_type", "description", "tags"});
  Entity entity;
  entity.name = name;
  entity.location = {reader.context().file, reader.line()};
  entity.join_keys = reader.StringList("join_keys").value_or(std::vector<std::string>{name});
  if (entity.join_keys.empty()) reader.Report("join_keys", "must name at least one key");
  if (auto type = reader.String("value_type")) {
    entity.value_type = ParseType(reader, "value_type", *type);
    // The types Feast's entity key serialization supports.
    const ValueType t = entity.value_type;
    if (t != ValueType::kInvalid && t != ValueType::kString && t != ValueType::kBytes &&
        t != ValueType::kInt32 && t != ValueType::kInt64 && t != ValueType::kUnixTimestamp) {
      reader.Report("value_type",
                    "entity keys must be String, Bytes, Int32, Int64 or "
                    "UnixTimestamp, got " +
                        std::string(ValueTypeName(t)));
    }
  }
  entity.description = reader.String("description").value_or("");
  entity.tags = reader.StringMap("tags").value_or(std::map<std::string, std::string>{});
  state->repo.entities.push_back(std::move(entity));
  state->entity_lines.push_back({{"join_keys", reader.LineOf("join_keys")}});
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void ParseSource(MapReader& reader, const std::string& name, LoadState* state) {
  reader.CheckFields({"name", "type", "path", "file_format", "timestamp_field",
                      "created_timestamp_column", "field_mapping", "description"});
  DataSource source;
  source.name = name;
  source.location = {reader.context().file, reader.line()};
  if (auto type = reader.String("type"); type && *type != "file") {
    reader.Report("type", "source type '" + *type + "' (only 'file')", true);
  }
  source.path = reader.String("path", true).value_or("");
  bool format_explicit = false;
  if (auto format = reader.String("file_format")) {
    format_explicit = true;
    if (*format == "parquet") {
      source.format = FileFormat::kParquet;
    } else if (*format == "csv") {
      source.format = FileFormat::kCsv;
    } else {
      reader.Report("file_format", "unknown file format '" + *format + "' (parquet or csv)" +
                                       DidYouMean(*format, {"parquet", "csv"}));
    }
  } else {
    source.format = EndsWith(source.path, ".csv") || EndsWith(source.path, ".csv.gz")
                        ? FileFormat::kCsv
                        : FileFormat::kParquet;
  }
  if (auto field = reader.String("timestamp_field")) source.timestamp_field = *field;
  if (auto field = reader.String("created_timestamp_column")) {
    source.created_timestamp_column = *field;
  }
  source.field_mapping =
      reader.StringMap("field_mapping").value_or(std::map<std::string, std::string>{});
  source.description = reader.String("description").value_or("");
  state->repo.sources.push_back(std::move(source));
  state->source_lines.push_back({{"path", reader.LineOf("path")}});
  state->source_format_explicit.push_back(format_explicit);
}

std::vector<SchemaEntry> ParseSchema(MapReader& reader) {
  std::vector<SchemaEntry> schema;
  if (!reader.Has("schema")) {
    reader.Report("schema", "missing required field");
    return schema;
  }
  YAML::Node node = reader.Get("schema");
  if (!node.IsSequence()) {
    reader.Report("schema", "expected a list of {name, dtype}, got " + DescribeNodeType(node));
    return schema;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string field_name = "schema[" + std::to_string(i) + "]";
    YamlContext context = reader.context();
    context.field_prefix = field_name + ".";
    const YAML::Node item = node[i];
    if (!item.IsMap()) {
      reader.context().Report(LineOf(item) ? LineOf(item) : reader.LineOf("schema"), field_name,
                              "expected a map {name, dtype}, got " + DescribeNodeType(item));
      continue;
    }
    MapReader entry(item, context);
    entry.CheckFields({"name", "dtype", "description", "tags"});
    SchemaEntry schema_entry;
    schema_entry.line = entry.line();
    schema_entry.field.name = entry.String("name", true).value_or("");
    CheckName(entry, "name", schema_entry.field.name);
    if (auto dtype = entry.String("dtype", true)) {
      schema_entry.field.type = ParseType(entry, "dtype", *dtype);
    }
    schema_entry.field.description = entry.String("description").value_or("");
    schema_entry.field.tags =
        entry.StringMap("tags").value_or(std::map<std::string, std::string>{});
    if (!schema_entry.field.name.empty()) schema.push_back(std::move(schema_entry));
  }
  return schema;
}

// For a literal block scalar (`key: |`), the 1-based file line of its first content line;
// 0 for other scalars (plain, quoted and folded ones join lines, so line numbers inside them
// do not map to the file).
int LiteralBlockFirstLine(const YAML::Node& node, const std::string& file, const LoadState& state) {
  if (!node.IsDefined() || !node.IsScalar() || node.Mark().is_null()) return 0;
  auto text = state.file_lines.find(file);
  if (text == state.file_lines.end()) return 0;
  const size_t line = static_cast<size_t>(node.Mark().line);
  const size_t column = static_cast<size_t>(node.Mark().column);
  if (line >= text->second.size() || column >= text->second[line].size()) return 0;
  return text->second[line][column] == '|' ? static_cast<int>(line) + 2 : 0;
}

void ParseFeatureView(MapReader& reader, const std::string& name, bool is_batch, LoadState* state) {
  std::vector<std::string> allowed = {"name",   "entities", "ttl",         "schema",
                                      "online", "offline",  "description", "tags"};
  if (is_batch) {
    allowed.insert(allowed.end(), {"sources", "query", "path", "timestamp_field",
                                   "created_timestamp_column", "embedding", "vector_index"});
  } else {
    allowed.push_back("source");
  }
  reader.CheckFields(allowed);
  FeatureView view;
  view.name = name;
  view.is_batch = is_batch;
  view.location = {reader.context().file, reader.line()};
  FieldLines lines;
  view.entities = reader.StringList("entities", true).value_or(std::vector<std::string>{});
  if (reader.Has("entities") && view.entities.empty() && reader.Get("entities").IsSequence()) {
    reader.Report("entities", "must name at least one entity");
  }
  YAML::Node entity_nodes = reader.Get("entities");
  for (size_t i = 0; i < view.entities.size(); ++i) {
    int line = LineOf(entity_nodes[i]);
    lines["entities[" + std::to_string(i) + "]"] = line > 0 ? line : reader.LineOf("entities");
  }
  if (reader.Has("ttl")) {
    YAML::Node ttl = reader.Get("ttl");
    if (!ttl.IsScalar()) {
      reader.Report("ttl", "expected a duration such as 1d or 3600, got " + DescribeNodeType(ttl));
    } else if (auto parsed = ParseDuration(ttl.Scalar()); !parsed.ok()) {
      reader.Report("ttl", parsed.status().message());  // names the text and the expected form
    } else if (*parsed < 0) {
      reader.Report("ttl", "must not be negative");
    } else {
      view.ttl = *parsed;
    }
  }
  view.online = reader.Bool("online").value_or(true);
  view.offline = reader.Bool("offline").value_or(true);
  view.description = reader.String("description").value_or("");
  view.tags = reader.StringMap("tags").value_or(std::map<std::string, std::string>{});
  if (is_batch) {
    view.query_sources = reader.StringList("sources", true).value_or(std::vector<std::string>{});
    YAML::Node source_nodes = reader.Get("sources");
    for (size_t i = 0; i < view.query_sources.size(); ++i) {
      int line = LineOf(source_nodes[i]);
      lines["sources[" + std::to_string(i) + "]"] = line > 0 ? line : reader.LineOf("sources");
    }
    if (reader.Get("sources").IsSequence() && reader.Get("sources").size() == 0) {
      reader.Report("sources", "must name at least one source");
    }
    view.query = reader.String("query", true).value_or("");
    view.path = reader.String("path").value_or("");
    if (auto field = reader.String("timestamp_field")) view.timestamp_field = *field;
    if (auto field = reader.String("created_timestamp_column")) {
      view.created_timestamp_column = *field;
    }
    lines["query"] = reader.LineOf("query");
    if (int first = LiteralBlockFirstLine(reader.Get("query"), reader.context().file, *state)) {
      lines["query.first_line"] = first;
    }
    lines["path"] = reader.LineOf("path");
    ParseEmbeddingBlocks(reader, &view, &lines);
  } else {
    view.source = reader.String("source", true).value_or("");
    lines["source"] = reader.LineOf("source");
  }
  lines["schema"] = reader.LineOf("schema");
  state->view_schemas.push_back(ParseSchema(reader));
  state->repo.feature_views.push_back(std::move(view));
  state->view_lines.push_back(std::move(lines));
}

// One entry of `features:`: "view", "view:feature" or {view: [features]}.
void ParseServiceFeature(MapReader& reader, const YAML::Node& item, size_t index,
                         std::vector<ServiceFeatureRef>* refs) {
  const std::string field = "features[" + std::to_string(index) + "]";
  const int line = LineOf(item) > 0 ? LineOf(item) : reader.LineOf("features");
  auto report = [&](const std::string& message) { reader.context().Report(line, field, message); };
  if (item.IsScalar()) {
    const std::string& text = item.Scalar();
    size_t colon = text.find(':');
    if (colon == std::string::npos) {
      refs->push_back({text, {}, line, field});
    } else if (colon == 0 || colon + 1 == text.size() ||
               text.find(':', colon + 1) != std::string::npos) {
      report("expected 'view' or 'view:feature', got '" + text + "'");
    } else {
      refs->push_back({text.substr(0, colon), {text.substr(colon + 1)}, line, field});
    }
    return;
  }
  if (item.IsMap()) {
    for (auto it = item.begin(); it != item.end(); ++it) {
      if (!it->first.IsScalar()) {
        report("expected a view name as key");
        continue;
      }
      ServiceFeatureRef ref{it->first.Scalar(), {}, line, field};
      const YAML::Node features = it->second;
      if (features.IsSequence()) {
        for (size_t i = 0; i < features.size(); ++i) {
          if (!features[i].IsScalar()) {
            report(ref.view + ": expected feature names, got " + DescribeNodeType(features[i]));
            continue;
          }
          ref.features.push_back(features[i].Scalar());
        }
        if (features.size() == 0) report(ref.view + ": list of features is empty");
      } else if (!features.IsNull()) {
        report(ref.view + ": expected a list of feature names, got " + DescribeNodeType(features));
        continue;
      }
      refs->push_back(std::move(ref));
    }
    return;
  }
  report("expected 'view', 'view:feature' or {view: [features]}, got " + DescribeNodeType(item));
}

void ParseFeatureService(MapReader& reader, const std::string& name, LoadState* state) {
  reader.CheckFields({"name", "features", "description"});
  FeatureService service;
  service.name = name;
  service.location = {reader.context().file, reader.line()};
  service.description = reader.String("description").value_or("");
  std::vector<ServiceFeatureRef> refs;
  if (!reader.Has("features")) {
    reader.Report("features", "missing required field");
  } else if (YAML::Node features = reader.Get("features"); !features.IsSequence()) {
    reader.Report("features", "expected a list, got " + DescribeNodeType(features));
  } else {
    if (features.size() == 0) reader.Report("features", "must name at least one view");
    for (size_t i = 0; i < features.size(); ++i) {
      ParseServiceFeature(reader, features[i], i, &refs);
    }
  }
  // Projections of one view merge into one; "every feature" absorbs a narrower list.
  for (const auto& ref : refs) {
    FeatureViewProjection* existing = nullptr;
    for (auto& projection : service.projections) {
      if (projection.view == ref.view) existing = &projection;
    }
    if (existing == nullptr) {
      service.projections.push_back({ref.view, ref.features});
    } else if (existing->features.empty() || ref.features.empty()) {
      existing->features.clear();
    } else {
      for (const auto& feature : ref.features) {
        bool present = false;
        for (const auto& f : existing->features) present = present || f == feature;
        if (!present) existing->features.push_back(feature);
      }
    }
  }
  state->repo.feature_services.push_back(std::move(service));
  state->service_lines.push_back({{"features", reader.LineOf("features")}});
  state->service_refs.push_back(std::move(refs));
}

}  // namespace

std::string Subject(const std::string& kind, const std::string& name, size_t index) {
  if (name.empty()) return kind + " #" + std::to_string(index + 1);
  return kind + " '" + name + "'";
}

void ParseDefinitionFile(const YAML::Node& root, const std::string& file, LoadState* state) {
  YamlContext context{&state->diagnostics, file, "", ""};
  if (root.IsNull() || !root.IsDefined()) return;  // an empty file defines nothing
  if (!root.IsMap()) {
    context.Report(LineOf(root), "",
                   "expected a map with entities, sources, feature_views, batch_feature_views "
                   "or feature_services, got " +
                       DescribeNodeType(root));
    return;
  }
  MapReader reader(root, context);
  bool any_known = false;
  for (const auto& name : kTopLevelLists) any_known = any_known || reader.Get(name).IsDefined();
  if (!any_known && root.size() > 0) {
    // Most likely some other tool's YAML picked up by the default file search.
    context.Report(LineOf(root), "",
                   "not a definition file (no entities, sources, feature_views, "
                   "batch_feature_views or feature_services); list the definition files under "
                   "`definitions:` in feature_store.yaml to leave it out");
    return;
  }
  reader.CheckFields(kTopLevelLists);
  auto list = [&](const std::string& name) {
    return reader.Has(name) ? reader.Get(name) : YAML::Node(YAML::NodeType::Sequence);
  };
  ForEachItem(list("entities"), "entities", "entity", context,
              [&](MapReader& item, const std::string& name) { ParseEntity(item, name, state); });
  ForEachItem(list("sources"), "sources", "source", context,
              [&](MapReader& item, const std::string& name) { ParseSource(item, name, state); });
  ForEachItem(list("feature_views"), "feature_views", "feature_view", context,
              [&](MapReader& item, const std::string& name) {
                ParseFeatureView(item, name, false, state);
              });
  ForEachItem(
      list("batch_feature_views"), "batch_feature_views", "batch_feature_view", context,
      [&](MapReader& item, const std::string& name) { ParseFeatureView(item, name, true, state); });
  ForEachItem(
      list("feature_services"), "feature_services", "feature_service", context,
      [&](MapReader& item, const std::string& name) { ParseFeatureService(item, name, state); });
}

}  // namespace featureforge::repo
