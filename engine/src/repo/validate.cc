// Cross-file checks, run once every definition file is parsed.
#include <fnmatch.h>
#include <glob.h>

#include <filesystem>
#include <memory>
#include <set>

#include "featureforge/offline/duckdb.h"
#include "load_state.h"

namespace featureforge::repo {
namespace {

namespace fs = std::filesystem;

int LineOr(const FieldLines& lines, const std::string& field, int fallback) {
  auto it = lines.find(field);
  return it != lines.end() && it->second > 0 ? it->second : fallback;
}

void Report(LoadState* state, const SourceLocation& location, int line, const std::string& subject,
            const std::string& field, const std::string& message) {
  state->diagnostics.Add(
      Problem{location.file, line > 0 ? line : location.line, subject, field, message, false});
}

template <typename T>
std::string KindOf(const T&, const std::string& kind) {
  return kind;
}
std::string KindOf(const FeatureView& view, const std::string&) {
  return view.is_batch ? "batch_feature_view" : "feature_view";
}

// Reports the second and later definitions of a name, pointing at the first.
template <typename T>
void CheckDuplicates(LoadState* state, const std::vector<T>& items, const std::string& kind) {
  std::map<std::string, const T*> first;
  for (const auto& item : items) {
    if (item.name.empty()) continue;
    auto [it, inserted] = first.emplace(item.name, &item);
    if (inserted) continue;
    Report(state, item.location, item.location.line, KindOf(item, kind) + " '" + item.name + "'",
           "name", "duplicate name; first defined at " + it->second->location.ToString());
  }
}

bool HasGlobCharacters(const std::string& path) {
  return path.find_first_of("*?[") != std::string::npos;
}

// True when a glob pattern (absolute) matches at least one file. `**` crosses directories.
bool GlobMatchesAnything(const std::string& pattern) {
  if (pattern.find("**") == std::string::npos) {
    glob_t matches{};
    int rc = glob(pattern.c_str(), 0, nullptr, &matches);
    bool any = rc == 0 && matches.gl_pathc > 0;
    globfree(&matches);
    return any;
  }
  // Walk from the directory before the first wildcard; fnmatch without FNM_PATHNAME lets `*`
  // match across `/`, which is what `**` means to DuckDB.
  std::string prefix = pattern.substr(0, pattern.find_first_of("*?["));
  fs::path base = fs::path(prefix).parent_path();
  std::error_code error;
  if (!fs::is_directory(base, error)) return false;
  for (auto it = fs::recursive_directory_iterator(base, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file(error) && fnmatch(pattern.c_str(), it->path().c_str(), 0) == 0) {
      return true;
    }
  }
  return false;
}

void CheckSourcePaths(LoadState* state) {
  const Repo& repo = state->repo;
  for (size_t i = 0; i < repo.sources.size(); ++i) {
    const DataSource& source = repo.sources[i];
    if (source.path.empty()) continue;  // reported as missing already
    const int line = LineOr(state->source_lines[i], "path", source.location.line);
    const std::string subject = "source '" + source.name + "'";
    if (source.path.rfind("s3://", 0) == 0) continue;  // checked when read
    if (source.path.find("://") != std::string::npos) {
      Report(state, source.location, line, subject, "path",
             "'" + source.path + "': only local paths and s3:// URIs are supported");
      continue;
    }
    const std::string resolved = repo.ResolvePath(source.path);
    std::error_code error;
    if (HasGlobCharacters(source.path)) {
      if (!GlobMatchesAnything(resolved)) {
        Report(state, source.location, line, subject, "path",
               "no file matches '" + source.path + "'");
      }
    } else if (!fs::exists(resolved, error)) {
      Report(state, source.location, line, subject, "path",
             "file not found: '" + source.path + "'");
    }
  }
}

// `sql` is opened on the first batch view so repos without one never start DuckDB.
void CheckViews(LoadState* state, std::unique_ptr<offline::DuckConnection>* sql) {
  Repo& repo = state->repo;
  std::vector<std::string> entity_names, source_names;
  for (const auto& e : repo.entities) entity_names.push_back(e.name);
  for (const auto& s : repo.sources) source_names.push_back(s.name);

  for (size_t v = 0; v < repo.feature_views.size(); ++v) {
    FeatureView& view = repo.feature_views[v];
    const FieldLines& lines = state->view_lines[v];
    const std::string subject =
        Subject(view.is_batch ? "batch_feature_view" : "feature_view", view.name, v);
    auto report = [&](const std::string& field, int line, const std::string& message) {
      Report(state, view.location, line, subject, field, message);
    };

    std::map<std::string, const Entity*> join_keys;  // key -> its entity
    for (size_t i = 0; i < view.entities.size(); ++i) {
      const std::string field = "entities[" + std::to_string(i) + "]";
      const Entity* entity = repo.FindEntity(view.entities[i]);
      if (entity == nullptr) {
        report(field, LineOr(lines, field, 0),
               "unknown entity '" + view.entities[i] + "'" +
                   DidYouMean(view.entities[i], entity_names));
        continue;
      }
      for (const auto& key : entity->join_keys) join_keys[key] = entity;
    }

    if (!view.is_batch && !view.source.empty()) {
      if (const DataSource* source = repo.FindSource(view.source)) {
        view.timestamp_field = source->timestamp_field;
        view.created_timestamp_column = source->created_timestamp_column;
      } else {
        report("source", LineOr(lines, "source", 0),
               "unknown source '" + view.source + "'" + DidYouMean(view.source, source_names));
      }
    }
    for (size_t i = 0; i < view.query_sources.size(); ++i) {
      const std::string field = "sources[" + std::to_string(i) + "]";
      if (repo.FindSource(view.query_sources[i]) == nullptr) {
        report(field, LineOr(lines, field, 0),
               "unknown source '" + view.query_sources[i] + "'" +
                   DidYouMean(view.query_sources[i], source_names));
      }
    }
    if (view.is_batch && !view.query.empty()) {
      if (*sql == nullptr) {
        auto connection = offline::DuckConnection::Open();
        if (connection.ok()) *sql = std::move(connection).value();
      }
      std::optional<QueryProblem> problem =
          *sql ? CheckBatchQuery(**sql, view.query, view.query_sources)
               : QueryProblem{"cannot start DuckDB to check the query", 0};
      if (problem) {
        // A literal block (`query: |`) keeps its lines, so DuckDB's line maps to the file's.
        int line = LineOr(lines, "query", 0);
        int first_line = LineOr(lines, "query.first_line", 0);
        if (first_line > 0 && problem->query_line > 0) line = first_line + problem->query_line - 1;
        report("query", line, problem->message);
      }
    }
    if (view.is_batch && !view.path.empty() && view.path.find("://") != std::string::npos &&
        view.path.rfind("s3://", 0) != 0) {
      report("path", LineOr(lines, "path", 0),
             "'" + view.path + "': only local paths and s3:// URIs are supported");
    }

    // Schema: join keys and timestamp columns are columns, not features.
    std::set<std::string> seen;
    view.features.clear();
    for (const auto& entry : state->view_schemas[v]) {
      const std::string& name = entry.field.name;
      if (!seen.insert(name).second) {
        report("schema", entry.line, "column '" + name + "' listed twice");
        continue;
      }
      if (auto key = join_keys.find(name); key != join_keys.end()) {
        // A single-key entity's value_type is the key's type: entity keys are serialized with
        // it, so a schema that disagrees would write keys no reader finds.
        const Entity* entity = key->second;
        if (entity->join_keys.size() == 1 && entry.field.type != ValueType::kInvalid &&
            entry.field.type != entity->value_type) {
          report("schema", entry.line,
                 "join key '" + name + "' is " + std::string(ValueTypeName(entry.field.type)) +
                     " here but entity '" + entity->name + "' has value_type " +
                     std::string(ValueTypeName(entity->value_type)));
        }
        continue;
      }
      if (name == view.timestamp_field || name == view.created_timestamp_column) continue;
      view.features.push_back(entry.field);
    }
    if (!state->view_schemas[v].empty() && view.features.empty()) {
      report("schema", LineOr(lines, "schema", 0),
             "declares no features (only join keys and timestamp columns)");
    }
    CheckEmbeddingView(view, lines, state->view_schemas[v], report);
  }
}

void CheckServices(LoadState* state) {
  const Repo& repo = state->repo;
  std::vector<std::string> view_names;
  for (const auto& v : repo.feature_views) view_names.push_back(v.name);
  for (size_t s = 0; s < repo.feature_services.size(); ++s) {
    const FeatureService& service = repo.feature_services[s];
    const std::string subject = Subject("feature_service", service.name, s);
    for (const auto& ref : state->service_refs[s]) {
      const FeatureView* view = repo.FindFeatureView(ref.view);
      if (view == nullptr) {
        Report(state, service.location, ref.line, subject, ref.field,
               "unknown feature view '" + ref.view + "'" + DidYouMean(ref.view, view_names));
        continue;
      }
      std::vector<std::string> feature_names;
      for (const auto& f : view->features) feature_names.push_back(f.name);
      for (const auto& feature : ref.features) {
        if (view->FindFeature(feature) == nullptr) {
          Report(state, service.location, ref.line, subject, ref.field,
                 "feature view '" + ref.view + "' has no feature '" + feature + "'" +
                     DidYouMean(feature, feature_names));
        }
      }
    }
  }
}

}  // namespace

void ValidateRepo(LoadState* state) {
  CheckDuplicates(state, state->repo.entities, "entity");
  CheckDuplicates(state, state->repo.sources, "source");
  CheckDuplicates(state, state->repo.feature_views, "feature_view");
  CheckDuplicates(state, state->repo.feature_services, "feature_service");
  CheckSourcePaths(state);
  std::unique_ptr<offline::DuckConnection> sql;
  CheckViews(state, &sql);
  CheckServices(state);
}

}  // namespace featureforge::repo
