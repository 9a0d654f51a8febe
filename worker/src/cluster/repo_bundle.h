// Packs a local feature repo into MaterializePartition.repo_files for workers elsewhere.
#pragma once

#include <map>
#include <string>

#include "featureforge/common/status.h"

namespace featureforge::cluster {

// Every *.yaml / *.yml file under `repo_dir` (hidden files and folders skipped), keyed by its
// path relative to the repo. Relative `path:` and `registry:` values are rewritten to absolute
// paths under repo_dir, so a worker that writes the files to its own temp folder still reads
// the sources and writes the online store and registry of this repo (workers must see the
// repo's data at the same absolute path: a shared filesystem, or use URIs such as s3://).
Result<std::map<std::string, std::string>> BundleRepoFiles(const std::string& repo_dir);

}  // namespace featureforge::cluster
