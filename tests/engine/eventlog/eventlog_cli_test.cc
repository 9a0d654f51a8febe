// Every materialization entry point of the `featureforge` binary writes the event log: `.keep`
// first, then JSON lines for the run and each view — to a local folder (flag), to s3:// on a
// real s3rver (environment variable, as an executor pod gets it), for `materialize`,
// `materialize-incremental` and `executor`, on success and on failure.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "featureforge/common/time.h"
#include "featureforge/objectstore/s3_store.h"
#include "featureforge/testutil/testutil.h"
#include "ff_s3_testutil/s3rver.h"

namespace featureforge {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testutil::ProcessResult;

std::vector<json> Lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    json parsed = json::parse(line, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << line;
    out.push_back(parsed);
  }
  return out;
}

// The events of one view: its start and its end with counts.
void ExpectViewEvents(const std::vector<json>& lines, const std::string& view) {
  bool started = false, ended = false;
  for (const auto& line : lines) {
    if (line["stage"] != "materialize:" + view) continue;
    if (line["event"] == "start") started = true;
    if (line["event"] == "end") {
      ended = true;
      EXPECT_TRUE(line["counts"].contains("rows_read")) << line;
      EXPECT_EQ(line["rows"], line["counts"]["rows_written"]) << line;
    }
  }
  EXPECT_TRUE(started && ended) << view;
}

class EventLogCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.Join("driver_ranking");
    fs::copy(testutil::SourceDir() + "/examples/driver_ranking", repo_,
             fs::copy_options::recursive);
    fs::remove_all(repo_ + "/data");
    const int64_t hour = 3600 * kMicrosPerSecond;
    end_ = SystemClock().Now() / hour * hour;
    ProcessResult gen =
        testutil::RunProcess({testutil::BuildDir() + "/examples/ff-sample-data", "--repo", repo_,
                              "--drivers", "20", "--days", "2", "--end", FormatTimestamp(end_)});
    ASSERT_EQ(gen.exit_code, 0) << gen.Describe();
    ProcessResult apply = Ff({"apply"});
    ASSERT_EQ(apply.exit_code, 0) << apply.Describe();
  }

  ProcessResult Ff(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {testutil::BuildDir() + "/worker/featureforge", "--repo",
                                     repo_};
    argv.insert(argv.end(), args.begin(), args.end());
    testutil::SubprocessOptions options;
    options.env = std::move(env);
    return testutil::RunProcess(argv, options);
  }

  testutil::TempDir tmp_{"ff-eventlog-cli"};
  std::string repo_;
  TimestampMicros end_ = 0;
};

TEST_F(EventLogCliTest, MaterializeWritesKeepAndJsonLinesToALocalFolder) {
  const std::string prefix = tmp_.Join("logs/fresh/prefix");  // does not exist yet
  ProcessResult run =
      Ff({"materialize", FormatTimestamp(end_ - 86400 * kMicrosPerSecond), FormatTimestamp(end_),
          "--quiet", "--event-log-uri", prefix, "--run-id", "nightly-1"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  ASSERT_TRUE(fs::exists(prefix + "/.keep"));
  EXPECT_EQ(fs::file_size(prefix + "/.keep"), 0u);
  auto lines = Lines(testutil::ReadFile(prefix + "/nightly-1.jsonl"));
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines.front()["stage"], "run");
  EXPECT_EQ(lines.front()["event"], "start");
  EXPECT_EQ(lines.back()["stage"], "run");
  EXPECT_EQ(lines.back()["event"], "end");
  EXPECT_GT(lines.back()["rows"].get<int64_t>(), 0);
  ExpectViewEvents(lines, "driver_hourly_stats");
  for (const auto& line : lines) EXPECT_EQ(line["run_id"], "nightly-1");
}

TEST_F(EventLogCliTest, FailedRunLogsItsErrorAndABadPrefixStopsBeforeAnyWork) {
  const std::string prefix = tmp_.Join("logs");
  ProcessResult run = Ff({"materialize-incremental", FormatTimestamp(end_), "--quiet", "--views",
                          "no_such_view", "--event-log-uri", prefix, "--run-id", "bad-view"});
  EXPECT_EQ(run.exit_code, 2) << run.Describe();
  ASSERT_TRUE(fs::exists(prefix + "/.keep"));
  auto lines = Lines(testutil::ReadFile(prefix + "/bad-view.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["event"], "error");
  EXPECT_NE(lines[1]["message"].get<std::string>().find("no_such_view"), std::string::npos);

  ProcessResult bad = Ff({"materialize-incremental", FormatTimestamp(end_), "--quiet",
                          "--event-log-uri", "nosuchscheme://bucket/x"});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
  EXPECT_NE(bad.stderr_text.find("--event-log-uri"), std::string::npos) << bad.Describe();
  ProcessResult listing = Ff({"list", "-o", "json"});
  ASSERT_EQ(listing.exit_code, 0) << listing.Describe();
  EXPECT_EQ(listing.stdout_text.find("last_materialized_end\": \"20"), std::string::npos)
      << "a run whose event log could not be opened must not materialize: " << listing.stdout_text;
}

// batch_engine.event_log_uri in feature_store.yaml: every run logs there (relative to the repo
// root) without a flag; a flag still wins; an empty value is a definition error naming the field.
TEST_F(EventLogCliTest, PrefixFromFeatureStoreYaml) {
  const std::string config = repo_ + "/feature_store.yaml";
  std::string text = testutil::ReadFile(config);
  const std::string chunk_line = "  chunk_size: 10000\n";
  ASSERT_NE(text.find(chunk_line), std::string::npos);
  std::string with_log = text;
  with_log.replace(with_log.find(chunk_line), chunk_line.size(),
                   chunk_line + "  event_log_uri: logs/runs\n");
  std::ofstream(config) << with_log;

  ProcessResult run =
      Ff({"materialize-incremental", FormatTimestamp(end_), "--quiet", "--run-id", "from-config"});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(fs::exists(repo_ + "/logs/runs/.keep"));
  auto lines = Lines(testutil::ReadFile(repo_ + "/logs/runs/from-config.jsonl"));
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines.back()["event"], "end");

  const std::string flag_prefix = tmp_.Join("flag-logs");
  run = Ff({"materialize-incremental", FormatTimestamp(end_), "--quiet", "--run-id", "from-flag",
            "--event-log-uri", flag_prefix});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_TRUE(fs::exists(flag_prefix + "/from-flag.jsonl"));
  EXPECT_FALSE(fs::exists(repo_ + "/logs/runs/from-flag.jsonl"));

  std::string empty = text;
  empty.replace(empty.find(chunk_line), chunk_line.size(), chunk_line + "  event_log_uri: \"\"\n");
  std::ofstream(config) << empty;
  ProcessResult bad = Ff({"apply"});
  EXPECT_EQ(bad.exit_code, 2) << bad.Describe();
  EXPECT_NE(bad.stderr_text.find("feature_store.yaml:13"), std::string::npos) << bad.Describe();
  EXPECT_NE(bad.stderr_text.find("event_log_uri: must not be empty"), std::string::npos)
      << bad.Describe();
}

TEST_F(EventLogCliTest, IncrementalAndExecutorRunsLogToS3) {
  auto server = testing::S3rverProcess::Start({"ff-events"});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const std::map<std::string, std::string> env = {
      {"AWS_ENDPOINT_URL_S3", (*server)->endpoint()},
      {"AWS_ACCESS_KEY_ID", testing::kS3rverAccessKeyId},
      {"AWS_SECRET_ACCESS_KEY", testing::kS3rverSecretAccessKey},
      {"AWS_REGION", "us-east-1"},
      {"FEATUREFORGE_EVENT_LOG_URI", "s3://ff-events/jobs/driver"}};
  ProcessResult inc =
      Ff({"materialize-incremental", FormatTimestamp(end_), "--quiet", "--run-id", "inc-1"}, env);
  ASSERT_EQ(inc.exit_code, 0) << inc.Describe();
  ProcessResult exec =
      Ff({"executor", "--mode", "range", "--start",
          FormatTimestamp(end_ - 86400 * kMicrosPerSecond), "--end", FormatTimestamp(end_),
          "--partition", "1/2", "--termination-message-path", tmp_.Join("termination")},
         env);
  ASSERT_EQ(exec.exit_code, 0) << exec.Describe();

  auto store = S3ObjectStore::Create((*server)->Options());
  ASSERT_TRUE(store.ok());
  auto keep = (*store)->Get("s3://ff-events/jobs/driver/.keep");
  ASSERT_TRUE(keep.ok()) << keep.status().ToString();
  EXPECT_EQ(*keep, "");
  auto inc_log = (*store)->Get("s3://ff-events/jobs/driver/inc-1.jsonl");
  ASSERT_TRUE(inc_log.ok()) << inc_log.status().ToString();
  auto lines = Lines(*inc_log);
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines.back()["event"], "end");
  ExpectViewEvents(lines, "driver_hourly_stats");
  auto exec_log = (*store)->Get("s3://ff-events/jobs/driver/executor-p1-a1.jsonl");
  ASSERT_TRUE(exec_log.ok()) << exec_log.status().ToString();
  auto exec_lines = Lines(*exec_log);
  ASSERT_GE(exec_lines.size(), 2u);
  EXPECT_NE(exec_lines.front()["message"].get<std::string>().find("partition 1/2"),
            std::string::npos);
  EXPECT_EQ(exec_lines.back()["event"], "end");
}

}  // namespace
}  // namespace featureforge
