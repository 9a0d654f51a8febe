#include "deployment_controller.h"

#include <iostream>

#include "featureforge/k8s/errors.h"
#include "tables.h"

namespace ffharness::controllers {
namespace {

namespace k8s = featureforge::k8s;
using featureforge::runtime::ObjectPtr;
using nlohmann::json;

std::string TemplateHash(const json& tmpl) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : tmpl.dump()) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  static const char* kChars = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  for (int i = 0; i < 10; ++i) {
    out.push_back(kChars[h % 27]);
    h /= 27;
  }
  return out;
}

bool IsReady(const json& pod) {
  for (const auto& c : pod.value("/status/conditions"_json_pointer, json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

std::string Now() { return ffharness::FormatTimestamp(std::time(nullptr)); }

}  // namespace

DeploymentController::DeploymentController(std::shared_ptr<k8s::Client> client)
    : client_(std::move(client)) {}

DeploymentController::~DeploymentController() { Stop(); }

void DeploymentController::Enqueue(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  dirty_.insert(key);
  cv_.notify_all();
}

void DeploymentController::Start() {
  deployments_ = std::make_unique<featureforge::runtime::Informer>(
      featureforge::runtime::MakeClientListWatcher(client_, k8s::resources::Deployments()));
  pods_ = std::make_unique<featureforge::runtime::Informer>(
      featureforge::runtime::MakeClientListWatcher(client_, k8s::resources::Pods()));
  auto on_deployment = [this](const ObjectPtr& d) { Enqueue(k8s::ObjectKey::Of(*d).ToString()); };
  deployments_->AddEventHandlers({on_deployment,
                                  [=](const ObjectPtr&, const ObjectPtr& d) { on_deployment(d); },
                                  on_deployment});
  auto on_pod = [this](const ObjectPtr& p) {
    for (const auto& ref : (*p)["metadata"].value("ownerReferences", json::array())) {
      if (ref.value("kind", "") == "Deployment") {
        Enqueue((*p)["metadata"].value("namespace", "") + "/" + ref.value("name", ""));
      }
    }
  };
  pods_->AddEventHandlers({on_pod,
                           [=](const ObjectPtr& old_pod, const ObjectPtr& p) {
                             on_pod(old_pod);
                             on_pod(p);
                           },
                           on_pod});
  deployments_->Start();
  pods_->Start();
  loop_ = std::thread([this] { Loop(); });
}

void DeploymentController::Stop() {
  if (stop_.exchange(true)) return;
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  if (deployments_) deployments_->Stop();
  if (pods_) pods_->Stop();
}

void DeploymentController::Loop() {
  auto last_resync = std::chrono::steady_clock::now();
  while (!stop_) {
    std::set<std::string> keys;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(500),
                   [this] { return stop_ || !dirty_.empty(); });
      keys.swap(dirty_);
    }
    if (stop_) return;
    if (!deployments_->HasSynced() || !pods_->HasSynced()) {
      std::lock_guard<std::mutex> lock(mu_);
      dirty_.insert(keys.begin(), keys.end());
      continue;
    }
    if (std::chrono::steady_clock::now() - last_resync > std::chrono::seconds(5)) {
      last_resync = std::chrono::steady_clock::now();
      for (const auto& d : deployments_->store().List())
        keys.insert(k8s::ObjectKey::Of(*d).ToString());
    }
    for (const auto& key : keys) Reconcile(key);
  }
}

void DeploymentController::Reconcile(const std::string& key) {
  ObjectPtr d = deployments_->store().Get(k8s::ObjectKey::Parse(key));
  if (!d || (*d)["metadata"].contains("deletionTimestamp")) return;
  const json& deploy = *d;
  std::string ns = deploy["metadata"].value("namespace", "");
  std::string name = deploy["metadata"].value("name", "");
  std::string uid = deploy["metadata"].value("uid", "");
  long replicas = deploy.value("/spec/replicas"_json_pointer, 1L);
  json tmpl = deploy.value("/spec/template"_json_pointer, json::object());
  std::string hash = TemplateHash(tmpl);
  std::string strategy = deploy.value("/spec/strategy/type"_json_pointer, "RollingUpdate");

  std::vector<json> current, old;
  for (const auto& p : pods_->store().ByOwnerUid(uid)) {
    if ((*p)["metadata"].contains("deletionTimestamp")) continue;
    if ((*p)["metadata"].value("/labels/pod-template-hash"_json_pointer, "") == hash)
      current.push_back(*p);
    else
      old.push_back(*p);
  }
  auto& expected = expected_[key];
  for (auto it = expected.first.begin(); it != expected.first.end();) {
    if (pods_->store().Get({ns, *it}))
      it = expected.first.erase(it);
    else
      ++it;
  }
  bool waiting = !expected.first.empty() &&
                 std::chrono::steady_clock::now() - expected.second < std::chrono::seconds(10);
  if (!waiting) expected.first.clear();
  auto delete_pod = [&](const json& pod) {
    featureforge::Status s =
        client_->Delete(k8s::resources::Pods(), ns, pod["metadata"].value("name", ""));
    if (!s.ok() && !k8s::IsNotFound(s))
      std::cerr << "ff-deployment-controller: " << s.ToString() << std::endl;
  };
  long ready_current = 0;
  for (const auto& p : current) ready_current += IsReady(p) ? 1 : 0;
  if (!waiting) {
    if (strategy == "Recreate" && !old.empty()) {
      for (const auto& p : old) delete_pod(p);
      old.clear();
    } else if (static_cast<long>(current.size()) < replicas &&
               (strategy != "Recreate" || old.empty())) {
      for (long i = static_cast<long>(current.size()); i < replicas; ++i) {
        json labels = tmpl.value("/metadata/labels"_json_pointer, json::object());
        labels["pod-template-hash"] = hash;
        json pod = {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"metadata",
                     {{"generateName", name + "-" + hash + "-"},
                      {"namespace", ns},
                      {"labels", labels},
                      {"ownerReferences", json::array({{{"apiVersion", "apps/v1"},
                                                        {"kind", "Deployment"},
                                                        {"name", name},
                                                        {"uid", uid},
                                                        {"controller", true},
                                                        {"blockOwnerDeletion", true}}})}}},
                    {"spec", tmpl.value("spec", json::object())}};
        if (tmpl.contains("/metadata/annotations"_json_pointer))
          pod["metadata"]["annotations"] = tmpl["metadata"]["annotations"];
        auto created = client_->Create(k8s::resources::Pods(), pod);
        if (created.ok()) {
          expected.first.insert((*created)["metadata"].value("name", ""));
          expected.second = std::chrono::steady_clock::now();
        } else {
          std::cerr << "ff-deployment-controller: cannot create pod for " << key << ": "
                    << created.status().ToString() << std::endl;
        }
      }
    } else if (static_cast<long>(current.size()) > replicas) {
      std::sort(current.begin(), current.end(),
                [](const json& a, const json& b) { return IsReady(a) < IsReady(b); });
      for (long i = 0; i < static_cast<long>(current.size()) - replicas; ++i)
        delete_pod(current[static_cast<size_t>(i)]);
      current.resize(static_cast<size_t>(replicas));
    }
    // Rolling update: old pods go once the new template has all its pods ready.
    if (!old.empty() && ready_current >= replicas) {
      for (const auto& p : old) delete_pod(p);
      old.clear();
    }
  }

  long total = static_cast<long>(current.size() + old.size());
  long ready = 0;
  for (const auto& p : current) ready += IsReady(p) ? 1 : 0;
  for (const auto& p : old) ready += IsReady(p) ? 1 : 0;
  bool available = ready >= replicas;
  bool complete = available && ready_current >= replicas && old.empty() &&
                  static_cast<long>(current.size()) == replicas;
  const json old_status = deploy.value("status", json::object());
  auto condition = [&](const std::string& type, bool value, const std::string& reason,
                       const std::string& message) {
    std::string status = value ? "True" : "False";
    std::string since = Now();
    for (const auto& c : old_status.value("conditions", json::array())) {
      if (c.value("type", "") == type && c.value("status", "") == status &&
          c.value("reason", "") == reason) {
        since = c.value("lastTransitionTime", since);
      }
    }
    return json{{"type", type},       {"status", status},        {"reason", reason},
                {"message", message}, {"lastUpdateTime", since}, {"lastTransitionTime", since}};
  };
  json status = {
      {"observedGeneration", deploy["metadata"].value("generation", 1L)},
      {"replicas", total},
      {"updatedReplicas", static_cast<long>(current.size())},
      {"readyReplicas", ready},
      {"availableReplicas", ready},
      {"conditions",
       json::array({available ? condition("Available", true, "MinimumReplicasAvailable",
                                          "Deployment has minimum availability.")
                              : condition("Available", false, "MinimumReplicasUnavailable",
                                          "Deployment does not have minimum availability."),
                    complete ? condition("Progressing", true, "NewReplicaSetAvailable",
                                         "Deployment \"" + name + "\" has successfully progressed.")
                             : condition("Progressing", true, "ReplicaSetUpdated",
                                         "Deployment \"" + name + "\" is progressing.")})}};
  if (replicas - ready > 0) status["unavailableReplicas"] = replicas - ready;
  json compare = old_status;
  compare.erase("unavailableReplicas");
  json next = status;
  next.erase("unavailableReplicas");
  if (next == compare &&
      old_status.value("unavailableReplicas", 0L) == status.value("unavailableReplicas", 0L))
    return;
  json patch = {{"status", status}};
  if (!status.contains("unavailableReplicas")) patch["status"]["unavailableReplicas"] = nullptr;
  auto patched = client_->Patch(k8s::resources::Deployments(), ns, name, k8s::PatchType::kMerge,
                                patch, "status");
  if (!patched.ok() && !k8s::IsNotFound(patched.status())) {
    std::cerr << "ff-deployment-controller: cannot update status of " << key << ": "
              << patched.status().ToString() << std::endl;
  }
}

}  // namespace ffharness::controllers
