// The server's shared state: the cached repo + registry snapshot and per-thread online stores.
#include <spdlog/spdlog.h>

#include <chrono>

#include "featureforge/online/redis_store.h"
#include "featureforge/online/sqlite_store.h"
#include "featureforge/registry/registry.h"
#include "featureforge/repo/loader.h"
#include "server_internal.h"

namespace featureforge::worker::server {
namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Identifies an online store config: a thread reopens its store when this changes.
std::string StoreKey(const repo::Repo& repo) {
  const auto& c = repo.config.online_store;
  return c.type + "|" + repo.ResolvePath(c.path) + "|" + c.connection_string + "|" +
         std::to_string(c.key_ttl_seconds);
}

struct ThreadStoreSlot {
  const FeatureServer::State* owner = nullptr;
  uint64_t generation = 0;  // snapshot the key was computed for: same snapshot, same store
  std::string key;
  std::unique_ptr<online::OnlineStore> store;
};
thread_local ThreadStoreSlot tls_store;

}  // namespace

FeatureServer::State::State(ServeOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

Result<std::shared_ptr<ServingSnapshot>> FeatureServer::State::LoadSnapshot(uint64_t generation) {
  FF_ASSIGN_OR_RETURN(repo::Repo loaded, repo::LoadRepo(options_.repo_dir));
  auto snapshot = std::make_shared<ServingSnapshot>();
  snapshot->generation = generation;
  snapshot->registry_path = loaded.ResolvePath(loaded.config.registry);
  // The version read with the data: a change landing during the load is seen by the next check.
  FF_ASSIGN_OR_RETURN(auto versioned, registry::Registry::LoadVersioned(snapshot->registry_path));
  registry::Registry& reg = versioned.first;
  snapshot->registry_version = std::move(versioned.second);
  snapshot->repo.root = loaded.root;
  snapshot->repo.config = loaded.config;
  if (!reg.empty() && reg.project() == loaded.config.project) {
    snapshot->applied = true;
    snapshot->repo.entities = reg.entities();
    snapshot->repo.sources = reg.sources();
    for (auto& state : reg.feature_views()) snapshot->repo.feature_views.push_back(state.view);
    snapshot->repo.feature_services = reg.feature_services();
  }
  return snapshot;
}

Status FeatureServer::State::Load() {
  FF_ASSIGN_OR_RETURN(auto snapshot, LoadSnapshot(1));
  std::lock_guard lock(mu_);
  snapshot_ = std::move(snapshot);
  next_check_ns_ =
      SteadyNowNs() + std::chrono::nanoseconds(options_.registry_check_interval).count();
  return Status::OK();
}

std::shared_ptr<const ServingSnapshot> FeatureServer::State::Snapshot() {
  const int64_t now = SteadyNowNs();
  if (now >= next_check_ns_.load(std::memory_order_relaxed)) {
    std::unique_lock lock(mu_, std::try_to_lock);
    // One thread checks; the others keep serving the current snapshot meanwhile.
    if (lock.owns_lock() && now >= next_check_ns_.load()) {
      next_check_ns_ = now + std::chrono::nanoseconds(options_.registry_check_interval).count();
      auto version = registry::Registry::Version(snapshot_->registry_path);
      if (!version.ok()) {
        // An unreachable object store: keep serving the snapshot, look again next interval.
        spdlog::warn("registry {}: cannot check for changes, serving the current one: {}",
                     snapshot_->registry_path, version.status().ToString());
      } else if (*version != snapshot_->registry_version) {
        auto reloaded = LoadSnapshot(snapshot_->generation + 1);
        if (reloaded.ok()) {
          spdlog::info("registry {} changed: reloaded (generation {}, {} feature views)",
                       snapshot_->registry_path, (*reloaded)->generation,
                       (*reloaded)->repo.feature_views.size());
          snapshot_ = std::move(reloaded).value();
        } else {
          // Keep serving what we had; a half-edited repo must not take the server down.
          spdlog::warn("registry {} changed but the reload failed, serving the previous one: {}",
                       snapshot_->registry_path, reloaded.status().ToString());
        }
      }
      return snapshot_;
    }
  }
  std::lock_guard lock(mu_);
  return snapshot_;
}

Result<online::OnlineStore*> FeatureServer::State::ThreadStore(const ServingSnapshot& snapshot) {
  if (tls_store.owner == this && tls_store.store && tls_store.generation == snapshot.generation) {
    return tls_store.store.get();
  }
  std::string key = StoreKey(snapshot.repo);
  if (tls_store.owner == this && tls_store.store && tls_store.key == key) {
    tls_store.generation = snapshot.generation;
    return tls_store.store.get();
  }
  tls_store.store.reset();
  tls_store.owner = this;
  tls_store.generation = snapshot.generation;
  tls_store.key = key;
  const auto& config = snapshot.repo.config.online_store;
  if (config.type == "redis") {
    FF_ASSIGN_OR_RETURN(online::RedisStoreOptions redis,
                        online::ParseRedisConnectionString(config.connection_string.empty()
                                                               ? std::string("localhost:6379")
                                                               : config.connection_string));
    redis.key_ttl_seconds = config.key_ttl_seconds;
    redis.connect_timeout = options_.store_connect_timeout;
    redis.command_timeout = options_.store_command_timeout;
    FF_ASSIGN_OR_RETURN(tls_store.store, online::OpenRedisOnlineStore(redis));
  } else {
    FF_ASSIGN_OR_RETURN(tls_store.store, online::OpenOnlineStore(snapshot.repo));
  }
  return tls_store.store.get();
}

}  // namespace featureforge::worker::server
