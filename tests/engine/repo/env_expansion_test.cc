// ${NAME} references in feature_store.yaml: expansion, defaults, escapes, errors naming file,
// line, field and variable, and secrets that never show up in messages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "featureforge/repo/loader.h"
#include "temp_repo.h"

namespace featureforge::repo {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempRepo;

constexpr char kDefinitions[] = R"(entities:
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
    source: stats
)";

class EnvExpansionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    temp_.Write("defs.yaml", kDefinitions);
    temp_.Write("stats.parquet", "");
  }
  Result<Repo> Load(const std::string& feature_store_yaml, bool allow_unset_store_env = false) {
    temp_.Write("feature_store.yaml", feature_store_yaml);
    LoadOptions options;
    options.env = [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    options.allow_unset_store_env = allow_unset_store_env;
    return LoadRepo(temp_.root(), options);
  }

  TempRepo temp_;
  std::map<std::string, std::string> env_;
};

TEST_F(EnvExpansionTest, ExpandsReferencesInStoreConfig) {
  env_ = {{"REDIS_HOST", "cache.internal"},
          {"REDIS_PASSWORD", "s3cr3t-pw"},
          {"PROJECT", "rides"},
          {"CHUNK", "500"}};
  auto repo = Load(R"(project: ${PROJECT}
registry: ${REGISTRY_URI:-data/registry.pb}
online_store:
  type: redis
  connection_string: "${REDIS_HOST}:6379,password=${REDIS_PASSWORD}"
  key_ttl_seconds: ${TTL:-3600}
batch_engine:
  chunk_size: ${CHUNK}
)");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->config.project, "rides");
  EXPECT_EQ(repo->config.registry, "data/registry.pb");
  EXPECT_EQ(repo->config.online_store.connection_string, "cache.internal:6379,password=s3cr3t-pw");
  EXPECT_EQ(repo->config.online_store.key_ttl_seconds, 3600);
  EXPECT_EQ(repo->config.batch_engine.chunk_size, 500);
}

TEST_F(EnvExpansionTest, DefaultsApplyToUnsetAndEmptyVariables) {
  env_ = {{"EMPTY", ""}, {"SET", "s3://bucket/reg.pb"}};
  auto repo = Load("project: p\nregistry: ${EMPTY:-local.pb}\n");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->config.registry, "local.pb");
  repo = Load("project: p\nregistry: ${SET:-local.pb}\n");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->config.registry, "s3://bucket/reg.pb");
}

TEST_F(EnvExpansionTest, DoubleDollarEscapesAndLoneDollarsStay) {
  env_ = {{"X", "expanded"}};
  auto repo = Load(R"(project: p
registry: "$${X}/a$b/${X}"
)");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->config.registry, "${X}/a$b/expanded");
}

TEST_F(EnvExpansionTest, UnsetVariableNamesFileLineFieldAndVariable) {
  auto repo = Load(R"(project: p
online_store:
  type: redis
  connection_string: "localhost:6379,password=${REDIS_PASSWORD}"
)");
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(repo.status().message(),
              HasSubstr("feature_store.yaml:4: feature_store 'p': online_store.connection_string: "
                        "environment variable REDIS_PASSWORD is not set"));
  EXPECT_THAT(repo.status().message(), HasSubstr("${REDIS_PASSWORD:-default}"));
}

TEST_F(EnvExpansionTest, MalformedReferencesAreReported) {
  auto repo = Load("project: p\nregistry: \"${UNCLOSED\"\n");
  ASSERT_FALSE(repo.ok());
  EXPECT_THAT(repo.status().message(),
              HasSubstr("feature_store.yaml:2: feature_store 'p': registry: '${' without a "
                        "closing '}'"));
  repo = Load("project: p\nregistry: \"${1BAD}\"\n");
  ASSERT_FALSE(repo.ok());
  EXPECT_THAT(repo.status().message(), HasSubstr("'${1BAD}' is not a variable reference"));
}

TEST_F(EnvExpansionTest, SecretsNeverAppearInErrors) {
  env_ = {{"REDIS_PASSWORD", "hunter2-very-secret"}, {"BAD_OPTION", "pw:hunter2-very-secret"}};
  // A broken connection string whose message would echo the expanded text.
  auto repo = Load(R"(project: p
online_store:
  type: redis
  connection_string: "localhost:6379,${BAD_OPTION}"
offline_store:
  type: ${REDIS_PASSWORD}
)");
  ASSERT_FALSE(repo.ok());
  const std::string message = repo.status().message();
  EXPECT_THAT(message, Not(HasSubstr("hunter2")));
  EXPECT_THAT(message, HasSubstr("online_store.connection_string"));
  EXPECT_THAT(message, HasSubstr("${BAD_OPTION}"));
  EXPECT_THAT(message, HasSubstr("offline_store.type"));
  EXPECT_THAT(message, HasSubstr("${REDIS_PASSWORD}"));
}

TEST_F(EnvExpansionTest, DefinitionFilesAreNotExpanded) {
  env_ = {{"X", "expanded"}};
  temp_.Write("defs.yaml", std::string(kDefinitions) + "    description: \"cost in ${X}\"\n");
  auto repo = Load("project: p\n");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->feature_views[0].description, "cost in ${X}");
}

TEST_F(EnvExpansionTest, StoreSectionsMayDeferUnsetVariablesForReadersWithoutCredentials) {
  const std::string config = R"(project: p
online_store:
  type: redis
  connection_string: "${REDIS_URL}"
  key_ttl_seconds: ${TTL}
)";
  EXPECT_FALSE(Load(config).ok());
  auto repo = Load(config, /*allow_unset_store_env=*/true);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->config.online_store.connection_string, "${REDIS_URL}");
  EXPECT_EQ(repo->config.online_store.key_ttl_seconds, 0);
  // Outside the store sections an unset variable is still a problem.
  auto registry = Load("project: p\nregistry: ${REGISTRY}\n", true);
  ASSERT_FALSE(registry.ok());
  EXPECT_THAT(registry.status().message(), HasSubstr("REGISTRY is not set"));
}

TEST_F(EnvExpansionTest, ProcessEnvironmentIsTheDefault) {
  temp_.Write("feature_store.yaml", "project: ${FF_ENV_EXPANSION_TEST_PROJECT:-fallback}\n");
  ::setenv("FF_ENV_EXPANSION_TEST_PROJECT", "from_env", 1);
  auto repo = LoadRepo(temp_.root());
  ::unsetenv("FF_ENV_EXPANSION_TEST_PROJECT");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->config.project, "from_env");
}

}  // namespace
}  // namespace featureforge::repo
