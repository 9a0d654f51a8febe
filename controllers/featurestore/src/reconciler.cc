// The FeatureStore reconciler: render -> validate -> ConfigMap -> registry -> Deployment +
// Service -> status. Each step is idempotent; status is written through /status only when it
// changed, so a reconcile of a converged store writes nothing.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <unordered_map>

#include "featureforge/controllers/featurestore.h"
#include "featureforge/k8s/errors.h"
#include "featureforge/registry/registry.h"
#include "featureforge/repo/loader.h"
#include "featureforge/runtime/object_util.h"

namespace featureforge::controllers {
namespace {

namespace fs = std::filesystem;
using k8s::Json;
using k8s::ObjectKey;
using runtime::Condition;
using runtime::EventType;

constexpr const char* kSpecHashAnnotation = "featureforge.dev/spec-hash";

struct Validation {
  std::string hash;
  Status status;
  repo::Repo repo;
};

// What one reconcile decided; turned into conditions at the end.
struct Outcome {
  bool registry_applied = false;
  std::string registry_reason;
  std::string registry_message;
  bool server_available = false;
  std::string server_reason;
  std::string server_message;
  Json views = Json::array();
  bool failed = false;  // a problem only a spec (or ConfigMap) change can fix
};

class FeatureStoreReconciler : public runtime::Reconciler {
 public:
  FeatureStoreReconciler(runtime::Manager& manager, OperatorConfig config)
      : manager_(manager), config_(std::move(config)) {
    stores_ = manager_.GetInformer(FeatureStoreResource());
    configmaps_ = manager_.GetInformer(k8s::resources::ConfigMaps());
    deployments_ = manager_.GetInformer(k8s::resources::Deployments());
    services_ = manager_.GetInformer(k8s::resources::Services());
  }

  Result<runtime::ReconcileResult> Reconcile(const ObjectKey& key) override {
    runtime::ObjectPtr cached = stores_->store().Get(key);
    if (!cached || runtime::IsBeingDeleted(*cached)) {
      std::lock_guard<std::mutex> lock(mu_);
      validations_.erase(key.ToString());
      return runtime::ReconcileResult{};  // owned objects go with it (ownerReferences)
    }
    // List items carry no apiVersion/kind on a real API server; owner references and Events
    // need them.
    Json store = *cached;
    store["apiVersion"] = FeatureStoreResource().ApiVersion();
    store["kind"] = FeatureStoreResource().kind;
    Outcome outcome;
    Status step = Converge(store, &outcome);
    if (!step.ok()) return step;  // transient (API errors): requeued with backoff

    FF_RETURN_IF_ERROR(WriteStatus(store, outcome));
    runtime::ReconcileResult result;
    // Healthy stores are looked at again to pick up watermarks recorded by executors; stores
    // waiting on a spec fix only after the resync period (a spec edit enqueues them at once).
    int seconds = outcome.failed
                      ? config_.resync_seconds
                      : (outcome.server_available ? std::min(30, config_.resync_seconds)
                                                  : std::min(15, config_.resync_seconds));
    result.requeue_after = static_cast<DurationMicros>(seconds) * kMicrosPerSecond;
    return result;
  }

 private:
  void Event(const Json& store, EventType type, const std::string& reason,
             const std::string& message) {
    Status s = manager_.events().Record(store, type, reason, message);
    if (!s.ok())
      spdlog::warn("controller=featurestore msg=\"event not recorded\" error=\"{}\"", s.ToString());
  }

  Status Converge(const Json& store, Outcome* outcome) {
    const std::string ns = store["metadata"].value("namespace", "");
    const std::string name = store["metadata"].value("name", "");
    const Json spec = store.value("spec", Json::object());

    // 1. Render the repo.
    Json referenced;
    const Json* referenced_ptr = nullptr;
    if (spec.contains("repoConfigMapRef") && spec["repoConfigMapRef"].is_object()) {
      std::string ref = spec["repoConfigMapRef"].value("name", "");
      auto got = manager_.client().Get(k8s::resources::ConfigMaps(), ns, ref);
      if (!got.ok()) {
        if (!k8s::IsNotFound(got.status())) return got.status();
        Fail(store, outcome, "RepoConfigMapNotFound",
             "spec.repoConfigMapRef: ConfigMap " + ns + "/" + ref + " not found");
        return Status::OK();
      }
      referenced = got.value().value("data", Json::object());
      referenced_ptr = &referenced;
    }
    auto files = RenderRepoFiles(store, config_, referenced_ptr);
    if (!files.ok()) {
      Fail(store, outcome, "InvalidSpec", files.status().message());
      return Status::OK();
    }

    // 2. Validate with the engine (cached per rendered content).
    const std::string repo_hash = HashJson(Json(files.value()));
    Validation validation = Validate(ObjectKey{ns, name}, repo_hash, files.value());
    if (!validation.status.ok()) {
      // The last valid ConfigMap, registry and server stay as they are.
      Fail(store, outcome, "InvalidDefinitions", validation.status.message());
      return Status::OK();
    }

    // 3. The rendered repo as an owned ConfigMap.
    FF_RETURN_IF_ERROR(EnsureOwned(store, k8s::resources::ConfigMaps(), configmaps_,
                                   BuildRepoConfigMap(store, files.value())));

    // 4. The registry.
    ApplyRegistry(store, validation.repo, outcome);

    // 5. The feature server.
    FF_RETURN_IF_ERROR(EnsureOwned(store, k8s::resources::Deployments(), deployments_,
                                   BuildServerDeployment(store, config_, repo_hash)));
    FF_RETURN_IF_ERROR(EnsureOwned(store, k8s::resources::Services(), services_,
                                   BuildServerService(store, config_)));
    ObserveServer(store, outcome);
    return Status::OK();
  }

  void Fail(const Json& store, Outcome* outcome, const std::string& reason,
            const std::string& message) {
    outcome->failed = true;
    outcome->registry_applied = false;
    outcome->registry_reason = reason;
    outcome->registry_message = message;
    outcome->server_reason = "RepoNotApplied";
    outcome->server_message = "the feature server keeps the last valid repo (if any): " + reason;
    // Keep views from the last status; nothing changed in the registry.
    outcome->views =
        store.contains("status") ? store["status"].value("views", Json::array()) : Json::array();
    const Json* previous =
        store.contains("status") && store["status"].contains("conditions")
            ? runtime::FindStatusCondition(store["status"]["conditions"], "RegistryApplied")
            : nullptr;
    // One Warning per new problem (the recorder also aggregates repeats).
    if (previous == nullptr || previous->value("message", "") != message ||
        runtime::GenerationOf(store) != previous->value("observedGeneration", int64_t{0})) {
      Event(store, EventType::kWarning, reason, message);
    }
    // The server's availability is still reported from its Deployment if one exists.
    ObserveServer(store, outcome);
  }

  Validation Validate(const ObjectKey& key, const std::string& hash, const RepoFiles& files) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = validations_.find(key.ToString());
      if (it != validations_.end() && it->second.hash == hash) return it->second;
    }
    Validation v;
    v.hash = hash;
    static std::atomic<uint64_t> counter{0};
    fs::path dir = fs::path(config_.work_dir) / "validate" /
                   (key.ns + "." + key.name + "." + std::to_string(::getpid()) + "." +
                    std::to_string(counter.fetch_add(1)));
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      v.status = Status::IOError("cannot create " + dir.string() + ": " + ec.message());
      return v;  // not cached: retried next time
    }
    for (const auto& [file, content] : files) {
      std::ofstream out(dir / file, std::ios::binary);
      out << content;
    }
    // The operator holds no store credentials: ${VAR} references in the store sections stay as
    // written (the pods that open the stores get the Secrets as env).
    repo::LoadOptions options;
    options.allow_unset_store_env = true;
    auto loaded = repo::LoadRepo(dir.string(), options);
    fs::remove_all(dir, ec);
    if (loaded.ok()) {
      v.repo = std::move(loaded).value();
    } else {
      v.status = loaded.status();
    }
    std::lock_guard<std::mutex> lock(mu_);
    validations_[key.ToString()] = v;
    return v;
  }

  void ApplyRegistry(const Json& store, const repo::Repo& repo, Outcome* outcome) {
    const std::string path = RegistryPathOf(store, config_);
    auto current = registry::Registry::LoadOrEmpty(path);
    if (!current.ok()) {
      outcome->failed = true;
      outcome->registry_reason = "RegistryError";
      outcome->registry_message = current.status().message();
      Event(store, EventType::kWarning, "RegistryError", current.status().message());
      return;
    }
    registry::Registry preview = current.value();
    registry::ApplyResult planned = preview.Apply(repo);
    std::vector<registry::FeatureViewState> views = preview.feature_views();
    if (planned.changed()) {
      registry::ApplyResult applied;
      Status updated = registry::Registry::Update(path, [&](registry::Registry& reg) {
        applied = reg.Apply(repo);
        views = reg.feature_views();
        return Status::OK();
      });
      if (!updated.ok()) {
        outcome->registry_reason = "RegistryError";
        outcome->registry_message = updated.message();
        Event(store, EventType::kWarning, "RegistryError", updated.message());
        return;
      }
      auto join = [](const std::vector<std::string>& names) {
        std::string out;
        for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
        return out.empty() ? std::string("-") : out;
      };
      Event(store, EventType::kNormal, "RegistryApplied",
            "applied project " + repo.config.project + " to " + path + ": feature views created [" +
                join(applied.feature_views.created) + "] updated [" +
                join(applied.feature_views.updated) + "] deleted [" +
                join(applied.feature_views.deleted) + "]");
    }
    outcome->registry_applied = true;
    outcome->registry_reason = "Applied";
    outcome->registry_message = std::to_string(views.size()) + " feature views in " + path;
    for (const auto& state : views) {
      Json view = {{"name", state.view.name},
                   {"online", state.view.online},
                   {"rowsWritten", state.rows_written}};
      if (state.last_materialized_end) {
        view["lastMaterializedEnd"] = FormatTimestamp(*state.last_materialized_end);
      }
      outcome->views.push_back(view);
    }
  }

  void ObserveServer(const Json& store, Outcome* outcome) {
    const std::string ns = store["metadata"].value("namespace", "");
    const std::string name = store["metadata"].value("name", "");
    runtime::ObjectPtr deployment = deployments_->store().Get(ObjectKey{ns, ServerName(name)});
    if (!deployment) {
      outcome->server_available = false;
      if (outcome->server_reason.empty()) outcome->server_reason = "DeploymentNotFound";
      if (outcome->server_message.empty()) {
        outcome->server_message = "Deployment " + ServerName(name) + " not created yet";
      }
      return;
    }
    const Json& d = *deployment;
    int64_t wanted = d["spec"].value("replicas", int64_t{1});
    Json status = d.value("status", Json::object());
    int64_t available = status.value("availableReplicas", int64_t{0});
    std::string counts = std::to_string(available) + "/" + std::to_string(wanted) +
                         " feature server replicas available (Deployment " + ServerName(name) + ")";
    if (wanted == 0) {
      outcome->server_available = false;
      outcome->server_reason = "ScaledToZero";
      outcome->server_message = "spec.services.onlineStore.server.replicas is 0";
    } else if (available >= 1) {
      outcome->server_available = true;
      outcome->server_reason = "MinimumReplicasAvailable";
      outcome->server_message = counts;
    } else {
      outcome->server_available = false;
      outcome->server_reason = "ReplicasUnavailable";
      outcome->server_message = counts;
    }
  }

  // Creates `desired` owned by `store`, or updates it when its rendered content changed.
  Status EnsureOwned(const Json& store, const k8s::ResourceType& type, runtime::Informer* cache,
                     Json desired) {
    FF_RETURN_IF_ERROR(runtime::SetControllerReference(store, &desired));
    Json content = desired.contains("data") ? desired["data"] : desired["spec"];
    const std::string hash =
        HashJson(Json{{"content", content}, {"labels", desired["metadata"]["labels"]}});
    desired["metadata"]["annotations"][kSpecHashAnnotation] = hash;
    const std::string ns = desired["metadata"]["namespace"];
    const std::string name = desired["metadata"]["name"];
    runtime::ObjectPtr existing = cache->store().Get(ObjectKey{ns, name});
    if (!existing) {
      auto created = manager_.client().Create(type, desired);
      if (!created.ok()) {
        if (k8s::IsAlreadyExists(created.status())) {
          return Status::Conflict(type.kind + " " + ns + "/" + name +
                                  " exists but is not in the cache yet; retrying");
        }
        return created.status().WithContext("creating " + type.kind + " " + ns + "/" + name);
      }
      Event(store, EventType::kNormal, "Created" + type.kind, "created " + type.kind + " " + name);
      return Status::OK();
    }
    auto owner_uid = runtime::ControllerUidOf(*existing);
    if (!owner_uid || *owner_uid != runtime::UidOf(store)) {
      std::string message = type.kind + " " + ns + "/" + name +
                            " exists and is not controlled by this FeatureStore; not touching it";
      Event(store, EventType::kWarning, "OwnershipConflict", message);
      return Status::Conflict(message);
    }
    const Json& annotations = (*existing)["metadata"].value("annotations", Json::object());
    if (annotations.value(kSpecHashAnnotation, "") == hash) return Status::OK();
    Json updated = *existing;
    updated["metadata"]["labels"] = desired["metadata"]["labels"];
    updated["metadata"]["annotations"][kSpecHashAnnotation] = hash;
    if (desired.contains("data")) {
      updated["data"] = desired["data"];
    } else {
      Json spec = desired["spec"];
      // Fields the API server assigns stay as they are.
      if (type.kind == "Service" && updated["spec"].contains("clusterIP")) {
        spec["clusterIP"] = updated["spec"]["clusterIP"];
        if (updated["spec"].contains("clusterIPs"))
          spec["clusterIPs"] = updated["spec"]["clusterIPs"];
      }
      updated["spec"] = spec;
    }
    auto result = manager_.client().Update(type, updated);
    if (!result.ok())
      return result.status().WithContext("updating " + type.kind + " " + ns + "/" + name);
    Event(store, EventType::kNormal, "Updated" + type.kind,
          "updated " + type.kind + " " + name + " to match the FeatureStore spec");
    return Status::OK();
  }

  Status WriteStatus(const Json& store, const Outcome& outcome) {
    const int64_t generation = runtime::GenerationOf(store);
    const TimestampMicros now = SystemClock().Now();
    Json old_status = store.value("status", Json::object());
    Json status = old_status;
    Json conditions = status.value("conditions", Json::array());

    bool ready = outcome.registry_applied && outcome.server_available;
    std::string ready_reason = ready                       ? "Ready"
                               : !outcome.registry_applied ? outcome.registry_reason
                                                           : "ServerUnavailable";
    std::string ready_message =
        ready ? "registry applied and feature server available"
              : (!outcome.registry_applied ? outcome.registry_message : outcome.server_message);

    const Json* previous_server = runtime::FindStatusCondition(conditions, "ServerAvailable");
    bool server_was = previous_server != nullptr && previous_server->value("status", "") == "True";

    runtime::SetStatusCondition(
        &conditions,
        Condition{"RegistryApplied", outcome.registry_applied ? "True" : "False",
                  outcome.registry_reason, outcome.registry_message, generation},
        now);
    runtime::SetStatusCondition(
        &conditions,
        Condition{"ServerAvailable", outcome.server_available ? "True" : "False",
                  outcome.server_reason, outcome.server_message, generation},
        now);
    runtime::SetStatusCondition(
        &conditions,
        Condition{"Ready", ready ? "True" : "False", ready_reason, ready_message, generation}, now);
    if (server_was != outcome.server_available && previous_server != nullptr) {
      Event(store, outcome.server_available ? EventType::kNormal : EventType::kWarning,
            outcome.server_available ? "ServerAvailable" : "ServerUnavailable",
            outcome.server_message);
    }

    const std::string ns = store["metadata"].value("namespace", "");
    const std::string name = store["metadata"].value("name", "");
    status["observedGeneration"] = generation;
    status["conditions"] = conditions;
    status["views"] = outcome.views;
    status["phase"] = ready ? "Ready" : (outcome.failed ? "Failed" : "Pending");
    status["serviceEndpoint"] = "http://" + ServerName(name) + "." + ns +
                                ".svc:" + std::to_string(config_.feature_server_port);
    status["registryPath"] = RegistryPathOf(store, config_);
    if (status == old_status) return Status::OK();

    Json updated = store;
    updated["status"] = status;
    auto written = manager_.client().UpdateStatus(FeatureStoreResource(), updated);
    if (!written.ok()) {
      if (k8s::IsNotFound(written.status())) return Status::OK();  // deleted meanwhile
      return written.status().WithContext("updating status of FeatureStore " + ns + "/" + name);
    }
    spdlog::info("controller=featurestore store={}/{} generation={} phase={} msg=\"{}\"", ns, name,
                 generation, status["phase"].get<std::string>(), ready_message);
    return Status::OK();
  }

  runtime::Manager& manager_;
  const OperatorConfig config_;
  runtime::Informer* stores_;
  runtime::Informer* configmaps_;
  runtime::Informer* deployments_;
  runtime::Informer* services_;
  std::mutex mu_;
  std::unordered_map<std::string, Validation> validations_;
};

}  // namespace

Status RegisterFeatureStoreController(runtime::Manager& manager, const OperatorConfig& config) {
  runtime::ControllerOptions options;
  options.name = "featurestore";
  options.primary = FeatureStoreResource();
  options.owned = {k8s::resources::ConfigMaps(), k8s::resources::Deployments(),
                   k8s::resources::Services()};
  options.workers = config.featurestore_workers;
  options.reconciler = std::make_shared<FeatureStoreReconciler>(manager, config);
  return manager.AddController(std::move(options));
}

}  // namespace featureforge::controllers
