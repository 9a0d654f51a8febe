#include "repo_bundle.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace featureforge::cluster {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxBundleBytes = 16 * 1024 * 1024;

bool IsRelativePath(const std::string& value) {
  return !value.empty() && value[0] != '/' && value.find("://") == std::string::npos;
}

// Rewrites relative scalar values of `path` and `registry` keys anywhere in the document.
bool AbsolutizePaths(YAML::Node node, const fs::path& root) {
  bool changed = false;
  if (node.IsMap()) {
    for (auto entry : node) {
      const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
      if ((key == "path" || key == "registry") && entry.second.IsScalar() &&
          IsRelativePath(entry.second.Scalar())) {
        entry.second = (root / entry.second.Scalar()).lexically_normal().string();
        changed = true;
      } else {
        changed |= AbsolutizePaths(entry.second, root);
      }
    }
  } else if (node.IsSequence()) {
    for (auto item : node) changed |= AbsolutizePaths(item, root);
  }
  return changed;
}

}  // namespace

Result<std::map<std::string, std::string>> BundleRepoFiles(const std::string& repo_dir) {
  std::error_code ec;
  const fs::path root = fs::absolute(repo_dir, ec).lexically_normal();
  if (!fs::exists(root / "feature_store.yaml", ec)) {
    return Status::InvalidArgument("--repo " + repo_dir + ": no feature_store.yaml there");
  }
  std::map<std::string, std::string> files;
  size_t total = 0;
  fs::recursive_directory_iterator it(root, ec), end;
  if (ec) return Status::IOError("cannot list " + root.string() + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::IOError("cannot list " + root.string() + ": " + ec.message());
    const fs::path& path = it->path();
    if (path.filename().string().rfind('.', 0) == 0) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || (path.extension() != ".yaml" && path.extension() != ".yml")) {
      continue;
    }
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof()) return Status::IOError("cannot read " + path.string());
    std::string content = text.str();
    try {
      YAML::Node doc = YAML::Load(content);
      if (AbsolutizePaths(doc, root)) {
        YAML::Emitter out;
        out << doc;
        content = std::string(out.c_str()) + "\n";
      }
    } catch (const YAML::Exception& e) {
      // Sent as it is: the executor's loader reports the problem with its line.
    }
    total += content.size();
    if (total > kMaxBundleBytes) {
      return Status::InvalidArgument("--repo " + repo_dir + ": YAML files exceed " +
                                     std::to_string(kMaxBundleBytes) + " bytes");
    }
    files[fs::relative(path, root).string()] = std::move(content);
  }
  return files;
}

}  // namespace featureforge::cluster
