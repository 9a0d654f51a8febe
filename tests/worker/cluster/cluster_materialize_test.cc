// `featureforge cluster materialize` on a head with three workers writes the same online values
// as the single-process `featureforge materialize` on the same data, and records watermarks.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "featureforge/common/time.h"
#include "featureforge/testutil/testutil.h"

namespace featureforge {
namespace {

namespace fs = std::filesystem;
using testutil::ProcessResult;
using testutil::RunProcess;

std::string Featureforge() { return testutil::BuildDir() + "/worker/featureforge"; }

class ClusterMaterializeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    single_ = tmp_.Join("single");
    fs::copy(testutil::SourceDir() + "/examples/driver_ranking", single_,
             fs::copy_options::recursive);
    fs::remove_all(single_ + "/data");
    const int64_t hour = 3600 * kMicrosPerSecond;
    end_ = SystemClock().Now() / hour * hour;
    start_ = end_ - 4 * 24 * hour;
    ProcessResult gen =
        RunProcess({testutil::BuildDir() + "/examples/ff-sample-data", "--repo", single_,
                    "--drivers", "40", "--days", "4", "--end", FormatTimestamp(end_)});
    ASSERT_EQ(gen.exit_code, 0) << gen.Describe();
    // The same data for the cluster run.
    clustered_ = tmp_.Join("clustered");
    fs::copy(single_, clustered_, fs::copy_options::recursive);
    for (const std::string& repo : {single_, clustered_}) {
      ProcessResult apply = Ff(repo, {"apply"});
      ASSERT_EQ(apply.exit_code, 0) << apply.Describe();
    }
  }

  void TearDown() override {
    workers_.clear();
    head_.reset();
    if (HasFailure()) {
      for (const auto& entry : fs::directory_iterator(tmp_.path())) {
        if (entry.path().extension() == ".log") {
          std::cerr << "---- " << entry.path().filename().string() << "\n"
                    << testutil::ReadFile(entry.path().string()) << "\n";
        }
      }
    }
  }

  ProcessResult Ff(const std::string& repo, std::vector<std::string> args) {
    std::vector<std::string> argv = {Featureforge(), "--repo", repo};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  nlohmann::json Json(const ProcessResult& result) {
    EXPECT_EQ(result.exit_code, 0) << result.Describe();
    try {
      return nlohmann::json::parse(result.stdout_text);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << e.what() << "\n" << result.Describe();
      return {};
    }
  }

  void StartCluster(int workers, std::map<std::string, std::string> worker_env = {}) {
    const std::string address_file = tmp_.Join("head.address");
    head_ = std::make_unique<testutil::BackgroundProcess>(
        std::vector<std::string>{Featureforge(), "--log-level", "info", "head", "--port", "0",
                                 "--address-file", address_file},
        tmp_.Join("head.log"));
    ASSERT_GT(head_->pid(), 0) << head_->error();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (testutil::ReadFile(address_file).empty() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    address_ = testutil::ReadFile(address_file);
    ASSERT_FALSE(address_.empty()) << "head wrote no address";
    address_.pop_back();  // newline
    testutil::SubprocessOptions options;
    options.env = std::move(worker_env);
    for (int i = 1; i <= workers; ++i) {
      const std::string id = "w" + std::to_string(i);
      workers_.push_back(std::make_unique<testutil::BackgroundProcess>(
          std::vector<std::string>{Featureforge(), "--log-level", "info", "worker", "--head",
                                   address_, "--worker-id", id},
          tmp_.Join(id + ".log"), options));
    }
  }

  nlohmann::json OnlineValues(const std::string& repo) {
    std::string drivers;
    for (int d = 1001; d <= 1042; ++d) drivers += (drivers.empty() ? "" : ",") + std::to_string(d);
    return Json(Ff(repo, {"-o", "json", "get-online-features", "--entity", "driver_id=" + drivers,
                          "--features",
                          "driver_hourly_stats:conv_rate,driver_hourly_stats:acc_rate,"
                          "driver_hourly_stats:avg_daily_trips,driver_daily_aggregates"}));
  }

  testutil::TempDir tmp_{"ff-cluster-mat"};
  std::string single_;
  std::string clustered_;
  TimestampMicros start_ = 0;
  TimestampMicros end_ = 0;
  std::unique_ptr<testutil::BackgroundProcess> head_;
  std::vector<std::unique_ptr<testutil::BackgroundProcess>> workers_;
  std::string address_;
};

TEST_F(ClusterMaterializeTest, ThreePartitionsOnThreeWorkersMatchTheSingleProcessRun) {
  ProcessResult single =
      Ff(single_, {"materialize", FormatTimestamp(start_), FormatTimestamp(end_), "--quiet"});
  ASSERT_EQ(single.exit_code, 0) << single.Describe();

  // The batch view's compute-once output (data/driver_daily_aggregates.parquet) is missing in
  // the clustered repo: the three partitions start at once and exactly one of them writes it.
  ASSERT_FALSE(fs::exists(clustered_ + "/data/driver_daily_aggregates.parquet"));
  ASSERT_NO_FATAL_FAILURE(StartCluster(3));
  nlohmann::json run = Json(
      Ff(clustered_, {"-o", "json", "cluster", "materialize", "--head", address_, "--partitions",
                      "3", "--start", FormatTimestamp(start_), "--end", FormatTimestamp(end_)}));
  ASSERT_TRUE(run.value("ok", false)) << run.dump(2);
  ASSERT_EQ(run["tasks"].size(), 3u) << run.dump(2);
  for (const auto& task : run["tasks"]) {
    EXPECT_EQ(task["state"], "SUCCEEDED") << task.dump(2);
    EXPECT_TRUE(task["result"].value("ok", false)) << task.dump(2);
  }
  // Every driver lands in exactly one partition: 40 rows per online view in total.
  ASSERT_EQ(run["views"].size(), 2u) << run.dump(2);
  for (const auto& view : run["views"]) {
    EXPECT_EQ(view["rows_written"].get<int64_t>(), 40) << view.dump();
    EXPECT_TRUE(view["watermark_recorded"].get<bool>()) << view.dump();
    EXPECT_EQ(view["end"], FormatTimestamp(end_));
  }

  nlohmann::json expected = OnlineValues(single_);
  nlohmann::json actual = OnlineValues(clustered_);
  ASSERT_FALSE(expected.is_null());
  EXPECT_EQ(actual["results"], expected["results"]);
  EXPECT_EQ(actual["results"][1]["statuses"][0], "PRESENT") << actual.dump();

  // Watermarks recorded once every partition succeeded, as the single-process run does.
  nlohmann::json listing = Json(Ff(clustered_, {"-o", "json", "list"}));
  for (const auto& v : listing["feature_views"]) {
    if (v["online"].get<bool>()) {
      EXPECT_EQ(v["last_materialized_end"], FormatTimestamp(end_)) << v.dump();
    }
  }
}

TEST_F(ClusterMaterializeTest, FailedPartitionFailsTheRunAndRecordsNoWatermark) {
  // The executor's test hook fails attempt 1; the worker passes its environment on.
  ASSERT_NO_FATAL_FAILURE(StartCluster(1, {{"FEATUREFORGE_FAULT_FAIL_ATTEMPTS", "1"}}));
  ProcessResult run =
      Ff(clustered_, {"cluster", "materialize", "--head", address_, "--partitions", "2", "--start",
                      FormatTimestamp(start_), "--end", FormatTimestamp(end_)});
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  EXPECT_NE(run.stdout_text.find("FAILED"), std::string::npos) << run.Describe();
  EXPECT_NE(run.stdout_text.find("injected failure"), std::string::npos) << run.Describe();
  nlohmann::json clustered_listing = Json(Ff(clustered_, {"-o", "json", "list"}));
  for (const auto& v : clustered_listing["feature_views"]) {
    EXPECT_TRUE(v["last_materialized_end"].is_null()) << v.dump();
  }
}

TEST_F(ClusterMaterializeTest, BadInputIsRejectedBeforeSubmitting) {
  // No head is running: these fail on input alone (exit 2), never on the connection.
  const std::string nowhere = "127.0.0.1:" + std::to_string(testutil::PickFreePort());
  EXPECT_EQ(Ff(clustered_, {"cluster", "materialize", "--head", nowhere, "--end", "x"}).exit_code,
            2);
  EXPECT_EQ(
      Ff(clustered_, {"cluster", "materialize", "--head", nowhere, "--end", FormatTimestamp(end_)})
          .exit_code,
      2);  // range mode without --start
  EXPECT_EQ(Ff(clustered_, {"cluster", "materialize", "--head", nowhere, "--mode", "incremental",
                            "--end", FormatTimestamp(end_), "--views", "nope"})
                .exit_code,
            2);
  ProcessResult down = Ff(clustered_, {"cluster", "materialize", "--head", nowhere, "--mode",
                                       "incremental", "--end", FormatTimestamp(end_)});
  EXPECT_EQ(down.exit_code, 1) << down.Describe();
  EXPECT_NE(down.stderr_text.find(nowhere), std::string::npos) << down.Describe();
}

}  // namespace
}  // namespace featureforge
