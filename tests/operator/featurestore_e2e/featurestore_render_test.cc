// Unit tests of the FeatureStore controller's pure rendering (no cluster).
#include <gmock/gmock.h>

#include "featureforge/controllers/featurestore.h"

namespace featureforge::controllers {
namespace {

using ::testing::HasSubstr;
using Json = k8s::Json;

Json Store() {
  return Json::parse(R"({
    "apiVersion": "featureforge.dev/v1alpha1", "kind": "FeatureStore",
    "metadata": {"name": "drivers", "namespace": "team-a", "uid": "u1", "generation": 3},
    "spec": {
      "feastProject": "driver_ranking",
      "featureStoreYaml": {"onlineStore": {"type": "sqlite", "path": "/data/online.db"},
                           "batchEngine": {"type": "local", "chunkSize": 500},
                           "entityKeySerializationVersion": 3},
      "definitions": "entities:\n  - name: driver\n    join_keys: [driver_id]\n",
      "credentials": {"envFrom": [{"secretRef": {"name": "store-creds"}}],
                      "env": [{"name": "REDIS_PASSWORD", "valueFrom":
                               {"secretKeyRef": {"name": "redis", "key": "password"}}}]},
      "services": {"onlineStore": {"server": {"replicas": 2, "image": "featureforge/x:1",
        "envFrom": [{"secretRef": {"name": "redis-creds"}}]}}}
    }})");
}

TEST(FeatureStoreRender, InlineSpecBecomesSnakeCaseFeatureStoreYaml) {
  OperatorConfig config;
  config.work_dir = "/var/lib/ff";
  auto files = RenderRepoFiles(Store(), config, nullptr);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  const std::string& yaml = files.value().at("feature_store.yaml");
  EXPECT_THAT(yaml, HasSubstr("project: \"driver_ranking\""));
  EXPECT_THAT(yaml, HasSubstr("registry: \"/var/lib/ff/registries/team-a/drivers/registry.pb\""));
  EXPECT_THAT(yaml, HasSubstr("online_store:"));
  EXPECT_THAT(yaml, HasSubstr("chunk_size: 500"));
  EXPECT_THAT(yaml, HasSubstr("entity_key_serialization_version: 3"));
  EXPECT_EQ(files.value().at("definitions.yaml"), Store()["spec"]["definitions"]);
}

TEST(FeatureStoreRender, MissingDefinitionsNameTheField) {
  Json store = Store();
  store["spec"].erase("definitions");
  auto files = RenderRepoFiles(store, OperatorConfig{}, nullptr);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("spec.definitions"));
}

TEST(FeatureStoreRender, ConfigMapRepoKeepsFilesAndOverridesProjectAndRegistry) {
  Json store = Store();
  store["spec"]["registry"]["path"] = "/shared/reg.pb";
  Json data = {
      {"feature_store.yaml", "project: other\nregistry: x.pb\nonline_store:\n  type: sqlite\n"},
      {"drivers.yaml", "entities: []\n"}};
  auto files = RenderRepoFiles(store, OperatorConfig{}, &data);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_THAT(files.value().at("feature_store.yaml"), HasSubstr("project: driver_ranking"));
  EXPECT_THAT(files.value().at("feature_store.yaml"), HasSubstr("registry: /shared/reg.pb"));
  EXPECT_EQ(files.value().at("drivers.yaml"), "entities: []\n");

  Json no_config = {{"drivers.yaml", "entities: []\n"}};
  auto missing = RenderRepoFiles(store, OperatorConfig{}, &no_config);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("feature_store.yaml"));
}

TEST(FeatureStoreRender, ServerDeploymentMountsTheRepoAndRollsOnRepoChange) {
  OperatorConfig config;
  Json a = BuildServerDeployment(Store(), config, "hash-a");
  Json b = BuildServerDeployment(Store(), config, "hash-b");
  EXPECT_EQ(a["spec"]["replicas"], 2);
  const Json& container = a["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["image"], "featureforge/x:1");
  EXPECT_EQ(container["args"][0], "serve");
  // The store's credentials, then the server's own.
  EXPECT_EQ(container["envFrom"][0]["secretRef"]["name"], "store-creds");
  EXPECT_EQ(container["envFrom"][1]["secretRef"]["name"], "redis-creds");
  EXPECT_EQ(container["env"][1]["name"], "REDIS_PASSWORD");
  EXPECT_EQ(a["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"], "drivers-repo");
  EXPECT_NE(HashJson(a["spec"]), HashJson(b["spec"]));
  EXPECT_EQ(HashJson(a["spec"]),
            HashJson(BuildServerDeployment(Store(), config, "hash-a")["spec"]));
  Json service = BuildServerService(Store(), config);
  EXPECT_EQ(service["metadata"]["name"], "drivers-server");
  EXPECT_EQ(service["spec"]["ports"][0]["port"], config.feature_server_port);
}

TEST(FeatureStoreRender, DefaultImageComesFromTheOperatorConfig) {
  Json store = Store();
  store["spec"]["services"]["onlineStore"]["server"].erase("image");
  OperatorConfig config;
  config.feature_server_image = "registry.local/ff:2";
  EXPECT_EQ(BuildServerDeployment(store, config,
                                  "h")["spec"]["template"]["spec"]["containers"][0]["image"],
            "registry.local/ff:2");
}

TEST(OperatorConfigValidation, RejectsBadValuesNamingTheField) {
  OperatorConfig config;
  EXPECT_TRUE(ValidateOperatorConfig(config).ok());
  config.featurestore_workers = 0;
  EXPECT_THAT(ValidateOperatorConfig(config).message(), HasSubstr("featurestore_workers"));
  config = OperatorConfig{};
  config.feature_server_port = 70000;
  EXPECT_THAT(ValidateOperatorConfig(config).message(), HasSubstr("feature_server_port"));
}

}  // namespace
}  // namespace featureforge::controllers
