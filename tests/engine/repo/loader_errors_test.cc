// Every kind of bad input is reported as `<file>:<line>: <kind> '<name>': <field>: <problem>`,
// all problems of a load in one status.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "featureforge/repo/loader.h"
#include "temp_repo.h"

namespace featureforge::repo {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using testing::TempRepo;

std::vector<std::string> Problems(const Result<Repo>& result) {
  std::vector<std::string> lines;
  if (result.ok()) return lines;
  const std::string& message = result.status().message();
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    lines.push_back(message.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// A repo with one entity, two sources and a view that tests extend with broken definitions.
class LoaderErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    temp_.Write("feature_store.yaml", "project: p\n");
    temp_.Write("base.yaml", R"(entities:
  - name: driver
    join_keys: [driver_id]
sources:
  - name: stats
    path: stats.parquet
feature_views:
  - name: driver_stats
    entities: [driver]
    schema:
      - {name: driver_id, dtype: Int64}
      - {name: conv_rate, dtype: Float32}
      - {name: trips, dtype: Int64}
    source: stats
)");
    temp_.Write("stats.parquet", "");
  }

  // Loads and expects InvalidArgument; returns the problem lines.
  std::vector<std::string> LoadProblems() {
    auto result = LoadRepo(temp_.root());
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
    return Problems(result);
  }

  TempRepo temp_;
};

TEST_F(LoaderErrorsTest, BaseRepoIsValid) {
  auto result = LoadRepo(temp_.root());
  EXPECT_TRUE(result.ok()) << result.status().ToString();
}

TEST_F(LoaderErrorsTest, UnknownFieldsWithSuggestions) {
  temp_.Write("more.yaml", R"(entities:
  - name: customer
    join_key: [customer_id]
    colour: blue
feature_services: []
entites: []
)");
  auto problems = LoadProblems();
  EXPECT_THAT(problems, Contains("more.yaml:3: entity 'customer': join_key: unknown field (did "
                                 "you mean 'join_keys'?)"));
  EXPECT_THAT(problems, Contains("more.yaml:4: entity 'customer': colour: unknown field"));
  EXPECT_THAT(problems, Contains("more.yaml:6: entites: unknown field (did you mean 'entities'?)"));
}

TEST_F(LoaderErrorsTest, WrongTypes) {
  temp_.Write("more.yaml", R"(entities:
  - name: customer
    join_keys: customer_id
feature_views:
  - name: v
    entities: [driver]
    online: maybe
    offline: [true]
    schema: {name: conv_rate, dtype: Float32}
    source: stats
  - name: w
    entities: {driver: 1}
    schema:
      - conv_rate
    source: [stats]
sources: {name: s}
)");
  auto problems = LoadProblems();
  EXPECT_THAT(problems, Contains("more.yaml:3: entity 'customer': join_keys: expected a list, got "
                                 "'customer_id'"));
  EXPECT_THAT(problems, Contains("more.yaml:7: feature_view 'v': online: expected true or false, "
                                 "got 'maybe'"));
  EXPECT_THAT(problems, Contains("more.yaml:8: feature_view 'v': offline: expected true or false, "
                                 "got a list"));
  EXPECT_THAT(problems, Contains("more.yaml:9: feature_view 'v': schema: expected a list of "
                                 "{name, dtype}, got a map"));
  EXPECT_THAT(problems,
              Contains("more.yaml:12: feature_view 'w': entities: expected a list, got a map"));
  EXPECT_THAT(problems, Contains("more.yaml:14: feature_view 'w': schema[0]: expected a map "
                                 "{name, dtype}, got 'conv_rate'"));
  EXPECT_THAT(problems,
              Contains("more.yaml:15: feature_view 'w': source: expected a string, got a list"));
  EXPECT_THAT(problems, Contains("more.yaml:16: sources: expected a list of source definitions, "
                                 "got a map"));
}

TEST_F(LoaderErrorsTest, MissingRequiredFields) {
  temp_.Write("more.yaml", R"(entities:
  - join_keys: [x]
sources:
  - name: no_path
feature_views:
  - name: bare
batch_feature_views:
  - name: no_query
    entities: [driver]
    sources: [stats]
    schema: [{name: x, dtype: Int64}]
feature_services:
  - name: empty
)");
  auto problems = LoadProblems();
  EXPECT_THAT(problems, Contains("more.yaml:2: entity #1: name: missing required field"));
  EXPECT_THAT(problems, Contains("more.yaml:4: source 'no_path': path: missing required field"));
  EXPECT_THAT(problems,
              Contains("more.yaml:6: feature_view 'bare': entities: missing required field"));
  EXPECT_THAT(problems,
              Contains("more.yaml:6: feature_view 'bare': schema: missing required field"));
  EXPECT_THAT(problems,
              Contains("more.yaml:6: feature_view 'bare': source: missing required field"));
  EXPECT_THAT(problems, Contains("more.yaml:8: batch_feature_view 'no_query': query: missing "
                                 "required field"));
  EXPECT_THAT(problems,
              Contains("more.yaml:13: feature_service 'empty': features: missing required field"));
}

TEST_F(LoaderErrorsTest, DuplicateNamesAcrossFilesNameBothLocations) {
  temp_.Write("more.yaml", R"(entities:
  - name: driver
batch_feature_views:
  - name: driver_stats
    entities: [driver]
    sources: [stats]
    query: SELECT * FROM stats
    schema: [{name: trips, dtype: Int64}]
)");
  auto problems = LoadProblems();
  EXPECT_THAT(problems, Contains("more.yaml:2: entity 'driver': name: duplicate name; first "
                                 "defined at base.yaml:2"));
  EXPECT_THAT(problems, Contains("more.yaml:4: batch_feature_view 'driver_stats': name: duplicate "
                                 "name; first defined at base.yaml:8"));
}

TEST_F(LoaderErrorsTest, UnknownReferences) {
  temp_.Write("more.yaml", R"(feature_views:
  - name: v
    entities:
      - driver
      - drivr
    schema: [{name: x, dtype: Int64}]
    source: stat
batch_feature_views:
  - name: b
    entities: [driver]
    sources: [stats, nowhere]
    query: SELECT * FROM stats
    schema: [{name: x, dtype: Int64}]
feature_services:
  - name: svc
    features:
      - driver_stats: [conv_rate, conv_rat]
      - driver_stat
      - "driver_stats:nope"
      - b
)");
  auto problems = LoadProblems();
  EXPECT_THAT(problems, Contains("more.yaml:5: feature_view 'v': entities[1]: unknown entity "
                                 "'drivr' (did you mean 'driver'?)"));
  EXPECT_THAT(problems, Contains("more.yaml:7: feature_view 'v': source: unknown source 'stat' "
                                 "(did you mean 'stats'?)"));
  EXPECT_THAT(problems, Contains("more.yaml:11: batch_feature_view 'b': sources[1]: unknown "
                                 "source 'nowhere'"));
  EXPECT_THAT(problems, Contains("more.yaml:17: feature_service 'svc': features[0]: feature view "
                                 "'driver_stats' has no feature 'conv_rat' (did you mean "
                                 "'conv_rate'?)"));
  EXPECT_THAT(problems, Contains("more.yaml:18: feature_service 'svc': features[1]: unknown "
                                 "feature view 'driver_stat' (did you mean 'driver_stats'?)"));
  EXPECT_THAT(problems, Contains("more.yaml:19: feature_service 'svc': features[2]: feature view "
                                 "'driver_stats' has no feature 'nope'"));
  EXPECT_EQ(problems.size(), 6u) << ::testing::PrintToString(problems);
}

TEST_F(LoaderErrorsTest, BadDtypeAndTtl) {
  temp_.Write("more.yaml", R"(feature_views:
  - name: v
    entities: [driver]
    ttl: 1x
    schema:
      - {name: a, dtype: Int65}
      - {name: b, dtype: Float32}
      - {name: b, dtype: Float32}
    source: stats
  - name: w
    entities: [driver]
    ttl: [1d]
    schema:
      - {name: driver_id, dtype: Int64}
    source: stats
entities:
  - name: e
    value_type: INTEGER
  - name: f
    value_type: Array(Int64)
)");
  auto problems = LoadProblems();
  EXPECT_THAT(problems, Contains(HasSubstr("more.yaml:4: feature_view 'v': ttl: invalid duration "
                                           "unit in '1x' (use s, m, h, d or w)")));
  EXPECT_THAT(problems, Contains("more.yaml:6: feature_view 'v': schema[0].dtype: unknown type "
                                 "'Int65' (did you mean 'Int64'?)"));
  EXPECT_THAT(problems, Contains("more.yaml:8: feature_view 'v': schema: column 'b' listed twice"));
  EXPECT_THAT(problems, Contains("more.yaml:12: feature_view 'w': ttl: expected a duration such "
                                 "as 1d or 3600, got a list"));
  EXPECT_THAT(problems, Contains("more.yaml:13: feature_view 'w': schema: declares no features "
                                 "(only join keys and timestamp columns)"));
  EXPECT_THAT(problems,
              Contains(HasSubstr("more.yaml:18: entity 'e': value_type: unknown type 'INTEGER'")));
  EXPECT_THAT(problems, Contains("more.yaml:20: entity 'f': value_type: entity keys must be "
                                 "String, Bytes, Int32, Int64 or UnixTimestamp, got "
                                 "Array(Int64)"));
}

TEST_F(LoaderErrorsTest, JoinKeyTypeMustMatchItsEntity) {
  temp_.Write("more.yaml", R"(feature_views:
  - name: v
    entities: [driver]
    schema:
      - {name: driver_id, dtype: String}
      - {name: x, dtype: Int64}
    source: stats
)");
  EXPECT_THAT(LoadProblems(), Contains("more.yaml:5: feature_view 'v': schema: join key "
                                       "'driver_id' is String here but entity 'driver' has "
                                       "value_type Int64"));
}

TEST_F(LoaderErrorsTest, NamesAreIdentifiers) {
  temp_.Write("more.yaml", R"(entities:
  - name: "rider:id"
  - name: ok-name.v2
feature_views:
  - name: v
    entities: [driver]
    schema:
      - {name: "bad feature", dtype: Int64}
    source: stats
)");
  auto problems = LoadProblems();
  EXPECT_THAT(problems, Contains("more.yaml:2: entity 'rider:id': name: 'rider:id' may contain "
                                 "only letters, digits, '_', '-' and '.' (and start with a "
                                 "letter, digit or '_')"));
  EXPECT_THAT(problems, Contains(HasSubstr("more.yaml:8: feature_view 'v': schema[0].name: 'bad "
                                           "feature' may contain only")));
  EXPECT_EQ(problems.size(), 2u) << ::testing::PrintToString(problems);
}

TEST_F(LoaderErrorsTest, MalformedYamlGivesLineAndColumn) {
  temp_.Write("broken.yaml", "entities:\n  - name: a\n    join_keys: [a, b\n");
  temp_.Write("tabs.yaml", "entities:\n  - name: x\n   bad: indentation\n");
  auto problems = LoadProblems();
  ASSERT_EQ(problems.size(), 2u) << ::testing::PrintToString(problems);
  EXPECT_THAT(problems[0], ::testing::StartsWith("broken.yaml:"));
  EXPECT_THAT(problems[0], HasSubstr(": malformed YAML at column "));
  EXPECT_THAT(problems[1], ::testing::StartsWith("tabs.yaml:3: malformed YAML at column"));
}

TEST_F(LoaderErrorsTest, MissingSourceFiles) {
  temp_.Write("more.yaml", R"(sources:
  - name: gone
    path: data/gone.parquet
  - name: no_match
    path: data/*.csv
  - name: deep_no_match
    path: data/**/*.parquet
  - name: deep_match
    path: nested/**/*.parquet
  - name: remote
    path: gs://bucket/x.parquet
  - name: on_s3
    path: s3://bucket/x.parquet
  - name: folder
    path: nested
)");
  temp_.Write("data/readme.txt", "");
  temp_.Write("nested/a/b/part.parquet", "");
  auto problems = LoadProblems();
  EXPECT_THAT(problems, Contains("more.yaml:3: source 'gone': path: file not found: "
                                 "'data/gone.parquet'"));
  EXPECT_THAT(problems, Contains("more.yaml:5: source 'no_match': path: no file matches "
                                 "'data/*.csv'"));
  EXPECT_THAT(problems, Contains("more.yaml:7: source 'deep_no_match': path: no file matches "
                                 "'data/**/*.parquet'"));
  EXPECT_THAT(problems, Contains("more.yaml:11: source 'remote': path: 'gs://bucket/x.parquet': "
                                 "only local paths and s3:// URIs are supported"));
  EXPECT_EQ(problems.size(), 4u) << ::testing::PrintToString(problems);
}

TEST_F(LoaderErrorsTest, BatchQueryMustBeOneParsableSelect) {
  temp_.Write("more.yaml", R"(batch_feature_views:
  - name: typo
    entities: [driver]
    sources: [stats]
    query: SELEC driver_id FROM stats
    schema: [{name: x, dtype: Int64}]
  - name: two
    entities: [driver]
    sources: [stats]
    query: SELECT 1 AS x; SELECT 2 AS x
    schema: [{name: x, dtype: Int64}]
  - name: delete
    entities: [driver]
    sources: [stats]
    query: DELETE FROM stats
    schema: [{name: x, dtype: Int64}]
  - name: multiline
    entities: [driver]
    sources: [stats]
    query: |
      SELECT driver_id,
             max(trips AS x
      FROM stats
    schema: [{name: x, dtype: Int64}]
  - name: unlisted
    entities: [driver]
    sources: [stats]
    query: |
      WITH recent AS (SELECT * FROM stats)
      SELECT * FROM recent JOIN labels USING (driver_id) JOIN main.other USING (driver_id)
    schema: [{name: x, dtype: Int64}]
  - name: fine
    entities: [driver]
    sources: [stats]
    query: |
      WITH t AS (SELECT * FROM stats) FROM t SELECT driver_id, trips AS x
    schema: [{name: x, dtype: Int64}]
)");
  auto problems = LoadProblems();
  EXPECT_THAT(problems, Contains(HasSubstr("more.yaml:5: batch_feature_view 'typo': query: SQL "
                                           "does not parse: Parser Error: syntax error at or near "
                                           "\"SELEC\"")));
  EXPECT_THAT(problems, Contains("more.yaml:10: batch_feature_view 'two': query: expected exactly "
                                 "one SELECT statement, got 2 statements"));
  EXPECT_THAT(problems, Contains("more.yaml:15: batch_feature_view 'delete': query: expected a "
                                 "SELECT query, got another kind of statement"));
  // The literal block starts on line 21, so the query's line 2 is the file's line 22.
  EXPECT_THAT(problems, Contains(::testing::AllOf(
                            HasSubstr("more.yaml:22: batch_feature_view 'multiline': query: SQL "
                                      "does not parse:"),
                            HasSubstr("(query line 2)"))));
  EXPECT_THAT(problems, Contains("more.yaml:28: batch_feature_view 'unlisted': query: reads "
                                 "'labels', 'main.other', which is not among its sources "
                                 "[stats]"));
  EXPECT_EQ(problems.size(), 5u) << ::testing::PrintToString(problems);
}

TEST_F(LoaderErrorsTest, ConfigProblems) {
  temp_.Write("feature_store.yaml", R"(project: my-project
provider: gcp
online_store:
  type: redis
  connection_string: "localhost:notaport"
  path: x.db
offline_store: [duckdb]
batch_engine:
  chunk_size: 0
  event_log_uri: http://logs/x
entity_key_serialization_version: 7
registry_path: data/registry.pb
)");
  auto problems = LoadProblems();
  EXPECT_THAT(problems, Contains("feature_store.yaml:1: feature_store: project: 'my-project' must "
                                 "contain only letters, digits and _"));
  EXPECT_THAT(problems, Contains("feature_store.yaml:2: feature_store: provider: not supported: "
                                 "provider 'gcp' (only 'local')"));
  EXPECT_THAT(problems, Contains("feature_store.yaml:5: feature_store: "
                                 "online_store.connection_string: port 'notaport' is not a number "
                                 "from 1 to 65535"));
  EXPECT_THAT(problems,
              Contains("feature_store.yaml:6: feature_store: online_store.path: unknown field"));
  EXPECT_THAT(problems, Contains("feature_store.yaml:7: feature_store: offline_store: expected a "
                                 "map, got a list"));
  EXPECT_THAT(problems, Contains("feature_store.yaml:9: feature_store: batch_engine.chunk_size: "
                                 "must be greater than 0, got 0"));
  EXPECT_THAT(problems,
              Contains("feature_store.yaml:10: feature_store: batch_engine.event_log_uri: "
                       "'http://logs/x' is not a path, file:// or s3:// URI"));
  EXPECT_THAT(problems, Contains("feature_store.yaml:11: feature_store: "
                                 "entity_key_serialization_version: unknown version 7 (expected "
                                 "3)"));
  EXPECT_THAT(problems, Contains("feature_store.yaml:12: feature_store: registry_path: unknown "
                                 "field (did you mean 'registry'?)"));
}

TEST_F(LoaderErrorsTest, OnlyUnsupportedFeaturesGiveNotSupported) {
  temp_.Write("feature_store.yaml", R"(project: p
online_store: {type: dynamodb}
entity_key_serialization_version: 2
)");
  auto result = LoadRepo(temp_.root());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotSupported);
  EXPECT_THAT(Problems(result), Contains("feature_store.yaml:2: feature_store 'p': "
                                         "online_store.type: not supported: online store "
                                         "'dynamodb' (only sqlite or redis)"));
  EXPECT_THAT(Problems(result), Contains("feature_store.yaml:3: feature_store 'p': "
                                         "entity_key_serialization_version: not supported: "
                                         "version 2 (only 3)"));
}

TEST_F(LoaderErrorsTest, RedisNeedsConnectionString) {
  temp_.Write("feature_store.yaml", "project: p\nonline_store:\n  type: redis\n");
  EXPECT_THAT(LoadProblems(), Contains("feature_store.yaml:3: feature_store 'p': "
                                       "online_store.connection_string: missing required field"));
}

TEST_F(LoaderErrorsTest, OtherYamlInTheRootIsNamedNotPickedApart) {
  temp_.Write("docker-compose.yaml", "services:\n  redis:\n    image: redis\n");
  temp_.Write(".pre-commit-config.yaml", "repos: []\n");  // hidden: never read
  auto problems = LoadProblems();
  ASSERT_EQ(problems.size(), 1u) << ::testing::PrintToString(problems);
  EXPECT_THAT(problems[0], ::testing::StartsWith("docker-compose.yaml:1: not a definition file"));
  EXPECT_THAT(problems[0], HasSubstr("`definitions:`"));
}

TEST_F(LoaderErrorsTest, DefinitionsPatternMatchingNothing) {
  temp_.Write("feature_store.yaml", "project: p\ndefinitions:\n  - base.yaml\n  - defs/*.yaml\n");
  EXPECT_THAT(LoadProblems(), Contains("feature_store.yaml:2: feature_store 'p': definitions: no "
                                       "file matches 'defs/*.yaml'"));
}

TEST_F(LoaderErrorsTest, ProblemsFromManyFilesAreSortedByFileAndLine) {
  temp_.Write("b.yaml", "entities:\n  - name: x\n    oops: 1\n  - name: y\n    oops: 2\n");
  temp_.Write("a.yaml", "entities:\n  - name: z\n    oops: 3\n");
  auto problems = LoadProblems();
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_THAT(problems[0], ::testing::StartsWith("a.yaml:3:"));
  EXPECT_THAT(problems[1], ::testing::StartsWith("b.yaml:3:"));
  EXPECT_THAT(problems[2], ::testing::StartsWith("b.yaml:5:"));
}

}  // namespace
}  // namespace featureforge::repo
