// ff-bench-mj: MaterializationJob orchestration throughput through the cluster harness with the
// real operator and real executor processes.
//
// Starts a fresh ff-apiserver, an ff-kubelet (executor pods run the built `featureforge` as local
// processes), the featureforge-operator binary, applies the CRDs and a FeatureStore over a tiny
// generated repo, then creates N one-partition MaterializationJobs, keeping at most
// --concurrency of them unfinished at once (N real executor processes at once would not fit in
// two cores' memory). Figures: wall time from the first create to the last Complete (jobs/min),
// create -> Complete latency, status lag (the bench's informer sees the executor pod
// Succeeded -> sees the job's Complete=True condition), operator CPU and peak RSS (VmHWM), and
// the CPU of the API server, the kubelet and the executors (the kubelet's reaped children).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "apiserver_process.h"
#include "featureforge/common/time.h"
#include "featureforge/k8s/client.h"
#include "featureforge/runtime/informer.h"

namespace featureforge::bench {
namespace {

namespace fs = std::filesystem;
using k8s::Json;

struct Options {
  int jobs = 1000;
  int concurrency = 16;
  int operator_workers = 4;
  int timeout_seconds = 3600;
  int drivers = 5;
  std::string build_dir = FF_BENCH_BUILD_DIR;
  std::string source_dir = FF_BENCH_SOURCE_DIR;
  bool keep = false;
};

const k8s::ResourceType& Jobs() {
  static const k8s::ResourceType type{"featureforge.dev", "v1alpha1", "materializationjobs",
                                      "MaterializationJob", true};
  return type;
}

double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A child process with its output in a log file; SIGTERM then SIGKILL on Stop.
class Child {
 public:
  Status Start(std::vector<std::string> args, const std::string& log) {
    std::fflush(nullptr);  // the child must not flush our buffered output again
    pid_ = fork();
    if (pid_ < 0) return Status::IOError("fork failed");
    if (pid_ == 0) {
      setpgid(0, 0);
      if (std::freopen(log.c_str(), "a", stdout) != nullptr) dup2(STDOUT_FILENO, STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    return Status::OK();
  }
  void Stop(int grace_seconds = 30) {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < grace_seconds * 10; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  ~Child() { Stop(); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// /proc/<pid>/stat fields 16/17: CPU of children the process waited for (the kubelet reaps
// executor processes, so this is the executors' CPU).
double ChildrenCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return 0;
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  unsigned long long cutime = 0, cstime = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 16) cutime = std::stoull(field);
    if (index == 17) {
      cstime = std::stoull(field);
      break;
    }
  }
  return double(cutime + cstime) / double(sysconf(_SC_CLK_TCK));
}

int64_t PeakRssBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

int Run(const std::string& command) {
  int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = size_t(p * double(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

bool ConditionTrue(const Json& object, const std::string& type) {
  for (const auto& c : object.value("status", Json::object()).value("conditions", Json::array())) {
    if (c.value("type", "") == type && c.value("status", "") == "True") return true;
  }
  return false;
}

// What the bench's informers saw, per job name.
struct Observed {
  std::mutex mu;
  std::condition_variable changed;
  std::map<std::string, double> created, pod_done, complete, failed;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int Main(const Options& o) {
  const std::string kubectl = "kubectl";
  char pattern[] = "/tmp/ff-bench-mj-XXXXXX";
  const std::string dir = mkdtemp(pattern);
  const std::string ff = o.build_dir + "/worker/featureforge";
  std::printf(
      "ff-bench-mj: %d jobs x 1 partition, at most %d unfinished at once, operator "
      "workers %d, dir %s\n",
      o.jobs, o.concurrency, o.operator_workers, dir.c_str());

  // A tiny repo: generated driver stats (a few drivers, one day), absolute paths.
  const std::string repo = dir + "/repo";
  fs::copy(o.source_dir + "/examples/driver_ranking", repo, fs::copy_options::recursive);
  fs::remove_all(repo + "/data");
  const int64_t hour = 3600 * kMicrosPerSecond;
  const TimestampMicros end = SystemClock().Now() / hour * hour;
  if (Run(o.build_dir + "/examples/ff-sample-data --repo " + repo + " --drivers " +
          std::to_string(o.drivers) + " --days 1 --end " + FormatTimestamp(end) + " > /dev/null") !=
      0) {
    std::fprintf(stderr, "ff-sample-data failed\n");
    return 1;
  }
  std::string definitions =
      std::regex_replace(ReadFile(repo + "/definitions/drivers.yaml"), std::regex("path: data/"),
                         "path: " + repo + "/data/");

  ApiServerProcess server(o.build_dir + "/tests/harness/ff-apiserver", {});
  if (Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const std::string kubeconfig = server.dir() + "/kubeconfig";
  const std::string k = kubectl + " --kubeconfig " + kubeconfig + " ";
  Child kubelet, op;
  if (!kubelet
           .Start({o.build_dir + "/tests/harness/ff-kubelet", "--kubeconfig", kubeconfig,
                   "--root-dir", dir + "/kubelet", "--featureforge-binary", ff},
                  dir + "/kubelet.log")
           .ok())
    return 1;
  for (const char* crd : {"featurestore", "materializationjob", "computecluster"}) {
    if (Run(k + "apply -f " + o.source_dir + "/crds/" + crd + ".yaml > /dev/null") != 0) return 1;
  }
  if (!op.Start({o.build_dir + "/operator/cmd/featureforge_operator/featureforge-operator",
                 "--kubeconfig", kubeconfig, "--leader-elect=false", "--metrics-bind-address",
                 "127.0.0.1:0", "--work-dir", dir + "/operator", "--materializationjob-workers",
                 std::to_string(o.operator_workers)},
                dir + "/operator.log")
           .ok())
    return 1;
  {
    std::ofstream store(dir + "/store.yaml");
    store << "apiVersion: featureforge.dev/v1alpha1\nkind: FeatureStore\nmetadata: {name: "
             "drivers}\nspec:\n  feastProject: driver_ranking\n  registry: {path: "
          << dir
          << "/registry.pb}\n  featureStoreYaml:\n    onlineStore: {type: sqlite, path: " << dir
          << "/online.db}\n  services: {onlineStore: {server: {replicas: 0}}}\n"
          << "  definitions: |\n";
    std::stringstream in(definitions);
    for (std::string line; std::getline(in, line);) store << "    " << line << "\n";
  }
  if (Run(k + "apply -f " + dir + "/store.yaml > /dev/null") != 0 ||
      Run(k + "wait --for=condition=RegistryApplied fs/drivers --timeout=120s > /dev/null") != 0) {
    std::fprintf(stderr, "FeatureStore not applied; operator log:\n%s\n",
                 ReadFile(dir + "/operator.log").c_str());
    return 1;
  }

  auto config = server.Config();
  auto client = k8s::Client::Create(*config);
  if (!client.ok()) return 1;
  Observed seen;
  runtime::Informer jobs(runtime::MakeClientListWatcher(*client, Jobs(), "default"));
  runtime::Informer pods(runtime::MakeClientListWatcher(
      *client, k8s::resources::Pods(), "default", "app.kubernetes.io/name=featureforge-executor"));
  runtime::EventHandlers job_handlers;
  auto on_job = [&](const runtime::ObjectPtr& job) {
    const std::string name = (*job)["metadata"].value("name", "");
    const bool complete = ConditionTrue(*job, "Complete");
    const bool failed = ConditionTrue(*job, "Failed");
    if (!complete && !failed) return;
    std::lock_guard<std::mutex> lock(seen.mu);
    auto& target = complete ? seen.complete : seen.failed;
    if (!target.count(name)) target[name] = Seconds();
    seen.changed.notify_all();
  };
  job_handlers.on_add = on_job;
  job_handlers.on_update = [&](const runtime::ObjectPtr&, const runtime::ObjectPtr& j) {
    on_job(j);
  };
  jobs.AddEventHandlers(job_handlers);
  runtime::EventHandlers pod_handlers;
  auto on_pod = [&](const runtime::ObjectPtr& pod) {
    const std::string phase = pod->value("status", Json::object()).value("phase", "");
    if (phase != "Succeeded" && phase != "Failed") return;
    const std::string job =
        (*pod)["metadata"].value("labels", Json::object()).value("featureforge.dev/job", "");
    std::lock_guard<std::mutex> lock(seen.mu);
    if (!seen.pod_done.count(job)) seen.pod_done[job] = Seconds();
  };
  pod_handlers.on_add = on_pod;
  pod_handlers.on_update = [&](const runtime::ObjectPtr&, const runtime::ObjectPtr& p) {
    on_pod(p);
  };
  pods.AddEventHandlers(pod_handlers);
  jobs.Start();
  pods.Start();
  jobs.WaitForSync(60 * kMicrosPerSecond);
  pods.WaitForSync(60 * kMicrosPerSecond);

  const std::string load_before = LoadAverage();
  auto op_before = ReadProcessUsage(op.pid());
  auto server_before = server.Usage();
  auto kubelet_before = ReadProcessUsage(kubelet.pid());
  const double executors_before = ChildrenCpuSeconds(kubelet.pid());
  const double start = Seconds();
  const double deadline = start + o.timeout_seconds;
  int created = 0, create_errors = 0;
  while (created < o.jobs && Seconds() < deadline) {
    {
      std::unique_lock<std::mutex> lock(seen.mu);
      seen.changed.wait_for(lock, std::chrono::milliseconds(200), [&] {
        return created - int(seen.complete.size() + seen.failed.size()) < o.concurrency;
      });
      if (created - int(seen.complete.size() + seen.failed.size()) >= o.concurrency) continue;
    }
    char name[32];
    std::snprintf(name, sizeof(name), "bench-%05d", created);
    Json job = {{"apiVersion", "featureforge.dev/v1alpha1"},
                {"kind", "MaterializationJob"},
                {"metadata", {{"name", name}, {"namespace", "default"}}},
                {"spec",
                 {{"featureStore", "drivers"},
                  {"featureViews", {"driver_hourly_stats"}},
                  {"startTime", FormatTimestamp(end - 24 * hour)},
                  {"endTime", FormatTimestamp(end)},
                  {"executor", {{"partitions", 1}}}}}};
    {
      std::lock_guard<std::mutex> lock(seen.mu);
      seen.created[name] = Seconds();
    }
    auto made = (*client)->Create(Jobs(), job);
    if (!made.ok()) {
      ++create_errors;
      std::fprintf(stderr, "create %s: %s\n", name, made.status().ToString().c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::lock_guard<std::mutex> lock(seen.mu);
      seen.created.erase(name);
      continue;
    }
    ++created;
  }
  {
    std::unique_lock<std::mutex> lock(seen.mu);
    while (int(seen.complete.size() + seen.failed.size()) < created && Seconds() < deadline) {
      seen.changed.wait_for(lock, std::chrono::milliseconds(500));
    }
  }
  auto op_after = ReadProcessUsage(op.pid());
  auto server_after = server.Usage();
  auto kubelet_after = ReadProcessUsage(kubelet.pid());
  const double executors_after = ChildrenCpuSeconds(kubelet.pid());
  const int64_t op_peak_rss = PeakRssBytes(op.pid());
  const std::string load_after = LoadAverage();

  std::vector<double> lags, latencies;
  int complete = 0, failed = 0;
  double last_done = start;
  {
    std::lock_guard<std::mutex> lock(seen.mu);
    complete = int(seen.complete.size());
    failed = int(seen.failed.size());
    for (const auto& [name, t] : seen.complete) {
      last_done = std::max(last_done, t);
      if (seen.created.count(name)) latencies.push_back(t - seen.created[name]);
      if (seen.pod_done.count(name)) lags.push_back(t - seen.pod_done[name]);
    }
    for (const auto& [name, t] : seen.failed) last_done = std::max(last_done, t);
  }
  jobs.Stop();
  pods.Stop();
  const double wall = last_done - start;
  const double op_cpu =
      op_after.ok() && op_before.ok() ? op_after->cpu_seconds - op_before->cpu_seconds : 0;
  const double server_cpu = server_after.ok() && server_before.ok()
                                ? server_after->cpu_seconds - server_before->cpu_seconds
                                : 0;
  const double kubelet_cpu = kubelet_after.ok() && kubelet_before.ok()
                                 ? kubelet_after->cpu_seconds - kubelet_before->cpu_seconds
                                 : 0;
  const double executors_cpu = executors_after - executors_before;

  std::printf("  jobs created %d (create errors %d), Complete %d, Failed %d, unfinished %d\n",
              created, create_errors, complete, failed, created - complete - failed);
  std::printf("  wall first create -> last Complete: %.1f s  => %.1f jobs/min (%.2f jobs/s)\n",
              wall, wall > 0 ? complete * 60.0 / wall : 0.0, wall > 0 ? complete / wall : 0.0);
  std::printf("  create -> Complete latency: p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
              Percentile(latencies, 0.5) * 1e3, Percentile(latencies, 0.99) * 1e3,
              Percentile(latencies, 1.0) * 1e3);
  std::printf(
      "  status lag (pod Succeeded seen -> Complete=True seen): p50 %.0f ms, p99 %.0f ms, "
      "max %.0f ms (%zu jobs)\n",
      Percentile(lags, 0.5) * 1e3, Percentile(lags, 0.99) * 1e3, Percentile(lags, 1.0) * 1e3,
      lags.size());
  std::printf("  operator: CPU %.1f s (%.1f ms/job, %.2f cores busy), peak RSS %.1f MiB\n", op_cpu,
              complete > 0 ? op_cpu * 1e3 / complete : 0.0, wall > 0 ? op_cpu / wall : 0.0,
              double(op_peak_rss) / (1 << 20));
  std::printf(
      "  ff-apiserver CPU %.1f s, ff-kubelet CPU %.1f s, executors CPU %.1f s "
      "(%.0f ms/job)\n",
      server_cpu, kubelet_cpu, executors_cpu, complete > 0 ? executors_cpu * 1e3 / complete : 0.0);
  std::printf("  machine: %u cores, loadavg before %s, after %s\n",
              std::thread::hardware_concurrency(), load_before.c_str(), load_after.c_str());
  std::printf(
      "\n| jobs | max unfinished | wall s | jobs/min | lag p50 ms | lag p99 ms | create->Complete "
      "p50 ms | p99 ms | operator CPU ms/job | operator peak RSS MiB | executors CPU ms/job |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::printf("| %d | %d | %.1f | %.1f | %.0f | %.0f | %.0f | %.0f | %.1f | %.1f | %.0f |\n",
              complete, o.concurrency, wall, wall > 0 ? complete * 60.0 / wall : 0.0,
              Percentile(lags, 0.5) * 1e3, Percentile(lags, 0.99) * 1e3,
              Percentile(latencies, 0.5) * 1e3, Percentile(latencies, 0.99) * 1e3,
              complete > 0 ? op_cpu * 1e3 / complete : 0.0, double(op_peak_rss) / (1 << 20),
              complete > 0 ? executors_cpu * 1e3 / complete : 0.0);

  op.Stop();
  Run(k + "delete pods --all --timeout=120s > /dev/null 2>&1");
  kubelet.Stop();
  server.Kill();
  if (!o.keep) fs::remove_all(dir);
  return complete == o.jobs ? 0 : 1;
}

}  // namespace
}  // namespace featureforge::bench

int main(int argc, char** argv) {
  featureforge::bench::Options options;
  CLI::App app{"ff-bench-mj: MaterializationJob throughput through the harness"};
  app.add_option("-n,--jobs", options.jobs, "one-partition jobs to run")->capture_default_str();
  app.add_option("--concurrency", options.concurrency,
                 "at most this many jobs unfinished at once (executor processes are real)")
      ->capture_default_str();
  app.add_option("--operator-workers", options.operator_workers,
                 "featureforge-operator --materializationjob-workers")
      ->capture_default_str();
  app.add_option("--drivers", options.drivers, "drivers in the generated repo")
      ->capture_default_str();
  app.add_option("--timeout", options.timeout_seconds, "give up after this many seconds")
      ->capture_default_str();
  app.add_option("--build-dir", options.build_dir, "build tree with the binaries")
      ->capture_default_str();
  app.add_option("--source-dir", options.source_dir, "source tree (CRDs, example repo)")
      ->capture_default_str();
  app.add_flag("--keep", options.keep, "keep the temp dir (logs)");
  CLI11_PARSE(app, argc, argv);
  return featureforge::bench::Main(options);
}
