// BundleRepoFiles: which files travel to workers and how relative paths are made absolute.
#include "repo_bundle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "featureforge/testutil/testutil.h"

namespace featureforge::cluster {
namespace {

using ::testing::ElementsAre;
using ::testing::Key;

TEST(RepoBundleTest, SendsYamlFilesWithAbsolutePaths) {
  testutil::TempDir repo("ff-bundle");
  repo.WriteFile("feature_store.yaml",
                 "project: p\nregistry: data/registry.pb\nonline_store:\n  type: sqlite\n"
                 "  path: data/online.db\n");
  repo.WriteFile("definitions/views.yaml",
                 "sources:\n  - name: a\n    path: data/a.parquet\n  - name: b\n"
                 "    path: s3://bucket/b.parquet\n  - name: c\n    path: /abs/c.csv\n");
  repo.WriteFile("extra.yml", "entities: []\n");
  repo.WriteFile("data/a.parquet", "not yaml");
  repo.WriteFile(".git/config.yaml", "hidden: true\n");
  repo.WriteFile("notes/.backup.yaml", "hidden: true\n");

  auto files = BundleRepoFiles(repo.path());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_THAT(*files, ElementsAre(Key("definitions/views.yaml"), Key("extra.yml"),
                                  Key("feature_store.yaml")));

  YAML::Node config = YAML::Load(files->at("feature_store.yaml"));
  EXPECT_EQ(config["registry"].as<std::string>(), repo.path() + "/data/registry.pb");
  EXPECT_EQ(config["online_store"]["path"].as<std::string>(), repo.path() + "/data/online.db");
  EXPECT_EQ(config["project"].as<std::string>(), "p");
  YAML::Node views = YAML::Load(files->at("definitions/views.yaml"));
  EXPECT_EQ(views["sources"][0]["path"].as<std::string>(), repo.path() + "/data/a.parquet");
  EXPECT_EQ(views["sources"][1]["path"].as<std::string>(), "s3://bucket/b.parquet");
  EXPECT_EQ(views["sources"][2]["path"].as<std::string>(), "/abs/c.csv");
  EXPECT_EQ(files->at("extra.yml"), "entities: []\n");  // nothing to rewrite: sent verbatim
}

TEST(RepoBundleTest, FolderWithoutFeatureStoreYamlIsBadInput) {
  testutil::TempDir empty("ff-bundle-empty");
  auto files = BundleRepoFiles(empty.path());
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(files.status().message(), ::testing::HasSubstr("feature_store.yaml"));
}

}  // namespace
}  // namespace featureforge::cluster
