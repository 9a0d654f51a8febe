#include "featureforge/common/status.h"

#include <gtest/gtest.h>

namespace featureforge {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return Status::InvalidArgument("must be positive");
  return v;
}

Result<int> Doubled(int v) {
  FF_ASSIGN_OR_RETURN(int parsed, ParsePositive(v));
  return parsed * 2;
}

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Status::NotFound("view x");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NotFound: view x");
  EXPECT_EQ(s.WithContext("materialize").message(), "materialize: view x");
  EXPECT_EQ(Status::NotSupported("vectors on redis").message(), "not supported: vectors on redis");
}

TEST(StatusTest, ResultPropagates) {
  EXPECT_EQ(Doubled(4).value(), 8);
  auto bad = Doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace featureforge
