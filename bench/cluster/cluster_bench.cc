// ComputeCluster benchmarks through real processes (see README.md). Every figure is printed
// beside the machine's load average; the materialization figures beside the single-process
// CLI on the same data.
// Run by hand: build/bench/cluster/ff-bench-cluster [--quick]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "featureforge/cluster/head_client.h"
#include "featureforge/common/time.h"
#include "featureforge/testutil/testutil.h"

namespace featureforge::bench {
namespace {

namespace fs = std::filesystem;
using cluster::HeadClient;
using cluster::v1::Job;
using cluster::v1::SubmitJobRequest;
using Clock = std::chrono::steady_clock;

struct Options {
  int dispatch_tasks = 2000;
  int latency_jobs = 300;
  int drivers = 20000;
  int days = 14;
  std::string only;  // dispatch | materialize
  std::string binary_dir;
  std::string workdir;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "ff-bench-cluster: %s\n", message.c_str());
  std::exit(1);
}

std::string LoadAverage() {
  std::string text = testutil::ReadFile("/proc/loadavg");
  return text.substr(0, text.find(' ', text.find(' ', text.find(' ') + 1) + 1));
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A head and N workers as child processes; stopped (SIGTERM) when it goes away.
class LocalCluster {
 public:
  LocalCluster(const Options& o, const std::string& dir, int workers) {
    fs::create_directories(dir);
    const std::string ff = o.binary_dir + "/worker/featureforge";
    const std::string address_file = dir + "/head.address";
    head_ = std::make_unique<testutil::BackgroundProcess>(
        std::vector<std::string>{ff, "head", "--port", "0", "--address-file", address_file},
        dir + "/head.log");
    const auto until = Clock::now() + std::chrono::seconds(60);
    while (testutil::ReadFile(address_file).empty()) {
      if (Clock::now() > until) Die("head did not start; see " + dir + "/head.log");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    address_ = testutil::ReadFile(address_file);
    address_.pop_back();
    for (int i = 1; i <= workers; ++i) {
      const std::string id = "w" + std::to_string(i);
      workers_.push_back(std::make_unique<testutil::BackgroundProcess>(
          std::vector<std::string>{ff, "worker", "--head", address_, "--worker-id", id},
          dir + "/" + id + ".log"));
    }
    client_ = cluster::NewGrpcHeadClient(address_, std::chrono::seconds(30));
    while (true) {
      auto status = client_->GetClusterStatus();
      if (status.ok() && status->workers_size() == workers) break;
      if (Clock::now() > until) Die("workers did not register; see " + dir);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~LocalCluster() {
    for (auto& w : workers_) w->Stop(15, std::chrono::seconds(10));
    head_->Stop(15, std::chrono::seconds(10));
  }

  HeadClient& client() { return *client_; }
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<testutil::BackgroundProcess> head_;
  std::vector<std::unique_ptr<testutil::BackgroundProcess>> workers_;
  std::unique_ptr<HeadClient> client_;
  std::string address_;
};

SubmitJobRequest NoopJob(const std::string& id, int tasks) {
  SubmitJobRequest request;
  request.set_job_id(id);
  for (int i = 0; i < tasks; ++i) {
    auto* task = request.add_tasks();
    task->set_task_id("t" + std::to_string(i));
    task->mutable_spec()->mutable_noop();
  }
  return request;
}

Job WaitDone(HeadClient& client, const std::string& job_id, std::chrono::microseconds poll) {
  for (;;) {
    auto job = client.GetJob(job_id);
    if (!job.ok()) Die("GetJob " + job_id + ": " + job.status().ToString());
    if (job->pending() == 0 && job->running() == 0) return std::move(*job);
    std::this_thread::sleep_for(poll);
  }
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  return values[index];
}

void Dispatch(const Options& o) {
  for (int workers : {1, 3}) {
    LocalCluster cluster(o, o.workdir + "/dispatch-" + std::to_string(workers), workers);
    HeadClient& client = cluster.client();
    // Warm-up: connections, threads.
    if (!client.SubmitJob(NoopJob("warmup", 50)).ok()) Die("submit warmup");
    WaitDone(client, "warmup", std::chrono::milliseconds(1));

    const std::string load_before = LoadAverage();
    const auto start = Clock::now();
    if (auto s = client.SubmitJob(NoopJob("bulk", o.dispatch_tasks)); !s.ok()) {
      Die("submit bulk: " + s.status().ToString());
    }
    // Polled every 10 ms: GetJob returns all of the job's tasks, and polling a 2000-task job
    // every millisecond would mostly measure the poller.
    Job bulk = WaitDone(client, "bulk", std::chrono::milliseconds(10));
    const double elapsed = Seconds(Clock::now() - start);
    if (bulk.succeeded() != o.dispatch_tasks) Die("bulk job: not every task succeeded");

    std::vector<double> latencies_ms;
    for (int i = 0; i < o.latency_jobs; ++i) {
      const std::string id = "one-" + std::to_string(i);
      const auto submitted = Clock::now();
      if (!client.SubmitJob(NoopJob(id, 1)).ok()) Die("submit " + id);
      Job job = WaitDone(client, id, std::chrono::microseconds(200));
      if (job.succeeded() != 1) Die(id + " did not succeed");
      latencies_ms.push_back(Seconds(Clock::now() - submitted) * 1000);
    }
    std::printf(
        "dispatch workers=%d tasks=%d: %.0f tasks/s (%.2fs); latency submit->result over %d "
        "one-task jobs: p50 %.2f ms, p99 %.2f ms; loadavg before %s after %s\n",
        workers, o.dispatch_tasks, o.dispatch_tasks / elapsed, elapsed, o.latency_jobs,
        Percentile(latencies_ms, 0.50), Percentile(latencies_ms, 0.99), load_before.c_str(),
        LoadAverage().c_str());
    std::fflush(stdout);
  }
}

testutil::ProcessResult Run(const std::vector<std::string>& argv) {
  testutil::SubprocessOptions options;
  options.timeout = std::chrono::hours(2);
  testutil::ProcessResult result = testutil::RunProcess(argv, options);
  if (result.exit_code != 0) Die("command failed: " + argv[0] + " ...\n" + result.Describe());
  return result;
}

void Materialize(const Options& o) {
  const std::string ff = o.binary_dir + "/worker/featureforge";
  const std::string source = o.workdir + "/source-repo";
  fs::copy(testutil::SourceDir() + "/examples/driver_ranking", source, fs::copy_options::recursive);
  fs::remove_all(source + "/data");
  const int64_t hour = 3600 * kMicrosPerSecond;
  const TimestampMicros end = SystemClock().Now() / hour * hour;
  const TimestampMicros start = end - o.days * 24 * hour;
  Run({o.binary_dir + "/examples/ff-sample-data", "--repo", source, "--drivers",
       std::to_string(o.drivers), "--days", std::to_string(o.days), "--end", FormatTimestamp(end)});
  const int64_t rows = static_cast<int64_t>(o.drivers) * o.days * 24;

  // One warm-up run computes the batch view's compute-once file (so no measured run pays for
  // it) and warms the page cache; every measured run then starts from a copy
  // with that file but an empty online store and registry.
  Run({ff, "--repo", source, "apply"});
  Run({ff, "--repo", source, "materialize", FormatTimestamp(start), FormatTimestamp(end),
       "--quiet"});
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::remove(source + "/data/online_store.db" + suffix);
  }
  fs::remove(source + "/data/registry.pb");
  auto fresh_repo = [&](const std::string& name) {
    const std::string repo = o.workdir + "/" + name;
    fs::copy(source, repo, fs::copy_options::recursive);
    Run({ff, "--repo", repo, "apply"});
    return repo;
  };
  auto timed = [&](const std::vector<std::string>& argv) {
    const auto begin = Clock::now();
    Run(argv);
    return Seconds(Clock::now() - begin);
  };

  const std::string load_before = LoadAverage();
  const std::string cli_repo = fresh_repo("cli");
  const double cli = timed({ff, "--repo", cli_repo, "materialize", FormatTimestamp(start),
                            FormatTimestamp(end), "--quiet"});
  std::printf(
      "materialize %lld source rows (%d drivers x %d days hourly): single-process CLI "
      "%.2fs\n",
      static_cast<long long>(rows), o.drivers, o.days, cli);
  std::fflush(stdout);

  double by_workers[4] = {0, 0, 0, 0};
  for (int workers : {1, 3}) {
    const std::string repo = fresh_repo("cluster-" + std::to_string(workers));
    LocalCluster cluster(o, o.workdir + "/mat-cluster-" + std::to_string(workers), workers);
    by_workers[workers] = timed({ff, "--repo", repo, "cluster", "materialize", "--head",
                                 cluster.address(), "--partitions", std::to_string(workers),
                                 "--start", FormatTimestamp(start), "--end", FormatTimestamp(end)});
    std::printf(
        "materialize on the cluster: %d worker(s), %d partition(s): %.2fs (%.2fx the "
        "CLI's time)\n",
        workers, workers, by_workers[workers], by_workers[workers] / cli);
    std::fflush(stdout);
  }
  std::printf(
      "speed-up 3 workers vs 1 worker: %.2fx; 3 workers vs single-process CLI: %.2fx; "
      "loadavg before %s after %s (nproc %u)\n",
      by_workers[1] / by_workers[3], cli / by_workers[3], load_before.c_str(),
      LoadAverage().c_str(), std::thread::hardware_concurrency());
}

}  // namespace
}  // namespace featureforge::bench

int main(int argc, char** argv) {
  featureforge::bench::Options o;
  bool quick = false;
  CLI::App app{"featureforge ComputeCluster benchmarks (dispatch, materialization speed-up)"};
  app.add_flag("--quick", quick, "small sizes, to check the benchmark itself runs");
  app.add_option("--dispatch-tasks", o.dispatch_tasks, "noop tasks in the throughput job");
  app.add_option("--latency-jobs", o.latency_jobs, "one-task jobs for the latency figures");
  app.add_option("--drivers", o.drivers, "drivers in the sample data");
  app.add_option("--days", o.days, "days of hourly sample data");
  app.add_option("--only", o.only, "dispatch | materialize");
  app.add_option("--workdir", o.workdir, "where data goes (default: a temp dir, removed)");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    o.dispatch_tasks = 200;
    o.latency_jobs = 30;
    o.drivers = 500;
    o.days = 2;
  }
  o.binary_dir = std::filesystem::canonical("/proc/self/exe")
                     .parent_path()
                     .parent_path()
                     .parent_path()
                     .string();
  std::unique_ptr<featureforge::testutil::TempDir> tmp;
  if (o.workdir.empty()) {
    tmp = std::make_unique<featureforge::testutil::TempDir>("ff-bench-cluster");
    o.workdir = tmp->path();
  }
  std::printf("loadavg at start: %s (nproc %u)\n", featureforge::bench::LoadAverage().c_str(),
              std::thread::hardware_concurrency());
  if (o.only.empty() || o.only == "dispatch") featureforge::bench::Dispatch(o);
  if (o.only.empty() || o.only == "materialize") featureforge::bench::Materialize(o);
  return 0;
}
