// LoadRepo: finds the files, parses each, validates the whole, reports every problem at once.
#include "featureforge/repo/loader.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "env_expand.h"
#include "load_state.h"
#include "yaml_reader.h"

namespace featureforge::repo {
namespace {

namespace fs = std::filesystem;

constexpr char kConfigFile[] = "feature_store.yaml";

bool IsYamlFile(const fs::path& path) {
  return path.extension() == ".yaml" || path.extension() == ".yml";
}

std::string RelativeName(const fs::path& file, const fs::path& root) {
  std::error_code error;
  fs::path relative = fs::relative(file, root, error);
  return error || relative.empty() ? file.string() : relative.string();
}

// Parses one YAML file; malformed YAML is reported with yaml-cpp's line and column.
// Parses every document of one YAML file (`---` separated); nullopt when it does not parse.
std::optional<std::vector<YAML::Node>> ReadYaml(const fs::path& file, const std::string& name,
                                                LoadState* state) {
  Diagnostics* diagnostics = &state->diagnostics;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    diagnostics->Add(Problem{name, 0, "", "", "cannot read file", false});
    return std::nullopt;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<std::string>& lines = state->file_lines[name];
  std::istringstream line_stream(text);
  for (std::string line; std::getline(line_stream, line);) lines.push_back(line);
  try {
    return YAML::LoadAll(text);
  } catch (const YAML::ParserException& e) {
    diagnostics->Add(Problem{
        name, e.mark.line + 1, "", "",
        "malformed YAML at column " + std::to_string(e.mark.column + 1) + ": " + e.msg, false});
  } catch (const YAML::Exception& e) {
    diagnostics->Add(Problem{name, e.mark.is_null() ? 0 : e.mark.line + 1, "", "",
                             "malformed YAML: " + e.msg, false});
  }
  return std::nullopt;
}

void AddYamlFilesUnder(const fs::path& dir, std::vector<fs::path>* files) {
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(dir, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file(error) && IsYamlFile(it->path())) files->push_back(it->path());
  }
}

// Default: every YAML file directly in the root except feature_store.yaml, plus everything
// under definitions/.
std::vector<fs::path> DefaultDefinitionFiles(const fs::path& root) {
  std::vector<fs::path> files;
  std::error_code error;
  for (auto it = fs::directory_iterator(root, error); !error && it != fs::directory_iterator();
       it.increment(error)) {
    // Hidden files (.pre-commit-config.yaml, editor backups) are never definitions.
    if (it->is_regular_file(error) && IsYamlFile(it->path()) &&
        it->path().filename() != kConfigFile && it->path().filename().string()[0] != '.') {
      files.push_back(it->path());
    }
  }
  if (fs::is_directory(root / "definitions", error))
    AddYamlFilesUnder(root / "definitions", &files);
  return files;
}

// `definitions:` patterns: files, directories (searched recursively) or globs.
std::vector<fs::path> ListedDefinitionFiles(const fs::path& root, const DefinitionPatterns& listed,
                                            LoadState* state) {
  std::vector<fs::path> files;
  auto report = [&](const std::string& message) {
    state->diagnostics.Add(Problem{kConfigFile, listed.line,
                                   "feature_store '" + state->repo.config.project + "'",
                                   "definitions", message, false});
  };
  for (const auto& pattern : listed.patterns) {
    const fs::path full = fs::path(pattern).is_absolute() ? fs::path(pattern) : root / pattern;
    std::error_code error;
    if (pattern.find_first_of("*?[") != std::string::npos) {
      glob_t matches{};
      size_t before = files.size();
      if (glob(full.c_str(), 0, nullptr, &matches) == 0) {
        for (size_t i = 0; i < matches.gl_pathc; ++i) {
          if (fs::is_regular_file(matches.gl_pathv[i], error))
            files.emplace_back(matches.gl_pathv[i]);
        }
      }
      globfree(&matches);
      if (files.size() == before) report("no file matches '" + pattern + "'");
    } else if (fs::is_directory(full, error)) {
      AddYamlFilesUnder(full, &files);
    } else if (fs::is_regular_file(full, error)) {
      files.push_back(full);
    } else {
      report("file not found: '" + pattern + "'");
    }
  }
  return files;
}

// The repo's root folder, checked to hold feature_store.yaml.
Result<fs::path> RepoRoot(const std::string& repo_dir) {
  std::error_code error;
  fs::path root = fs::absolute(repo_dir, error);
  if (!error) root = fs::weakly_canonical(root, error);
  if (error || !fs::is_directory(root, error)) {
    return Status::NotFound("feature repo folder not found: " + repo_dir);
  }
  if (!fs::is_regular_file(root / kConfigFile, error)) {
    return Status::NotFound(std::string("no ") + kConfigFile + " in " + root.string());
  }
  return root;
}

// Parses feature_store.yaml into state->repo.config; returns the definition files it lists.
std::optional<DefinitionPatterns> LoadConfigFile(const fs::path& root, const LoadOptions& options,
                                                 LoadState* state) {
  state->repo.root = root.string();
  state->env = options.env ? options.env : EnvLookup(ProcessEnv);
  state->allow_unset_store_env = options.allow_unset_store_env;
  auto documents = ReadYaml(root / kConfigFile, kConfigFile, state);
  if (!documents) return std::nullopt;
  if (documents->size() > 1) {
    state->diagnostics.Add(Problem{kConfigFile, LineOf((*documents)[1]), "", "",
                                   "holds several YAML documents; settings belong in one", false});
  }
  return ParseConfig(documents->empty() ? YAML::Node() : documents->front(), kConfigFile, state);
}

// The collected problems as one status, with values from the environment (passwords) redacted.
Status LoadStatus(const LoadState& state) {
  Status status = state.diagnostics.ToStatus();
  if (status.ok()) return status;
  return Status(status.code(), RedactSubstitutions(status.message(), state.env_substitutions));
}

}  // namespace

Result<Repo> LoadRepo(const std::string& repo_dir) { return LoadRepo(repo_dir, LoadOptions{}); }

Result<RepoConfig> LoadRepoConfig(const std::string& repo_dir, const LoadOptions& options) {
  FF_ASSIGN_OR_RETURN(fs::path root, RepoRoot(repo_dir));
  LoadState state;
  LoadConfigFile(root, options, &state);
  FF_RETURN_IF_ERROR(LoadStatus(state));
  return std::move(state.repo.config);
}

Result<Repo> LoadRepo(const std::string& repo_dir, const LoadOptions& options) {
  FF_ASSIGN_OR_RETURN(fs::path root, RepoRoot(repo_dir));
  std::error_code error;
  LoadState state;
  std::optional<DefinitionPatterns> listed = LoadConfigFile(root, options, &state);

  std::vector<fs::path> files =
      listed ? ListedDefinitionFiles(root, *listed, &state) : DefaultDefinitionFiles(root);
  for (auto& file : files) file = fs::weakly_canonical(file, error);
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  for (const auto& file : files) {
    if (file == root / kConfigFile) continue;
    const std::string name = RelativeName(file, root);
    if (auto documents = ReadYaml(file, name, &state)) {
      for (const auto& document : *documents) ParseDefinitionFile(document, name, &state);
    }
  }

  ValidateRepo(&state);
  FF_RETURN_IF_ERROR(LoadStatus(state));
  return std::move(state.repo);
}

}  // namespace featureforge::repo
