// The fixture repos under examples/test_repos/ stay what their README says they are.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "featureforge/repo/feature_refs.h"
#include "featureforge/repo/loader.h"

namespace featureforge::repo {
namespace {

const std::string kFixtures = std::string(FF_SOURCE_DIR) + "/examples/test_repos";

TEST(FixtureReposTest, MinimalRepoLoads) {
  auto repo = LoadRepo(kFixtures + "/minimal");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->config.project, "minimal");
  const FeatureView* totals = repo->FindFeatureView("driver_totals");
  ASSERT_NE(totals, nullptr);
  EXPECT_TRUE(totals->is_batch);
  EXPECT_EQ(repo->FindSource("driver_stats_source")->format, FileFormat::kCsv);
  auto refs = ResolveFeatureRefs(*repo, {}, "driver_overview");
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[1].features, std::vector<std::string>{"total_trips"});
}

TEST(FixtureReposTest, BrokenRepoReportsExactlyTheExpectedErrors) {
  std::ifstream in(kFixtures + "/broken/expected_errors.txt");
  ASSERT_TRUE(in) << "expected_errors.txt missing";
  std::stringstream expected;
  expected << in.rdbuf();
  std::string expected_text = expected.str();
  while (!expected_text.empty() && expected_text.back() == '\n') expected_text.pop_back();

  auto repo = LoadRepo(kFixtures + "/broken");
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(repo.status().message(), expected_text);
}

}  // namespace
}  // namespace featureforge::repo
