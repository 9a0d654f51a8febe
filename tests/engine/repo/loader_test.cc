// Valid repos load with Feast's defaults filled in.
#include "featureforge/repo/loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "temp_repo.h"

namespace featureforge::repo {
namespace {

using ::testing::HasSubstr;
using testing::TempRepo;

constexpr char kDefinitions[] = R"(entities:
  - name: driver
    join_keys: [driver_id]
    value_type: INT64
    description: A driver.
    tags: {team: rides}
  - name: customer
    value_type: String

sources:
  - name: stats
    path: data/stats.parquet
    created_timestamp_column: created
    field_mapping: {conv: conv_rate}
  - name: labels
    path: data/labels.csv
    timestamp_field: ts
  - name: partitioned
    path: data/parts/*.parquet
    file_format: parquet

feature_views:
  - name: driver_stats
    entities: [driver]
    ttl: 1d
    schema:
      - {name: driver_id, dtype: Int64}
      - {name: event_timestamp, dtype: UnixTimestamp}
      - {name: conv_rate, dtype: Float32, description: Conversion rate}
      - {name: trips, dtype: INT64}
    source: stats
    tags: {owner: team}
  - name: labels
    entities: [driver, customer]
    ttl: 3600
    online: false
    schema:
      - {name: customer, dtype: String}
      - {name: label, dtype: Bool}
    source: labels
)";

constexpr char kBatchDefinitions[] = R"(batch_feature_views:
  - name: daily
    entities: [driver]
    sources: [stats, labels]
    query: |
      SELECT driver_id, max(conv_rate) AS max_conv, event_timestamp
      FROM stats GROUP BY ALL
    path: data/out/daily.parquet
    schema:
      - {name: driver_id, dtype: Int64}
      - {name: max_conv, dtype: Float32}
      - {name: embedding, dtype: Array(Float32)}
feature_services:
  - name: ranking
    description: For the ranker.
    features:
      - driver_stats: [conv_rate]
      - daily
      - driver_stats:trips
      - labels:label
      - driver_stats: [conv_rate]
)";

void WriteValidRepo(const TempRepo& repo) {
  repo.Write("feature_store.yaml", "project: rides\n");
  repo.Write("defs.yaml", kDefinitions);
  repo.Write("definitions/batch/daily.yml", kBatchDefinitions);
  repo.Write("data/stats.parquet", "");
  repo.Write("data/labels.csv", "");
  repo.Write("data/parts/a.parquet", "");
  // Not a definition file: only the root and definitions/ are searched by default.
  repo.Write("other/ignored.yaml", "entities: [{name: x, bogus: 1}]\n");
}

// LoadRepoConfig reads feature_store.yaml alone: definitions that do not load do not matter,
// problems of the file itself do.
TEST(LoaderTest, LoadRepoConfigReadsOnlyFeatureStoreYaml) {
  TempRepo temp;
  temp.Write("feature_store.yaml",
             "project: rides\nbatch_engine:\n  chunk_size: 500\n  event_log_uri: s3://logs/runs\n");
  temp.Write("definitions/broken.yaml", "entities: [{name: x, bogus: 1}]\n");
  ASSERT_FALSE(LoadRepo(temp.root()).ok());
  auto config = LoadRepoConfig(temp.root());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->project, "rides");
  EXPECT_EQ(config->batch_engine.chunk_size, 500);
  EXPECT_EQ(config->batch_engine.event_log_uri, "s3://logs/runs");

  temp.Write("feature_store.yaml", "project: rides\nbatch_engine: {event_log_uri: ''}\n");
  auto bad = LoadRepoConfig(temp.root());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("feature_store.yaml:2: feature_store 'rides': batch_engine.event_log_uri: "
                        "must not be empty"));
  EXPECT_EQ(LoadRepoConfig(temp.root() + "/nowhere").status().code(), StatusCode::kNotFound);
}

TEST(LoaderTest, ValidRepoLoadsWithDefaults) {
  TempRepo temp;
  WriteValidRepo(temp);
  auto loaded = LoadRepo(temp.root());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Repo& repo = *loaded;

  EXPECT_EQ(repo.config.project, "rides");
  EXPECT_EQ(repo.config.registry, "data/registry.pb");
  EXPECT_EQ(repo.config.provider, "local");
  EXPECT_EQ(repo.config.online_store.type, "sqlite");
  EXPECT_EQ(repo.config.online_store.path, "data/online_store.db");
  EXPECT_EQ(repo.config.offline_store.type, "duckdb");
  EXPECT_EQ(repo.config.batch_engine.chunk_size, 10000);
  EXPECT_EQ(repo.config.entity_key_serialization_version, 3);

  ASSERT_EQ(repo.entities.size(), 2u);
  const Entity* driver = repo.FindEntity("driver");
  ASSERT_NE(driver, nullptr);
  EXPECT_EQ(driver->join_keys, std::vector<std::string>{"driver_id"});
  EXPECT_EQ(driver->value_type, ValueType::kInt64);
  EXPECT_EQ(driver->tags.at("team"), "rides");
  EXPECT_EQ(driver->location.file, "defs.yaml");
  EXPECT_EQ(driver->location.line, 2);
  const Entity* customer = repo.FindEntity("customer");
  ASSERT_NE(customer, nullptr);
  EXPECT_EQ(customer->join_keys, std::vector<std::string>{"customer"});
  EXPECT_EQ(customer->value_type, ValueType::kString);

  const DataSource* stats = repo.FindSource("stats");
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(stats->format, FileFormat::kParquet);
  EXPECT_EQ(stats->timestamp_field, "event_timestamp");
  EXPECT_EQ(stats->created_timestamp_column, "created");
  EXPECT_EQ(stats->field_mapping.at("conv"), "conv_rate");
  EXPECT_EQ(repo.FindSource("labels")->format, FileFormat::kCsv);
  EXPECT_EQ(repo.FindSource("labels")->timestamp_field, "ts");

  const FeatureView* view = repo.FindFeatureView("driver_stats");
  ASSERT_NE(view, nullptr);
  EXPECT_FALSE(view->is_batch);
  EXPECT_EQ(view->ttl, 86400 * kMicrosPerSecond);
  EXPECT_TRUE(view->online);
  EXPECT_TRUE(view->offline);
  EXPECT_EQ(view->source, "stats");
  // Join keys and the timestamp column are columns, not features.
  ASSERT_EQ(view->features.size(), 2u);
  EXPECT_EQ(view->features[0].name, "conv_rate");
  EXPECT_EQ(view->features[0].type, ValueType::kFloat);
  EXPECT_EQ(view->features[0].description, "Conversion rate");
  EXPECT_EQ(view->features[1].name, "trips");
  EXPECT_EQ(view->features[1].type, ValueType::kInt64);
  EXPECT_EQ(view->timestamp_field, "event_timestamp");
  EXPECT_EQ(view->created_timestamp_column, "created");
  EXPECT_EQ(repo.JoinKeys(*view), std::vector<std::string>{"driver_id"});

  const FeatureView* labels = repo.FindFeatureView("labels");
  ASSERT_NE(labels, nullptr);
  EXPECT_EQ(labels->ttl, 3600 * kMicrosPerSecond);
  EXPECT_FALSE(labels->online);
  EXPECT_TRUE(labels->offline);
  EXPECT_EQ(labels->timestamp_field, "ts");
  ASSERT_EQ(labels->features.size(), 1u);
  EXPECT_EQ(labels->features[0].name, "label");

  const FeatureView* daily = repo.FindFeatureView("daily");
  ASSERT_NE(daily, nullptr);
  EXPECT_TRUE(daily->is_batch);
  EXPECT_EQ(daily->ttl, 0);
  EXPECT_EQ(daily->query_sources, (std::vector<std::string>{"stats", "labels"}));
  EXPECT_NE(daily->query.find("GROUP BY ALL"), std::string::npos);
  EXPECT_EQ(daily->path, "data/out/daily.parquet");  // need not exist yet
  EXPECT_EQ(daily->timestamp_field, "event_timestamp");
  ASSERT_EQ(daily->features.size(), 2u);
  EXPECT_EQ(daily->features[1].type, ValueType::kFloatList);
  EXPECT_EQ(daily->location.file, "definitions/batch/daily.yml");

  const FeatureService* service = repo.FindFeatureService("ranking");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->description, "For the ranker.");
  ASSERT_EQ(service->projections.size(), 3u);
  EXPECT_EQ(service->projections[0].view, "driver_stats");
  EXPECT_EQ(service->projections[0].features, (std::vector<std::string>{"conv_rate", "trips"}));
  EXPECT_EQ(service->projections[1].view, "daily");
  EXPECT_TRUE(service->projections[1].features.empty());
  EXPECT_EQ(service->projections[2].view, "labels");
  EXPECT_EQ(service->projections[2].features, std::vector<std::string>{"label"});
}

TEST(LoaderTest, FullConfigIsRead) {
  TempRepo temp;
  temp.Write("feature_store.yaml", R"(project: p_1
registry:
  path: state/registry.pb
provider: local
offline_store: {type: file, memory_limit: 2GB, threads: 2}
online_store:
  type: redis
  connection_string: "localhost:6379,db=2,password=secret"
  key_ttl_seconds: 600
batch_engine: {type: local, chunk_size: 500}
entity_key_serialization_version: 3
definitions: [defs/*.yaml, more.yaml]
)");
  temp.Write("defs/a.yaml", "entities: [{name: a}]\n");
  temp.Write("more.yaml", "entities: [{name: b}]\n");
  temp.Write("unlisted.yaml", "this is: [not read\n");
  auto repo = LoadRepo(temp.root());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->config.project, "p_1");
  EXPECT_EQ(repo->config.registry, "state/registry.pb");
  EXPECT_EQ(repo->config.offline_store.type, "file");
  EXPECT_EQ(repo->config.offline_store.memory_limit, "2GB");
  EXPECT_EQ(repo->config.offline_store.threads, 2);
  EXPECT_EQ(repo->config.online_store.type, "redis");
  EXPECT_EQ(repo->config.online_store.connection_string, "localhost:6379,db=2,password=secret");
  EXPECT_EQ(repo->config.online_store.key_ttl_seconds, 600);
  EXPECT_EQ(repo->config.batch_engine.chunk_size, 500);
  ASSERT_EQ(repo->entities.size(), 2u);
  EXPECT_EQ(repo->entities[0].name, "a");
  EXPECT_EQ(repo->entities[1].name, "b");
}

TEST(LoaderTest, EmptyDefinitionFilesAreFine) {
  TempRepo temp;
  temp.Write("feature_store.yaml", "project: p\n");
  temp.Write("empty.yaml", "");
  temp.Write("comments.yml", "# nothing yet\n");
  auto repo = LoadRepo(temp.root());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_TRUE(repo->entities.empty());
}

TEST(LoaderTest, MultiDocumentDefinitionFiles) {
  TempRepo temp;
  temp.Write("feature_store.yaml", "project: p\n");
  temp.Write("defs.yaml", "entities: [{name: a}]\n---\nentities:\n  - name: b\n");
  auto repo = LoadRepo(temp.root());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  ASSERT_EQ(repo->entities.size(), 2u);
  EXPECT_EQ(repo->entities[1].location.ToString(), "defs.yaml:4");
}

TEST(LoaderTest, MissingRepoOrConfigIsNotFound) {
  TempRepo temp;
  auto no_config = LoadRepo(temp.root());
  EXPECT_EQ(no_config.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_config.status().message().find("feature_store.yaml"), std::string::npos);
  auto no_folder = LoadRepo(temp.Path("nope"));
  EXPECT_EQ(no_folder.status().code(), StatusCode::kNotFound);
}

TEST(LoaderTest, SampleRepoDefinitionsParse) {
  // The sample repo's definitions must stay valid; its data is generated at setup, so only the
  // "file not found" problems for its data files are tolerated here.
  auto repo = LoadRepo(std::string(FF_SOURCE_DIR) + "/examples/driver_ranking");
  if (repo.ok()) {
    EXPECT_NE(repo->FindFeatureView("driver_daily_aggregates"), nullptr);
    return;
  }
  std::string message = repo.status().message();
  size_t start = 0;
  while (start < message.size()) {
    size_t end = message.find('\n', start);
    std::string line = message.substr(start, end == std::string::npos ? end : end - start);
    EXPECT_NE(line.find(": path: file not found: 'data/"), std::string::npos) << line;
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

}  // namespace
}  // namespace featureforge::repo
