#include "featureforge/controllers/materializationjob/repo_access.h"

#include <filesystem>
#include <fstream>

#include "featureforge/k8s/errors.h"
#include "featureforge/registry/registry.h"
#include "featureforge/repo/loader.h"

namespace featureforge::controllers::mj {
namespace {

const k8s::ResourceType& FeatureStores() {
  static const k8s::ResourceType type{"featureforge.dev", "v1alpha1", "featurestores",
                                      "FeatureStore", true};
  return type;
}

class ClusterRepoAccess : public RepoAccess {
 public:
  ClusterRepoAccess(std::shared_ptr<k8s::Client> client, std::string work_dir)
      : client_(std::move(client)), work_dir_(std::move(work_dir)) {}

  Result<StoreRepo> Resolve(const std::string& ns, const std::string& feature_store) override {
    auto store = client_->Get(FeatureStores(), ns, feature_store);
    if (!store.ok()) {
      if (k8s::IsNotFound(store.status())) {
        return Status::NotFound("FeatureStore " + ns + "/" + feature_store + " not found");
      }
      return store.status().WithContext("get FeatureStore " + ns + "/" + feature_store);
    }
    const std::string cm_name = RepoConfigMapName(feature_store);
    auto cm = client_->Get(k8s::resources::ConfigMaps(), ns, cm_name);
    if (!cm.ok()) {
      if (k8s::IsNotFound(cm.status())) {
        return Status::Unavailable("ConfigMap " + ns + "/" + cm_name + " of FeatureStore " +
                                   feature_store + " does not exist yet");
      }
      return cm.status().WithContext("get ConfigMap " + ns + "/" + cm_name);
    }
    const std::string rv = (*cm)["metadata"].value("resourceVersion", "");
    const std::string cache_key = ns + "/" + feature_store;
    // Read from the store on every call: a credentials edit does not change the ConfigMap.
    // Guarded: a CR that slipped past the schema must not throw in the operator.
    const k8s::Json& spec = (*store)["spec"];
    k8s::Json credentials =
        spec.is_object() ? spec.value("credentials", k8s::Json::object()) : k8s::Json::object();
    if (!credentials.is_object()) credentials = k8s::Json::object();
    auto with_credentials = [&credentials](StoreRepo repo) {
      repo.credentials_env = credentials.value("env", k8s::Json());
      repo.credentials_env_from = credentials.value("envFrom", k8s::Json());
      return repo;
    };
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(cache_key);
      if (it != cache_.end() && it->second.first == rv) return with_credentials(it->second.second);
    }
    namespace fs = std::filesystem;
    fs::path dir = fs::path(work_dir_) / "mj-repos" / ns / (feature_store + "-" + rv);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError("cannot create " + dir.string() + ": " + ec.message());
    const k8s::Json data = cm->value("data", k8s::Json::object());
    for (const auto& [key, value] : data.items()) {
      if (!value.is_string() || key.find('/') != std::string::npos) continue;
      std::ofstream out(dir / key, std::ios::trunc);
      out << value.get<std::string>();
      if (!out) return Status::IOError("cannot write " + (dir / key).string());
    }
    // The operator holds no store credentials: ${VAR} references in the store sections stay as
    // written; executor pods and cluster workers resolve them from their own environment.
    repo::LoadOptions load_options;
    load_options.allow_unset_store_env = true;
    auto repo = repo::LoadRepo(dir.string(), load_options);
    if (!repo.ok()) {
      return Status::InvalidArgument("FeatureStore " + feature_store + " repo (ConfigMap " +
                                     cm_name + ") does not load: " + repo.status().ToString());
    }
    StoreRepo out;
    out.config_map = cm_name;
    for (const auto& [key, value] : data.items()) {
      if (value.is_string()) out.files[key] = value.get<std::string>();
    }
    out.registry_path = repo->ResolvePath(repo->config.registry);
    for (const auto& view : repo->feature_views) {
      out.all_views.push_back(view.name);
      if (view.online) out.online_views.push_back(view.name);
    }
    std::lock_guard<std::mutex> lock(mu_);
    cache_[cache_key] = {rv, out};
    return with_credentials(std::move(out));
  }

  Result<bool> AdvanceWatermark(const StoreRepo& repo, const std::string& view,
                                TimestampMicros start, TimestampMicros end, int64_t rows_written,
                                TimestampMicros now) override {
    bool recorded = false;
    Status status = registry::Registry::Update(repo.registry_path, [&](registry::Registry& r) {
      recorded = false;  // an object-store registry re-runs this after a conflicting write
      auto last = r.LastMaterializedEnd(view);
      if (last && *last >= end) return Status::OK();
      recorded = true;
      return r.RecordMaterialization(view, start, end, rows_written, now);
    });
    if (!status.ok()) return status.WithContext("registry " + repo.registry_path);
    return recorded;
  }

 private:
  std::shared_ptr<k8s::Client> client_;
  std::string work_dir_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, StoreRepo>> cache_;
};

}  // namespace

std::string RepoConfigMapName(const std::string& feature_store) { return feature_store + "-repo"; }

std::unique_ptr<RepoAccess> MakeClusterRepoAccess(std::shared_ptr<k8s::Client> client,
                                                  std::string work_dir) {
  return std::make_unique<ClusterRepoAccess>(std::move(client), std::move(work_dir));
}

}  // namespace featureforge::controllers::mj
