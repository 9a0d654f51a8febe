// S3ObjectStore versions and conditional writes against a real s3rver on loopback. s3rver 3.7
// ignores If-Match / If-None-Match on PutObject, so here the probe must report NotSupported;
// with conditional_writes=kOn the headers must still go out as S3 documents them (checked on
// the wire through the proxy).
#include <gtest/gtest.h>

#include <algorithm>

#include "featureforge/objectstore/s3_store.h"
#include "ff_s3_testutil/s3rver.h"

namespace featureforge {
namespace {

using testing::FaultInjectingProxy;
using testing::S3rverProcess;

constexpr char kBucket[] = "ff-versions";

class S3VersionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = S3rverProcess::Start({kBucket});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    auto proxy = FaultInjectingProxy::Start(server_->port());
    ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
    proxy_ = std::move(proxy).value();
  }
  std::shared_ptr<S3ObjectStore> Store(S3Options::ConditionalWrites mode) {
    S3Options options = server_->Options();
    options.endpoint = proxy_->endpoint();
    options.conditional_writes = mode;
    auto store = S3ObjectStore::Create(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? *store : nullptr;
  }
  std::string Uri(const std::string& name) const {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string("s3://") + kBucket + "/" + info->name() + "/" + name;
  }
  bool SentHeader(const std::string& header) const {
    auto heads = proxy_->request_heads();
    return std::any_of(heads.begin(), heads.end(), [&](const std::string& head) {
      return head.find("\r\n" + header + "\r\n") != std::string::npos;
    });
  }

  static S3rverProcess* server_;
  std::unique_ptr<FaultInjectingProxy> proxy_;
};

S3rverProcess* S3VersionsTest::server_ = nullptr;

TEST_F(S3VersionsTest, VersionsAreEtagsThatChangeWithTheContent) {
  auto store = Store(S3Options::ConditionalWrites::kAuto);
  auto missing = store->CurrentVersion(Uri("obj"));
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(store->GetVersioned(Uri("obj")).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(store->Put(Uri("obj"), "one").ok());
  auto first = store->GetVersioned(Uri("obj"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->data, "one");
  EXPECT_EQ(first->version, "\"f97c5d29941bfb1b2fdab0874906ab82\"");  // MD5 of "one"
  EXPECT_EQ(**store->CurrentVersion(Uri("obj")), first->version);
  ASSERT_TRUE(store->Put(Uri("obj"), "two").ok());
  EXPECT_NE(**store->CurrentVersion(Uri("obj")), first->version);
}

TEST_F(S3VersionsTest, ProbeFindsThatS3rverIgnoresConditionsAndWritesNothing) {
  auto store = Store(S3Options::ConditionalWrites::kAuto);
  ASSERT_TRUE(store->Put(Uri("registry.pb"), "current").ok());
  auto written = store->PutIfVersion(Uri("registry.pb"), "new", "\"not-the-etag\"");
  EXPECT_EQ(written.status().code(), StatusCode::kNotSupported);
  EXPECT_NE(written.status().message().find(Uri("registry.pb")), std::string::npos);
  EXPECT_NE(written.status().message().find("FEATUREFORGE_S3_CONDITIONAL_WRITES"),
            std::string::npos);
  EXPECT_EQ(*store->Get(Uri("registry.pb")), "current");
  // The probe object is cleaned up.
  auto probes = store->List(Uri("registry.pb.ff-conditional-write-probe"));
  ASSERT_TRUE(probes.ok()) << probes.status().ToString();
  EXPECT_TRUE(probes->empty());
  // The answer is cached per bucket: a second call sends nothing.
  const uint64_t sent = store->requests_sent();
  EXPECT_EQ(store->PutIfVersion(Uri("other"), "x", "").status().code(), StatusCode::kNotSupported);
  EXPECT_EQ(store->requests_sent(), sent);
}

TEST_F(S3VersionsTest, DisabledConditionalWritesAreNotSupportedWithoutARequest) {
  auto store = Store(S3Options::ConditionalWrites::kOff);
  auto written = store->PutIfVersion(Uri("x"), "data", "");
  EXPECT_EQ(written.status().code(), StatusCode::kNotSupported);
  EXPECT_EQ(store->requests_sent(), 0u);
}

TEST_F(S3VersionsTest, ConditionalPutsSendIfMatchAndIfNoneMatch) {
  auto store = Store(S3Options::ConditionalWrites::kOn);
  auto created = store->PutIfVersion(Uri("cas"), "v1", "");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(SentHeader("If-None-Match: *"));
  EXPECT_EQ(*created, **store->CurrentVersion(Uri("cas")));
  auto replaced = store->PutIfVersion(Uri("cas"), "v2", *created);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_TRUE(SentHeader("If-Match: " + *created));
  EXPECT_EQ(*store->Get(Uri("cas")), "v2");
}

TEST_F(S3VersionsTest, ConditionalPutIsRetriedAfterAServerError) {
  auto store = Store(S3Options::ConditionalWrites::kOn);
  proxy_->FailNext(1, FaultInjectingProxy::Fault::kInternalError500, "PUT");
  auto created = store->PutIfVersion(Uri("retried"), "v1", "");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(proxy_->faults_injected(), 1);
  EXPECT_EQ(*store->Get(Uri("retried")), "v1");
}

}  // namespace
}  // namespace featureforge
