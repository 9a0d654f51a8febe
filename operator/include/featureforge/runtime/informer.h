// Informer: keeps a Store in sync with the API server (list, then watch from the list's
// resourceVersion with bookmarks; resume from the last seen version; relist on 410 Gone and
// deliver only the difference) and tells event handlers about every change exactly once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "featureforge/k8s/client.h"
#include "featureforge/runtime/backoff.h"
#include "featureforge/runtime/store.h"

namespace featureforge::runtime {

// Where an informer lists and watches from. The real one wraps a k8s::Client; unit tests
// script one.
class ListWatcher {
 public:
  virtual ~ListWatcher() = default;
  // The complete list (all pages), with metadata.resourceVersion.
  virtual Result<Json> List() = 0;
  virtual Status Watch(const k8s::WatchOptions& options, const k8s::WatchHandler& handler,
                       const std::atomic<bool>* cancel) = 0;
  // For logs and metrics: "pods", "materializationjobs.featureforge.dev".
  virtual std::string Describe() const = 0;
};

// Lists and watches one resource type in one namespace ("" = all) with optional selectors.
std::shared_ptr<ListWatcher> MakeClientListWatcher(std::shared_ptr<k8s::Client> client,
                                                   k8s::ResourceType type, std::string ns = "",
                                                   std::string label_selector = "",
                                                   std::string field_selector = "");

struct EventHandlers {
  std::function<void(const ObjectPtr& object)> on_add;
  std::function<void(const ObjectPtr& old_object, const ObjectPtr& new_object)> on_update;
  std::function<void(const ObjectPtr& last_known)> on_delete;
};

// The changes that turn `current` into `listed` (a relist after 410 Gone or a restart).
// Objects whose resourceVersion did not change are not reported.
struct RelistDiff {
  std::vector<ObjectPtr> added;
  std::vector<std::pair<ObjectPtr, ObjectPtr>> updated;  // (old, new)
  std::vector<ObjectPtr> deleted;
};
RelistDiff ComputeRelistDiff(const Store& current, const std::vector<ObjectPtr>& listed);

struct InformerOptions {
  DurationMicros backoff_initial = 800'000;  // 0.8 s, as client-go's reflector
  DurationMicros backoff_max = 30'000'000;   // 30 s
  int min_watch_timeout_seconds = 300;       // each watch ends server-side after a random
  int max_watch_timeout_seconds = 600;       // 5..10 minutes, spreading relists out
};

class Informer {
 public:
  Informer(std::shared_ptr<ListWatcher> source, InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Handlers added after objects were cached receive an add for each cached object first.
  void AddEventHandlers(EventHandlers handlers);
  // Starts the list/watch thread. After Stop(), Start() resumes watching from the last seen
  // resourceVersion (relisting only if the server says it expired).
  void Start();
  // Cancels the watch and joins the thread; handlers are not called after Stop returns.
  void Stop();
  // True once the first list was stored and delivered.
  bool HasSynced() const { return synced_.load(); }
  // Blocks until synced or `timeout` passed; false on timeout or stop.
  bool WaitForSync(DurationMicros timeout);

  const Store& store() const { return store_; }
  std::string last_resource_version() const;
  // Watches that ended (normally, by error or by 410) and were re-established.
  uint64_t watch_restarts() const { return watch_restarts_.load(); }
  uint64_t relists() const { return relists_.load(); }
  // Failed lists and failed watches (410 Gone excluded), and the last such error.
  uint64_t list_errors() const { return list_errors_.load(); }
  uint64_t watch_errors() const { return watch_errors_.load(); }
  std::string last_error() const;
  std::string Describe() const { return source_->Describe(); }

 private:
  void Run();
  Status ListAndReplace();
  Status WatchOnce(bool* got_event);
  bool HandleWatchEvent(k8s::WatchEvent&& event);
  void SleepFor(DurationMicros d);
  void SetResourceVersion(const std::string& rv);
  void SetLastError(const Status& status);
  std::vector<EventHandlers> HandlersSnapshot();

  std::shared_ptr<ListWatcher> source_;
  InformerOptions options_;
  Store store_;
  Backoff backoff_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<EventHandlers> handlers_;
  std::string resource_version_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  std::atomic<uint64_t> watch_restarts_{0};
  std::atomic<uint64_t> relists_{0};
  std::atomic<uint64_t> list_errors_{0};
  std::atomic<uint64_t> watch_errors_{0};
  std::string last_error_;
  // Serializes event delivery with handler registration (so a late handler's replay and live
  // events never interleave out of order).
  std::mutex dispatch_mu_;
};

}  // namespace featureforge::runtime
