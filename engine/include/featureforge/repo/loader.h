// Loads a feature repo from disk: feature_store.yaml plus its YAML definition files, validated.
#pragma once

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
Result<Repo> LoadRepo(const std::string& repo_dir);

}  // namespace featureforge::repo
