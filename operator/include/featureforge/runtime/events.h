// Records core/v1 Events about objects ("why did the operator do that?"). A repeat of the same
// event (same object, type, reason and message) bumps count and lastTimestamp on the existing
// Event instead of creating a new one, as client-go's recorder does.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "featureforge/common/time.h"
#include "featureforge/k8s/client.h"

namespace featureforge::runtime {

enum class EventType { kNormal, kWarning };

class EventRecorder {
 public:
  // `component` fills source.component / reportingComponent; `instance` the reporting instance.
  EventRecorder(std::shared_ptr<k8s::Client> client, std::string component,
                std::string instance = "", const Clock& clock = SystemClock());

  // `object` is the involved object (needs apiVersion, kind, metadata.name; namespace and uid
  // when it has them). Cluster-scoped objects get their Events in "default".
  Status Record(const k8s::Json& object, EventType type, const std::string& reason,
                const std::string& message);

 private:
  struct Seen {
    std::string ns;
    std::string name;
    int64_t count = 0;
    std::list<std::string>::iterator lru;
  };
  Status CreateNew(const std::string& cache_key, const k8s::Json& involved, const std::string& ns,
                   EventType type, const std::string& reason, const std::string& message);
  void Remember(const std::string& cache_key, Seen seen);

  std::shared_ptr<k8s::Client> client_;
  std::string component_;
  std::string instance_;
  const Clock& clock_;
  std::mutex mu_;  // one event at a time keeps count increments ordered
  std::unordered_map<std::string, Seen> seen_;
  std::list<std::string> lru_;  // most recent first
};

}  // namespace featureforge::runtime
