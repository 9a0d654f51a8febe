// The controller manager against the harness API server: reconciling primary and owned kinds,
// errors retried with backoff, aggregated Events, /metrics /healthz /readyz, leader election
// in-process (losing the Lease stops reconciling) and across processes (only the leader
// reconciles; a standby takes over after the leader is killed; SIGTERM releases the Lease).
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <set>

#include "featureforge/runtime/manager.h"
#include "featureforge/runtime/retry.h"
#include "harness_process.h"
#include "integration_util.h"

namespace featureforge::runtime {
namespace {

using k8s::testing::HarnessProcess;
using ::testing::HasSubstr;
using namespace runtime::testing;

std::string HttpGet(int port, const std::string& path, long* status) {
  std::string body;
  CURL* curl = curl_easy_init();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* out) {
        static_cast<std::string*>(out)->append(d, s * n);
        return s * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  *status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup(curl);
  return body;
}

// Value of the first sample line starting with `series` ("name{labels}"), or -1.
double Sample(const std::string& text, const std::string& series) {
  size_t pos = text.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + series.size() + 2));
}

// Owns a Secret "<name>-child" per ConfigMap, fails "fail" twice, records an Event per
// reconcile.
class ParentReconciler : public Reconciler {
 public:
  explicit ParentReconciler(Manager* manager) : manager_(manager) {}

  Result<ReconcileResult> Reconcile(const ObjectKey& key) override {
    int attempt;
    {
      std::lock_guard<std::mutex> lock(mu_);
      attempt = ++counts_[key.ToString()];
    }
    if (key.name == "fail" && attempt <= 2) {
      return Status::Unavailable("simulated failure " + std::to_string(attempt));
    }
    ObjectPtr parent = manager_->GetInformer(k8s::resources::ConfigMaps())->store().Get(key);
    if (parent == nullptr) return ReconcileResult{};
    const auto& secrets = k8s::resources::Secrets();
    std::string child = key.name + "-child";
    if (manager_->GetInformer(secrets)->store().Get({key.ns, child}) == nullptr) {
      k8s::Json secret = {{"apiVersion", "v1"},
                          {"kind", "Secret"},
                          {"metadata",
                           {{"name", child},
                            {"namespace", key.ns},
                            {"ownerReferences", k8s::Json::array({{{"apiVersion", "v1"},
                                                                   {"kind", "ConfigMap"},
                                                                   {"name", key.name},
                                                                   {"uid", UidOf(*parent)},
                                                                   {"controller", true}}})}}},
                          {"stringData", {{"owner", key.name}}}};
      auto created = manager_->client().Create(secrets, secret);
      if (!created.ok() && !k8s::IsAlreadyExists(created.status())) return created.status();
    }
    Status recorded = manager_->events().Record(*parent, EventType::kNormal, "Synced",
                                                "child secret " + child + " is in place");
    if (!recorded.ok()) return recorded;
    return ReconcileResult{};
  }

  int Count(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_[key];
  }

 private:
  Manager* manager_;
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

ManagerOptions FastOptions(const std::string& ns, const std::string& identity) {
  ManagerOptions options;
  options.watch_namespace = ns;
  options.metrics_bind_address = "127.0.0.1:0";
  options.identity = identity;
  options.lease_namespace = ns;
  options.lease_name = "ff-test-lease";
  options.lease_duration = 3 * kMicrosPerSecond;
  options.renew_deadline = 2 * kMicrosPerSecond;
  options.retry_period = 500'000;
  options.handle_signals = false;
  options.informer_options.backoff_initial = 50'000;
  options.informer_options.backoff_max = 1'000'000;
  return options;
}

k8s::Json LeaseSpec(k8s::Client& client, const std::string& ns) {
  auto lease = client.Get(k8s::resources::Leases(), ns, "ff-test-lease");
  return lease.ok() ? (*lease)["spec"] : k8s::Json::object();
}

TEST(ManagerIntegrationTest, ReconcilesPrimaryAndOwnedWithEventsAndMetrics) {
  HarnessProcess server;
  ASSERT_TRUE(server.Start().ok());
  auto config = server.Config();
  ASSERT_TRUE(config.ok());
  auto client = *k8s::Client::Create(*config);
  const std::string ns = "mgr";
  ASSERT_TRUE(EnsureNamespace(*client, ns).ok());

  auto manager = Manager::Create(client, FastOptions(ns, "solo"));
  ASSERT_TRUE(manager.ok()) << manager.status().ToString();
  auto reconciler = std::make_shared<ParentReconciler>(manager->get());
  ControllerOptions controller;
  controller.name = "parent";
  controller.primary = k8s::resources::ConfigMaps();
  controller.owned = {k8s::resources::Secrets()};
  controller.reconciler = reconciler;
  controller.workers = 2;
  ASSERT_TRUE((*manager)->AddController(controller).ok());
  ASSERT_TRUE((*manager)->Start().ok());
  int port = (*manager)->metrics_port();
  ASSERT_GT(port, 0);

  const auto& cms = k8s::resources::ConfigMaps();
  ASSERT_TRUE(client->Create(cms, ConfigMap(ns, "p1")).ok());
  ASSERT_TRUE(
      WaitUntil([&] { return client->Get(k8s::resources::Secrets(), ns, "p1-child").ok(); }));
  ASSERT_TRUE(WaitUntil([&] {
    return (*manager)->GetInformer(k8s::resources::Secrets())->store().Get({ns, "p1-child"}) !=
           nullptr;
  }));
  int before = reconciler->Count("mgr/p1");
  EXPECT_GE(before, 1);
  // A change to the owned Secret reconciles its owner.
  ASSERT_TRUE(client
                  ->Patch(k8s::resources::Secrets(), ns, "p1-child", k8s::PatchType::kMerge,
                          {{"metadata", {{"labels", {{"touched", "yes"}}}}}})
                  .ok());
  ASSERT_TRUE(WaitUntil([&] { return reconciler->Count("mgr/p1") > before; }));

  // Errors are retried with per-item backoff until they succeed.
  ASSERT_TRUE(client->Create(cms, ConfigMap(ns, "fail")).ok());
  ASSERT_TRUE(
      WaitUntil([&] { return client->Get(k8s::resources::Secrets(), ns, "fail-child").ok(); }));
  EXPECT_GE(reconciler->Count("mgr/fail"), 3);

  // Repeated identical Events are one Event with a count.
  ASSERT_TRUE(WaitUntil([&] {
    auto events = client->List(k8s::resources::Events(), ns);
    if (!events.ok()) return false;
    int matching = 0;
    int64_t count = 0;
    for (const auto& e : (*events)["items"]) {
      if (e["involvedObject"].value("name", "") == "p1" && e.value("reason", "") == "Synced") {
        ++matching;
        count = e.value("count", 0);
      }
    }
    return matching == 1 && count >= 2;
  }));

  // kubectl sees the same single aggregated Event.
  auto kubectl_events = server.Kubectl("-n " + ns + " get events -o json");
  ASSERT_TRUE(kubectl_events.ok()) << kubectl_events.status().ToString();
  int synced_events = 0;
  k8s::Json kubectl_list = k8s::Json::parse(*kubectl_events);
  for (const auto& e : kubectl_list["items"]) {
    if (e["involvedObject"].value("name", "") == "p1" && e.value("reason", "") == "Synced") {
      ++synced_events;
      EXPECT_GE(e.value("count", 0), 2);
      EXPECT_EQ(e["source"].value("component", ""), "featureforge-operator");
    }
  }
  EXPECT_EQ(synced_events, 1);

  long status = 0;
  std::string metrics = HttpGet(port, "/metrics", &status);
  EXPECT_EQ(status, 200);
  EXPECT_GE(Sample(metrics,
                   "controller_runtime_reconcile_total{controller=\"parent\",result=\"success\"}"),
            2);
  EXPECT_EQ(Sample(metrics, "controller_runtime_reconcile_errors_total{controller=\"parent\"}"), 2);
  EXPECT_GE(
      Sample(metrics, "controller_runtime_reconcile_time_seconds_count{controller=\"parent\"}"), 4);
  EXPECT_GE(Sample(metrics, "workqueue_depth{name=\"parent\"}"), 0);
  EXPECT_GE(Sample(metrics, "workqueue_retries_total{name=\"parent\"}"), 2);
  EXPECT_GE(Sample(metrics, "featureforge_informer_watch_restarts_total{resource=\"configmaps\"}"),
            0);
  EXPECT_EQ(Sample(metrics, "leader_election_master_status{name=\"ff-test-lease\"}"), 1);
  HttpGet(port, "/healthz", &status);
  EXPECT_EQ(status, 200);
  HttpGet(port, "/readyz", &status);
  EXPECT_EQ(status, 200);

  (*manager)->Stop();
  EXPECT_EQ(LeaseSpec(*client, ns).value("holderIdentity", "?"), "");  // released
  int after_stop = reconciler->Count("mgr/p1");
  ASSERT_TRUE(
      client->Patch(cms, ns, "p1", k8s::PatchType::kMerge, {{"data", {{"late", "1"}}}}).ok());
  EXPECT_EQ(reconciler->Count("mgr/p1"), after_stop);
}

TEST(ManagerIntegrationTest, LosingTheLeaseStopsReconcilingUntilReacquired) {
  HarnessProcess server;
  ASSERT_TRUE(server.Start().ok());
  auto client = *k8s::Client::Create(*server.Config());
  const std::string ns = "lease-loss";
  ASSERT_TRUE(EnsureNamespace(*client, ns).ok());
  auto manager = Manager::Create(client, FastOptions(ns, "victim"));
  ASSERT_TRUE(manager.ok());
  auto reconciler = std::make_shared<ParentReconciler>(manager->get());
  ControllerOptions controller{"parent", k8s::resources::ConfigMaps(), {}, reconciler, 1};
  ASSERT_TRUE((*manager)->AddController(controller).ok());
  ASSERT_TRUE((*manager)->Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return (*manager)->IsLeader(); }));

  // Someone else takes the Lease over (as after a long partition).
  const auto& leases = k8s::resources::Leases();
  Status stolen = RetryOnConflict(
      [&]() -> Status {
        FF_ASSIGN_OR_RETURN(k8s::Json lease, client->Get(leases, ns, "ff-test-lease"));
        lease["spec"]["holderIdentity"] = "intruder";
        lease["spec"]["leaseDurationSeconds"] = 3600;
        lease["spec"]["renewTime"] = FormatMicroTime(SystemClock().Now());
        return client->Update(leases, lease).status();
      },
      50);
  ASSERT_TRUE(stolen.ok()) << stolen.ToString();
  ASSERT_TRUE(WaitUntil([&] { return !(*manager)->IsLeader(); }));
  ASSERT_TRUE(
      client->Create(k8s::resources::ConfigMaps(), ConfigMap(ns, "while-not-leading")).ok());
  ASSERT_TRUE(WaitUntil([&] {
    return (*manager)
               ->GetInformer(k8s::resources::ConfigMaps())
               ->store()
               .Get({ns, "while-not-leading"}) != nullptr;
  }));
  EXPECT_EQ(reconciler->Count(ns + "/while-not-leading"), 0);

  // The intruder releases the Lease: the manager leads again and catches up from its cache.
  Status released = RetryOnConflict(
      [&]() -> Status {
        FF_ASSIGN_OR_RETURN(k8s::Json lease, client->Get(leases, ns, "ff-test-lease"));
        lease["spec"]["holderIdentity"] = "";
        lease["spec"]["leaseDurationSeconds"] = 1;
        return client->Update(leases, lease).status();
      },
      50);
  ASSERT_TRUE(released.ok());
  ASSERT_TRUE(WaitUntil([&] { return reconciler->Count(ns + "/while-not-leading") >= 1; }));
  EXPECT_TRUE((*manager)->IsLeader());
  EXPECT_GE(LeaseSpec(*client, ns).value("leaseTransitions", 0), 1);
  (*manager)->Stop();
}

// Blocks inside Reconcile until released, to observe shutdown with a reconcile in flight.
class BlockingReconciler : public Reconciler {
 public:
  Result<ReconcileResult> Reconcile(const ObjectKey&) override {
    std::unique_lock<std::mutex> lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return released_; });
    finished_ = true;
    return ReconcileResult{};
  }
  bool WaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [this] { return entered_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  bool finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
  bool finished_ = false;
};

TEST(ManagerIntegrationTest, StopFinishesInFlightReconcilesThenReleasesTheLease) {
  HarnessProcess server;
  ASSERT_TRUE(server.Start().ok());
  auto client = *k8s::Client::Create(*server.Config());
  const std::string ns = "graceful";
  ASSERT_TRUE(EnsureNamespace(*client, ns).ok());
  auto manager = Manager::Create(client, FastOptions(ns, "graceful-replica"));
  ASSERT_TRUE(manager.ok());
  auto reconciler = std::make_shared<BlockingReconciler>();
  ASSERT_TRUE((*manager)
                  ->AddController({"blocking", k8s::resources::ConfigMaps(), {}, reconciler, 1})
                  .ok());
  ASSERT_TRUE((*manager)->Start().ok());
  ASSERT_TRUE(client->Create(k8s::resources::ConfigMaps(), ConfigMap(ns, "slow")).ok());
  ASSERT_TRUE(reconciler->WaitEntered());

  std::atomic<bool> stop_returned{false};
  std::thread stopper([&] {
    (*manager)->Stop();
    stop_returned = true;
  });
  // Stop() must wait for the reconcile in flight; the Lease is still held meanwhile.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(stop_returned.load());
  EXPECT_EQ(LeaseSpec(*client, ns).value("holderIdentity", ""), "graceful-replica");
  reconciler->Release();
  stopper.join();
  EXPECT_TRUE(reconciler->finished());
  EXPECT_EQ(LeaseSpec(*client, ns).value("holderIdentity", "?"), "");
}

class ManagerProcess {
 public:
  ManagerProcess(const HarnessProcess& server, const std::string& ns, const std::string& identity) {
    std::vector<std::string> args = {FF_TEST_MANAGER_PATH,
                                     "--kubeconfig",
                                     server.kubeconfig_path(),
                                     "--identity",
                                     identity,
                                     "--namespace",
                                     ns,
                                     "--lease-ms",
                                     "3000",
                                     "--renew-ms",
                                     "2000",
                                     "--retry-ms",
                                     "500"};
    std::string log = server.dir() + "/" + identity + ".log";
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = std::freopen(log.c_str(), "a", stdout);
      (void)out;
      dup2(STDOUT_FILENO, STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~ManagerProcess() { Signal(SIGKILL); }
  // Sends a signal and waits for exit; returns the exit status.
  int Signal(int sig) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
};

bool AllSeenBy(k8s::Client& client, const std::string& ns, const std::vector<std::string>& names,
               const std::string& identity) {
  for (const auto& name : names) {
    auto cm = client.Get(k8s::resources::ConfigMaps(), ns, name);
    if (!cm.ok()) return false;
    auto annotations = (*cm)["metadata"].value("annotations", k8s::Json::object());
    if (!annotations.contains("featureforge.dev/seen-by-" + identity)) return false;
  }
  return true;
}

TEST(ManagerIntegrationTest, OnlyTheLeaderReconcilesAndAStandbyTakesOverWhenItIsKilled) {
  HarnessProcess server;
  ASSERT_TRUE(server.Start().ok());
  auto client = *k8s::Client::Create(*server.Config());
  const std::string ns = "two-replicas";
  ASSERT_TRUE(EnsureNamespace(*client, ns).ok());

  ManagerProcess a(server, ns, "replica-a");
  ASSERT_TRUE(
      WaitUntil([&] { return LeaseSpec(*client, ns).value("holderIdentity", "") == "replica-a"; }));
  ManagerProcess b(server, ns, "replica-b");
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    names.push_back("obj" + std::to_string(i));
    ASSERT_TRUE(client->Create(k8s::resources::ConfigMaps(), ConfigMap(ns, names.back())).ok());
  }
  ASSERT_TRUE(WaitUntil([&] { return AllSeenBy(*client, ns, names, "replica-a"); }));
  for (const auto& name : names) {
    auto cm = client->Get(k8s::resources::ConfigMaps(), ns, name);
    ASSERT_TRUE(cm.ok());
    EXPECT_FALSE((*cm)["metadata"]["annotations"].contains("featureforge.dev/seen-by-replica-b"))
        << name << " was reconciled by the standby";
  }
  EXPECT_EQ(LeaseSpec(*client, ns).value("holderIdentity", ""), "replica-a");
  auto holder =
      server.Kubectl("-n " + ns + " get lease ff-test-lease -o jsonpath={.spec.holderIdentity}");
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();
  EXPECT_EQ(*holder, "replica-a");

  // Kill the leader without any chance to release: the standby waits out the lease.
  a.Signal(SIGKILL);
  auto killed_at = std::chrono::steady_clock::now();
  names.push_back("after-failover");
  ASSERT_TRUE(client->Create(k8s::resources::ConfigMaps(), ConfigMap(ns, names.back())).ok());
  ASSERT_TRUE(WaitUntil(
      [&] { return LeaseSpec(*client, ns).value("holderIdentity", "") == "replica-b"; }));
  // Reported, not asserted (timings on a shared machine are noisy): expected about the lease
  // duration (3 s) plus one retry period.
  std::cout << "standby took over "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - killed_at)
                   .count()
            << " ms after the leader was killed (lease 3000 ms, retry 500 ms)" << std::endl;
  ASSERT_TRUE(WaitUntil([&] { return AllSeenBy(*client, ns, names, "replica-b"); }));
  k8s::Json spec = LeaseSpec(*client, ns);
  EXPECT_EQ(spec.value("holderIdentity", ""), "replica-b");
  EXPECT_GE(spec.value("leaseTransitions", 0), 1);

  // SIGTERM: graceful shutdown, exit 0, Lease released for the next replica.
  int status = b.Signal(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(LeaseSpec(*client, ns).value("holderIdentity", "?"), "");
}

}  // namespace
}  // namespace featureforge::runtime
