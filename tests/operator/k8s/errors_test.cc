#include "featureforge/k8s/errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace featureforge::k8s {
namespace {

using ::testing::HasSubstr;

TEST(K8sErrorsTest, HttpCodesMapToReasonsAndGenericCodes) {
  struct Case {
    int http;
    const char* reason;
    K8sReason want;
    StatusCode code;
  };
  const Case cases[] = {
      {404, "NotFound", K8sReason::kNotFound, StatusCode::kNotFound},
      {409, "AlreadyExists", K8sReason::kAlreadyExists, StatusCode::kAlreadyExists},
      {409, "Conflict", K8sReason::kConflict, StatusCode::kConflict},
      {422, "Invalid", K8sReason::kInvalid, StatusCode::kInvalidArgument},
      {410, "Expired", K8sReason::kGone, StatusCode::kFailedPrecondition},
      {410, "", K8sReason::kGone, StatusCode::kFailedPrecondition},
      {403, "Forbidden", K8sReason::kForbidden, StatusCode::kFailedPrecondition},
      {401, "Unauthorized", K8sReason::kUnauthorized, StatusCode::kFailedPrecondition},
      {504, "Timeout", K8sReason::kTimeout, StatusCode::kTimeout},
      {503, "ServiceUnavailable", K8sReason::kUnavailable, StatusCode::kUnavailable},
      {500, "InternalError", K8sReason::kInternalError, StatusCode::kUnavailable},
      {429, "TooManyRequests", K8sReason::kTooManyRequests, StatusCode::kUnavailable},
  };
  for (const auto& c : cases) {
    Status s = MakeK8sStatus(c.http, c.reason, "GET /api/v1/pods", "server says why");
    EXPECT_EQ(ReasonOf(s), c.want) << c.http << " " << c.reason;
    EXPECT_EQ(s.code(), c.code) << c.http << " " << c.reason;
    auto error = K8sErrorOf(s);
    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(error->http_code, c.http);
    EXPECT_THAT(s.message(), HasSubstr("server says why"));
    EXPECT_THAT(s.message(), HasSubstr("GET /api/v1/pods"));
  }
}

TEST(K8sErrorsTest, SurvivesContextAndPredicates) {
  Status s = MakeK8sStatus(409, "Conflict", "PUT /x", "the object has been modified")
                 .WithContext("reconcile default/a");
  EXPECT_TRUE(IsConflict(s));
  EXPECT_FALSE(IsNotFound(s));
  EXPECT_FALSE(IsRetryable(s));
  EXPECT_TRUE(IsGone(MakeK8sStatus(410, "Expired", "WATCH", "too old")));
  EXPECT_TRUE(IsRetryable(MakeTransportStatus(K8sReason::kUnavailable, "GET", "refused")));
  EXPECT_EQ(ReasonOf(Status::NotFound("plain")), K8sReason::kUnknown);
  EXPECT_FALSE(K8sErrorOf(Status::OK()).has_value());
  Status tls = MakeTransportStatus(K8sReason::kTlsError, "GET https://h", "bad cert");
  EXPECT_EQ(K8sErrorOf(tls)->http_code, 0);
  EXPECT_EQ(ReasonOf(tls), K8sReason::kTlsError);
}

}  // namespace
}  // namespace featureforge::k8s
