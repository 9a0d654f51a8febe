// Staging between object stores and local files, for readers and writers that need a local path
// (DuckDB reads and writes Parquet/CSV on local files). Downloads stream (GetToFile) and uploads
// go through PutFile, so memory stays bounded by the object store's part size.
#pragma once

#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/objectstore/object_store.h"

namespace featureforge {

// Local files holding what `uri` names:
//   - a local path or file:// URI: returned as is (globs included; nothing is copied);
//   - an object ("s3://b/data/x.parquet"): downloaded;
//   - a folder ("s3://b/data/x/", or an object-less name with objects under "<name>/"): every
//     object under it, skipping zero-byte ".keep" placeholders and names starting with "_";
//   - a glob in the key ("s3://b/data/*.parquet"; * ? [...] as in fnmatch, '*' stops at '/').
// Objects land under `staging_dir`/<bucket>/<key>, sorted by key. Nothing found -> NotFound.
Result<std::vector<std::string>> StageToLocal(ObjectStore& store, const std::string& uri,
                                              const std::string& staging_dir);

// Uploads `local_path` to `uri`; when `local_path` is a folder, every regular file under it to
// `uri`/<relative path> (how DuckDB writes partitioned output).
Status PublishFromLocal(ObjectStore& store, const std::string& local_path, const std::string& uri);

}  // namespace featureforge
