// MaterializationJob with spec.computeClusterRef end to end on a real ComputeCluster: the
// featureforge-operator binary (ComputeCluster + FeatureStore + MaterializationJob controllers),
// ff-apiserver and ff-kubelet, which runs the head and worker pods as `featureforge head` /
// `featureforge worker` processes. Services get loopback clusterIPs
// (--service-cluster-ip-range 127.N.0.0/16) and the head listens on 0.0.0.0 (headStartParams),
// so the head Service's clusterIP:port reaches it without a kube-proxy (every 127/8 address is
// the loopback interface). Checked through kubectl: the job completes with the online values of
// an unpartitioned local run and the watermark advanced, retries of failing tasks count as
// attempts, a head pod deleted while tasks wait gets the unfinished partitions again, and a job
// naming a missing cluster is reported while others run.
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "featureforge/cluster/head_client.h"
#include "featureforge/common/time.h"
#include "harness_test_util.h"

namespace ffharness::testing {
namespace {

namespace fs = std::filesystem;
using featureforge::FormatTimestamp;
using featureforge::kMicrosPerSecond;
using featureforge::SystemClock;
using featureforge::TimestampMicros;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr int64_t kHour = 3600 * kMicrosPerSecond;

std::string SourceDir() {
  const char* dir = std::getenv("FEATUREFORGE_SOURCE_DIR");
  return dir ? dir : FEATUREFORGE_TEST_SOURCE_DIR;
}
std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Executor processes started with the hang-on-first-lease hook that are still alive.
int HungExecutors() {
  int hung = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    std::string environ = ReadFile(entry.path().string() + "/environ");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(" executor ") != std::string::npos &&
        environ.find("FEATUREFORGE_FAULT_HANG_LEASES=") != std::string::npos) {
      ++hung;
    }
  }
  return hung;
}

class ClusterJobE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ff-mj-cluster-e2eXXXXXX";
    dir_ = mkdtemp(pattern);
    repo_ = dir_ + "/repo";
    fs::copy(SourceDir() + "/examples/driver_ranking", repo_, fs::copy_options::recursive);
    fs::remove_all(repo_ + "/data");
    end_ = SystemClock().Now() / kHour * kHour - 24 * kHour;
    auto gen = RunCommand({BinaryPath("examples/ff-sample-data"), "--repo", repo_, "--drivers",
                           "40", "--days", "3", "--end", FormatTimestamp(end_ + 24 * kHour)});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    definitions_ = std::regex_replace(ReadFile(repo_ + "/definitions/drivers.yaml"),
                                      std::regex("path: data/"), "path: " + repo_ + "/data/");
    {
      std::ofstream out(repo_ + "/definitions/drivers.yaml", std::ios::trunc);
      out << definitions_;
      std::ofstream config(repo_ + "/feature_store.yaml", std::ios::trunc);
      config << "project: driver_ranking\nregistry: " << dir_ << "/registry.pb\nprovider: local\n"
             << "offline_store: {type: duckdb}\nonline_store: {type: sqlite, path: " << dir_
             << "/online.db}\nentity_key_serialization_version: 3\n";
    }
    // A loopback Service range of its own (ctest may run other harnesses at the same time).
    const int block = 100 + int(getpid() % 100);
    server_ = std::make_unique<ApiServerProcess>(std::vector<std::string>{
        "--service-cluster-ip-range", "127." + std::to_string(block) + ".0.0/16"});
    ASSERT_TRUE(server_->Start());
    for (const char* crd : {"/crds/featurestore.yaml", "/crds/materializationjob.yaml"}) {
      auto r = server_->Kubectl({"apply", "-f", SourceDir() + crd});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    auto r = server_->Kubectl({"apply", "-f", SourceDir() + "/crds/computecluster.yaml"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    kubelet_ = std::make_unique<BackgroundCommand>(
        std::vector<std::string>{BinaryPath("tests/harness/ff-kubelet"), "--kubeconfig",
                                 server_->kubeconfig(), "--root-dir", dir_ + "/kubelet",
                                 "--featureforge-binary", BinaryPath("worker/featureforge")},
        dir_ + "/kubelet.log");
    operator_ = std::make_unique<BackgroundCommand>(
        std::vector<std::string>{
            BinaryPath("operator/cmd/featureforge_operator/featureforge-operator"), "--kubeconfig",
            server_->kubeconfig(), "--leader-elect=false", "--metrics-bind-address", "127.0.0.1:0",
            "--work-dir", dir_ + "/operator", "--log-level", "info"},
        dir_ + "/operator.log");
    std::string store =
        "apiVersion: featureforge.dev/v1alpha1\nkind: FeatureStore\n"
        "metadata: {name: drivers}\nspec:\n  feastProject: driver_ranking\n"
        "  registry: {path: " +
        dir_ +
        "/registry.pb}\n  featureStoreYaml:\n"
        "    onlineStore: {type: sqlite, path: " +
        dir_ +
        "/online.db}\n"
        "  services: {onlineStore: {server: {replicas: 0}}}\n  definitions: |\n";
    std::stringstream in(definitions_);
    for (std::string line; std::getline(in, line);) store += "    " + line + "\n";
    r = server_->Apply(store);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = server_->Kubectl(
        {"wait", "--for=condition=RegistryApplied", "fs/drivers", "--timeout=120s"});
    ASSERT_EQ(r.exit_code, 0) << r.err << operator_->Output();

    head_port_ = FreePort();
  }
  // A ComputeCluster with `workers` workers (plus `group_extra` in its group and `spec_extra` in
  // its spec); waits until its head endpoint is in status.
  void CreateCluster(int workers, const std::string& group_extra = "",
                     const std::string& spec_extra = "") {
    auto r = server_->Apply(
        "apiVersion: featureforge.dev/v1alpha1\nkind: ComputeCluster\nmetadata: {name: pool}\n"
        "spec:\n  headGroupSpec:\n    port: " +
        std::to_string(head_port_) +
        "\n    headStartParams: {bind: 0.0.0.0, heartbeat-timeout-ms: \"3000\"}\n"
        "    template: {spec: {containers: [{name: head}]}}\n  workerGroupSpecs:\n"
        "    - groupName: cpu\n      replicas: " +
        std::to_string(workers) + "\n" + group_extra +
        "      template: {spec: {containers: [{name: worker}]}}\n" + spec_extra);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = Kubectl({"wait", "--for=condition=HeadPodReady", "cc/pool", "--timeout=120s"});
    ASSERT_EQ(r.exit_code, 0) << Get("cc/pool").dump(2) << Logs();
  }
  void ScaleWorkers(int workers) {
    auto r = Kubectl({"patch", "cc/pool", "--type=json", "-p",
                      R"([{"op":"replace","path":"/spec/workerGroupSpecs/0/replicas","value":)" +
                          std::to_string(workers) + "}]"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void TearDown() override {
    // Stop the cluster's pods through the kubelet before it goes away.
    if (server_ != nullptr) {
      Kubectl({"delete", "mj,cc", "--all", "--wait=false"});
      Kubectl({"delete", "pods", "--all", "--timeout=60s"});
    }
    operator_.reset();
    kubelet_.reset();
    server_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::string Logs() {
    return "operator:\n" + operator_->Output() + "\nkubelet:\n" + kubelet_->Output() + "\npods:\n" +
           Kubectl({"get", "pods", "-o", "wide"}).out;
  }
  CommandResult Kubectl(const std::vector<std::string>& args) { return server_->Kubectl(args); }
  json Get(const std::string& object) {
    auto r = Kubectl({"get", object, "-o", "json"});
    return r.exit_code == 0 ? json::parse(r.out) : json::object();
  }
  std::string Events(const std::string& name) {
    return Kubectl({"get", "events", "--field-selector", "involvedObject.name=" + name, "-o",
                    "custom-columns=REASON:.reason,MESSAGE:.message"})
        .out;
  }
  CommandResult Ff(std::vector<std::string> args, const std::string& repo) {
    std::vector<std::string> argv = {BinaryPath("worker/featureforge"), "--repo", repo};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  std::string OnlineValues(const std::string& repo) {
    std::string ids;
    for (int d = 1001; d <= 1040; ++d) ids += (ids.empty() ? "" : ",") + std::to_string(d);
    auto r = Ff({"-o", "json", "get-online-features", "-e", "driver_id=" + ids, "-f",
                 "driver_hourly_stats"},
                repo);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  std::string ReferenceOnlineValues(TimestampMicros start, TimestampMicros end) {
    std::string reference = dir_ + "/reference";
    fs::copy(repo_, reference, fs::copy_options::recursive);
    {
      std::ofstream config(reference + "/feature_store.yaml", std::ios::trunc);
      config << "project: driver_ranking\nregistry: " << reference
             << "/registry.pb\nprovider: local\noffline_store: {type: duckdb}\n"
             << "online_store: {type: sqlite, path: " << reference
             << "/online.db}\nentity_key_serialization_version: 3\n";
    }
    EXPECT_EQ(Ff({"apply"}, reference).exit_code, 0);
    auto r = Ff({"materialize", FormatTimestamp(start), FormatTimestamp(end), "--views",
                 "driver_hourly_stats", "-q"},
                reference);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return OnlineValues(reference);
  }
  std::string Watermark() {
    auto r = Ff({"-o", "json", "list", "views"}, repo_);
    json listing = json::parse(r.out, nullptr, false);
    if (listing.is_discarded()) return "unparsable: " + r.out;
    for (const auto& v : listing.value("feature_views", json::array())) {
      if (v.value("name", "") != "driver_hourly_stats") continue;
      const json& end = v["last_materialized_end"];
      return end.is_string() ? end.get<std::string>() : "";
    }
    return "";
  }
  std::string Job(const std::string& name, const std::string& extra) {
    return "apiVersion: featureforge.dev/v1alpha1\nkind: MaterializationJob\nmetadata: {name: " +
           name + "}\nspec:\n  featureStore: drivers\n  featureViews: [driver_hourly_stats]\n" +
           "  computeClusterRef: pool\n  startTime: \"" + FormatTimestamp(end_ - 48 * kHour) +
           "\"\n  endTime: \"" + FormatTimestamp(end_) + "\"\n" + extra;
  }

  std::string dir_, repo_, definitions_;
  TimestampMicros end_ = 0;
  int head_port_ = 0;
  std::unique_ptr<ApiServerProcess> server_;
  std::unique_ptr<BackgroundCommand> operator_, kubelet_;
};

TEST_F(ClusterJobE2E, PartitionsRunOnWorkersWithRetriesAndAdvanceTheWatermark) {
  CreateCluster(2);
  auto r =
      server_->Apply(Job("on-pool",
                         "  backoff: {initialSeconds: 1, maxSeconds: 1}\n"
                         "  executor:\n    partitions: 4\n    parallelism: 4\n"
                         "    env: [{name: FEATUREFORGE_FAULT_FAIL_ATTEMPTS, value: \"1\"}]\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Kubectl({"wait", "--for=condition=Complete", "mj/on-pool", "--timeout=300s"}).exit_code,
            0)
      << Get("mj/on-pool").dump(2) << Logs();
  json job = Get("mj/on-pool");
  EXPECT_EQ(job["status"]["phase"], "Succeeded");
  EXPECT_EQ(job["status"]["progress"], "4/4");
  EXPECT_EQ(job["status"]["attempts"], 8);  // every partition: one injected failure, one success
  EXPECT_EQ(job["status"]["rowsWritten"], 40);
  EXPECT_EQ(job["status"]["computeCluster"]["headAddress"],
            Get("cc/pool")["status"]["head"]["endpoint"]);
  EXPECT_TRUE(job["status"].value("watermarksRecorded", false));
  EXPECT_EQ(Watermark(), FormatTimestamp(end_));
  // No executor pods: the partitions ran on the cluster's workers.
  EXPECT_EQ(Kubectl({"get", "pods", "-l", "featureforge.dev/job=on-pool", "-o", "name"}).out, "");
  std::string events = Events("on-pool");
  EXPECT_THAT(events, HasSubstr("SubmittedTasks"));
  EXPECT_THAT(events, HasSubstr("retrying partition"));
  EXPECT_THAT(events, HasSubstr("injected failure"));
  EXPECT_EQ(OnlineValues(repo_), ReferenceOnlineValues(end_ - 48 * kHour, end_));
}

// A worker that dies in the middle of a task (kill -9, as a node crash would): the head misses
// its heartbeats, hands the task to the other worker, and the job completes without counting a
// failed attempt. The first lease of the task hangs (test hook), so the kill lands mid-task.
TEST_F(ClusterJobE2E, WorkerKilledMidTaskRunsTheTaskOnAnotherWorker) {
  CreateCluster(2);
  ASSERT_EQ(Kubectl({"wait", "--for=condition=Ready", "cc/pool", "--timeout=120s"}).exit_code, 0)
      << Get("cc/pool").dump(2) << Logs();
  const std::string head = Get("cc/pool")["status"]["head"].value("endpoint", "");
  ASSERT_FALSE(head.empty()) << Get("cc/pool").dump(2);
  auto r = server_->Apply(Job("crash",
                              "  executor:\n    partitions: 1\n"
                              "    env: [{name: FEATUREFORGE_FAULT_HANG_LEASES, value: \"1\"}]\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  // The worker pod the head leased the task to, from `featureforge cluster status`.
  std::string busy_pod;
  for (int i = 0; i < 600 && busy_pod.empty(); ++i) {
    auto status = RunCommand(
        {BinaryPath("worker/featureforge"), "-o", "json", "cluster", "status", "--head", head});
    json parsed = json::parse(status.out, nullptr, false);
    if (!parsed.is_discarded()) {
      for (const auto& worker : parsed.value("workers", json::array())) {
        if (!worker.value("running_task_ids", json::array()).empty()) {
          busy_pod = worker.value("pod_name", "");
        }
      }
    }
    if (busy_pod.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_FALSE(busy_pod.empty()) << Get("mj/crash").dump(2) << Logs();
  auto killed = RunCommand({"pkill", "-KILL", "-f", "worker-id " + busy_pod});
  ASSERT_EQ(killed.exit_code, 0) << "no worker process for " << busy_pod << ": " << killed.err;

  ASSERT_EQ(Kubectl({"wait", "--for=condition=Complete", "mj/crash", "--timeout=300s"}).exit_code,
            0)
      << Get("mj/crash").dump(2) << Logs();
  json job = Get("mj/crash");
  EXPECT_EQ(job["status"]["attempts"], 1);  // a lost worker is not a failed attempt
  EXPECT_EQ(job["status"]["rowsWritten"], 40);
  EXPECT_EQ(Watermark(), FormatTimestamp(end_));
  // The cluster replaces the dead worker and is Ready again.
  ASSERT_EQ(Kubectl({"wait", "--for=condition=Ready", "cc/pool", "--timeout=120s"}).exit_code, 0)
      << Get("cc/pool").dump(2) << Logs();
  // No executor outlived its worker: the hung first lease died with it.
  EXPECT_EQ(HungExecutors(), 0);
}

// Autoscaling driven by a MaterializationJob: 9 slow partitions queue up on a 1-worker group
// (min 1, max 3); the controller scales it toward 3 while they wait, the job completes with the
// values of a local run, every partition ran on the first worker it was leased to (no busy worker
// was removed), and the group returns to 1 once idle, never below.
TEST_F(ClusterJobE2E, ManyPartitionsScaleTheGroupUpAndBackDownWithoutLosingATask) {
  CreateCluster(1, "      minReplicas: 1\n      maxReplicas: 3\n",
                "  autoscaling: {enabled: true, idleTimeoutSeconds: 3}\n");
  ASSERT_EQ(Kubectl({"wait", "--for=condition=Ready", "cc/pool", "--timeout=120s"}).exit_code, 0)
      << Get("cc/pool").dump(2) << Logs();
  auto r = server_->Apply(Job("wide",
                              "  executor:\n    partitions: 9\n    parallelism: 9\n"
                              "    env: [{name: FEATUREFORGE_FAULT_DELAY_MS, value: \"2500\"}]\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  auto worker_pods = [&] {
    auto pods = Kubectl({"get", "pods", "-l",
                         "featureforge.dev/cluster=pool,featureforge.dev/group=cpu", "-o", "name"});
    return static_cast<size_t>(std::count(pods.out.begin(), pods.out.end(), '\n'));
  };
  size_t most_workers = 0;
  std::string phase;
  for (int i = 0; i < 1200 && phase != "Succeeded" && phase != "Failed"; ++i) {
    most_workers = std::max(most_workers, worker_pods());
    phase = Get("mj/wide")["status"].value("phase", "");
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_EQ(phase, "Succeeded") << Get("mj/wide").dump(2) << Logs();
  EXPECT_EQ(most_workers, 3u) << Events("pool");
  EXPECT_THAT(Events("pool"), HasSubstr("ScaledUp"));

  json job = Get("mj/wide");
  EXPECT_EQ(job["status"]["progress"], "9/9");
  EXPECT_EQ(job["status"]["attempts"], 9);
  EXPECT_EQ(job["status"]["rowsWritten"], 40);
  EXPECT_EQ(Watermark(), FormatTimestamp(end_));
  EXPECT_EQ(OnlineValues(repo_), ReferenceOnlineValues(end_ - 48 * kHour, end_));
  // Each task was leased once: scaling never took a worker away from a running task.
  const std::string head = Get("cc/pool")["status"]["head"].value("endpoint", "");
  const std::string head_job = job["status"]["computeCluster"].value("headJobId", "");
  ASSERT_FALSE(head_job.empty()) << job.dump(2);
  auto client = featureforge::cluster::NewGrpcHeadClient(head, std::chrono::seconds(5));
  auto finished = client->GetJob(head_job);
  ASSERT_TRUE(finished.ok()) << finished.status().ToString();
  ASSERT_EQ(finished->tasks_size(), 9);
  for (const auto& task : finished->tasks()) {
    EXPECT_EQ(task.lease_count(), 1) << task.task_id() << ": " << task.message();
  }

  // Back to the minimum once idle, and never below it.
  size_t fewest = 3;
  bool at_min = false;
  for (int i = 0; i < 240 && !at_min; ++i) {
    const size_t n = worker_pods();
    fewest = std::min(fewest, n);
    at_min = n == 1 && Get("cc/pool")["status"].value("state", "") == "Ready";
    if (!at_min) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(at_min) << Get("cc/pool").dump(2) << Events("pool");
  EXPECT_GE(fewest, 1u);
  EXPECT_THAT(Events("pool"), HasSubstr("ScaledDown"));
}

TEST_F(ClusterJobE2E, HeadRestartedBeforeRunningResubmitsAndCompletes) {
  // No workers: the tasks wait in the head's queue.
  CreateCluster(0);
  auto r = server_->Apply(Job("restarted", "  executor: {partitions: 2}\n"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(
      Kubectl({"wait", "--for=jsonpath={.status.attempts}=2", "mj/restarted", "--timeout=120s"})
          .exit_code,
      0)
      << Get("mj/restarted").dump(2) << Logs();
  // The head pod dies with its queue; the ComputeCluster controller starts a new, empty head.
  const std::string head_pod = Get("cc/pool")["status"]["head"].value("podName", "");
  ASSERT_FALSE(head_pod.empty()) << Get("cc/pool").dump(2);
  ASSERT_EQ(Kubectl({"delete", "pod", head_pod, "--timeout=60s"}).exit_code, 0);
  ASSERT_EQ(
      Kubectl({"wait", "--for=condition=HeadPodReady", "cc/pool", "--timeout=120s"}).exit_code, 0)
      << Get("cc/pool").dump(2) << Logs();
  ScaleWorkers(1);
  ASSERT_EQ(
      Kubectl({"wait", "--for=condition=Complete", "mj/restarted", "--timeout=300s"}).exit_code, 0)
      << Get("mj/restarted").dump(2) << Logs();
  json job = Get("mj/restarted");
  EXPECT_EQ(job["status"]["attempts"], 2);  // a lost head is not a failed attempt
  EXPECT_THAT(Events("restarted"), HasSubstr("HeadRestarted"));
  EXPECT_EQ(Watermark(), FormatTimestamp(end_));
}

TEST_F(ClusterJobE2E, MissingClusterIsReportedAndTheOperatorKeepsServing) {
  CreateCluster(1);
  auto missing =
      std::regex_replace(Job("lost", "  executor: {partitions: 1}\n"),
                         std::regex("computeClusterRef: pool"), "computeClusterRef: nowhere");
  ASSERT_EQ(server_->Apply(missing).exit_code, 0);
  ASSERT_EQ(Kubectl({"wait",
                     "--for=jsonpath={.status.conditions[?(@.type==\"ComputeClusterReady\")]"
                     ".reason}=ComputeClusterNotFound",
                     "mj/lost", "--timeout=120s"})
                .exit_code,
            0)
      << Get("mj/lost").dump(2) << Logs();
  EXPECT_THAT(Events("lost"), HasSubstr("ComputeCluster default/nowhere"));
  EXPECT_EQ(Get("mj/lost")["status"]["phase"], "Pending");
  // Another job on the real cluster still completes.
  ASSERT_EQ(server_->Apply(Job("fine", "  executor: {partitions: 1}\n")).exit_code, 0);
  EXPECT_EQ(Kubectl({"wait", "--for=condition=Complete", "mj/fine", "--timeout=300s"}).exit_code, 0)
      << Get("mj/fine").dump(2) << Logs();
}

}  // namespace
}  // namespace ffharness::testing
