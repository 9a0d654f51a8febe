#include "featureforge/runtime/informer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <unordered_set>

namespace featureforge::runtime {
namespace {

class ClientListWatcher : public ListWatcher {
 public:
  ClientListWatcher(std::shared_ptr<k8s::Client> client, k8s::ResourceType type, std::string ns,
                    std::string label_selector, std::string field_selector)
      : client_(std::move(client)),
        type_(std::move(type)),
        ns_(std::move(ns)),
        label_selector_(std::move(label_selector)),
        field_selector_(std::move(field_selector)) {}

  Result<Json> List() override {
    k8s::ListOptions options;
    options.label_selector = label_selector_;
    options.field_selector = field_selector_;
    options.limit = 500;
    return client_->ListAll(type_, ns_, options);
  }

  Status Watch(const k8s::WatchOptions& options, const k8s::WatchHandler& handler,
               const std::atomic<bool>* cancel) override {
    k8s::WatchOptions with_selectors = options;
    with_selectors.label_selector = label_selector_;
    with_selectors.field_selector = field_selector_;
    return client_->Watch(type_, ns_, with_selectors, handler, cancel);
  }

  std::string Describe() const override {
    return type_.QualifiedName() + (ns_.empty() ? "" : " in namespace " + ns_);
  }

 private:
  std::shared_ptr<k8s::Client> client_;
  k8s::ResourceType type_;
  std::string ns_;
  std::string label_selector_;
  std::string field_selector_;
};

}  // namespace

std::shared_ptr<ListWatcher> MakeClientListWatcher(std::shared_ptr<k8s::Client> client,
                                                   k8s::ResourceType type, std::string ns,
                                                   std::string label_selector,
                                                   std::string field_selector) {
  return std::make_shared<ClientListWatcher>(std::move(client), std::move(type), std::move(ns),
                                             std::move(label_selector), std::move(field_selector));
}

RelistDiff ComputeRelistDiff(const Store& current, const std::vector<ObjectPtr>& listed) {
  RelistDiff diff;
  std::set<ObjectKey> seen;
  for (const auto& object : listed) {
    ObjectKey key = ObjectKey::Of(*object);
    seen.insert(key);
    ObjectPtr old = current.Get(key);
    if (old == nullptr) {
      diff.added.push_back(object);
    } else if (UidOf(*old) != UidOf(*object)) {
      // Deleted and recreated under the same name while we were not watching.
      diff.deleted.push_back(old);
      diff.added.push_back(object);
    } else if (ResourceVersionOf(*old) != ResourceVersionOf(*object)) {
      diff.updated.emplace_back(old, object);
    }
  }
  for (const auto& old : current.List()) {
    if (seen.count(ObjectKey::Of(*old)) == 0) diff.deleted.push_back(old);
  }
  return diff;
}

Informer::Informer(std::shared_ptr<ListWatcher> source, InformerOptions options)
    : source_(std::move(source)),
      options_(options),
      backoff_(options.backoff_initial, options.backoff_max) {}

Informer::~Informer() { Stop(); }

void Informer::AddEventHandlers(EventHandlers handlers) {
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  if (handlers.on_add) {
    for (const auto& object : store_.List()) handlers.on_add(object);
  }
  std::lock_guard<std::mutex> lock(mu_);
  handlers_.push_back(std::move(handlers));
}

std::vector<EventHandlers> Informer::HandlersSnapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  return handlers_;
}

void Informer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Informer::WaitForSync(DurationMicros timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::microseconds(timeout),
               [this] { return synced_.load() || stop_.load(); });
  return synced_.load();
}

std::string Informer::last_resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

void Informer::SetResourceVersion(const std::string& rv) {
  if (rv.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  resource_version_ = rv;
}

void Informer::SetLastError(const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  last_error_ = status.ToString();
}

std::string Informer::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

void Informer::SleepFor(DurationMicros d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::microseconds(d), [this] { return stop_.load(); });
}

void Informer::Run() {
  // A restarted informer (Stop, then Start) resumes watching where it left off.
  bool need_list = !synced_.load() || last_resource_version().empty();
  while (!stop_) {
    if (need_list) {
      Status listed = ListAndReplace();
      if (!listed.ok()) {
        ++list_errors_;
        SetLastError(listed);
        DurationMicros delay = backoff_.Next();
        spdlog::warn("informer {}: list failed, retrying in {} ms: {}", source_->Describe(),
                     delay / 1000, listed.ToString());
        SleepFor(delay);
        continue;
      }
      need_list = false;
    }
    auto started = std::chrono::steady_clock::now();
    bool got_event = false;
    Status watched = WatchOnce(&got_event);
    if (stop_) break;
    ++watch_restarts_;
    if (watched.ok()) {
      // The server ended the watch (timeoutSeconds). One that ends at once with nothing in it
      // is treated like a failure so a misbehaving server cannot make us spin.
      if (got_event || std::chrono::steady_clock::now() - started > std::chrono::seconds(1)) {
        backoff_.Reset();
      } else {
        SleepFor(backoff_.Next());
      }
      continue;
    }
    if (k8s::IsGone(watched)) {
      spdlog::info("informer {}: resourceVersion {} expired, relisting", source_->Describe(),
                   last_resource_version());
      need_list = true;
      continue;
    }
    ++watch_errors_;
    SetLastError(watched);
    DurationMicros delay = backoff_.Next();
    spdlog::warn("informer {}: watch failed, resuming from resourceVersion {} in {} ms: {}",
                 source_->Describe(), last_resource_version(), delay / 1000, watched.ToString());
    SleepFor(delay);
  }
}

Status Informer::ListAndReplace() {
  FF_ASSIGN_OR_RETURN(Json list, source_->List());
  std::vector<ObjectPtr> listed;
  if (list.contains("items") && list["items"].is_array()) {
    listed.reserve(list["items"].size());
    for (auto& item : list["items"])
      listed.push_back(std::make_shared<const Json>(std::move(item)));
  }
  std::string rv;
  if (list.contains("metadata") && list["metadata"].is_object()) {
    rv = list["metadata"].value("resourceVersion", "");
  }
  {
    std::lock_guard<std::mutex> dispatch(dispatch_mu_);
    RelistDiff diff = ComputeRelistDiff(store_, listed);
    auto handlers = HandlersSnapshot();
    for (const auto& object : diff.deleted) {
      store_.Remove(ObjectKey::Of(*object));
      for (auto& h : handlers)
        if (h.on_delete) h.on_delete(object);
    }
    for (const auto& object : diff.added) {
      store_.Upsert(object);
      for (auto& h : handlers)
        if (h.on_add) h.on_add(object);
    }
    for (const auto& [old_object, new_object] : diff.updated) {
      store_.Upsert(new_object);
      for (auto& h : handlers)
        if (h.on_update) h.on_update(old_object, new_object);
    }
  }
  ++relists_;
  SetResourceVersion(rv);
  backoff_.Reset();
  {
    std::lock_guard<std::mutex> lock(mu_);
    synced_ = true;
  }
  cv_.notify_all();
  return Status::OK();
}

Status Informer::WatchOnce(bool* got_event) {
  k8s::WatchOptions options;
  options.resource_version = last_resource_version();
  options.allow_bookmarks = true;
  options.timeout_seconds = static_cast<int>(
      RandomBetween(options_.min_watch_timeout_seconds, options_.max_watch_timeout_seconds));
  Status status = source_->Watch(
      options,
      [this, got_event](k8s::WatchEvent&& event) {
        if (!*got_event) {
          *got_event = true;
          backoff_.Reset();
        }
        return HandleWatchEvent(std::move(event));
      },
      &stop_);
  return status;
}

bool Informer::HandleWatchEvent(k8s::WatchEvent&& event) {
  if (stop_) return false;
  std::string rv = ResourceVersionOf(event.object);
  if (event.type == "BOOKMARK") {
    SetResourceVersion(rv);
    return true;
  }
  auto object = std::make_shared<const Json>(std::move(event.object));
  ObjectKey key = ObjectKey::Of(*object);
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  auto handlers = HandlersSnapshot();
  if (event.type == "ADDED" || event.type == "MODIFIED") {
    ObjectPtr old = store_.Get(key);
    // A replayed event (same version we already hold) is not delivered twice.
    if (old != nullptr && ResourceVersionOf(*old) == rv && UidOf(*old) == UidOf(*object)) {
      SetResourceVersion(rv);
      return true;
    }
    store_.Upsert(object);
    if (old == nullptr) {
      for (auto& h : handlers)
        if (h.on_add) h.on_add(object);
    } else if (UidOf(*old) != UidOf(*object)) {
      for (auto& h : handlers)
        if (h.on_delete) h.on_delete(old);
      for (auto& h : handlers)
        if (h.on_add) h.on_add(object);
    } else {
      for (auto& h : handlers)
        if (h.on_update) h.on_update(old, object);
    }
  } else if (event.type == "DELETED") {
    ObjectPtr removed = store_.Remove(key);
    if (removed != nullptr) {
      for (auto& h : handlers)
        if (h.on_delete) h.on_delete(object);
    }
  } else {
    spdlog::warn("informer {}: ignoring watch event of type {}", source_->Describe(), event.type);
  }
  SetResourceVersion(rv);
  return true;
}

}  // namespace featureforge::runtime
