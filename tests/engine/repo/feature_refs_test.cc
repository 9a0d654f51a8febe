#include "featureforge/repo/feature_refs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace featureforge::repo {
namespace {

using ::testing::HasSubstr;

Repo SampleRepo() {
  Repo repo;
  FeatureView stats;
  stats.name = "stats";
  stats.features = {{"conv_rate", ValueType::kFloat, "", {}},
                    {"acc_rate", ValueType::kFloat, "", {}},
                    {"trips", ValueType::kInt64, "", {}}};
  FeatureView daily;
  daily.name = "daily";
  daily.is_batch = true;
  daily.features = {{"max_trips", ValueType::kInt64, "", {}}};
  repo.feature_views = {stats, daily};
  FeatureService service;
  service.name = "ranking";
  service.projections = {{"daily", {}}, {"stats", {"trips"}}};
  repo.feature_services = {service};
  return repo;
}

TEST(FeatureRefsTest, ViewAndFeatureRefsMergeInOrder) {
  Repo repo = SampleRepo();
  auto resolved =
      ResolveFeatureRefs(repo, {"stats:trips", "daily", "stats:conv_rate", "stats:trips"}, "");
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  ASSERT_EQ(resolved->size(), 2u);
  EXPECT_EQ((*resolved)[0].view, "stats");
  EXPECT_EQ((*resolved)[0].features, (std::vector<std::string>{"trips", "conv_rate"}));
  EXPECT_EQ((*resolved)[1].view, "daily");
  EXPECT_EQ((*resolved)[1].features, std::vector<std::string>{"max_trips"});
}

TEST(FeatureRefsTest, WholeViewExpandsToEveryFeature) {
  Repo repo = SampleRepo();
  auto resolved = ResolveFeatureRefs(repo, {"stats"}, "");
  ASSERT_TRUE(resolved.ok());
  ASSERT_EQ(resolved->size(), 1u);
  EXPECT_EQ((*resolved)[0].features, (std::vector<std::string>{"conv_rate", "acc_rate", "trips"}));
}

TEST(FeatureRefsTest, ServiceComesFirstThenRefs) {
  Repo repo = SampleRepo();
  auto resolved = ResolveFeatureRefs(repo, {"stats:acc_rate"}, "ranking");
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  ASSERT_EQ(resolved->size(), 2u);
  EXPECT_EQ((*resolved)[0].view, "daily");
  EXPECT_EQ((*resolved)[0].features, std::vector<std::string>{"max_trips"});
  EXPECT_EQ((*resolved)[1].view, "stats");
  EXPECT_EQ((*resolved)[1].features, (std::vector<std::string>{"trips", "acc_rate"}));
}

TEST(FeatureRefsTest, ServiceAlone) {
  Repo repo = SampleRepo();
  auto resolved = ResolveFeatureRefs(repo, {}, "ranking");
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(resolved->size(), 2u);
}

TEST(FeatureRefsTest, ErrorsNameEveryUnknownThing) {
  Repo repo = SampleRepo();
  auto resolved =
      ResolveFeatureRefs(repo, {"stat:trips", "stats:trip", "stats:", "a:b:c", ""}, "rank");
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kInvalidArgument);
  const std::string& message = resolved.status().message();
  EXPECT_THAT(message, HasSubstr("unknown feature service 'rank' (did you mean 'ranking'?)"));
  EXPECT_THAT(message, HasSubstr("feature reference 'stat:trips': unknown feature view 'stat' "
                                 "(did you mean 'stats'?)"));
  EXPECT_THAT(message, HasSubstr("feature reference 'stats:trip': feature view 'stats' has no "
                                 "feature 'trip' (did you mean 'trips'?)"));
  EXPECT_THAT(message, HasSubstr("feature reference 'stats:': expected 'view:feature' or 'view'"));
  EXPECT_THAT(message, HasSubstr("feature reference 'a:b:c': expected 'view:feature' or 'view'"));
  EXPECT_THAT(message, HasSubstr("feature reference '': expected"));
}

TEST(FeatureRefsTest, NothingRequestedIsAnError) {
  Repo repo = SampleRepo();
  auto resolved = ResolveFeatureRefs(repo, {}, "");
  ASSERT_FALSE(resolved.ok());
  EXPECT_THAT(resolved.status().message(), HasSubstr("no features requested"));
}

}  // namespace
}  // namespace featureforge::repo
