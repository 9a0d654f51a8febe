// ff-bench-reconcile: reconcile throughput of a no-op controller through the cluster harness.
//
// For each N it runs two phases, each on a fresh ff-apiserver (temp dir, free port, a small CRD
// applied, namespace "bench"):
//   1. limit: the same k8s::Client creates N custom resources from T threads, no controller —
//      the raw create rate of this client against this server;
//   2. controller: an in-process runtime::Manager (no leader election) runs a no-op reconciler
//      that records the first reconcile time of each key, while the same client creates the N
//      objects the same way. Figures: end-to-end objects/s (first create sent -> last first
//      reconcile), create -> first reconcile latency p50/p99, watch restarts and relists.
// Then, on the controller's server, the manager is stopped and a fresh informer lists the N
// objects: heap in use (mallinfo2, after malloc_trim) and RSS before/after its sync, divided by
// N, beside the serialized JSON size of the cached objects.
#include <malloc.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "apiserver_process.h"
#include "featureforge/k8s/client.h"
#include "featureforge/runtime/informer.h"
#include "featureforge/runtime/manager.h"

namespace featureforge::bench {
namespace {

using k8s::Json;
using runtime::ObjectKey;

constexpr char kApiVersion[] = "bench.featureforge.dev/v1";
constexpr char kKind[] = "Gadget";
constexpr char kNamespace[] = "bench";

struct Options {
  std::vector<int> sizes = {1000, 10000};
  int create_threads = 4;
  int workers = 2;
  int repeat = 1;
  int timeout_seconds = 900;
  bool plain_http = false;
  std::string apiserver;
};

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// Heap bytes in use across all malloc arenas, and RSS, after returning free pages to the OS.
struct MemoryUsage {
  int64_t heap_bytes = 0;
  int64_t rss_bytes = 0;
};
MemoryUsage MeasureMemory() {
  malloc_trim(0);
  struct mallinfo2 info = mallinfo2();
  MemoryUsage usage;
  usage.heap_bytes = static_cast<int64_t>(info.uordblks + info.hblkhd);
  auto process = ReadProcessUsage(getpid());
  if (process.ok()) usage.rss_bytes = process->rss_bytes;
  return usage;
}

// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

Json GadgetCrd() {
  return Json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.bench.featureforge.dev"},
    "spec": {"group": "bench.featureforge.dev", "scope": "Namespaced",
      "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget",
                "listKind": "GadgetList"},
      "versions": [{"name": "v1", "served": true, "storage": true,
        "subresources": {"status": {}},
        "additionalPrinterColumns": [
          {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
          {"name": "Phase", "type": "string", "jsonPath": ".status.phase"}],
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
          "spec": {"type": "object", "required": ["size", "mode"], "properties": {
            "size": {"type": "integer", "minimum": 0, "maximum": 1000},
            "mode": {"type": "string", "enum": ["fast", "slow"]},
            "owner": {"type": "string", "maxLength": 63}}},
          "status": {"type": "object", "properties": {
            "phase": {"type": "string"}}}}}}}]}})");
}

std::string GadgetName(int index) {
  char name[32];
  std::snprintf(name, sizeof(name), "g-%06d", index);
  return name;
}

// The index encoded in a key's name ("bench/g-000123" -> 123), or -1 for other objects.
int IndexOfKey(const ObjectKey& key) {
  if (key.ns != kNamespace || key.name.size() != 8 || key.name.compare(0, 2, "g-") != 0) return -1;
  int index = 0;
  for (size_t i = 2; i < key.name.size(); ++i) {
    char c = key.name[i];
    if (c < '0' || c > '9') return -1;
    index = index * 10 + (c - '0');
  }
  return index;
}

Json Gadget(int index) {
  return {{"apiVersion", kApiVersion},
          {"kind", kKind},
          {"metadata",
           {{"name", GadgetName(index)},
            {"namespace", kNamespace},
            {"labels", {{"app", "bench"}, {"shard", std::to_string(index % 16)}}}}},
          {"spec",
           {{"size", index % 1000},
            {"mode", index % 2 ? "fast" : "slow"},
            {"owner", "team-" + std::to_string(index % 7)}}}};
}

// A fresh API server with the Gadget CRD served and the namespace created.
struct Cluster {
  std::unique_ptr<ApiServerProcess> server;
  std::shared_ptr<k8s::Client> client;
  k8s::ResourceType type;
};

Result<Cluster> StartCluster(const Options& options) {
  Cluster cluster;
  std::vector<std::string> args;
  if (options.plain_http) args.push_back("--plain-http");
  cluster.server = std::make_unique<ApiServerProcess>(options.apiserver, args);
  FF_RETURN_IF_ERROR(cluster.server->Start());
  FF_ASSIGN_OR_RETURN(k8s::RestConfig config, cluster.server->Config());
  FF_ASSIGN_OR_RETURN(cluster.client, k8s::Client::Create(config));
  k8s::Client& client = *cluster.client;
  FF_RETURN_IF_ERROR(client.Create(k8s::resources::CustomResourceDefinitions(), GadgetCrd())
                         .status()
                         .WithContext("applying CRD gadgets.bench.featureforge.dev"));
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", kNamespace}}}};
  auto created_ns = client.Create(k8s::resources::Namespaces(), ns);
  if (!created_ns.ok() && !k8s::IsAlreadyExists(created_ns.status())) {
    return created_ns.status().WithContext("creating namespace bench");
  }
  Result<k8s::ResourceType> type = Status::NotFound("not yet served");
  for (int attempt = 0; attempt < 200 && !type.ok(); ++attempt) {
    type = client.Resolve(kApiVersion, kKind);
    if (!type.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!type.ok()) return type.status().WithContext("waiting for the Gadget CRD to be served");
  cluster.type = *type;
  return cluster;
}

// Per-object send and completion times of N creates spread over T threads.
struct CreateRun {
  std::vector<int64_t> sent_ns;
  std::vector<int64_t> done_ns;  // 0 when the create failed
  std::atomic<int> failures{0};
  std::mutex error_mu;
  std::string first_error;

  explicit CreateRun(int n) : sent_ns(n, 0), done_ns(n, 0) {}
  int64_t FirstSent() const { return *std::min_element(sent_ns.begin(), sent_ns.end()); }
  int64_t LastDone() const { return *std::max_element(done_ns.begin(), done_ns.end()); }
  std::vector<double> LatenciesMs() const {
    std::vector<double> ms;
    for (size_t i = 0; i < sent_ns.size(); ++i) {
      if (done_ns[i] != 0) ms.push_back(static_cast<double>(done_ns[i] - sent_ns[i]) / 1e6);
    }
    std::sort(ms.begin(), ms.end());
    return ms;
  }
};

void CreateAll(k8s::Client& client, const k8s::ResourceType& type, int threads, CreateRun* run) {
  const int n = static_cast<int>(run->sent_ns.size());
  std::atomic<int> next{0};
  std::vector<std::thread> creators;
  for (int t = 0; t < threads; ++t) {
    creators.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        Json object = Gadget(i);
        run->sent_ns[i] = NowNanos();
        auto created = client.Create(type, object);
        if (created.ok()) {
          run->done_ns[i] = NowNanos();
          continue;
        }
        ++run->failures;
        std::lock_guard<std::mutex> lock(run->error_mu);
        if (run->first_error.empty()) run->first_error = created.status().ToString();
      }
    });
  }
  for (auto& t : creators) t.join();
}

// The no-op reconciler: records when each key was first reconciled.
class FirstReconcileRecorder : public runtime::Reconciler {
 public:
  explicit FirstReconcileRecorder(int n) : first_ns_(n) {}

  Result<runtime::ReconcileResult> Reconcile(const ObjectKey& key) override {
    int64_t now = NowNanos();
    ++reconciles_;
    int index = IndexOfKey(key);
    if (index < 0 || index >= static_cast<int>(first_ns_.size())) return runtime::ReconcileResult{};
    int64_t unset = 0;
    if (first_ns_[index].compare_exchange_strong(unset, now)) ++distinct_;
    return runtime::ReconcileResult{};
  }

  int distinct() const { return distinct_.load(); }
  uint64_t reconciles() const { return reconciles_.load(); }
  int64_t FirstReconcile(int index) const { return first_ns_[index].load(); }

 private:
  std::vector<std::atomic<int64_t>> first_ns_;
  std::atomic<int> distinct_{0};
  std::atomic<uint64_t> reconciles_{0};
};

struct PhaseCpu {
  double server_seconds = 0;
  double bench_seconds = 0;  // this process: creating client (+ informer, queue, workers)
};

class CpuMeter {
 public:
  explicit CpuMeter(const ApiServerProcess& server) : server_(server) {
    auto usage = server_.Usage();
    server_start_ = usage.ok() ? usage->cpu_seconds : 0;
    bench_start_ = SelfCpuSeconds();
  }
  PhaseCpu Elapsed() const {
    auto usage = server_.Usage();
    return {usage.ok() ? usage->cpu_seconds - server_start_ : 0, SelfCpuSeconds() - bench_start_};
  }

 private:
  const ApiServerProcess& server_;
  double server_start_ = 0;
  double bench_start_ = 0;
};

double PerObjectMs(double seconds, int n) { return seconds * 1e3 / n; }

struct RawFigures {
  double rate = 0;  // objects/s, 0 on failure
  double cpu_ms_per_object = 0;
};

// Phase 1: the raw create rate, no controller.
RawFigures RunRawCreates(const Options& options, int n) {
  auto cluster = StartCluster(options);
  if (!cluster.ok()) {
    std::fprintf(stderr, "error: %s\n", cluster.status().ToString().c_str());
    return {};
  }
  auto server_before = cluster->server->Usage();
  CpuMeter cpu(*cluster->server);
  CreateRun run(n);
  CreateAll(*cluster->client, cluster->type, options.create_threads, &run);
  PhaseCpu used = cpu.Elapsed();
  auto server_after = cluster->server->Usage();
  double seconds = static_cast<double>(run.LastDone() - run.FirstSent()) / 1e9;
  double rate = (n - run.failures) / seconds;
  auto latencies = run.LatenciesMs();
  std::printf(
      "  limit  raw create, no controller : %8.0f obj/s  (%.2f s; create p50 %.2f ms, p99 "
      "%.2f ms; failures %d)\n",
      rate, seconds, Percentile(latencies, 50), Percentile(latencies, 99), run.failures.load());
  std::printf(
      "         CPU per object            : server %.3f ms, client %.3f ms  (%.2f cores "
      "busy of 2)\n",
      PerObjectMs(used.server_seconds, n), PerObjectMs(used.bench_seconds, n),
      (used.server_seconds + used.bench_seconds) / seconds);
  if (server_before.ok() && server_after.ok()) {
    std::printf(
        "         server RSS growth         : %.2f KiB/object stored\n",
        static_cast<double>(server_after->rss_bytes - server_before->rss_bytes) / 1024.0 / n);
  }
  if (!run.first_error.empty()) std::printf("         first error: %s\n", run.first_error.c_str());
  std::fflush(stdout);
  if (run.failures != 0) return {};
  return {rate, PerObjectMs(used.server_seconds + used.bench_seconds, n)};
}

// Heap/RSS cost of a freshly synced informer over the N objects, beside their JSON size.
double MeasureInformerMemory(const Cluster& cluster) {
  MemoryUsage before = MeasureMemory();
  auto informer = std::make_unique<runtime::Informer>(
      runtime::MakeClientListWatcher(cluster.client, cluster.type, kNamespace));
  informer->Start();
  bool synced = informer->WaitForSync(300 * kMicrosPerSecond);
  // Let the watch connect, so its buffers count as part of a running informer.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  MemoryUsage after = MeasureMemory();
  size_t cached = informer->store().size();
  std::vector<std::string> serialized;
  uint64_t json_bytes = 0;
  for (const auto& object : informer->store().List()) {
    serialized.push_back(object->dump());
    json_bytes += serialized.back().size();
  }
  informer->Stop();
  // The same objects as bare nlohmann::json trees (no Store, indexes or shared_ptr): how much
  // of the cache cost is the JSON representation itself.
  MemoryUsage before_trees = MeasureMemory();
  std::vector<Json> trees;
  trees.reserve(serialized.size());
  for (const auto& text : serialized) trees.push_back(Json::parse(text));
  MemoryUsage after_trees = MeasureMemory();
  double tree_per_object = static_cast<double>(after_trees.heap_bytes - before_trees.heap_bytes) /
                           static_cast<double>(std::max<size_t>(trees.size(), 1));
  if (!synced || cached == 0) {
    std::printf("  memory informer did not sync (%zu cached): %s\n", cached,
                informer->last_error().c_str());
    return 0;
  }
  double heap_per_object = static_cast<double>(after.heap_bytes - before.heap_bytes) / cached;
  double json_per_object = static_cast<double>(json_bytes) / cached;
  std::printf(
      "  memory informer cache (fresh sync)  : heap %.2f KiB/object, RSS %.2f KiB/object; "
      "serialized JSON %.2f KiB/object (heap = %.1fx JSON; %zu objects)\n",
      heap_per_object / 1024.0,
      static_cast<double>(after.rss_bytes - before.rss_bytes) / 1024.0 / cached,
      json_per_object / 1024.0, heap_per_object / json_per_object, cached);
  std::printf(
      "         of which nlohmann::json tree: %.2f KiB/object (the rest: Store map, "
      "namespace/uid indexes, shared_ptr)\n",
      tree_per_object / 1024.0);
  return heap_per_object / 1024.0;
}

// The figures of one controller run that the summary reports (medians over --repeat).
struct ControllerFigures {
  double end_to_end_rate = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double cpu_ms_per_object = 0;  // server + bench process
  double cache_kib_per_object = 0;
  uint64_t watch_restarts = 0;
  bool ok = false;  // every created object reconciled, no create failed
};

// Phase 2: the controller path. Prints figures relative to `raw_rate`.
ControllerFigures RunController(const Options& options, int n, double raw_rate) {
  ControllerFigures figures;
  auto cluster = StartCluster(options);
  if (!cluster.ok()) {
    std::fprintf(stderr, "error: %s\n", cluster.status().ToString().c_str());
    return figures;
  }
  runtime::ManagerOptions manager_options;
  manager_options.watch_namespace = kNamespace;
  manager_options.metrics_bind_address = "";
  manager_options.leader_election = false;
  manager_options.handle_signals = false;
  auto manager = runtime::Manager::Create(cluster->client, manager_options);
  if (!manager.ok()) {
    std::fprintf(stderr, "error: %s\n", manager.status().ToString().c_str());
    return figures;
  }
  auto recorder = std::make_shared<FirstReconcileRecorder>(n);
  runtime::ControllerOptions controller;
  controller.name = "gadget";
  controller.primary = cluster->type;
  controller.reconciler = recorder;
  controller.workers = options.workers;
  Status added = (*manager)->AddController(controller);
  if (!added.ok()) {
    std::fprintf(stderr, "error: %s\n", added.ToString().c_str());
    return figures;
  }
  runtime::Informer* informer = (*manager)->GetInformer(cluster->type);
  MemoryUsage before = MeasureMemory();
  Status started = (*manager)->Start();
  if (!started.ok()) {
    std::fprintf(stderr, "error: %s\n", started.ToString().c_str());
    return figures;
  }
  informer->WaitForSync(60 * kMicrosPerSecond);

  CpuMeter cpu(*cluster->server);
  CreateRun run(n);
  CreateAll(*cluster->client, cluster->type, options.create_threads, &run);
  const int expected = n - run.failures;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
  auto next_report = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (recorder->distinct() < expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (std::chrono::steady_clock::now() >= next_report) {
      next_report += std::chrono::seconds(30);
      std::fprintf(stderr, "  ... %d of %d reconciled\n", recorder->distinct(), expected);
    }
  }
  PhaseCpu used = cpu.Elapsed();
  MemoryUsage after = MeasureMemory();

  std::vector<double> to_reconcile_ms;
  int64_t last_reconcile = 0;
  for (int i = 0; i < n; ++i) {
    int64_t reconciled = recorder->FirstReconcile(i);
    if (reconciled == 0 || run.done_ns[i] == 0) continue;
    last_reconcile = std::max(last_reconcile, reconciled);
    to_reconcile_ms.push_back(static_cast<double>(reconciled - run.sent_ns[i]) / 1e6);
  }
  std::sort(to_reconcile_ms.begin(), to_reconcile_ms.end());
  double create_seconds = static_cast<double>(run.LastDone() - run.FirstSent()) / 1e9;
  double end_to_end_seconds = static_cast<double>(last_reconcile - run.FirstSent()) / 1e9;
  double rate = static_cast<double>(to_reconcile_ms.size()) / end_to_end_seconds;
  auto create_latencies = run.LatenciesMs();

  std::printf(
      "  ctrl   creates while reconciling  : %8.0f obj/s  (%.2f s; create p50 %.2f ms, "
      "p99 %.2f ms; failures %d)\n",
      expected / create_seconds, create_seconds, Percentile(create_latencies, 50),
      Percentile(create_latencies, 99), run.failures.load());
  std::printf(
      "  ctrl   create -> first reconcile  : %8.0f obj/s  end to end (%.2f s), %.2f of "
      "the raw create rate\n",
      rate, end_to_end_seconds, raw_rate > 0 ? rate / raw_rate : 0.0);
  std::printf(
      "         create -> first reconcile  : p50 %.2f ms, p99 %.2f ms, max %.2f ms  "
      "(%zu of %d reconciled)\n",
      Percentile(to_reconcile_ms, 50), Percentile(to_reconcile_ms, 99),
      to_reconcile_ms.empty() ? 0.0 : to_reconcile_ms.back(), to_reconcile_ms.size(), n);
  std::printf(
      "         reconciles %llu, watch restarts %llu, relists %llu (1 = initial list), "
      "watch errors %llu, list errors %llu\n",
      static_cast<unsigned long long>(recorder->reconciles()),
      static_cast<unsigned long long>(informer->watch_restarts()),
      static_cast<unsigned long long>(informer->relists()),
      static_cast<unsigned long long>(informer->watch_errors()),
      static_cast<unsigned long long>(informer->list_errors()));
  std::printf(
      "         CPU per object            : server %.3f ms, bench process %.3f ms "
      "(client + informer + workers)  (%.2f cores busy of 2)\n",
      PerObjectMs(used.server_seconds, n), PerObjectMs(used.bench_seconds, n),
      (used.server_seconds + used.bench_seconds) / end_to_end_seconds);
  std::printf(
      "         bench process growth       : heap %.2f KiB/object, RSS %.2f KiB/object "
      "(manager start -> all reconciled)\n",
      static_cast<double>(after.heap_bytes - before.heap_bytes) / 1024.0 / n,
      static_cast<double>(after.rss_bytes - before.rss_bytes) / 1024.0 / n);
  if (!run.first_error.empty()) std::printf("         first error: %s\n", run.first_error.c_str());
  std::fflush(stdout);

  (*manager)->Stop();
  manager->reset();
  figures.ok = run.failures == 0 && static_cast<int>(to_reconcile_ms.size()) == n;
  figures.end_to_end_rate = rate;
  figures.p50_ms = Percentile(to_reconcile_ms, 50);
  figures.p99_ms = Percentile(to_reconcile_ms, 99);
  figures.cpu_ms_per_object = PerObjectMs(used.server_seconds + used.bench_seconds, n);
  figures.watch_restarts = informer->watch_restarts();
  figures.cache_kib_per_object = MeasureInformerMemory(*cluster);
  std::fflush(stdout);
  return figures;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string DefaultApiServerPath() {
  if (const char* env = std::getenv("FF_APISERVER"); env != nullptr && *env) return env;
#ifdef FF_APISERVER_PATH
  return FF_APISERVER_PATH;
#else
  return "";
#endif
}

}  // namespace
}  // namespace featureforge::bench

int main(int argc, char** argv) {
  using namespace featureforge::bench;
  Options options;
  options.apiserver = DefaultApiServerPath();
  bool verbose = false;
  CLI::App app{"Reconcile throughput of a no-op controller through the harness API server"};
  app.add_option("-n,--objects", options.sizes, "object counts to run, e.g. -n 1000 10000")
      ->delimiter(',');
  app.add_option("--create-threads", options.create_threads, "threads creating objects");
  app.add_option("--workers", options.workers, "reconcile workers of the controller");
  app.add_option("--repeat", options.repeat, "runs per object count");
  app.add_option("--timeout", options.timeout_seconds, "seconds to wait for all reconciles");
  app.add_flag("--plain-http", options.plain_http, "run the API server without TLS");
  app.add_option("--apiserver", options.apiserver,
                 "ff-apiserver binary (default: $FF_APISERVER, else the build tree's)");
  app.add_flag("-v,--verbose", verbose, "runtime logs at info level");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(verbose ? spdlog::level::info : spdlog::level::warn);

  std::printf("ff-bench-reconcile: %d create threads, %d reconcile workers, %s, %u cpus\n",
              options.create_threads, options.workers, options.plain_http ? "plain HTTP" : "TLS",
              std::thread::hardware_concurrency());
  std::vector<std::string> summary;
  bool all_ok = true;
  for (int n : options.sizes) {
    std::vector<double> raw_rates, raw_cpu, rates, ratios, p50s, p99s, cpu, cache;
    uint64_t restarts = 0;
    for (int r = 0; r < options.repeat; ++r) {
      std::printf("== N = %d (run %d of %d) ==\n", n, r + 1, options.repeat);
      std::fflush(stdout);
      RawFigures raw = RunRawCreates(options, n);
      ControllerFigures ctrl = RunController(options, n, raw.rate);
      raw_rates.push_back(raw.rate);
      raw_cpu.push_back(raw.cpu_ms_per_object);
      rates.push_back(ctrl.end_to_end_rate);
      if (raw.rate > 0) ratios.push_back(ctrl.end_to_end_rate / raw.rate);
      p50s.push_back(ctrl.p50_ms);
      p99s.push_back(ctrl.p99_ms);
      cpu.push_back(ctrl.cpu_ms_per_object);
      cache.push_back(ctrl.cache_kib_per_object);
      restarts += ctrl.watch_restarts;
      if (raw.rate <= 0 || !ctrl.ok) {
        all_ok = false;
        std::printf("  FAILED: this run did not create and reconcile all %d objects\n", n);
      }
    }
    char line[512];
    std::snprintf(line, sizeof(line),
                  "| %d | %d | %.0f | %.0f | %.2f | %.1f | %.1f | %.3f | %.3f | %.2f | %llu |", n,
                  options.repeat, Median(raw_rates), Median(rates), Median(ratios), Median(p50s),
                  Median(p99s), Median(raw_cpu), Median(cpu), Median(cache),
                  static_cast<unsigned long long>(restarts));
    summary.push_back(line);
  }
  std::printf("\nsummary (medians over runs; CPU = server + bench process per object)\n");
  std::printf(
      "| N | runs | raw create obj/s | create->first reconcile obj/s | ratio | p50 ms | "
      "p99 ms | raw CPU ms/obj | ctrl CPU ms/obj | cache KiB/obj | watch restarts |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& line : summary) std::printf("%s\n", line.c_str());
  if (!all_ok) std::printf("some runs FAILED (see above); their figures are not valid\n");
  return all_ok ? 0 : 1;
}
