// `featureforge serve` as a process, called over HTTP with a real client (libcurl), on a copy of
// the sample repo with generated data, against SQLite and a real redis-server.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "featureforge/common/time.h"
#include "featureforge/objectstore/s3_store.h"
#include "featureforge/offline/duckdb.h"
#include "featureforge/testutil/sample_repo.h"
#include "featureforge/testutil/testutil.h"
#include "ff_s3_testutil/s3rver.h"
#include "http_client.h"

namespace featureforge {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::HttpClient;
using testing::HttpResult;
using testutil::ProcessResult;
using testutil::RunProcess;

json ParseOrFail(const HttpResult& r) {
  json body = json::parse(r.body, nullptr, false);
  if (body.is_discarded()) ADD_FAILURE() << "not JSON (status " << r.status << "): " << r.body;
  return body;
}

class FeatureServerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    testutil::SampleRepo sample = testutil::CreateSampleRepo(tmp_.Join("driver_ranking"));
    ASSERT_TRUE(sample.error.empty()) << sample.error;
    repo_ = sample.dir;
    end_ = sample.end_unix_seconds * kMicrosPerSecond;
    if (GetParam() == "redis") {
      std::string error = redis_.Start();
      ASSERT_TRUE(error.empty()) << error;
      std::string config = testutil::ReadFile(repo_ + "/feature_store.yaml");
      auto pos = config.find("online_store:");
      auto next = config.find("batch_engine:");
      config.replace(
          pos, next - pos,
          "online_store:\n  type: redis\n  connection_string: \"" + redis_.address() + "\"\n");
      std::ofstream(repo_ + "/feature_store.yaml") << config;
    }
    ProcessResult apply = Ff({"apply"});
    ASSERT_EQ(apply.exit_code, 0) << apply.Describe();
  }

  void TearDown() override {
    // SIGTERM drains and exits 0.
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << ServerLog();
    }
  }

  ProcessResult Ff(std::vector<std::string> args) {
    std::vector<std::string> argv = {testutil::BuildDir() + "/worker/featureforge", "--repo",
                                     repo_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  void Materialize() {
    ProcessResult run = Ff({"materialize-incremental", FormatTimestamp(end_), "--quiet"});
    ASSERT_EQ(run.exit_code, 0) << run.Describe();
  }

  // Starts `featureforge serve` on port 0 and waits for the port it reports.
  void StartServer(std::vector<std::string> extra = {},
                   std::map<std::string, std::string> env = {}) {
    const std::string port_file = tmp_.Join("port-" + std::to_string(++servers_started_));
    std::vector<std::string> argv = {testutil::BuildDir() + "/worker/featureforge",
                                     "--repo",
                                     repo_,
                                     "--log-level",
                                     "info",
                                     "serve",
                                     "--port",
                                     "0",
                                     "--threads",
                                     "2",
                                     "--port-file",
                                     port_file,
                                     "--registry-check-interval-ms",
                                     "50"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    log_ = tmp_.Join("serve.log");
    testutil::SubprocessOptions options;
    options.env = std::move(env);
    server_ = std::make_unique<testutil::BackgroundProcess>(argv, log_, options);
    ASSERT_GT(server_->pid(), 0) << server_->error();
    for (int i = 0; i < 600 && !fs::exists(port_file); ++i) {
      ASSERT_TRUE(server_->Running()) << "serve exited:\n" << testutil::ReadFile(log_);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(fs::exists(port_file)) << testutil::ReadFile(log_);
    int port = std::stoi(testutil::ReadFile(port_file));
    client_ = std::make_unique<HttpClient>("http://127.0.0.1:" + std::to_string(port));
  }

  HttpResult Post(const std::string& path, const json& body) {
    return client_->Post(path, body.dump());
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

  std::string ServerLog() { return testutil::ReadFile(log_); }

  testutil::TempDir tmp_{"ff-serve"};
  testutil::RedisServer redis_;
  std::string repo_;
  std::string log_;
  TimestampMicros end_ = 0;
  int servers_started_ = 0;
  std::unique_ptr<testutil::BackgroundProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_P(FeatureServerTest, OnlineFeaturesMatchTheCliAndTheLatestRows) {
  Materialize();
  StartServer();
  json request = {{"features",
                   {"driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate",
                    "driver_daily_aggregates:stat_rows_1d"}},
                  {"entities", {{"driver_id", {1001, 1007, 9999}}}}};
  HttpResult r = Post("/get-online-features", request);
  ASSERT_EQ(r.status, 200) << r.body << r.error << ServerLog();
  json body = ParseOrFail(r);
  ASSERT_EQ(body["metadata"]["feature_names"],
            json({"driver_id", "conv_rate", "acc_rate", "stat_rows_1d"}))
      << body.dump(2);
  const json& conv = body["results"][1];
  for (int i = 0; i < 2; ++i) {
    int64_t driver = i == 0 ? 1001 : 1007;
    auto expected = LatestConvRate(driver, end_);
    ASSERT_TRUE(expected.has_value());
    EXPECT_EQ(conv["statuses"][i], "PRESENT");
    EXPECT_NEAR(conv["values"][i].get<double>(), *expected, 1e-6) << "driver " << driver;
  }
  EXPECT_EQ(conv["statuses"][2], "NOT_FOUND");
  EXPECT_TRUE(conv["values"][2].is_null());
  EXPECT_EQ(body["results"][0]["values"], json({1001, 1007, 9999}));

  // The CLI reads the same store through the same engine code: identical JSON.
  ProcessResult cli =
      Ff({"-o", "json", "get-online-features", "--entity", "driver_id=1001,1007,9999", "--features",
          "driver_hourly_stats:conv_rate,driver_hourly_stats:acc_rate,"
          "driver_daily_aggregates:stat_rows_1d"});
  ASSERT_EQ(cli.exit_code, 0) << cli.Describe();
  EXPECT_EQ(json::parse(cli.stdout_text), body);
}

TEST_P(FeatureServerTest, FeatureServiceWithFullFeatureNames) {
  Materialize();
  StartServer();
  HttpResult r = Post("/get-online-features", {{"feature_service", "driver_activity"},
                                               {"entities", {{"driver_id", {1003}}}},
                                               {"full_feature_names", true}});
  ASSERT_EQ(r.status, 200) << r.body;
  json body = ParseOrFail(r);
  EXPECT_EQ(body["metadata"]["feature_names"],
            json({"driver_id", "driver_hourly_stats__conv_rate", "driver_hourly_stats__acc_rate",
                  "driver_daily_aggregates__avg_conv_rate_1d",
                  "driver_daily_aggregates__max_daily_trips_1d",
                  "driver_daily_aggregates__stat_rows_1d"}))
      << body.dump(2);
  for (size_t i = 1; i < body["results"].size(); ++i) {
    EXPECT_EQ(body["results"][i]["statuses"][0], "PRESENT") << body.dump(2);
  }
}

TEST_P(FeatureServerTest, PushAndWriteToOnlineStoreThenReadBack) {
  Materialize();
  StartServer();
  // A newer row than anything materialized: it replaces the stored value.
  const std::string newer = FormatTimestamp(end_ + 60 * kMicrosPerSecond);
  json df = {{"driver_id", {1001, 1002}}, {"event_timestamp", {newer, newer}},
             {"created", {newer, newer}}, {"conv_rate", {0.125, 0.25}},
             {"acc_rate", {0.5, 0.75}},   {"avg_daily_trips", {7, 8}}};
  HttpResult push =
      Post("/push", {{"push_source_name", "driver_stats_source"}, {"df", df}, {"to", "online"}});
  ASSERT_EQ(push.status, 200) << push.body << ServerLog();
  EXPECT_EQ(ParseOrFail(push)["written"][0]["rows_written"], 2) << push.body;

  auto read = [&](std::vector<int64_t> drivers) {
    HttpResult r = Post(
        "/get-online-features",
        {{"features", {"driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"}},
         {"entities", {{"driver_id", drivers}}}});
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseOrFail(r);
  };
  json body = read({1001, 1002});
  EXPECT_EQ(body["results"][1]["values"], json({0.125, 0.25})) << body.dump();
  EXPECT_EQ(body["results"][2]["values"], json({7, 8})) << body.dump();

  // An older row never replaces a newer one.
  json old_df = df;
  old_df["event_timestamp"] = {FormatTimestamp(end_ - 3600 * kMicrosPerSecond),
                               FormatTimestamp(end_ - 3600 * kMicrosPerSecond)};
  old_df["conv_rate"] = {0.9, 0.9};
  HttpResult stale = Post("/push", {{"push_source_name", "driver_stats_source"}, {"df", old_df}});
  ASSERT_EQ(stale.status, 200) << stale.body;
  EXPECT_EQ(ParseOrFail(stale)["written"][0]["rows_skipped_stale"], 2) << stale.body;
  EXPECT_EQ(read({1001, 1002})["results"][1]["values"], json({0.125, 0.25}));

  // write-to-online-store targets a view directly; a new driver appears.
  json direct = {{"driver_id", {5555}},
                 {"event_timestamp", {newer}},
                 {"conv_rate", {0.375}},
                 {"acc_rate", {0.0}},
                 {"avg_daily_trips", {3}}};
  HttpResult write = Post("/write-to-online-store",
                          {{"feature_view_name", "driver_hourly_stats"}, {"df", direct}});
  ASSERT_EQ(write.status, 200) << write.body;
  body = read({5555});
  EXPECT_EQ(body["results"][1]["values"], json({0.375}));
  EXPECT_EQ(body["results"][1]["statuses"], json({"PRESENT"}));

  // The sample source is one Parquet file: offline push says why it cannot append.
  HttpResult offline =
      Post("/push", {{"push_source_name", "driver_stats_source"}, {"df", df}, {"to", "offline"}});
  EXPECT_EQ(offline.status, 501) << offline.body;
  EXPECT_NE(offline.body.find("single file"), std::string::npos) << offline.body;

  HttpResult bad_mode =
      Post("/push", {{"push_source_name", "driver_stats_source"}, {"df", df}, {"to", "sideways"}});
  EXPECT_EQ(bad_mode.status, 422);
  EXPECT_EQ(ParseOrFail(bad_mode)["field"], "to");

  // A missing feature column is named.
  json missing = df;
  missing.erase("acc_rate");
  HttpResult bad = Post("/push", {{"push_source_name", "driver_stats_source"}, {"df", missing}});
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(ParseOrFail(bad)["field"], "df.acc_rate") << bad.body;
}

TEST_P(FeatureServerTest, MaterializeOverHttp) {
  StartServer();
  json request = {{"features", {"driver_hourly_stats:conv_rate"}},
                  {"entities", {{"driver_id", {1001}}}}};
  HttpResult before = Post("/get-online-features", request);
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(ParseOrFail(before)["results"][1]["statuses"], json({"NOT_FOUND"}));

  HttpResult run = Post("/materialize-incremental", {{"end_ts", FormatTimestamp(end_)},
                                                     {"feature_views", {"driver_hourly_stats"}}});
  ASSERT_EQ(run.status, 200) << run.body << ServerLog();
  json result = ParseOrFail(run);
  ASSERT_EQ(result["views"].size(), 1u) << run.body;
  EXPECT_EQ(result["views"][0]["rows_written"], 40) << run.body;
  EXPECT_TRUE(result["views"][0]["watermark_recorded"].get<bool>());

  HttpResult after = Post("/get-online-features", request);
  json body = ParseOrFail(after);
  EXPECT_EQ(body["results"][1]["statuses"], json({"PRESENT"})) << after.body;
  EXPECT_NEAR(body["results"][1]["values"][0].get<double>(), *LatestConvRate(1001, end_), 1e-6);

  EXPECT_TRUE(result["event_log"].is_null()) << run.body;

  // A request may name its event log: .keep first, then the run's JSON lines.
  const std::string logs = tmp_.Join("event-logs");
  HttpResult range =
      Post("/materialize", {{"start_ts", FormatTimestamp(end_ - 86400 * kMicrosPerSecond)},
                            {"end_ts", FormatTimestamp(end_)},
                            {"feature_views", {"driver_daily_aggregates"}},
                            {"event_log_uri", logs}});
  ASSERT_EQ(range.status, 200) << range.body;
  json range_result = ParseOrFail(range);
  EXPECT_GT(range_result["views"][0]["rows_read"].get<int64_t>(), 0) << range.body;
  ASSERT_TRUE(fs::exists(logs + "/.keep"));
  const std::string log_path = range_result["event_log"].get<std::string>();
  EXPECT_EQ(log_path.rfind(logs + "/server-materialize-", 0), 0u) << log_path;
  std::string text = testutil::ReadFile(log_path);
  EXPECT_NE(text.find("\"stage\":\"materialize:driver_daily_aggregates\",\"event\":\"end\""),
            std::string::npos)
      << text;
  HttpResult bad_log =
      Post("/materialize-incremental", {{"end_ts", FormatTimestamp(end_)}, {"event_log_uri", 7}});
  EXPECT_EQ(bad_log.status, 422);
  EXPECT_EQ(ParseOrFail(bad_log)["field"], "event_log_uri");

  HttpResult unknown = Post("/materialize-incremental",
                            {{"end_ts", FormatTimestamp(end_)}, {"feature_views", {"nope"}}});
  EXPECT_EQ(unknown.status, 422) << unknown.body;
  EXPECT_EQ(ParseOrFail(unknown)["field"], "feature_views");
  HttpResult no_end = Post("/materialize", {{"start_ts", "2024-01-01"}});
  EXPECT_EQ(no_end.status, 422);
  EXPECT_EQ(ParseOrFail(no_end)["field"], "end_ts");
}

// `serve --event-log-uri s3://...`: /materialize runs without their own event_log_uri log to
// the server's prefix on a real s3rver.
TEST_P(FeatureServerTest, MaterializeLogsToTheServersS3EventLogPrefix) {
  auto s3 = testing::S3rverProcess::Start({"ff-events"});
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  StartServer({"--event-log-uri", "s3://ff-events/server"},
              {{"AWS_ENDPOINT_URL_S3", (*s3)->endpoint()},
               {"AWS_ACCESS_KEY_ID", testing::kS3rverAccessKeyId},
               {"AWS_SECRET_ACCESS_KEY", testing::kS3rverSecretAccessKey},
               {"AWS_REGION", "us-east-1"}});
  HttpResult run = Post("/materialize-incremental", {{"end_ts", FormatTimestamp(end_)},
                                                     {"feature_views", {"driver_hourly_stats"}}});
  ASSERT_EQ(run.status, 200) << run.body << ServerLog();
  const std::string uri = ParseOrFail(run)["event_log"].get<std::string>();
  EXPECT_EQ(uri.rfind("s3://ff-events/server/server-materialize-incremental-", 0), 0u) << uri;
  auto store = S3ObjectStore::Create((*s3)->Options());
  ASSERT_TRUE(store.ok());
  auto keep = (*store)->Get("s3://ff-events/server/.keep");
  ASSERT_TRUE(keep.ok()) << keep.status().ToString();
  EXPECT_EQ(*keep, "");
  auto log = (*store)->Get(uri);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_NE(log->find("\"stage\":\"run\",\"event\":\"end\",\"rows\":40"), std::string::npos)
      << *log;
}

TEST_P(FeatureServerTest, BadRequestsNameTheField) {
  Materialize();
  StartServer({"--max-body-bytes", "4096"});
  HttpResult malformed = client_->Post("/get-online-features", "{\"features\": [");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(ParseOrFail(malformed)["field"], "body");

  HttpResult unknown =
      Post("/get-online-features", {{"features", {"driver_hourly_stats:no_such_feature"}},
                                    {"entities", {{"driver_id", {1001}}}}});
  EXPECT_EQ(unknown.status, 422);
  json body = ParseOrFail(unknown);
  EXPECT_EQ(body["field"], "features");
  EXPECT_NE(body["error"].get<std::string>().find("no_such_feature"), std::string::npos)
      << unknown.body;

  HttpResult unknown_service = Post(
      "/get-online-features", {{"feature_service", "nope"}, {"entities", {{"driver_id", {1}}}}});
  EXPECT_EQ(unknown_service.status, 422);
  EXPECT_EQ(ParseOrFail(unknown_service)["field"], "feature_service");

  HttpResult wrong_type =
      Post("/get-online-features", {{"features", {"driver_hourly_stats:conv_rate"}},
                                    {"entities", {{"driver_id", {1001, "abc"}}}}});
  EXPECT_EQ(wrong_type.status, 422);
  body = ParseOrFail(wrong_type);
  EXPECT_EQ(body["field"], "entities.driver_id[1]") << wrong_type.body;
  EXPECT_NE(body["error"].get<std::string>().find("Int64"), std::string::npos) << wrong_type.body;

  HttpResult unknown_key =
      Post("/get-online-features",
           {{"features", {"driver_hourly_stats:conv_rate"}}, {"entities", {{"rider_id", {1}}}}});
  EXPECT_EQ(unknown_key.status, 422);
  EXPECT_EQ(ParseOrFail(unknown_key)["field"], "entities.rider_id");

  HttpResult no_entities =
      Post("/get-online-features", {{"features", {"driver_hourly_stats:conv_rate"}}});
  EXPECT_EQ(no_entities.status, 422);
  EXPECT_EQ(ParseOrFail(no_entities)["field"], "entities");

  HttpResult offline_only = Post(
      "/get-online-features",
      {{"features", {"driver_labels:completed_next_trip"}}, {"entities", {{"driver_id", {1001}}}}});
  EXPECT_EQ(offline_only.status, 422) << offline_only.body;

  std::vector<int64_t> many(2000, 1001);
  HttpResult oversized =
      Post("/get-online-features",
           {{"features", {"driver_hourly_stats:conv_rate"}}, {"entities", {{"driver_id", many}}}});
  EXPECT_EQ(oversized.status, 413) << oversized.body << oversized.error;

  HttpResult documents = Post("/retrieve-online-documents", {{"features", json::array()}});
  EXPECT_EQ(documents.status, 422);
  EXPECT_EQ(ParseOrFail(documents)["field"], "features");
  // A view without an embedding has no vector index to search.
  HttpResult not_embedding =
      Post("/retrieve-online-documents",
           {{"features", {"driver_hourly_stats:conv_rate"}}, {"query", {0.1, 0.2}}});
  EXPECT_EQ(not_embedding.status, 422) << not_embedding.body;

  EXPECT_EQ(client_->Get("/get-online-features").status, 405);
  HttpResult health = client_->Get("/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(ParseOrFail(health)["status"], "ok");
}

TEST_P(FeatureServerTest, MetricsCountRequestsByRouteAndCode) {
  Materialize();
  StartServer();
  json good = {{"features", {"driver_hourly_stats:conv_rate"}},
               {"entities", {{"driver_id", {1001}}}}};
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Post("/get-online-features", good).status, 200);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(client_->Post("/get-online-features", "not json").status, 400);
  }
  HttpResult metrics = client_->Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type.rfind("text/plain", 0), 0u) << metrics.content_type;
  const std::string& text = metrics.body;
  EXPECT_NE(
      text.find(
          R"(featureforge_server_requests_total{route="/get-online-features",method="POST",code="200"} 5)"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          R"(featureforge_server_request_errors_total{route="/get-online-features",code="400"} 2)"),
      std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          R"(featureforge_server_request_duration_seconds_count{route="/get-online-features"} 7)"),
      std::string::npos)
      << text;
}

TEST_P(FeatureServerTest, ReloadsTheRegistryAfterApply) {
  Materialize();
  StartServer();
  json request = {{"feature_service", "conv_only"}, {"entities", {{"driver_id", {1001}}}}};
  HttpResult before = Post("/get-online-features", request);
  EXPECT_EQ(before.status, 422) << before.body;

  std::ofstream(repo_ + "/definitions/conv_only.yaml")
      << "feature_services:\n  - name: conv_only\n    features:\n"
         "      - driver_hourly_stats: [conv_rate]\n";
  // Editing YAML alone changes nothing the server serves: only `apply` does.
  EXPECT_EQ(Post("/get-online-features", request).status, 422);
  ProcessResult apply = Ff({"apply"});
  ASSERT_EQ(apply.exit_code, 0) << apply.Describe();
  // The server checks the registry every 50 ms; give it up to 10 s on a loaded machine.
  HttpResult after;
  for (int i = 0; i < 200; ++i) {
    after = Post("/get-online-features", request);
    if (after.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(after.status, 200) << after.body << ServerLog();
  EXPECT_EQ(ParseOrFail(after)["metadata"]["feature_names"], json({"driver_id", "conv_rate"}));
}

// The same with the registry on a real s3rver: the server notices the new object's ETag.
TEST_P(FeatureServerTest, ReloadsAnS3RegistryAfterApply) {
  auto s3 = testing::S3rverProcess::Start({"ff-registry"});
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  const std::map<std::string, std::string> env = {
      {"AWS_ENDPOINT_URL_S3", (*s3)->endpoint()},
      {"AWS_ACCESS_KEY_ID", testing::kS3rverAccessKeyId},
      {"AWS_SECRET_ACCESS_KEY", testing::kS3rverSecretAccessKey},
      {"AWS_REGION", "us-east-1"}};
  // `apply` runs in this process's children: give them the same credentials, then restore.
  for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
  struct Unset {
    const std::map<std::string, std::string>& names;
    ~Unset() {
      for (const auto& entry : names) ::unsetenv(entry.first.c_str());
    }
  } unset{env};

  std::string config = testutil::ReadFile(repo_ + "/feature_store.yaml");
  const auto pos = config.find("registry: data/registry.pb");
  ASSERT_NE(pos, std::string::npos) << config;
  config.replace(pos, std::string("registry: data/registry.pb").size(),
                 "registry: s3://ff-registry/project/registry.pb");
  std::ofstream(repo_ + "/feature_store.yaml") << config;
  ProcessResult apply = Ff({"apply"});
  ASSERT_EQ(apply.exit_code, 0) << apply.Describe();
  StartServer({}, env);
  json request = {{"feature_service", "conv_only"}, {"entities", {{"driver_id", {1001}}}}};
  EXPECT_EQ(Post("/get-online-features", request).status, 422);

  std::ofstream(repo_ + "/definitions/conv_only.yaml")
      << "feature_services:\n  - name: conv_only\n    features:\n"
         "      - driver_hourly_stats: [conv_rate]\n";
  apply = Ff({"apply"});
  ASSERT_EQ(apply.exit_code, 0) << apply.Describe();
  HttpResult after;
  for (int i = 0; i < 200; ++i) {
    after = Post("/get-online-features", request);
    if (after.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(after.status, 200) << after.body << ServerLog();
}

INSTANTIATE_TEST_SUITE_P(Stores, FeatureServerTest, ::testing::Values("sqlite", "redis"),
                         [](const auto& info) { return info.param; });

// Redis only: a store that goes away answers 503 within the configured timeouts, never hangs,
// and the server itself stays healthy.
class FeatureServerRedisTest : public FeatureServerTest {};

TEST_P(FeatureServerRedisTest, RedisDownIs503WithinTheTimeouts) {
  Materialize();
  StartServer({"--store-connect-timeout-ms", "500", "--store-command-timeout-ms", "1000"});
  json request = {{"features", {"driver_hourly_stats:conv_rate"}},
                  {"entities", {{"driver_id", {1001}}}}};
  ASSERT_EQ(Post("/get-online-features", request).status, 200);
  const int port = redis_.port();
  redis_.Kill();
  // The client allows 30 s; the server must answer well before that with 503.
  for (int i = 0; i < 3; ++i) {
    HttpResult down = Post("/get-online-features", request);
    EXPECT_EQ(down.status, 503) << down.body << down.error;
    EXPECT_NE(down.body.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << down.body;
  }
  EXPECT_EQ(client_->Get("/health").status, 200);
  HttpResult metrics = client_->Get("/metrics");
  EXPECT_NE(metrics.body.find(R"(request_errors_total{route="/get-online-features",code="503"} 3)"),
            std::string::npos)
      << metrics.body;
}

INSTANTIATE_TEST_SUITE_P(Redis, FeatureServerRedisTest, ::testing::Values("redis"),
                         [](const auto& info) { return info.param; });

// Offline push appends a Parquet file to a source that is a folder; reads see the new rows.
class FeatureServerOfflinePushTest : public FeatureServerTest {};

TEST_P(FeatureServerOfflinePushTest, PushToAFolderSourceAppendsAParquetFile) {
  // Turn the sample's single-file source into a folder source, then re-apply.
  fs::create_directories(repo_ + "/data/driver_stats");
  fs::rename(repo_ + "/data/driver_stats.parquet", repo_ + "/data/driver_stats/part-0.parquet");
  const std::string defs = repo_ + "/definitions/drivers.yaml";
  std::string yaml = testutil::ReadFile(defs);
  yaml.replace(yaml.find("data/driver_stats.parquet"), 25, "data/driver_stats");
  std::ofstream(defs) << yaml;
  ProcessResult apply = Ff({"apply"});
  ASSERT_EQ(apply.exit_code, 0) << apply.Describe();
  StartServer();

  auto count_rows = [&](const std::string& where) {
    auto conn = offline::DuckConnection::Open();
    EXPECT_TRUE(conn.ok());
    auto v = (*conn)->QueryScalar("SELECT count(*) FROM read_parquet('" + repo_ +
                                  "/data/driver_stats/*.parquet', union_by_name = true) " + where);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() && v->has_value() ? std::stoll(**v) : -1;
  };
  const int64_t before = count_rows("");
  const std::string newer = FormatTimestamp(end_ + 60 * kMicrosPerSecond);
  json df = {{"driver_id", {7001, 7002}}, {"event_timestamp", {newer, newer}},
             {"created", {newer, newer}}, {"conv_rate", {0.5, 0.25}},
             {"acc_rate", {0.5, 0.75}},   {"avg_daily_trips", {7, 8}}};
  HttpResult push =
      Post("/push", {{"push_source_name", "driver_stats_source"}, {"df", df}, {"to", "both"}});
  ASSERT_EQ(push.status, 200) << push.body << ServerLog();
  EXPECT_EQ(count_rows(""), before + 2);
  EXPECT_EQ(count_rows("WHERE driver_id = 7002 AND conv_rate = 0.25 AND avg_daily_trips = 8"), 1);
  // No temp file is left behind, and the online copy is readable too.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(repo_ + "/data/driver_stats")) {
    EXPECT_EQ(entry.path().extension(), ".parquet") << entry.path();
    ++files;
  }
  EXPECT_EQ(files, 2);
  HttpResult r = Post("/get-online-features", {{"features", {"driver_hourly_stats:conv_rate"}},
                                               {"entities", {{"driver_id", {7001}}}}});
  EXPECT_EQ(ParseOrFail(r)["results"][1]["values"], json({0.5})) << r.body;

  // Historical retrieval sees the pushed row through the same source.
  std::string entities = tmp_.Join("entities.csv");
  std::ofstream(entities) << "driver_id,event_timestamp\n7002," << newer << "\n";
  std::string out = tmp_.Join("training.csv");
  ProcessResult hist = Ff({"get-historical-features", "--entities", entities, "--features",
                           "driver_hourly_stats:avg_daily_trips", "--output", out});
  ASSERT_EQ(hist.exit_code, 0) << hist.Describe();
  EXPECT_NE(testutil::ReadFile(out).find(",8"), std::string::npos) << testutil::ReadFile(out);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, FeatureServerOfflinePushTest, ::testing::Values("sqlite"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace featureforge
