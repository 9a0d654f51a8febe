// MaterializationJob end to end, the way a user drives it: the real kubectl against the cluster
// harness (ff-apiserver + ff-kubelet running executor pods as local `featureforge` processes),
// the featureforge-operator binary (FeatureStore and MaterializationJob controllers) and the
// sample driver repo. The FeatureStore controller renders the repo ConfigMap and applies the
// registry; the MaterializationJob controller runs the partitions.
#include <gmock/gmock.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

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
std::string Indent(const std::string& text, const std::string& prefix) {
  std::stringstream in(text), out;
  for (std::string line; std::getline(in, line);) out << prefix << line << '\n';
  return out.str();
}

class MaterializationJobE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/ff-mj-e2eXXXXXX";
    dir_ = mkdtemp(pattern);
    repo_ = dir_ + "/repo";
    fs::copy(SourceDir() + "/examples/driver_ranking", repo_, fs::copy_options::recursive);
    fs::remove_all(repo_ + "/data");
    const int64_t hour = 3600 * kMicrosPerSecond;
    end_ = SystemClock().Now() / hour * hour - 24 * hour;
    auto gen = RunCommand({BinaryPath("examples/ff-sample-data"), "--repo", repo_, "--drivers",
                           "40", "--days", "3", "--end", FormatTimestamp(end_ + 24 * hour)});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    // Absolute paths: executor pods run with the repo mounted elsewhere.
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

    server_ = new ApiServerProcess();
    ASSERT_TRUE(server_->Start());
    kubelet_ = new BackgroundCommand({BinaryPath("tests/harness/ff-kubelet"), "--kubeconfig",
                                      server_->kubeconfig(), "--root-dir", dir_ + "/kubelet",
                                      "--featureforge-binary", BinaryPath("worker/featureforge")},
                                     dir_ + "/kubelet.log");
    // The operator runs every controller; each waits for its kinds to be served.
    for (const char* crd : {"/crds/featurestore.yaml", "/crds/materializationjob.yaml",
                            "/crds/computecluster.yaml"}) {
      auto r = server_->Kubectl({"apply", "-f", SourceDir() + crd});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    StartOperator();
    // The online store's location reaches the pods as a Secret through spec.credentials and
    // ${FF_ONLINE_DB}: executors and the server resolve it, the operator never needs it.
    auto secret = server_->Apply(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: store-credentials}\nstringData:\n"
        "  FF_ONLINE_DB: " +
        dir_ + "/online.db\n");
    ASSERT_EQ(secret.exit_code, 0) << secret.err;
    std::string store = R"(apiVersion: featureforge.dev/v1alpha1
kind: FeatureStore
metadata: {name: drivers}
spec:
  feastProject: driver_ranking
  registry: {path: )" + dir_ +
                        R"(/registry.pb}
  featureStoreYaml:
    onlineStore: {type: sqlite, path: "${FF_ONLINE_DB}"}
  credentials: {envFrom: [{secretRef: {name: store-credentials}}]}
  services: {onlineStore: {server: {replicas: 0}}}
  definitions: |
)" + Indent(definitions_, "    ");
    auto r = server_->Apply(store);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = server_->Kubectl(
        {"wait", "--for=condition=RegistryApplied", "fs/drivers", "--timeout=120s"});
    ASSERT_EQ(r.exit_code, 0) << r.err << server_->Kubectl({"get", "fs/drivers", "-o", "yaml"}).out
                              << operator_->Output();
  }
  static void StartOperator() {
    static int run = 0;
    operator_ = new BackgroundCommand(
        {BinaryPath("operator/cmd/featureforge_operator/featureforge-operator"), "--kubeconfig",
         server_->kubeconfig(), "--leader-elect=false", "--metrics-bind-address", "127.0.0.1:0",
         "--work-dir", dir_ + "/operator", "--log-level", "info"},
        dir_ + "/operator-" + std::to_string(run++) + ".log");
  }
  static void TearDownTestSuite() {
    delete operator_;
    operator_ = nullptr;
    // Stop every executor (a hanging one included) through the kubelet before killing it, so
    // no pod process outlives the test.
    if (server_ != nullptr) {
      server_->Kubectl({"delete", "mj", "--all", "--wait=false"});
      server_->Kubectl({"delete", "pods", "--all", "--timeout=60s"});
    }
    delete kubelet_;
    delete server_;
    if (!::testing::Test::HasFailure()) fs::remove_all(dir_);
  }

  CommandResult Kubectl(const std::vector<std::string>& args) { return server_->Kubectl(args); }
  json Get(const std::string& object) {
    auto r = Kubectl({"get", object, "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json::object();
  }
  std::string Events(const std::string& name) {
    return Kubectl({"get", "events", "--field-selector", "involvedObject.name=" + name, "-o",
                    "custom-columns=REASON:.reason,MESSAGE:.message"})
        .out;
  }
  int Wait(const std::string& object, const std::string& condition, int seconds = 180) {
    auto r = Kubectl({"wait", "--for=condition=" + condition, object,
                      "--timeout=" + std::to_string(seconds) + "s"});
    return r.exit_code;
  }
  std::string Job(const std::string& name, const std::string& extra_spec, TimestampMicros start,
                  TimestampMicros end) {
    return "apiVersion: featureforge.dev/v1alpha1\nkind: MaterializationJob\nmetadata: {name: " +
           name + "}\nspec:\n  featureStore: drivers\n  featureViews: [driver_hourly_stats]\n" +
           "  startTime: \"" + FormatTimestamp(start) + "\"\n  endTime: \"" + FormatTimestamp(end) +
           "\"\n" + extra_spec;
  }
  // Polls `done` (a safety-net limit, not a timing assertion).
  bool Eventually(const std::function<bool()>& done, int seconds = 120) {
    for (int i = 0; i < seconds * 2; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return done();
  }
  // `featureforge` against the test's own view of the repo (same registry and online store).
  CommandResult Ff(std::vector<std::string> args, const std::string& repo = repo_) {
    std::vector<std::string> argv = {BinaryPath("worker/featureforge"), "--repo", repo};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  std::string Watermark() {
    auto r = Ff({"-o", "json", "list", "views"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    json listing = json::parse(r.out, nullptr, false);
    if (listing.is_discarded()) return "unparsable: " + r.out;
    for (const auto& v : listing.value("feature_views", json::array())) {
      if (v.value("name", "") != "driver_hourly_stats") continue;
      const json& end = v["last_materialized_end"];
      return end.is_string() ? end.get<std::string>() : "";
    }
    return "";
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

  // The online values one unpartitioned local run of [start, end] computes (a fresh repo copy
  // with its own registry and SQLite file), as `get-online-features -o json` prints them.
  std::string ReferenceOnlineValues(const std::string& name, TimestampMicros start,
                                    TimestampMicros end) {
    std::string reference = dir_ + "/" + name;
    fs::copy(repo_, reference, fs::copy_options::recursive);
    {
      std::ofstream config(reference + "/feature_store.yaml", std::ios::trunc);
      config << "project: driver_ranking\nregistry: " << reference
             << "/registry.pb\nprovider: local\n"
             << "offline_store: {type: duckdb}\nonline_store: {type: sqlite, path: " << reference
             << "/online.db}\nentity_key_serialization_version: 3\n";
    }
    EXPECT_EQ(Ff({"apply"}, reference).exit_code, 0);
    auto r = Ff({"materialize", FormatTimestamp(start), FormatTimestamp(end), "--views",
                 "driver_hourly_stats", "-q"},
                reference);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return OnlineValues(reference);
  }
  // Child runs of a schedule (named "<schedule>-<unix minutes>"), not being deleted, by name.
  std::vector<std::string> Runs(const std::string& schedule) {
    auto r = Kubectl({"get", "mj", "-o", "json"});
    std::vector<std::string> names;
    if (r.exit_code != 0) return names;
    const std::regex child(schedule + "-[0-9]+");
    const json listed = json::parse(r.out);  // a named value: items must not dangle
    for (const auto& item : listed["items"]) {
      const std::string name = item["metadata"].value("name", "");
      if (!std::regex_match(name, child)) continue;
      if (item["metadata"].contains("deletionTimestamp")) continue;
      names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string Pods(const std::string& job, const std::string& phase = "") {
    std::vector<std::string> args = {"get", "pods", "-l", "featureforge.dev/job=" + job};
    if (!phase.empty()) args.insert(args.end(), {"--field-selector", "status.phase=" + phase});
    args.insert(args.end(), {"-o", "name"});
    return Kubectl(args).out;
  }

  static std::string dir_, repo_, definitions_;
  static TimestampMicros end_;
  static ApiServerProcess* server_;
  static BackgroundCommand* kubelet_;
  static BackgroundCommand* operator_;
};

std::string MaterializationJobE2E::dir_, MaterializationJobE2E::repo_,
    MaterializationJobE2E::definitions_;
TimestampMicros MaterializationJobE2E::end_ = 0;
ApiServerProcess* MaterializationJobE2E::server_ = nullptr;
BackgroundCommand* MaterializationJobE2E::kubelet_ = nullptr;
BackgroundCommand* MaterializationJobE2E::operator_ = nullptr;

constexpr int64_t kHour = 3600 * kMicrosPerSecond;

TEST_F(MaterializationJobE2E, FourPartitionsCompleteAndAdvanceTheWatermark) {
  auto r = server_->Apply(
      Job("full", "  executor: {partitions: 4, parallelism: 2}\n", end_ - 48 * kHour, end_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Wait("mj/full", "Complete"), 0) << Get("mj/full").dump(2) << operator_->Output();
  json job = Get("mj/full");
  EXPECT_EQ(job["status"]["phase"], "Succeeded");
  EXPECT_EQ(job["status"]["progress"], "4/4");
  EXPECT_EQ(job["status"]["attempts"], 4);
  EXPECT_EQ(job["status"]["rowsWritten"], 40) << job["status"].dump(2);  // latest row per driver
  EXPECT_TRUE(job["status"].value("watermarksRecorded", false));
  EXPECT_EQ(job["status"]["observedGeneration"], job["metadata"]["generation"]);
  EXPECT_THAT(Kubectl({"get", "mj"}).out, HasSubstr("4/4"));
  EXPECT_EQ(
      Kubectl({"get", "pods", "-l", "featureforge.dev/job=full", "-o", "name"}).out.size() > 0,
      true);
  // Executor pods carry the store's credentials.
  EXPECT_THAT(Kubectl({"get", "pods", "-l", "featureforge.dev/job=full", "-o",
                       "jsonpath={.items[0].spec.containers[0].envFrom[0].secretRef.name}"})
                  .out,
              HasSubstr("store-credentials"));
  EXPECT_EQ(Watermark(), FormatTimestamp(end_));

  // The online store holds exactly what one unpartitioned local run computes.
  std::string reference = dir_ + "/reference";
  fs::copy(repo_, reference, fs::copy_options::recursive);
  {
    std::ofstream config(reference + "/feature_store.yaml", std::ios::trunc);
    config << "project: driver_ranking\nregistry: " << reference
           << "/registry.pb\nprovider: local\n"
           << "offline_store: {type: duckdb}\nonline_store: {type: sqlite, path: " << reference
           << "/online.db}\nentity_key_serialization_version: 3\n";
  }
  ASSERT_EQ(Ff({"apply"}, reference).exit_code, 0);
  r = Ff({"materialize", FormatTimestamp(end_ - 48 * kHour), FormatTimestamp(end_), "--views",
          "driver_hourly_stats", "-q"},
         reference);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string expected = OnlineValues(reference);
  EXPECT_THAT(expected, HasSubstr("PRESENT"));
  EXPECT_EQ(OnlineValues(repo_), expected);
  EXPECT_THAT(Events("full"), HasSubstr("WatermarkAdvanced"));
}

TEST_F(MaterializationJobE2E, FailsTwiceThenSucceedsWithBackoffEvents) {
  auto r = server_->Apply(Job("flaky",
                              "  backoffLimit: 3\n  backoff: {initialSeconds: 1, maxSeconds: 2}\n"
                              "  executor:\n    partitions: 1\n    env: [{name: "
                              "FEATUREFORGE_FAULT_FAIL_ATTEMPTS, value: \"2\"}]\n",
                              end_ - 24 * kHour, end_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Wait("mj/flaky", "Complete"), 0) << Get("mj/flaky").dump(2);
  json job = Get("mj/flaky");
  EXPECT_EQ(job["status"]["attempts"], 3);
  EXPECT_EQ(job["status"]["partitionStatuses"][0]["failures"], 2);
  std::string events = Events("flaky");
  EXPECT_THAT(events, HasSubstr("retrying partition 0 after 1s"));
  EXPECT_THAT(events, HasSubstr("retrying partition 0 after 2s"));
  EXPECT_THAT(events, HasSubstr("injected failure"));
}

TEST_F(MaterializationJobE2E, AlwaysFailingJobFailsAfterBackoffLimitWatermarkUnchanged) {
  const std::string before = Watermark();
  auto r = server_->Apply(Job("doomed",
                              "  backoffLimit: 1\n  backoff: {initialSeconds: 1, maxSeconds: 1}\n"
                              "  executor:\n    partitions: 2\n    env: [{name: "
                              "FEATUREFORGE_FAULT_FAIL_ATTEMPTS, value: \"100\"}]\n",
                              end_ - 24 * kHour, end_ + 12 * kHour));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Wait("mj/doomed", "Failed"), 0) << Get("mj/doomed").dump(2);
  json job = Get("mj/doomed");
  EXPECT_EQ(job["status"]["phase"], "Failed");
  EXPECT_FALSE(job["status"].value("watermarksRecorded", false));
  EXPECT_THAT(job["status"]["lastFailure"].dump(), HasSubstr("injected failure"));
  EXPECT_THAT(Events("doomed"), HasSubstr("BackoffLimitExceeded"));
  EXPECT_EQ(Watermark(), before);
  // No executor pod of the job is left running.
  EXPECT_EQ(Kubectl({"get", "pods", "-l", "featureforge.dev/job=doomed", "--field-selector",
                     "status.phase=Running", "-o", "name"})
                .out,
            "");
}

TEST_F(MaterializationJobE2E, InvalidJobsAreRejectedOrReported) {
  // Rejected by the schema.
  EXPECT_NE(server_->Apply(Job("bad-mode", "  mode: sometimes\n", end_ - kHour, end_)).exit_code,
            0);
  EXPECT_NE(server_->Apply(Job("bad-parts", "  executor: {partitions: 0}\n", end_ - kHour, end_))
                .exit_code,
            0);
  EXPECT_NE(server_
                ->Apply("apiVersion: featureforge.dev/v1alpha1\nkind: MaterializationJob\n"
                        "metadata: {name: no-store}\nspec: {mode: incremental}\n")
                .exit_code,
            0);
  // Reported in conditions.
  auto missing = Job("missing-store", "", end_ - kHour, end_);
  missing = std::regex_replace(missing, std::regex("featureStore: drivers"), "featureStore: nope");
  ASSERT_EQ(server_->Apply(missing).exit_code, 0);
  ASSERT_EQ(server_->Apply(Job("bad-window", "", end_, end_ - kHour)).exit_code, 0);
  auto unknown = std::regex_replace(Job("unknown-view", "", end_ - kHour, end_),
                                    std::regex("\\[driver_hourly_stats\\]"), "[no_such_view]");
  ASSERT_EQ(server_->Apply(unknown).exit_code, 0);
  for (const char* name : {"missing-store", "bad-window", "unknown-view"}) {
    ASSERT_EQ(Wait(std::string("mj/") + name, "Failed", 60), 0) << name;
    json job = Get(std::string("mj/") + name);
    bool found = false;
    for (const auto& c : job["status"]["conditions"]) {
      if (c["type"] == "Failed") {
        found = true;
        EXPECT_EQ(c["reason"], "InvalidSpec") << name;
      }
    }
    EXPECT_TRUE(found) << name;
    EXPECT_THAT(Events(name), HasSubstr("InvalidSpec")) << name;
  }
  EXPECT_THAT(Get("mj/missing-store")["status"]["message"].dump(),
              HasSubstr("FeatureStore default/nope not found"));
  EXPECT_THAT(Get("mj/bad-window")["status"]["message"].dump(), HasSubstr("is after spec.endTime"));
  EXPECT_THAT(Get("mj/unknown-view")["status"]["message"].dump(), HasSubstr("no_such_view"));
}

TEST_F(MaterializationJobE2E, OperatorKilledMidJobFinishesWithoutLeakingPods) {
  auto r = server_->Apply(Job("restart",
                              "  backoff: {initialSeconds: 3, maxSeconds: 3}\n"
                              "  executor:\n    partitions: 3\n    parallelism: 1\n"
                              "    env: [{name: FEATUREFORGE_FAULT_FAIL_ATTEMPTS, value: \"1\"}]\n",
                              end_ - 24 * kHour, end_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Kubectl({"wait", "--for=jsonpath={.status.attempts}=2", "mj/restart", "--timeout=120s"})
                .exit_code,
            0);
  operator_->Kill();
  delete operator_;
  StartOperator();
  ASSERT_EQ(Wait("mj/restart", "Complete"), 0) << Get("mj/restart").dump(2);
  json job = Get("mj/restart");
  EXPECT_EQ(job["status"]["attempts"], 6);  // each partition: one injected failure, one success
  auto listed = Kubectl({"get", "pods", "-l", "featureforge.dev/job=restart", "-o", "json"});
  json pods = json::parse(listed.out);
  EXPECT_EQ(pods["items"].size(), 6u) << listed.out;
  for (const auto& p : pods["items"]) {
    EXPECT_TRUE(p["status"]["phase"] == "Succeeded" || p["status"]["phase"] == "Failed")
        << p["metadata"]["name"];
  }
}

TEST_F(MaterializationJobE2E, DeadlineStopsHangingPodsAndTtlDeletesFinishedJobs) {
  auto r = server_->Apply(Job("hangs",
                              "  activeDeadlineSeconds: 5\n"
                              "  executor:\n    partitions: 2\n"
                              "    env: [{name: FEATUREFORGE_FAULT_HANG, value: \"1\"}]\n",
                              end_ - 24 * kHour, end_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Wait("mj/hangs", "Failed"), 0) << Get("mj/hangs").dump(2);
  json job = Get("mj/hangs");
  bool deadline = false;
  for (const auto& c : job["status"]["conditions"]) {
    if (c["type"] == "Failed" && c["reason"] == "DeadlineExceeded") deadline = true;
  }
  EXPECT_TRUE(deadline) << job["status"].dump(2);
  EXPECT_THAT(Events("hangs"), HasSubstr("DeadlineExceeded"));
  // The hanging pods were stopped.
  EXPECT_TRUE(Eventually([&] {
    return Kubectl({"get", "pods", "-l", "featureforge.dev/job=hangs", "-o", "name"}).out.empty();
  })) << Kubectl({"get", "pods", "-l", "featureforge.dev/job=hangs"}).out;

  // ttlSecondsAfterFinished: the finished job goes away (and its pods with it).
  r = server_->Apply(Job("short-lived", "  ttlSecondsAfterFinished: 1\n", end_ - 24 * kHour, end_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Kubectl({"wait", "--for=delete", "mj/short-lived", "--timeout=120s"}).exit_code, 0)
      << Get("mj/short-lived").dump(2);
}

TEST_F(MaterializationJobE2E, ScheduleWithForbidSkipsWhileARunHangs) {
  auto r = server_->Apply(R"(apiVersion: featureforge.dev/v1alpha1
kind: MaterializationJob
metadata: {name: every-minute}
spec:
  featureStore: drivers
  featureViews: [driver_hourly_stats]
  mode: incremental
  schedule: "* * * * *"
  concurrencyPolicy: Forbid
  executor:
    env: [{name: FEATUREFORGE_FAULT_HANG, value: "1"}]
)");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The first run starts at the next minute and hangs; the one after is skipped.
  ASSERT_EQ(Kubectl({"wait", "--for=jsonpath={.status.skippedRuns}=1", "mj/every-minute",
                     "--timeout=150s"})
                .exit_code,
            0)
      << Get("mj/every-minute").dump(2);
  json schedule = Get("mj/every-minute");
  EXPECT_EQ(schedule["status"]["active"].size(), 1u);
  EXPECT_TRUE(schedule["status"].contains("nextScheduleTime"));
  EXPECT_TRUE(schedule["status"].contains("lastScheduleTime"));
  std::string events = Events("every-minute");
  EXPECT_THAT(events, HasSubstr("CreatedRun"));
  EXPECT_THAT(events, HasSubstr("concurrencyPolicy Forbid"));
  // Suspend: no new runs; status says so.
  ASSERT_EQ(
      Kubectl({"patch", "mj/every-minute", "--type=merge", "-p", R"({"spec":{"suspend":true}})"})
          .exit_code,
      0);
  EXPECT_EQ(Kubectl({"wait", "--for=jsonpath={.status.phase}=Suspended", "mj/every-minute",
                     "--timeout=60s"})
                .exit_code,
            0);
  // Deleting the schedule removes its runs and their pods (ownerReference GC).
  const std::string child = schedule["status"]["active"].empty()
                                ? std::string()
                                : schedule["status"]["active"][0].get<std::string>();
  EXPECT_EQ(Kubectl({"delete", "mj/every-minute"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] {
    return Kubectl({"get", "mj", "-o", "name"}).out.find("every-minute") == std::string::npos &&
           Kubectl({"get", "pods", "-l", "featureforge.dev/job=" + child, "-o", "name"})
               .out.empty();
  })) << Kubectl({"get", "mj,pods"}).out;
}

TEST_F(MaterializationJobE2E, FeatureServerAnswersWithTheMaterializedValues) {
  const TimestampMicros start = end_ - 48 * kHour;
  auto r =
      server_->Apply(Job("served", "  executor: {partitions: 4, parallelism: 2}\n", start, end_));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Wait("mj/served", "Complete"), 0) << Get("mj/served").dump(2) << operator_->Output();
  EXPECT_EQ(Get("mj/served")["status"]["progress"], "4/4");
  const json expected = json::parse(ReferenceOnlineValues("reference-served", start, end_));
  ASSERT_FALSE(expected["results"].empty());

  // Run the store's feature server (a Deployment: the harness Deployment controller makes its
  // pod, the kubelet runs `featureforge serve` on the pod IP).
  BackgroundCommand deployments(
      {BinaryPath("tests/harness/ff-deployment-controller"), "--kubeconfig", server_->kubeconfig()},
      dir_ + "/deployment-controller.log");
  r = Kubectl({"patch", "fs/drivers", "--type=merge", "-p",
               R"({"spec":{"services":{"onlineStore":{"server":{"replicas":1}}}}})"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Wait("fs/drivers", "ServerAvailable", 180), 0)
      << Get("fs/drivers").dump(2) << Kubectl({"get", "deploy,pods", "-o", "wide"}).out;
  json fs_status = Get("fs/drivers")["status"];
  EXPECT_THAT(fs_status.value("serviceEndpoint", ""), HasSubstr("drivers-server"));

  // Services are not routed in the harness (no kube-proxy): reach the ready pod on its IP and
  // its declared container port, as a Service would.
  auto pods = Kubectl({"get", "pods", "-l", "app.kubernetes.io/component=feature-server",
                       "--field-selector", "status.phase=Running", "-o", "json"});
  ASSERT_EQ(pods.exit_code, 0) << pods.err;
  json items = json::parse(pods.out)["items"];
  ASSERT_FALSE(items.empty()) << pods.out;
  const std::string ip = items[0]["status"].value("podIP", "");
  const int port = items[0]["spec"]["containers"][0]["ports"][0].value("containerPort", 0);
  ASSERT_FALSE(ip.empty());
  std::string ids;
  for (int d = 1001; d <= 1040; ++d) ids += (ids.empty() ? "" : ",") + std::to_string(d);
  const std::string body =
      R"({"features":["driver_hourly_stats:conv_rate",)"
      R"("driver_hourly_stats:acc_rate","driver_hourly_stats:avg_daily_trips"],)"
      R"("entities":{"driver_id":[)" +
      ids + "]}}";
  auto answer = RunCommand({"curl", "-sS", "--fail-with-body", "-X", "POST", "-H",
                            "Content-Type: application/json", "--data", body,
                            "http://" + ip + ":" + std::to_string(port) + "/get-online-features"});
  ASSERT_EQ(answer.exit_code, 0) << answer.out << answer.err;
  json served = json::parse(answer.out, nullptr, false);
  ASSERT_FALSE(served.is_discarded()) << answer.out;
  // Exactly the values (statuses and event timestamps too) of one unpartitioned local run, for
  // the features the reference printed.
  ASSERT_EQ(served["metadata"]["feature_names"].size(), served["results"].size());
  std::map<std::string, json> by_name;
  for (size_t i = 0; i < served["results"].size(); ++i)
    by_name[served["metadata"]["feature_names"][i].get<std::string>()] = served["results"][i];
  int compared = 0;
  for (size_t i = 0; i < expected["results"].size(); ++i) {
    const std::string name = expected["metadata"]["feature_names"][i].get<std::string>();
    if (!by_name.count(name)) continue;
    EXPECT_EQ(by_name[name], expected["results"][i]) << name;
    ++compared;
  }
  EXPECT_EQ(compared, 4) << served["metadata"].dump()
                         << expected["metadata"].dump();  // + driver_id
  EXPECT_THAT(answer.out, HasSubstr("PRESENT"));

  // Stop the server through the cluster before the Deployment controller goes away.
  Kubectl({"patch", "fs/drivers", "--type=merge", "-p",
           R"({"spec":{"services":{"onlineStore":{"server":{"replicas":0}}}}})"});
  EXPECT_TRUE(Eventually([&] {
    return Kubectl(
               {"get", "pods", "-l", "app.kubernetes.io/component=feature-server", "-o", "name"})
        .out.empty();
  }));
}

// Scheduled runs are real minutes (the operator has no faster test clock and Kubernetes cron has
// no seconds field), so all four schedules share one test: about two minutes of wall time.
TEST_F(MaterializationJobE2E, ScheduleReplaceAllowAndHistoryLimits) {
  auto schedule = [&](const std::string& name, const std::string& policy,
                      const std::string& extra) {
    auto r = server_->Apply(
        "apiVersion: featureforge.dev/v1alpha1\nkind: MaterializationJob\n"
        "metadata: {name: " +
        name +
        "}\nspec:\n  featureStore: drivers\n"
        "  featureViews: [driver_hourly_stats]\n  mode: incremental\n"
        "  schedule: \"* * * * *\"\n  concurrencyPolicy: " +
        policy + "\n" + extra);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  const std::string hang =
      "  executor:\n    env: [{name: FEATUREFORGE_FAULT_HANG, value: \"1\"}]\n";
  schedule("replace", "Replace", hang);
  schedule("allow", "Allow", hang);
  schedule("keep-one", "Allow", "  successfulRunsHistoryLimit: 1\n");
  schedule("keep-failed", "Allow",
           "  failedRunsHistoryLimit: 1\n  backoffLimit: 0\n  executor:\n    env: [{name: "
           "FEATUREFORGE_FAULT_FAIL_ATTEMPTS, value: \"100\"}]\n");

  // Allow: the second fire starts a run while the first still hangs; both have running pods.
  ASSERT_TRUE(Eventually([&] { return Runs("allow").size() >= 1; }, 150))
      << Kubectl({"get", "mj"}).out;
  const std::string replaced = [&] {
    std::vector<std::string> runs;
    Eventually([&] { return (runs = Runs("replace")).size() >= 1; }, 150);
    return runs.empty() ? std::string() : runs[0];
  }();
  ASSERT_FALSE(replaced.empty());
  ASSERT_TRUE(Eventually([&] { return !Pods(replaced, "Running").empty(); }))
      << Kubectl({"get", "pods"}).out;
  ASSERT_TRUE(Eventually([&] { return Runs("allow").size() >= 2; }, 150))
      << Kubectl({"get", "mj"}).out;
  EXPECT_TRUE(Eventually([&] {
    auto runs = Runs("allow");
    return runs.size() >= 2 && !Pods(runs[0], "Running").empty() &&
           !Pods(runs[1], "Running").empty();
  })) << Kubectl({"get", "pods"}).out;
  EXPECT_TRUE(Eventually([&] { return Get("mj/allow")["status"]["active"].size() >= 2; }))
      << Get("mj/allow").dump(2);

  // Replace: the hanging first run was deleted (with its pod) for the second.
  EXPECT_TRUE(Eventually([&] {
    return Events("replace").find("ReplacedRun") != std::string::npos;
  })) << Events("replace");
  EXPECT_TRUE(Eventually([&] {
    auto runs = Runs("replace");
    return runs.size() == 1 && runs[0] != replaced && Pods(replaced).empty();
  })) << Kubectl({"get", "mj,pods"}).out;
  EXPECT_THAT(Events("replace"), HasSubstr("deleted active run " + replaced));
  json replace_status = Get("mj/replace")["status"];
  ASSERT_EQ(replace_status["active"].size(), 1u);
  EXPECT_NE(replace_status["active"][0], replaced);

  // History limits: of two finished runs only the newest stays (with its pods); the older one is
  // pruned, and its pods go with it.
  for (const std::string name : {"keep-one", "keep-failed"}) {
    EXPECT_TRUE(
        Eventually([&] { return Events(name).find("PrunedRun") != std::string::npos; }, 150))
        << name << "\n"
        << Events(name) << Kubectl({"get", "mj"}).out;
    auto runs = Runs(name);
    EXPECT_EQ(runs.size(), 1u) << name;
  }
  EXPECT_EQ(Get("mj/keep-one")["status"].value("lastSuccessfulTime", "").empty(), false);
  std::string pruned = Events("keep-one");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(pruned, m, std::regex("deleted finished run (keep-one-[0-9]+)")))
      << pruned;
  const std::string old_run = m[1];
  EXPECT_TRUE(Eventually([&] { return Pods(old_run).empty(); })) << Kubectl({"get", "pods"}).out;
  EXPECT_THAT(Events("keep-failed"), HasSubstr("Failed; history limit 1"));

  // Stop new runs before teardown deletes everything.
  for (const char* name : {"replace", "allow", "keep-one", "keep-failed"}) {
    Kubectl(
        {"patch", std::string("mj/") + name, "--type=merge", "-p", R"({"spec":{"suspend":true}})"});
  }
}

}  // namespace
}  // namespace ffharness::testing
