#include "featureforge/runtime/leader_election.h"

#include <gtest/gtest.h>

namespace featureforge::runtime {
namespace {

TEST(LeaderElectionTest, MicroTimeAlwaysHasSixFractionDigits) {
  EXPECT_EQ(FormatMicroTime(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatMicroTime(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(FormatMicroTime(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(LeaderElectionTest, ValidatesTimings) {
  k8s::RestConfig rest;
  rest.server = "https://127.0.0.1:1";
  auto client = k8s::Client::Create(rest);
  ASSERT_TRUE(client.ok());
  LeaderElectionConfig config;
  config.lease_namespace = "ns";
  config.lease_name = "lease";
  config.identity = "me";
  EXPECT_TRUE(LeaderElector(*client, config).Validate().ok());
  LeaderElectionConfig bad = config;
  bad.renew_deadline = bad.lease_duration;
  EXPECT_EQ(LeaderElector(*client, bad).Validate().code(), StatusCode::kInvalidArgument);
  bad = config;
  bad.retry_period = bad.renew_deadline;
  EXPECT_FALSE(LeaderElector(*client, bad).Validate().ok());
  bad = config;
  bad.identity.clear();
  EXPECT_FALSE(LeaderElector(*client, bad).Validate().ok());
}

// An unreachable API server: acquisition fails with a clear, retryable error, never a crash.
TEST(LeaderElectionTest, UnreachableServerIsAnErrorNotLeadership) {
  k8s::RestConfig rest;
  rest.server = "https://127.0.0.1:1";
  rest.connect_timeout_ms = 1000;
  auto client = k8s::Client::Create(rest);
  ASSERT_TRUE(client.ok());
  LeaderElectionConfig config;
  config.lease_namespace = "ns";
  config.lease_name = "lease";
  config.identity = "me";
  LeaderElector elector(*client, config);
  auto attempt = elector.TryAcquireOrRenew();
  ASSERT_FALSE(attempt.ok());
  EXPECT_TRUE(k8s::IsRetryable(attempt.status())) << attempt.status().ToString();
  EXPECT_FALSE(elector.IsLeader());
}

}  // namespace
}  // namespace featureforge::runtime
