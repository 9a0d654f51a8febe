// StageToLocal / PublishFromLocal: moving whole files between object stores and local disk.
#include "featureforge/objectstore/staging.h"

#include <fnmatch.h>

#include <algorithm>
#include <filesystem>

#include "featureforge/objectstore/local_store.h"

namespace featureforge {
namespace {

namespace fs = std::filesystem;

bool HasGlob(std::string_view text) { return text.find_first_of("*?[") != std::string_view::npos; }

// Files a folder listing should not hand to a reader: our placeholder and Spark/Hadoop-style
// markers such as _SUCCESS.
bool IsMarker(std::string_view uri) {
  std::string_view name = uri.substr(uri.find_last_of('/') + 1);
  return name == ".keep" || (!name.empty() && name.front() == '_');
}

Result<std::string> StagedPathFor(const std::string& uri, const std::string& staging_dir) {
  FF_ASSIGN_OR_RETURN(ObjectUri parsed, ParseObjectUri(uri));
  fs::path relative = fs::path(parsed.authority) / parsed.path;
  // Keys may hold "..": never let them climb out of the staging folder.
  for (const auto& part : relative) {
    if (part == "..") return Status::InvalidArgument("object key of " + uri + " contains '..'");
  }
  return (fs::path(staging_dir) / relative).lexically_normal().string();
}

Result<std::vector<std::string>> Download(ObjectStore& store, const std::vector<std::string>& uris,
                                          const std::string& staging_dir) {
  std::vector<std::string> out;
  for (const auto& object_uri : uris) {
    FF_ASSIGN_OR_RETURN(std::string local, StagedPathFor(object_uri, staging_dir));
    FF_RETURN_IF_ERROR(store.GetToFile(object_uri, local));
    out.push_back(local);
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> StageToLocal(ObjectStore& store, const std::string& uri,
                                              const std::string& staging_dir) {
  if (IsLocalObjectUri(uri)) {
    FF_ASSIGN_OR_RETURN(std::string path, LocalPathFromUri(uri));
    return std::vector<std::string>{path};
  }
  FF_ASSIGN_OR_RETURN(ObjectUri parsed, ParseObjectUri(uri));
  std::vector<std::string> objects;
  if (HasGlob(parsed.path)) {
    size_t wildcard = uri.find_first_of("*?[", uri.find("://") + 3);
    FF_ASSIGN_OR_RETURN(std::vector<std::string> listed, store.List(uri.substr(0, wildcard)));
    for (const auto& candidate : listed) {
      if (::fnmatch(uri.c_str(), candidate.c_str(), FNM_PATHNAME) == 0 && !IsMarker(candidate)) {
        objects.push_back(candidate);
      }
    }
  } else {
    bool is_object = false;
    if (!parsed.path.empty() && parsed.path.back() != '/') {
      FF_ASSIGN_OR_RETURN(is_object, store.Exists(uri));
    }
    if (is_object) objects.push_back(uri);
  }
  if (objects.empty() && !HasGlob(parsed.path)) {
    std::string folder = uri.back() == '/' ? uri : uri + "/";
    FF_ASSIGN_OR_RETURN(std::vector<std::string> listed, store.List(folder));
    for (const auto& candidate : listed) {
      if (!IsMarker(candidate)) objects.push_back(candidate);
    }
  }
  if (objects.empty()) return Status::NotFound("no objects at " + uri);
  std::sort(objects.begin(), objects.end());
  return Download(store, objects, staging_dir);
}

Status PublishFromLocal(ObjectStore& store, const std::string& local_path, const std::string& uri) {
  std::error_code ec;
  if (!fs::is_directory(local_path, ec)) return store.PutFile(uri, local_path);
  std::vector<fs::path> files;
  for (fs::recursive_directory_iterator it(local_path, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file()) files.push_back(it->path());
  }
  if (ec) return Status::IOError("listing " + local_path + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::string relative = fs::relative(file, local_path).generic_string();
    FF_RETURN_IF_ERROR(store.PutFile(JoinObjectUri(uri, relative), file.string()));
  }
  return Status::OK();
}

}  // namespace featureforge
