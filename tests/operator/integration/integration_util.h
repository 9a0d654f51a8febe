// Shared helpers of the runtime integration tests.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "featureforge/k8s/client.h"
#include "featureforge/runtime/informer.h"

namespace featureforge::runtime::testing {

// Polls `done` until true or `limit` passes (a generous bound, not a timing assertion).
inline bool WaitUntil(const std::function<bool()>& done,
                      std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

inline Status EnsureNamespace(k8s::Client& client, const std::string& ns) {
  k8s::Json object = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
  auto created = client.Create(k8s::resources::Namespaces(), object);
  if (created.ok() || k8s::IsAlreadyExists(created.status())) return Status::OK();
  return created.status();
}

inline k8s::Json ConfigMap(const std::string& ns, const std::string& name,
                           k8s::Json data = k8s::Json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"data", data}};
}

// Records informer deliveries as "add name@rv", "update name@rv", "delete name@rv".
class DeliveryLog {
 public:
  EventHandlers Handlers() {
    EventHandlers h;
    h.on_add = [this](const ObjectPtr& o) { Record("add", *o); };
    h.on_update = [this](const ObjectPtr&, const ObjectPtr& o) { Record("update", *o); };
    h.on_delete = [this](const ObjectPtr& o) { Record("delete", *o); };
    return h;
  }
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_.size();
  }

 private:
  void Record(const char* what, const k8s::Json& o) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::string(what) + " " + o["metadata"].value("name", "") + "@" +
                      ResourceVersionOf(o));
  }
  std::mutex mu_;
  std::vector<std::string> events_;
};

}  // namespace featureforge::runtime::testing
