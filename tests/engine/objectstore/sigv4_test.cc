// Signature V4 against AWS's published vectors: the SigV4 test suite (get-vanilla & co., with
// the intermediate canonical request and string to sign where AWS published them) and the
// worked S3 examples of "Authenticating Requests: Using the Authorization Header".
#include "featureforge/objectstore/sigv4.h"

#include <gtest/gtest.h>

namespace featureforge::sigv4 {
namespace {

const Credentials kSuiteCredentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const Scope kSuiteScope{"20150830T123600Z", "us-east-1", "service"};
const std::string kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Request SuiteRequest(std::string method, std::string path) {
  Request request;
  request.method = std::move(method);
  request.canonical_uri = std::move(path);
  request.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  request.payload_sha256_hex = kEmptyHash;
  return request;
}

std::string SuiteAuthorization(const std::string& signed_headers, const std::string& signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=" +
         signed_headers + ", Signature=" + signature;
}

TEST(SigV4SuiteTest, GetVanilla) {
  Request request = SuiteRequest("GET", "/");
  EXPECT_EQ(AuthorizationHeader(request, kSuiteScope, kSuiteCredentials),
            SuiteAuthorization("host;x-amz-date",
                               "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
}

TEST(SigV4SuiteTest, GetVanillaQueryOrderKeyWithIntermediateSteps) {
  Request request = SuiteRequest("GET", "/");
  request.query = {{"Param1", "value2"}, {"Param1", "Value1"}};
  EXPECT_EQ(CanonicalRequest(request),
            "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" +
                kEmptyHash);
  EXPECT_EQ(StringToSign(request, kSuiteScope),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89");
  EXPECT_EQ(Signature(request, kSuiteScope, kSuiteCredentials),
            "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1");
}

TEST(SigV4SuiteTest, GetVanillaQueryOrderKeyCase) {
  Request request = SuiteRequest("GET", "/");
  request.query = {{"Param2", "value2"}, {"Param1", "value1"}};
  EXPECT_EQ(Signature(request, kSuiteScope, kSuiteCredentials),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4SuiteTest, GetUnreserved) {
  Request request =
      SuiteRequest("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(Signature(request, kSuiteScope, kSuiteCredentials),
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}

TEST(SigV4SuiteTest, GetVanillaUtf8Query) {
  Request request = SuiteRequest("GET", "/");
  request.query = {{"\xE1\x88\xB4", "bar"}};
  EXPECT_EQ(CanonicalQueryString(request), "%E1%88%B4=bar");
  EXPECT_EQ(Signature(request, kSuiteScope, kSuiteCredentials),
            "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
}

TEST(SigV4SuiteTest, GetHeaderValueTrim) {
  Request request = SuiteRequest("GET", "/");
  request.headers.emplace_back("My-Header1", " value1");
  request.headers.emplace_back("My-Header2", " \"a   b   c\"");
  EXPECT_EQ(SignedHeaders(request), "host;my-header1;my-header2;x-amz-date");
  EXPECT_EQ(Signature(request, kSuiteScope, kSuiteCredentials),
            "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST(SigV4SuiteTest, PostXWwwFormUrlencoded) {
  Request request = SuiteRequest("POST", "/");
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.payload_sha256_hex = Sha256Hex("Param1=value1");
  EXPECT_EQ(CanonicalRequest(request),
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
            "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n"
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(AuthorizationHeader(request, kSuiteScope, kSuiteCredentials),
            SuiteAuthorization("content-type;host;x-amz-date",
                               "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
}

TEST(SigV4SuiteTest, PostStsHeaderBefore) {
  Request request = SuiteRequest("POST", "/");
  request.headers.emplace_back(
      "X-Amz-Security-Token",
      "AQoDYXdzEPT//////////"
      "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwth"
      "Ax7mSEI/qkPpKPi/"
      "kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcH"
      "NVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"
      "scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==");
  EXPECT_EQ(AuthorizationHeader(request, kSuiteScope, kSuiteCredentials),
            SuiteAuthorization("host;x-amz-date;x-amz-security-token",
                               "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"));
}

// The S3 examples use their own credentials, date and service.
const Credentials kS3Credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                 ""};
const Scope kS3Scope{"20130524T000000Z", "us-east-1", "s3"};

Request S3Request(std::string method, std::string path, std::string payload_hash) {
  Request request;
  request.method = std::move(method);
  request.canonical_uri = std::move(path);
  request.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                     {"x-amz-content-sha256", payload_hash},
                     {"x-amz-date", "20130524T000000Z"}};
  request.payload_sha256_hex = std::move(payload_hash);
  return request;
}

TEST(SigV4S3ExamplesTest, GetObjectWithRange) {
  Request request = S3Request("GET", "/test.txt", kEmptyHash);
  request.headers.emplace_back("Range", "bytes=0-9");
  EXPECT_EQ(AuthorizationHeader(request, kS3Scope, kS3Credentials),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4S3ExamplesTest, PutObjectWithEncodedKey) {
  const std::string body = "Welcome to Amazon S3.";
  ASSERT_EQ(Sha256Hex(body), "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  Request request = S3Request("PUT", "/" + UriEncode("test$file.text", false), Sha256Hex(body));
  EXPECT_EQ(request.canonical_uri, "/test%24file.text");
  request.headers.emplace_back("Date", "Fri, 24 May 2013 00:00:00 GMT");
  request.headers.emplace_back("x-amz-storage-class", "REDUCED_REDUNDANCY");
  EXPECT_EQ(SignedHeaders(request),
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class");
  EXPECT_EQ(Signature(request, kS3Scope, kS3Credentials),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4S3ExamplesTest, GetBucketLifecycleWithValuelessParameter) {
  Request request = S3Request("GET", "/", kEmptyHash);
  request.query = {{"lifecycle", ""}};
  EXPECT_EQ(CanonicalQueryString(request), "lifecycle=");
  EXPECT_EQ(Signature(request, kS3Scope, kS3Credentials),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4S3ExamplesTest, ListObjects) {
  Request request = S3Request("GET", "/", kEmptyHash);
  request.query = {{"prefix", "J"}, {"max-keys", "2"}};
  EXPECT_EQ(CanonicalQueryString(request), "max-keys=2&prefix=J");
  EXPECT_EQ(Signature(request, kS3Scope, kS3Credentials),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4Test, UriEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(UriEncode("a b+c=d&e", true), "a%20b%2Bc%3Dd%26e");
  EXPECT_EQ(UriEncode("runs/2024-01-01/x_y.~z", false), "runs/2024-01-01/x_y.~z");
  EXPECT_EQ(UriEncode("runs/x", true), "runs%2Fx");
  EXPECT_EQ(UriEncode("caf\xC3\xA9", true), "caf%C3%A9");
  EXPECT_EQ(UriEncode("100%", true), "100%25");
}

TEST(SigV4Test, FormatAmzDate) {
  EXPECT_EQ(FormatAmzDate(1369353600LL * 1'000'000), "20130524T000000Z");
  EXPECT_EQ(FormatAmzDate(1440938160LL * 1'000'000 + 999'999), "20150830T123600Z");
}

}  // namespace
}  // namespace featureforge::sigv4
