// The controller manager: shared informers, one rate-limited work queue and N workers per
// controller, leader election, Events, metrics and the health/metrics HTTP endpoint.
//
// A controller reconciles one primary kind. Changes to the primary object enqueue its key;
// changes to owned objects (pods, services, ...) enqueue the key of the object named by their
// controller ownerReference when its kind is the primary kind. Reconcile is level-based: it gets
// only the key and reads the world (usually from the informer caches).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "featureforge/k8s/client.h"
#include "featureforge/runtime/events.h"
#include "featureforge/runtime/http_server.h"
#include "featureforge/runtime/informer.h"
#include "featureforge/runtime/leader_election.h"
#include "featureforge/runtime/metrics.h"
#include "featureforge/runtime/workqueue.h"

namespace featureforge::runtime {

struct ReconcileResult {
  bool requeue = false;              // requeue with the rate limiter's backoff
  DurationMicros requeue_after = 0;  // > 0: requeue after this long (wins over `requeue`)
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // An error requeues the key with per-item backoff; success forgets its failures.
  virtual Result<ReconcileResult> Reconcile(const ObjectKey& key) = 0;
};

struct ControllerOptions {
  std::string name;  // metrics label and log prefix: "materializationjob"
  k8s::ResourceType primary;
  std::vector<k8s::ResourceType> owned;
  std::shared_ptr<Reconciler> reconciler;
  int workers = 2;
};

struct ManagerOptions {
  std::string watch_namespace;  // "" = all namespaces
  // "" disables the HTTP endpoint; "127.0.0.1:0" picks a free port (see metrics_port()).
  std::string metrics_bind_address = ":8080";
  bool leader_election = true;
  std::string lease_namespace = "default";
  std::string lease_name = "featureforge-operator";
  std::string identity;  // default: hostname + random suffix
  DurationMicros lease_duration = 15 * kMicrosPerSecond;
  DurationMicros renew_deadline = 10 * kMicrosPerSecond;
  DurationMicros retry_period = 2 * kMicrosPerSecond;
  std::string event_component = "featureforge-operator";
  InformerOptions informer_options;
  // Run() returns when SIGTERM/SIGINT arrives (handlers installed by Run()).
  bool handle_signals = true;
};

class Manager {
 public:
  static Result<std::unique_ptr<Manager>> Create(std::shared_ptr<k8s::Client> client,
                                                 ManagerOptions options);
  ~Manager();

  // Before Start(): registers a controller and the informers it needs.
  Status AddController(ControllerOptions options);
  // The shared informer of a type (created on first use, before Start()). Reconcilers read
  // their caches from here.
  Informer* GetInformer(const k8s::ResourceType& type);

  k8s::Client& client() { return *client_; }
  std::shared_ptr<k8s::Client> shared_client() { return client_; }
  EventRecorder& events() { return *events_; }
  MetricsRegistry& metrics() { return metrics_; }

  // Starts informers, the HTTP endpoint and leader election (or the workers at once without
  // leader election). Non-blocking.
  Status Start();
  // Start(), then block until Stop() or a shutdown signal, then shut down gracefully.
  Status Run();
  // Graceful shutdown: stop handing out work, let in-flight reconciles finish, stop informers,
  // release the Lease. Idempotent; callable from any thread.
  void Stop();

  bool IsLeader() const;
  bool Started() const { return started_.load(); }
  int metrics_port() const;
  std::string identity() const { return options_.identity; }
  // All informers synced.
  bool CachesSynced() const;

 private:
  struct Controller;
  Manager(std::shared_ptr<k8s::Client> client, ManagerOptions options);
  void StartWorkers();
  void StopWorkers();
  void WorkerLoop(Controller* controller, std::shared_ptr<WorkQueue> queue);
  void ProcessItem(Controller* controller, WorkQueue& queue, const std::string& key);
  void Enqueue(Controller* controller, const std::string& key);
  void EnqueueOwner(Controller* controller, const ObjectPtr& owned);

  std::shared_ptr<k8s::Client> client_;
  ManagerOptions options_;
  MetricsRegistry metrics_;
  std::unique_ptr<EventRecorder> events_;
  std::map<k8s::ResourceType, std::unique_ptr<Informer>> informers_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  std::unique_ptr<LeaderElector> elector_;
  std::unique_ptr<HealthServer> server_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::mutex workers_mu_;  // serializes StartWorkers/StopWorkers
  std::mutex stop_mu_;     // serializes Stop()
  bool workers_running_ = false;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
};

}  // namespace featureforge::runtime
