// What the loader's stages share: the repo being filled, the problems found so far, and the
// source lines of fields that cross-file checks need to point at.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "diagnostics.h"
#include "featureforge/repo/loader.h"
#include "featureforge/repo/model.h"

namespace featureforge::offline {
class DuckConnection;
}

namespace featureforge::repo {

// Field path ("entities[1]", "source", "schema[0]") -> 1-based line.
using FieldLines = std::map<std::string, int>;

// A schema entry before join keys and timestamp columns are split off.
struct SchemaEntry {
  Field field;
  int line = 0;
};

// One entry of a feature service's `features:` list, as written.
struct ServiceFeatureRef {
  std::string view;
  std::vector<std::string> features;  // empty = every feature of the view
  int line = 0;
  std::string field;  // "features[2]"
};

struct LoadState {
  Repo repo;
  Diagnostics diagnostics;
  // Parallel to repo.entities / sources / feature_views / feature_services.
  std::vector<FieldLines> entity_lines;
  std::vector<FieldLines> source_lines;
  std::vector<FieldLines> view_lines;
  std::vector<std::vector<SchemaEntry>> view_schemas;
  std::vector<FieldLines> service_lines;
  std::vector<std::vector<ServiceFeatureRef>> service_refs;
  // Which sources had an explicit file_format (otherwise it was derived from the path).
  std::vector<bool> source_format_explicit;
  // Text lines of every YAML file read, by file name, to tell block scalars (`query: |`) apart.
  std::map<std::string, std::vector<std::string>> file_lines;
  // ${NAME} expansion in feature_store.yaml, and (value, reference) of every value expanded, so
  // the final message can show references instead of secrets.
  EnvLookup env;
  bool allow_unset_store_env = false;
  std::vector<std::pair<std::string, std::string>> env_substitutions;
};

// `definitions:` of feature_store.yaml: patterns relative to the repo root.
struct DefinitionPatterns {
  std::vector<std::string> patterns;
  int line = 0;
};

// Fills state->repo.config from feature_store.yaml's root node; returns the `definitions:`
// patterns when the file names them.
std::optional<DefinitionPatterns> ParseConfig(const YAML::Node& root, const std::string& file,
                                              LoadState* state);
// Appends the objects of one definition file to state->repo.
void ParseDefinitionFile(const YAML::Node& root, const std::string& file, LoadState* state);
// Cross-file checks: duplicates, references, schemas, source files, batch view SQL.
void ValidateRepo(LoadState* state);
struct QueryProblem {
  std::string message;
  int query_line = 0;  // 1-based line inside the query DuckDB pointed at; 0 when none
};
// Checks a batch view's SQL with DuckDB's parser (nothing is bound or run, so the sources need
// not exist): exactly one SELECT-like statement that reads only `sources` (and its own CTEs).
std::optional<QueryProblem> CheckBatchQuery(offline::DuckConnection& connection,
                                            const std::string& query,
                                            const std::vector<std::string>& sources);

class MapReader;
// `embedding:` / `vector_index:` of a batch view (parse_embedding.cc).
void ParseEmbeddingBlocks(MapReader& reader, FeatureView* view, FieldLines* lines);
// Checks that need the split schema: output is an Array(Float32) feature, source column text.
void CheckEmbeddingView(
    const FeatureView& view, const FieldLines& lines, const std::vector<SchemaEntry>& schema,
    const std::function<void(const std::string&, int, const std::string&)>& report);

// "entity 'driver'", or "entity #3" when the item has no name yet.
std::string Subject(const std::string& kind, const std::string& name, size_t index);

}  // namespace featureforge::repo
