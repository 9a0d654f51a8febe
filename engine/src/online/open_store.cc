// OpenOnlineStore: the store the repo's feature_store.yaml names.
#include "featureforge/online/online_store.h"
#include "featureforge/online/redis_store.h"
#include "featureforge/online/sqlite_store.h"

namespace featureforge::online {

Result<std::unique_ptr<OnlineStore>> OpenOnlineStore(const repo::Repo& repo) {
  const repo::OnlineStoreConfig& config = repo.config.online_store;
  if (config.type == "sqlite") {
    SqliteStoreOptions options;
    // A repo built in memory (no root) keeps the path as given, relative to the working dir.
    options.path = repo.root.empty() ? config.path : repo.ResolvePath(config.path);
    if (options.path.find("://") != std::string::npos) {
      return Status::InvalidArgument("online_store.path '" + config.path +
                                     "': the sqlite online store needs a local file path");
    }
    options.cache_pages = SqliteCachePagesForChunk(repo.config.batch_engine.chunk_size);
    return OpenSqliteOnlineStore(options);
  }
  if (config.type == "redis") {
    FF_ASSIGN_OR_RETURN(
        RedisStoreOptions options,
        ParseRedisConnectionString(config.connection_string.empty() ? std::string("localhost:6379")
                                                                    : config.connection_string));
    if (config.key_ttl_seconds < 0) {
      return Status::InvalidArgument("online_store.key_ttl_seconds must be >= 0, got " +
                                     std::to_string(config.key_ttl_seconds));
    }
    options.key_ttl_seconds = config.key_ttl_seconds;
    return OpenRedisOnlineStore(options);
  }
  return Status::InvalidArgument("online_store.type '" + config.type +
                                 "' is not one of: sqlite, redis");
}

}  // namespace featureforge::online
