#include "featureforge/runtime/events.h"

#include <cstdio>

#include "featureforge/runtime/leader_election.h"

namespace featureforge::runtime {
namespace {

constexpr size_t kMaxRemembered = 4096;

std::string EventTimestamp(TimestampMicros ts) {
  // Event first/lastTimestamp are metav1.Time: whole seconds.
  std::string micro = FormatMicroTime(ts);
  return micro.substr(0, 19) + "Z";
}

}  // namespace

EventRecorder::EventRecorder(std::shared_ptr<k8s::Client> client, std::string component,
                             std::string instance, const Clock& clock)
    : client_(std::move(client)),
      component_(std::move(component)),
      instance_(std::move(instance)),
      clock_(clock) {}

void EventRecorder::Remember(const std::string& cache_key, Seen seen) {
  auto existing = seen_.find(cache_key);
  if (existing != seen_.end()) {
    lru_.erase(existing->second.lru);
    seen_.erase(existing);
  }
  lru_.push_front(cache_key);
  seen.lru = lru_.begin();
  seen_.emplace(cache_key, std::move(seen));
  while (seen_.size() > kMaxRemembered) {
    seen_.erase(lru_.back());
    lru_.pop_back();
  }
}

Status EventRecorder::Record(const k8s::Json& object, EventType type, const std::string& reason,
                             const std::string& message) {
  if (!object.is_object() || !object.contains("metadata")) {
    return Status::InvalidArgument("event " + reason + ": involved object has no metadata");
  }
  const k8s::Json& meta = object["metadata"];
  k8s::Json involved = {{"apiVersion", object.value("apiVersion", "")},
                        {"kind", object.value("kind", "")},
                        {"name", meta.value("name", "")}};
  std::string object_ns = meta.value("namespace", "");
  if (!object_ns.empty()) involved["namespace"] = object_ns;
  if (meta.contains("uid")) involved["uid"] = meta["uid"];
  if (meta.contains("resourceVersion")) involved["resourceVersion"] = meta["resourceVersion"];
  std::string ns = object_ns.empty() ? "default" : object_ns;
  std::string type_name = type == EventType::kNormal ? "Normal" : "Warning";
  std::string cache_key = involved.value("kind", "") + "\x1f" + ns + "\x1f" +
                          involved.value("name", "") + "\x1f" + meta.value("uid", "") + "\x1f" +
                          type_name + "\x1f" + reason + "\x1f" + message;

  std::lock_guard<std::mutex> lock(mu_);
  auto it = seen_.find(cache_key);
  if (it != seen_.end()) {
    Seen seen = it->second;
    k8s::Json patch = {{"count", seen.count + 1}, {"lastTimestamp", EventTimestamp(clock_.Now())}};
    auto patched =
        client_->Patch(k8s::resources::Events(), seen.ns, seen.name, k8s::PatchType::kMerge, patch);
    if (patched.ok()) {
      seen.count = patched->value("count", seen.count + 1);
      Remember(cache_key, seen);
      return Status::OK();
    }
    if (!k8s::IsNotFound(patched.status())) return patched.status();
    // The Event expired (Events have a TTL on the server): start a new one.
  }
  return CreateNew(cache_key, involved, ns, type, reason, message);
}

Status EventRecorder::CreateNew(const std::string& cache_key, const k8s::Json& involved,
                                const std::string& ns, EventType type, const std::string& reason,
                                const std::string& message) {
  TimestampMicros now = clock_.Now();
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "%llx", static_cast<unsigned long long>(now) * 1000ULL);
  std::string name = involved.value("name", "object") + "." + suffix;
  std::string when = EventTimestamp(now);
  k8s::Json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", name}, {"namespace", ns}}},
      {"involvedObject", involved},
      {"reason", reason},
      {"message", message},
      {"type", type == EventType::kNormal ? "Normal" : "Warning"},
      {"source", {{"component", component_}}},
      {"firstTimestamp", when},
      {"lastTimestamp", when},
      {"count", 1},
      {"reportingComponent", component_},
      {"reportingInstance", instance_},
  };
  if (!instance_.empty()) event["source"]["host"] = instance_;
  auto created = client_->Create(k8s::resources::Events(), event);
  if (!created.ok()) return created.status().WithContext("recording event " + reason);
  Remember(cache_key, Seen{ns, name, 1, {}});
  return Status::OK();
}

}  // namespace featureforge::runtime
