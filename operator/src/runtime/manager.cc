#include "featureforge/runtime/manager.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "featureforge/runtime/backoff.h"
#include "featureforge/runtime/signals.h"

namespace featureforge::runtime {
namespace {

std::string DefaultIdentity() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof(host), "featureforge-operator");
  }
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "_%08llx",
                static_cast<unsigned long long>(RandomBetween(0, 0xffffffffLL)));
  return std::string(host) + suffix;
}

std::string GroupOf(const std::string& api_version) {
  size_t slash = api_version.find('/');
  return slash == std::string::npos ? "" : api_version.substr(0, slash);
}

}  // namespace

struct Manager::Controller {
  ControllerOptions options;
  std::mutex queue_mu;
  std::shared_ptr<WorkQueue> queue;  // the current leadership term's queue; null when idle
  std::vector<std::thread> workers;
  std::atomic<int> active_workers{0};
  uint64_t adds_before = 0;  // totals of earlier terms' queues, so counters never go down
  uint64_t retries_before = 0;
  Counter* reconcile_success = nullptr;
  Counter* reconcile_error = nullptr;
  Counter* reconcile_requeue = nullptr;
  Counter* reconcile_requeue_after = nullptr;
  Counter* reconcile_errors = nullptr;
  Histogram* reconcile_time = nullptr;
};

Manager::Manager(std::shared_ptr<k8s::Client> client, ManagerOptions options)
    : client_(std::move(client)), options_(std::move(options)) {}

Result<std::unique_ptr<Manager>> Manager::Create(std::shared_ptr<k8s::Client> client,
                                                 ManagerOptions options) {
  if (client == nullptr) return Status::InvalidArgument("manager: client is null");
  if (options.identity.empty()) options.identity = DefaultIdentity();
  std::unique_ptr<Manager> manager(new Manager(std::move(client), std::move(options)));
  Manager* m = manager.get();
  m->events_ = std::make_unique<EventRecorder>(m->client_, m->options_.event_component,
                                               m->options_.identity);
  if (m->options_.leader_election) {
    LeaderElectionConfig config;
    config.lease_namespace = m->options_.lease_namespace;
    config.lease_name = m->options_.lease_name;
    config.identity = m->options_.identity;
    config.lease_duration = m->options_.lease_duration;
    config.renew_deadline = m->options_.renew_deadline;
    config.retry_period = m->options_.retry_period;
    config.on_started_leading = [m] { m->StartWorkers(); };
    config.on_stopped_leading = [m] { m->StopWorkers(); };
    m->elector_ = std::make_unique<LeaderElector>(m->client_, std::move(config));
    FF_RETURN_IF_ERROR(m->elector_->Validate());
    m->metrics_.AddCallback(
        "leader_election_master_status", "1 when this replica is the leader of the lease, else 0",
        "gauge", {{"name", m->options_.lease_name}}, [m] { return m->IsLeader() ? 1.0 : 0.0; });
  }
  return manager;
}

Manager::~Manager() { Stop(); }

Informer* Manager::GetInformer(const k8s::ResourceType& type) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = informers_.find(type);
  if (it != informers_.end()) return it->second.get();
  auto informer = std::make_unique<Informer>(
      MakeClientListWatcher(client_, type, type.namespaced ? options_.watch_namespace : ""),
      options_.informer_options);
  Informer* raw = informer.get();
  Labels labels = {{"resource", type.QualifiedName()}};
  metrics_.AddCallback("featureforge_informer_watch_restarts_total",
                       "Watches that ended and were re-established, per resource", "counter",
                       labels, [raw] { return static_cast<double>(raw->watch_restarts()); });
  metrics_.AddCallback("featureforge_informer_relists_total",
                       "Full lists (initial and after 410 Gone), per resource", "counter", labels,
                       [raw] { return static_cast<double>(raw->relists()); });
  metrics_.AddCallback("featureforge_informer_cached_objects", "Objects in the informer cache",
                       "gauge", labels, [raw] { return static_cast<double>(raw->store().size()); });
  informers_.emplace(type, std::move(informer));
  if (started_) raw->Start();
  return raw;
}

Status Manager::AddController(ControllerOptions options) {
  if (started_) return Status::FailedPrecondition("manager: AddController after Start");
  if (options.name.empty()) return Status::InvalidArgument("controller: name is required");
  if (options.reconciler == nullptr) {
    return Status::InvalidArgument("controller " + options.name + ": reconciler is null");
  }
  if (options.workers < 1) options.workers = 1;
  auto controller = std::make_unique<Controller>();
  controller->options = std::move(options);
  Controller* c = controller.get();
  const std::string& name = c->options.name;
  auto result_counter = [&](const char* result) {
    return &metrics_.GetCounter("controller_runtime_reconcile_total",
                                "Reconciliations per controller and result",
                                {{"controller", name}, {"result", result}});
  };
  c->reconcile_success = result_counter("success");
  c->reconcile_error = result_counter("error");
  c->reconcile_requeue = result_counter("requeue");
  c->reconcile_requeue_after = result_counter("requeue_after");
  c->reconcile_errors =
      &metrics_.GetCounter("controller_runtime_reconcile_errors_total",
                           "Reconciliations that returned an error", {{"controller", name}});
  c->reconcile_time = &metrics_.GetHistogram("controller_runtime_reconcile_time_seconds",
                                             "Time per reconciliation", {{"controller", name}});
  Labels queue_labels = {{"name", name}};
  auto read_queue = [c](auto read) {
    std::lock_guard<std::mutex> lock(c->queue_mu);
    return static_cast<double>(read(c->queue.get()));
  };
  metrics_.AddCallback(
      "workqueue_depth", "Keys ready to be reconciled", "gauge", queue_labels,
      [read_queue] { return read_queue([](WorkQueue* q) { return q ? q->Len() : 0; }); });
  metrics_.AddCallback(
      "workqueue_adds_total", "Keys added to the work queue", "counter", queue_labels,
      [read_queue, c] {
        return read_queue([c](WorkQueue* q) { return c->adds_before + (q ? q->adds_total() : 0); });
      });
  metrics_.AddCallback(
      "workqueue_retries_total", "Rate-limited requeues", "counter", queue_labels, [read_queue, c] {
        return read_queue(
            [c](WorkQueue* q) { return c->retries_before + (q ? q->retries_total() : 0); });
      });
  metrics_.AddCallback("controller_runtime_active_workers", "Workers reconciling right now",
                       "gauge", {{"controller", name}},
                       [c] { return static_cast<double>(c->active_workers.load()); });

  EventHandlers primary;
  primary.on_add = [this, c](const ObjectPtr& o) { Enqueue(c, ObjectKey::Of(*o).ToString()); };
  primary.on_update = [this, c](const ObjectPtr&, const ObjectPtr& o) {
    Enqueue(c, ObjectKey::Of(*o).ToString());
  };
  primary.on_delete = [this, c](const ObjectPtr& o) { Enqueue(c, ObjectKey::Of(*o).ToString()); };
  GetInformer(c->options.primary)->AddEventHandlers(std::move(primary));
  for (const auto& owned_type : c->options.owned) {
    EventHandlers owned;
    owned.on_add = [this, c](const ObjectPtr& o) { EnqueueOwner(c, o); };
    owned.on_update = [this, c](const ObjectPtr& old_object, const ObjectPtr& o) {
      EnqueueOwner(c, old_object);
      EnqueueOwner(c, o);
    };
    owned.on_delete = [this, c](const ObjectPtr& o) { EnqueueOwner(c, o); };
    GetInformer(owned_type)->AddEventHandlers(std::move(owned));
  }
  std::lock_guard<std::mutex> lock(mu_);
  controllers_.push_back(std::move(controller));
  return Status::OK();
}

void Manager::Enqueue(Controller* controller, const std::string& key) {
  std::lock_guard<std::mutex> lock(controller->queue_mu);
  if (controller->queue) controller->queue->Add(key);
}

void Manager::EnqueueOwner(Controller* controller, const ObjectPtr& owned) {
  if (owned == nullptr) return;
  const auto& primary = controller->options.primary;
  auto meta = owned->find("metadata");
  if (meta == owned->end() || !meta->contains("ownerReferences")) return;
  const auto& refs = (*meta)["ownerReferences"];
  if (!refs.is_array()) return;
  for (const auto& ref : refs) {
    if (!ref.is_object() || !ref.value("controller", false)) continue;
    if (ref.value("kind", "") != primary.kind) continue;
    if (GroupOf(ref.value("apiVersion", "")) != primary.group) continue;
    ObjectKey key{primary.namespaced ? meta->value("namespace", "") : "", ref.value("name", "")};
    Enqueue(controller, key.ToString());
  }
}

void Manager::StartWorkers() {
  std::lock_guard<std::mutex> workers_lock(workers_mu_);
  if (workers_running_ || stopping_) return;
  workers_running_ = true;
  std::vector<Controller*> controllers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : controllers_) controllers.push_back(c.get());
  }
  for (Controller* c : controllers) {
    auto queue = std::make_shared<WorkQueue>();
    {
      std::lock_guard<std::mutex> lock(c->queue_mu);
      c->queue = queue;
    }
    // Level-based: a new term starts from everything the cache holds (anything that changed
    // while another replica led, or before the cache synced, is covered).
    for (const auto& key : GetInformer(c->options.primary)->store().Keys()) {
      queue->Add(key.ToString());
    }
    for (int i = 0; i < c->options.workers; ++i) {
      c->workers.emplace_back([this, c, queue] { WorkerLoop(c, queue); });
    }
    spdlog::info("controller {}: started {} workers", c->options.name, c->options.workers);
  }
}

void Manager::StopWorkers() {
  std::lock_guard<std::mutex> workers_lock(workers_mu_);
  if (!workers_running_) return;
  workers_running_ = false;
  std::vector<Controller*> controllers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& c : controllers_) controllers.push_back(c.get());
  }
  for (Controller* c : controllers) {
    std::shared_ptr<WorkQueue> queue;
    {
      std::lock_guard<std::mutex> lock(c->queue_mu);
      queue = std::move(c->queue);
      c->queue.reset();
      if (queue) {
        c->adds_before += queue->adds_total();
        c->retries_before += queue->retries_total();
      }
    }
    if (queue) queue->ShutDown();
  }
  // In-flight reconciles finish; nothing new is handed out.
  for (Controller* c : controllers) {
    for (auto& t : c->workers) t.join();
    c->workers.clear();
    spdlog::info("controller {}: workers stopped", c->options.name);
  }
}

void Manager::WorkerLoop(Controller* controller, std::shared_ptr<WorkQueue> queue) {
  // Never reconcile from a partial cache.
  auto waiting_since = std::chrono::steady_clock::now();
  auto next_report = waiting_since + std::chrono::seconds(30);
  while (!CachesSynced() && !queue->ShuttingDown()) {
    if (std::chrono::steady_clock::now() >= next_report) {
      next_report += std::chrono::seconds(30);
      std::string pending;
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [type, informer] : informers_) {
        if (informer->HasSynced()) continue;
        pending += (pending.empty() ? "" : "; ") + type.QualifiedName() + " (" +
                   informer->last_error() + ")";
      }
      spdlog::warn("controller {}: still waiting for caches to sync: {}", controller->options.name,
                   pending);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  while (auto key = queue->Get()) {
    ProcessItem(controller, *queue, *key);
  }
}

void Manager::ProcessItem(Controller* controller, WorkQueue& queue, const std::string& key) {
  ++controller->active_workers;
  auto started = std::chrono::steady_clock::now();
  Result<ReconcileResult> result = [&]() -> Result<ReconcileResult> {
    try {
      return controller->options.reconciler->Reconcile(ObjectKey::Parse(key));
    } catch (const std::exception& e) {
      return Status::Internal(std::string("reconcile threw: ") + e.what());
    }
  }();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  controller->reconcile_time->Observe(seconds);
  if (!result.ok()) {
    controller->reconcile_error->Inc();
    controller->reconcile_errors->Inc();
    spdlog::warn("controller {}: reconcile {} failed (retry {}): {}", controller->options.name, key,
                 queue.NumRequeues(key) + 1, result.status().ToString());
    queue.AddRateLimited(key);
  } else if (result->requeue_after > 0) {
    controller->reconcile_requeue_after->Inc();
    queue.Forget(key);
    queue.AddAfter(key, result->requeue_after);
  } else if (result->requeue) {
    controller->reconcile_requeue->Inc();
    queue.AddRateLimited(key);
  } else {
    controller->reconcile_success->Inc();
    queue.Forget(key);
  }
  queue.Done(key);
  --controller->active_workers;
}

bool Manager::CachesSynced() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [type, informer] : informers_) {
    if (!informer->HasSynced()) return false;
  }
  return true;
}

bool Manager::IsLeader() const {
  if (!options_.leader_election) return started_.load() && !stopping_.load();
  return elector_ && elector_->IsLeader();
}

int Manager::metrics_port() const { return server_ ? server_->port() : 0; }

Status Manager::Start() {
  if (started_.exchange(true)) return Status::FailedPrecondition("manager already started");
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [type, informer] : informers_) informer->Start();
  }
  if (!options_.metrics_bind_address.empty()) {
    HttpEndpoints endpoints;
    endpoints.metrics = [this] { return metrics_.RenderText(); };
    endpoints.healthz = [this]() -> Status {
      if (stopping_) return Status::Unavailable("shutting down");
      if (elector_ && elector_->IsLeader() &&
          SystemClock().Now() - elector_->last_renew() > options_.lease_duration) {
        return Status::Unavailable("leader has not renewed its lease within the lease duration");
      }
      return Status::OK();
    };
    endpoints.readyz = [this]() -> Status {
      std::lock_guard<std::mutex> lock(mu_);
      std::string pending;
      for (const auto& [type, informer] : informers_) {
        if (!informer->HasSynced()) pending += (pending.empty() ? "" : ", ") + type.QualifiedName();
      }
      if (!pending.empty()) return Status::Unavailable("caches not synced: " + pending);
      return Status::OK();
    };
    auto server = HealthServer::Start(options_.metrics_bind_address, std::move(endpoints));
    if (!server.ok()) return server.status();
    server_ = std::move(server).value();
  }
  if (elector_) {
    elector_->Start();
  } else {
    StartWorkers();
  }
  spdlog::info("manager {} started ({} controllers, leader election {})", options_.identity,
               controllers_.size(), elector_ ? "on" : "off");
  return Status::OK();
}

Status Manager::Run() {
  if (options_.handle_signals) InstallShutdownSignalHandlers();
  FF_RETURN_IF_ERROR(Start());
  {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_ && !(options_.handle_signals && ShutdownRequested())) {
      cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }
  Stop();
  return Status::OK();
}

void Manager::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);  // a second caller waits for the first
  if (stopped_) return;
  stopping_ = true;
  cv_.notify_all();
  StopWorkers();                   // finish in-flight reconciles, hand out nothing new
  if (elector_) elector_->Stop();  // releases the Lease if held
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [type, informer] : informers_) informer->Stop();
  }
  if (server_) server_->Stop();
  stopped_ = true;
  if (started_) spdlog::info("manager {} stopped", options_.identity);
}

}  // namespace featureforge::runtime
