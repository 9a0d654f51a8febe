// Loads a feature repo from disk: feature_store.yaml plus its YAML definition files, validated.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "featureforge/common/status.h"
#include "featureforge/repo/model.h"

namespace featureforge::repo {

// Reads `<repo_dir>/feature_store.yaml` and every definition file it names (default: each
// *.yaml/*.yml directly in the repo root plus everything under definitions/), fills a Repo with
// defaults applied and validates it: field names and types, required fields, duplicate names,
// references between objects, dtypes, ttls, local source files and batch view SQL (parsed by
// DuckDB, never executed).
//
// All problems are collected. On failure the status is InvalidArgument (NotSupported when every
// problem is a feature that does not exist yet) and its message has one line per problem:
//   <file>:<line>: <kind> '<name>': <field>: <problem>
// with <file> relative to the repo root.
//
// Values in feature_store.yaml may reference the environment (as Feast allows), so credentials
// stay in Secrets: `${NAME}`, `${NAME:-default}` (default when NAME is unset or empty), `$${`
// for a literal `${`. An unset variable without a default is a problem naming the file, line,
// field and variable. Expanded values never appear in the returned messages (they are shown as
// their `${NAME}` reference). Definition files are not expanded: they are stored in the
// registry and printed by `list`, and carry no credentials (embedding keys use api_key_env).
Result<Repo> LoadRepo(const std::string& repo_dir);

// Looks up one environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

struct LoadOptions {
  // Where ${NAME} references come from; empty: the process environment.
  EnvLookup env;
  // Readers that never touch the stores (the operator applying definitions, which has no store
  // credentials) keep unresolved references of the online_store and offline_store sections as
  // written instead of failing; those fields then skip their value checks. Elsewhere
  // (project, registry, ...) an unset variable is still a problem.
  bool allow_unset_store_env = false;
};
Result<Repo> LoadRepo(const std::string& repo_dir, const LoadOptions& options);

// Reads and validates only `<repo_dir>/feature_store.yaml` (same checks and messages as
// LoadRepo's for that file): for callers that need a setting before loading every definition.
Result<RepoConfig> LoadRepoConfig(const std::string& repo_dir, const LoadOptions& options = {});

}  // namespace featureforge::repo
