// feature_store.yaml: project, registry, provider, stores, batch engine, serialization version.
#include <regex>

#include "load_state.h"
#include "yaml_reader.h"

namespace featureforge::repo {
namespace {

bool IsProjectName(const std::string& name) {
  static const std::regex kPattern("[A-Za-z0-9_]+");
  return std::regex_match(name, kPattern);
}

// Reads a nested section (`online_store:` ...) as a map; nullopt when absent or not a map.
std::optional<MapReader> Section(MapReader& parent, const std::string& field) {
  if (!parent.Has(field)) return std::nullopt;
  return parent.Nested(field);
}

void ParseRegistry(MapReader& root, RepoConfig* config) {
  if (!root.Has("registry")) return;
  YAML::Node node = root.Get("registry");
  if (node.IsScalar()) {
    if (auto path = root.String("registry", true)) config->registry = *path;
    return;
  }
  auto section = Section(root, "registry");
  if (!section) return;
  section->CheckFields({"path", "registry_type"});
  if (auto path = section->String("path", true)) config->registry = *path;
  if (auto type = section->String("registry_type"); type && *type != "file") {
    section->Report("registry_type", "registry type '" + *type + "' (only 'file')", true);
  }
}

void ParseOfflineStore(MapReader& root, OfflineStoreConfig* config, bool keep_unset_env) {
  auto section = Section(root, "offline_store");
  if (!section) return;
  section->set_keep_unset_env(keep_unset_env);
  section->CheckFields({"type", "memory_limit", "threads"});
  if (auto type = section->String("type")) {
    if (*type == "duckdb" || *type == "file") {
      config->type = *type;
    } else {
      section->Report("type", "offline store '" + *type + "' (only duckdb or file)", true);
    }
  }
  if (auto limit = section->String("memory_limit")) config->memory_limit = *limit;
  if (auto threads = section->Int("threads")) {
    if (*threads < 0) {
      section->Report("threads", "must be 0 (DuckDB's default) or more");
    } else {
      config->threads = static_cast<int>(*threads);
    }
  }
}

// "host:port[,db=N][,password=...][,username=...][,ssl=true|false]"
std::string CheckRedisConnectionString(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    parts.push_back(
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const std::string& address = parts[0];
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return "expected host:port, got '" + address + "'";
  const std::string port = address.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
      std::stoi(port) > 65535) {
    return "port '" + port + "' is not a number from 1 to 65535";
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    size_t eq = parts[i].find('=');
    std::string key = parts[i].substr(0, eq);
    std::string value = eq == std::string::npos ? "" : parts[i].substr(eq + 1);
    if (eq == std::string::npos) return "option '" + parts[i] + "' is not key=value";
    if (key == "db") {
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
        return "db must be a non-negative number, got '" + value + "'";
      }
    } else if (key == "ssl") {
      if (value != "true" && value != "false") return "ssl must be true or false";
    } else if (key != "password" && key != "username") {
      return "unknown option '" + key + "'" +
             DidYouMean(key, {"db", "password", "username", "ssl"});
    }
  }
  return "";
}

void ParseOnlineStore(MapReader& root, OnlineStoreConfig* config, bool keep_unset_env) {
  auto section = Section(root, "online_store");
  if (!section) return;
  section->set_keep_unset_env(keep_unset_env);
  std::string type = section->String("type").value_or("sqlite");
  if (type == "sqlite") {
    section->CheckFields({"type", "path", "vector_index_path"});
    if (auto path = section->String("path")) config->path = *path;
  } else if (type == "redis") {
    section->CheckFields(
        {"type", "connection_string", "key_ttl_seconds", "redis_type", "vector_index_path"});
    if (auto conn = section->String("connection_string", true)) {
      std::string problem =
          section->Deferred("connection_string") ? "" : CheckRedisConnectionString(*conn);
      if (problem.empty()) {
        config->connection_string = *conn;
      } else {
        section->Report("connection_string", problem);
      }
    }
    if (auto ttl = section->Int("key_ttl_seconds")) {
      if (*ttl < 0) {
        section->Report("key_ttl_seconds", "must be 0 (keys never expire) or more");
      } else {
        config->key_ttl_seconds = *ttl;
      }
    }
    if (auto redis_type = section->String("redis_type"); redis_type && *redis_type != "redis") {
      section->Report("redis_type", "redis type '" + *redis_type + "' (only 'redis')", true);
    }
  } else {
    section->Report("type", "online store '" + type + "' (only sqlite or redis)", true);
    return;
  }
  if (auto path = section->String("vector_index_path")) config->vector_index_path = *path;
  config->type = type;
}

void ParseBatchEngine(MapReader& root, BatchEngineConfig* config) {
  auto section = Section(root, "batch_engine");
  if (!section) return;
  section->CheckFields({"type", "chunk_size", "event_log_uri"});
  if (auto type = section->String("type"); type && *type != "local") {
    section->Report("type", "batch engine '" + *type + "' (only 'local')", true);
  }
  if (auto chunk = section->Int("chunk_size")) {
    if (*chunk <= 0) {
      section->Report("chunk_size", "must be greater than 0, got " + std::to_string(*chunk));
    } else {
      config->chunk_size = *chunk;
    }
  }
  if (auto uri = section->String("event_log_uri")) {
    if (uri->empty()) {
      section->Report("event_log_uri", "must not be empty (leave it out for no event log)");
    } else if (uri->find("://") != std::string::npos && uri->rfind("s3://", 0) != 0 &&
               uri->rfind("file://", 0) != 0) {
      section->Report("event_log_uri", "'" + *uri + "' is not a path, file:// or s3:// URI");
    } else {
      config->event_log_uri = *uri;
    }
  }
}

}  // namespace

std::optional<DefinitionPatterns> ParseConfig(const YAML::Node& root, const std::string& file,
                                              LoadState* state) {
  YamlContext context{&state->diagnostics, file, "feature_store", ""};
  context.env = &state->env;
  context.env_substitutions = &state->env_substitutions;
  if (!root.IsMap()) {
    context.Report(LineOf(root), "", "expected a map of settings, got " + DescribeNodeType(root));
    return std::nullopt;
  }
  MapReader reader(root, context);
  RepoConfig& config = state->repo.config;
  if (auto project = reader.String("project", true)) {
    if (IsProjectName(*project)) {
      config.project = *project;
      reader.set_subject("feature_store '" + *project + "'");
    } else {
      reader.Report("project", "'" + *project + "' must contain only letters, digits and _");
    }
  }
  reader.CheckFields({"project", "registry", "provider", "offline_store", "online_store",
                      "batch_engine", "entity_key_serialization_version", "definitions"});
  ParseRegistry(reader, &config);
  if (auto provider = reader.String("provider")) {
    if (*provider != "local") {
      reader.Report("provider", "provider '" + *provider + "' (only 'local')", true);
    }
  }
  ParseOfflineStore(reader, &config.offline_store, state->allow_unset_store_env);
  ParseOnlineStore(reader, &config.online_store, state->allow_unset_store_env);
  ParseBatchEngine(reader, &config.batch_engine);
  if (auto version = reader.Int("entity_key_serialization_version")) {
    if (*version == 3) {
      config.entity_key_serialization_version = 3;
    } else if (*version == 1 || *version == 2) {
      reader.Report("entity_key_serialization_version",
                    "version " + std::to_string(*version) + " (only 3)", true);
    } else {
      reader.Report("entity_key_serialization_version",
                    "unknown version " + std::to_string(*version) + " (expected 3)");
    }
  }
  if (!reader.Has("definitions")) return std::nullopt;
  auto patterns = reader.StringList("definitions");
  if (!patterns) return DefinitionPatterns{{}, reader.LineOf("definitions")};
  return DefinitionPatterns{*patterns, reader.LineOf("definitions")};
}

}  // namespace featureforge::repo
