// The `featureforge` CLI driven as a process, the way a user runs it: on a copy of the sample
// repo with freshly generated data, against the embedded SQLite store and a real redis-server.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "featureforge/common/time.h"
#include "featureforge/offline/duckdb.h"
#include "featureforge/testutil/sample_repo.h"
#include "featureforge/testutil/testutil.h"
#include "ff_s3_testutil/s3rver.h"

namespace featureforge {
namespace {

namespace fs = std::filesystem;
using testutil::ProcessResult;
using testutil::RunProcess;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testutil::SampleRepo sample = testutil::CreateSampleRepo(tmp_.Join("driver_ranking"));
    ASSERT_TRUE(sample.error.empty()) << sample.error;
    repo_ = sample.dir;
    end_ = sample.end_unix_seconds * kMicrosPerSecond;
  }

  ProcessResult Ff(std::vector<std::string> args) {
    std::vector<std::string> argv = {testutil::BuildDir() + "/worker/featureforge", "--repo",
                                     repo_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  nlohmann::json FfJson(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", "json"});
    ProcessResult r = Ff(args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    try {
      return nlohmann::json::parse(r.stdout_text);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.Describe();
      return {};
    }
  }

  // The latest conv_rate of a driver at or before `at`, straight from the Parquet file.
  std::optional<double> LatestConvRate(int64_t driver, TimestampMicros at) {
    auto conn = offline::DuckConnection::Open();
    EXPECT_TRUE(conn.ok());
    auto v = (*conn)->QueryScalar("SELECT conv_rate FROM read_parquet('" + repo_ +
                                  "/data/driver_stats.parquet') "
                                  "WHERE driver_id = " +
                                  std::to_string(driver) +
                                  " AND event_timestamp <= make_timestamp(" + std::to_string(at) +
                                  ") ORDER BY event_timestamp DESC, created DESC LIMIT 1");
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (!v.ok() || !v->has_value()) return std::nullopt;
    return std::stod(**v);
  }

  testutil::TempDir tmp_{"ff-cli"};
  std::string repo_;
  TimestampMicros end_ = 0;
};

TEST_F(CliTest, ApplyMaterializeAndReadBackLatestValues) {
  ProcessResult apply = Ff({"apply"});
  ASSERT_EQ(apply.exit_code, 0) << apply.Describe();
  EXPECT_NE(apply.stdout_text.find("feature_view driver_hourly_stats"), std::string::npos);

  nlohmann::json run = FfJson({"materialize-incremental", FormatTimestamp(end_), "--quiet"});
  ASSERT_EQ(run["views"].size(), 2u) << run.dump(2);  // the online views only
  for (const auto& v : run["views"]) {
    EXPECT_GT(v["rows_read"].get<int64_t>(), 0) << v.dump();
    EXPECT_EQ(v["rows_written"].get<int64_t>(), 40) << v.dump();  // one row per driver
    EXPECT_TRUE(v["watermark_recorded"].get<bool>());
  }

  nlohmann::json online = FfJson({"get-online-features", "--entity", "driver_id=1001,1007,9999",
                                  "--features", "driver_hourly_stats:conv_rate"});
  ASSERT_EQ(online["metadata"]["feature_names"], nlohmann::json({"driver_id", "conv_rate"}))
      << online.dump(2);
  const auto& conv = online["results"][1];
  for (int i = 0; i < 2; ++i) {
    int64_t driver = i == 0 ? 1001 : 1007;
    auto expected = LatestConvRate(driver, end_);
    ASSERT_TRUE(expected.has_value());
    EXPECT_EQ(conv["statuses"][i], "PRESENT");
    EXPECT_NEAR(conv["values"][i].get<double>(), *expected, 1e-6) << "driver " << driver;
  }
  EXPECT_EQ(conv["statuses"][2], "NOT_FOUND");

  // Watermarks are visible, and a second incremental run has nothing new to do.
  nlohmann::json listing = FfJson({"list"});
  for (const auto& v : listing["feature_views"]) {
    if (v["online"].get<bool>()) {
      EXPECT_EQ(v["last_materialized_end"], FormatTimestamp(end_)) << v.dump();
    } else {
      EXPECT_TRUE(v["last_materialized_end"].is_null()) << v.dump();
    }
  }
  nlohmann::json again = FfJson({"materialize-incremental", FormatTimestamp(end_), "--quiet"});
  for (const auto& v : again["views"]) {
    EXPECT_EQ(v["rows_written"].get<int64_t>(), 0);
    EXPECT_NE(v["note"].get<std::string>().find("up to date"), std::string::npos) << v.dump();
  }
}

TEST_F(CliTest, HistoricalRetrievalWritesEveryEntityRow) {
  ASSERT_EQ(Ff({"apply"}).exit_code, 0);
  std::string out = tmp_.Join("training.csv");
  nlohmann::json result =
      FfJson({"get-historical-features", "--entities", repo_ + "/data/driver_entities.parquet",
              "--feature-service", "driver_activity", "--features",
              "driver_labels:completed_next_trip", "--output", out});
  EXPECT_EQ(result["rows"].get<int64_t>(), 1000);
  EXPECT_EQ(result["columns"], nlohmann::json({"driver_id", "event_timestamp", "conv_rate",
                                               "acc_rate", "avg_conv_rate_1d", "max_daily_trips_1d",
                                               "stat_rows_1d", "completed_next_trip"}));
  EXPECT_TRUE(fs::exists(out));
}

TEST_F(CliTest, ExitCodesSeparateBadInputFromFailures) {
  EXPECT_EQ(Ff({"no-such-command"}).exit_code, 2);
  EXPECT_EQ(Ff({"materialize", "yesterday", "today"}).exit_code, 2);
  ProcessResult not_applied = Ff({"materialize-incremental", FormatTimestamp(end_)});
  EXPECT_EQ(not_applied.exit_code, 2) << not_applied.Describe();
  EXPECT_NE(not_applied.stderr_text.find("featureforge apply"), std::string::npos);
  ASSERT_EQ(Ff({"apply"}).exit_code, 0);
  EXPECT_EQ(Ff({"materialize-incremental", FormatTimestamp(end_), "--views", "nope"}).exit_code, 2);
  EXPECT_EQ(Ff({"materialize", "2024-02-01", "2024-01-01"}).exit_code, 2);
  EXPECT_EQ(Ff({"materialize-incremental", FormatTimestamp(end_), "--partition", "4/4"}).exit_code,
            2);
  EXPECT_EQ(
      Ff({"get-online-features", "--entity", "rider_id=1", "-s", "driver_activity"}).exit_code, 2);

  // Broken definitions name the file and line.
  std::ofstream(repo_ + "/definitions/broken.yaml")
      << "entities:\n  - name: rider\n    joins: [x]\n";
  ProcessResult broken = Ff({"apply"});
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_NE(broken.stderr_text.find("definitions/broken.yaml:3"), std::string::npos)
      << broken.Describe();
  fs::remove(repo_ + "/definitions/broken.yaml");

  // A Redis online store that is not there is a runtime failure (1), not bad input.
  int port = testutil::PickFreePort();
  std::string config = testutil::ReadFile(repo_ + "/feature_store.yaml");
  auto pos = config.find("online_store:");
  auto next = config.find("batch_engine:");
  config.replace(pos, next - pos,
                 "online_store:\n  type: redis\n  connection_string: \"127.0.0.1:" +
                     std::to_string(port) + "\"\n");
  std::ofstream(repo_ + "/feature_store.yaml") << config;
  ProcessResult down = Ff({"materialize-incremental", FormatTimestamp(end_), "--quiet"});
  EXPECT_EQ(down.exit_code, 1) << down.Describe();
  nlohmann::json listing = FfJson({"list"});
  for (const auto& v : listing["feature_views"]) {
    EXPECT_TRUE(v["last_materialized_end"].is_null()) << "watermark recorded for a failed write";
  }
}

TEST_F(CliTest, PartitionedRunsCoverEveryDriverOnceWithoutRecordingWatermarks) {
  ASSERT_EQ(Ff({"apply"}).exit_code, 0);
  int64_t written = 0;
  for (int i = 0; i < 3; ++i) {
    nlohmann::json run =
        FfJson({"materialize-incremental", FormatTimestamp(end_), "--views", "driver_hourly_stats",
                "--partition", std::to_string(i) + "/3", "--quiet"});
    ASSERT_EQ(run["views"].size(), 1u);
    EXPECT_FALSE(run["views"][0]["watermark_recorded"].get<bool>());
    written += run["views"][0]["rows_written"].get<int64_t>();
  }
  EXPECT_EQ(written, 40);
}

// The registry in S3, its URI and the credentials taken from the environment the way a pod gets
// them from a Secret (feature_store.yaml says `registry: ${FF_REGISTRY_URI}`).
TEST_F(CliTest, RegistryOnS3NamedThroughTheEnvironment) {
  auto s3 = testing::S3rverProcess::Start({"ff-cli"});
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  std::string config = testutil::ReadFile(repo_ + "/feature_store.yaml");
  const size_t line = config.find("registry: data/registry.pb");
  ASSERT_NE(line, std::string::npos) << config;
  config.replace(line, std::string("registry: data/registry.pb").size(),
                 "registry: ${FF_REGISTRY_URI}");
  std::ofstream(repo_ + "/feature_store.yaml") << config;
  testutil::SubprocessOptions options;
  options.env = {{"FF_REGISTRY_URI", "s3://ff-cli/prod/registry.pb"},
                 {"AWS_ENDPOINT_URL_S3", (*s3)->endpoint()},
                 {"AWS_ACCESS_KEY_ID", testing::kS3rverAccessKeyId},
                 {"AWS_SECRET_ACCESS_KEY", testing::kS3rverSecretAccessKey}};
  auto ff = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {testutil::BuildDir() + "/worker/featureforge", "--repo", repo_,
                                     "-o", "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, options);
  };
  ProcessResult apply = ff({"apply"});
  ASSERT_EQ(apply.exit_code, 0) << apply.Describe();
  ProcessResult run = ff({"materialize-incremental", FormatTimestamp(end_), "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  ProcessResult listed = ff({"list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.Describe();
  nlohmann::json listing = nlohmann::json::parse(listed.stdout_text, nullptr, false);
  ASSERT_FALSE(listing.is_discarded()) << listed.Describe();
  for (const auto& v : listing["feature_views"]) {
    if (v["online"].get<bool>()) {
      EXPECT_EQ(v["last_materialized_end"], FormatTimestamp(end_)) << v.dump();
    }
  }
  EXPECT_FALSE(fs::exists(repo_ + "/data/registry.pb"));
  // Without the variable the CLI says which one is missing, where.
  options.env.erase("FF_REGISTRY_URI");
  ProcessResult unset = ff({"list"});
  EXPECT_EQ(unset.exit_code, 2) << unset.Describe();
  EXPECT_NE(unset.stderr_text.find("feature_store.yaml:3"), std::string::npos) << unset.Describe();
  EXPECT_NE(unset.stderr_text.find("FF_REGISTRY_URI is not set"), std::string::npos)
      << unset.Describe();
}

}  // namespace
}  // namespace featureforge
