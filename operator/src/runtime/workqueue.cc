#include "featureforge/runtime/workqueue.h"

#include <algorithm>
#include <chrono>

namespace featureforge::runtime {
namespace {
// Blocking Get() re-checks the clock at least this often (a Clock has no wakeups of its own).
constexpr DurationMicros kMaxWaitSlice = 200'000;
}  // namespace

WorkQueue::WorkQueue(std::unique_ptr<RateLimiter> limiter, const Clock& clock)
    : limiter_(std::move(limiter)), clock_(clock) {}

WorkQueue::~WorkQueue() { ShutDown(); }

void WorkQueue::AddLocked(const std::string& key) {
  if (shutting_down_) return;
  if (dirty_.count(key) != 0) return;
  ++adds_total_;
  dirty_.insert(key);
  if (processing_.count(key) != 0) return;  // re-queued by Done()
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::Add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  AddLocked(key);
}

void WorkQueue::AddAfter(const std::string& key, DurationMicros delay) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  if (delay <= 0) {
    AddLocked(key);
    return;
  }
  TimestampMicros ready = clock_.Now() + delay;
  auto it = waiting_by_key_.find(key);
  if (it != waiting_by_key_.end()) {
    if (it->second <= ready) return;
    waiting_.erase({it->second, key});
    it->second = ready;
  } else {
    waiting_by_key_.emplace(key, ready);
  }
  waiting_.emplace(ready, key);
  cv_.notify_all();  // a sleeping Get() may need to wake earlier
}

void WorkQueue::AddRateLimited(const std::string& key) {
  ++retries_total_;
  AddAfter(key, limiter_->When(key));
}

void WorkQueue::Forget(const std::string& key) { limiter_->Forget(key); }

int WorkQueue::NumRequeues(const std::string& key) { return limiter_->NumRequeues(key); }

void WorkQueue::PromoteDueLocked() {
  TimestampMicros now = clock_.Now();
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    std::string key = waiting_.begin()->second;
    waiting_.erase(waiting_.begin());
    waiting_by_key_.erase(key);
    AddLocked(key);
  }
}

std::optional<std::string> WorkQueue::PopLocked() {
  if (queue_.empty()) return std::nullopt;
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  processing_.insert(key);
  dirty_.erase(key);
  return key;
}

std::optional<std::string> WorkQueue::Get() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (shutting_down_) return std::nullopt;
    PromoteDueLocked();
    if (auto key = PopLocked()) return key;
    DurationMicros wait = kMaxWaitSlice;
    if (!waiting_.empty()) {
      wait = std::clamp<DurationMicros>(waiting_.begin()->first - clock_.Now(), 0, kMaxWaitSlice);
    }
    cv_.wait_for(lock, std::chrono::microseconds(wait));
  }
}

std::optional<std::string> WorkQueue::TryGet() {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return std::nullopt;
  PromoteDueLocked();
  return PopLocked();
}

void WorkQueue::Done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  processing_.erase(key);
  if (dirty_.count(key) != 0 && !shutting_down_) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

void WorkQueue::ShutDown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
  }
  cv_.notify_all();
}

bool WorkQueue::ShuttingDown() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

size_t WorkQueue::Len() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

size_t WorkQueue::WaitingLen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size();
}

size_t WorkQueue::ProcessingLen() const {
  std::lock_guard<std::mutex> lock(mu_);
  return processing_.size();
}

}  // namespace featureforge::runtime
