// A test binary whose suite setup fails, linked with ff_gtest_main; testutil_test runs it and
// checks that its output reads as a failure to ctest (no "[  SKIPPED ]").
#include <gtest/gtest.h>

#include <cstdlib>

namespace {

class BrokenFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(std::getenv("FF_PROBE_SETUP_SUCCEEDS") != nullptr, true) << "server did not start";
  }
};

TEST_F(BrokenFixture, First) { SUCCEED(); }
TEST_F(BrokenFixture, Second) { SUCCEED(); }

TEST(HealthySuite, Passes) { EXPECT_EQ(1 + 1, 2); }

}  // namespace
