#include "featureforge/runtime/leader_election.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "featureforge/runtime/backoff.h"

namespace featureforge::runtime {

std::string FormatMicroTime(TimestampMicros ts) {
  std::time_t seconds = static_cast<std::time_t>(ts / kMicrosPerSecond);
  int64_t micros = ts % kMicrosPerSecond;
  if (micros < 0) {
    micros += kMicrosPerSecond;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return buf;
}

LeaderElector::LeaderElector(std::shared_ptr<k8s::Client> client, LeaderElectionConfig config,
                             const Clock& clock)
    : client_(std::move(client)), config_(std::move(config)), clock_(clock) {}

LeaderElector::~LeaderElector() { Stop(); }

Status LeaderElector::Validate() const {
  if (config_.lease_name.empty() || config_.lease_namespace.empty()) {
    return Status::InvalidArgument("leader election: lease name and namespace are required");
  }
  if (config_.identity.empty()) {
    return Status::InvalidArgument("leader election: identity is required");
  }
  if (config_.lease_duration <= config_.renew_deadline) {
    return Status::InvalidArgument("leader election: lease duration must exceed renew deadline");
  }
  if (config_.renew_deadline <= config_.retry_period) {
    return Status::InvalidArgument("leader election: renew deadline must exceed retry period");
  }
  return Status::OK();
}

Result<bool> LeaderElector::TryAcquireOrRenew() {
  const auto& leases = k8s::resources::Leases();
  TimestampMicros now = clock_.Now();
  std::string now_text = FormatMicroTime(now);
  int64_t duration_seconds = (config_.lease_duration + kMicrosPerSecond - 1) / kMicrosPerSecond;

  auto existing = client_->Get(leases, config_.lease_namespace, config_.lease_name);
  if (!existing.ok()) {
    if (!k8s::IsNotFound(existing.status())) return existing.status();
    k8s::Json lease = {
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
        {"spec",
         {{"holderIdentity", config_.identity},
          {"leaseDurationSeconds", duration_seconds},
          {"acquireTime", now_text},
          {"renewTime", now_text},
          {"leaseTransitions", 0}}}};
    auto created = client_->Create(leases, lease);
    if (!created.ok()) {
      if (k8s::IsAlreadyExists(created.status()) || k8s::IsConflict(created.status())) return false;
      return created.status();
    }
    observed_holder_ = config_.identity;
    observed_renew_time_ = now_text;
    observed_at_ = now;
    return true;
  }

  k8s::Json lease = std::move(existing).value();
  k8s::Json spec = lease.value("spec", k8s::Json::object());
  std::string holder = spec.value("holderIdentity", "");
  std::string renew_time = spec.value("renewTime", "");
  std::string rv = lease["metadata"].value("resourceVersion", "");
  int64_t held_seconds = spec.value("leaseDurationSeconds", duration_seconds);
  if (holder != observed_holder_ || renew_time != observed_renew_time_ ||
      rv != observed_resource_version_ || observed_at_ == 0) {
    observed_holder_ = holder;
    observed_renew_time_ = renew_time;
    observed_resource_version_ = rv;
    observed_at_ = now;
  }
  if (holder != last_reported_leader_ && !holder.empty()) {
    last_reported_leader_ = holder;
    if (config_.on_new_leader) config_.on_new_leader(holder);
  }
  bool held_by_other = !holder.empty() && holder != config_.identity;
  if (held_by_other && observed_at_ + held_seconds * kMicrosPerSecond > now) {
    return false;  // someone else holds an unexpired lease
  }

  int64_t transitions = spec.value("leaseTransitions", 0);
  if (holder != config_.identity) {
    spec["acquireTime"] = now_text;
    spec["leaseTransitions"] = transitions + 1;
  }
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] = duration_seconds;
  spec["renewTime"] = now_text;
  if (!spec.contains("acquireTime")) spec["acquireTime"] = now_text;
  lease["spec"] = spec;
  auto updated = client_->Update(leases, lease);  // carries resourceVersion: CAS
  if (!updated.ok()) {
    if (k8s::IsConflict(updated.status())) return false;
    return updated.status();
  }
  observed_holder_ = config_.identity;
  observed_renew_time_ = now_text;
  observed_resource_version_ =
      updated->value("metadata", k8s::Json::object()).value("resourceVersion", "");
  observed_at_ = now;
  return true;
}

Status LeaderElector::Release() {
  const auto& leases = k8s::resources::Leases();
  FF_ASSIGN_OR_RETURN(k8s::Json lease,
                      client_->Get(leases, config_.lease_namespace, config_.lease_name));
  if (lease.value("spec", k8s::Json::object()).value("holderIdentity", "") != config_.identity) {
    return Status::OK();
  }
  std::string now_text = FormatMicroTime(clock_.Now());
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["renewTime"] = now_text;
  return client_->Update(leases, lease).status();
}

void LeaderElector::SetLeading(bool leading) {
  if (leading_.load() == leading) return;
  if (leading) {
    spdlog::info("leader election: {} became leader of lease {}/{}", config_.identity,
                 config_.lease_namespace, config_.lease_name);
    leading_ = true;
    if (config_.on_started_leading) config_.on_started_leading();
  } else {
    spdlog::warn("leader election: {} stopped leading lease {}/{}", config_.identity,
                 config_.lease_namespace, config_.lease_name);
    // Callers that see IsLeader() == false can rely on reconciling having stopped.
    if (config_.on_stopped_leading) config_.on_stopped_leading();
    leading_ = false;
  }
}

void LeaderElector::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LeaderElector::SleepFor(DurationMicros d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::microseconds(d), [this] { return stop_.load(); });
  return !stop_.load();
}

void LeaderElector::Run() {
  while (!stop_) {
    // Campaign: retry every retry period (with jitter) until acquired.
    auto acquired = TryAcquireOrRenew();
    if (!acquired.ok()) {
      spdlog::warn("leader election: cannot read/acquire lease {}/{}: {}", config_.lease_namespace,
                   config_.lease_name, acquired.status().ToString());
    }
    if (!acquired.ok() || !*acquired) {
      DurationMicros jitter = RandomBetween(0, config_.retry_period / 5);
      if (!SleepFor(config_.retry_period + jitter)) break;
      continue;
    }
    last_renew_ = clock_.Now();
    SetLeading(true);
    // Lead: renew every retry period; give up when no renewal succeeded within the deadline.
    while (!stop_) {
      if (!SleepFor(config_.retry_period)) break;
      auto renewed = TryAcquireOrRenew();
      if (renewed.ok() && *renewed) {
        last_renew_ = clock_.Now();
        continue;
      }
      if (!renewed.ok()) {
        spdlog::warn("leader election: renew failed: {}", renewed.status().ToString());
      }
      if (renewed.ok() || clock_.Now() - last_renew_.load() >= config_.renew_deadline) {
        // Lost to someone else, or could not renew in time: stop reconciling now.
        SetLeading(false);
        break;
      }
    }
  }
  if (leading_.load()) {
    Status released = Release();
    if (!released.ok()) {
      spdlog::warn("leader election: could not release lease: {}", released.ToString());
    }
    SetLeading(false);
  }
}

}  // namespace featureforge::runtime
