// The registry at s3:// URIs on a real s3rver (npm) on loopback, reached through a
// fault-injecting proxy and configured the way pods are: from the AWS_* environment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <vector>

#include "featureforge/objectstore/object_store.h"
#include "featureforge/registry/registry.h"
#include "featureforge/registry/registry_cache.h"
#include "ff_s3_testutil/s3rver.h"
#include "registry_fixtures.h"

namespace featureforge::registry {
namespace {

using featureforge::testing::FaultInjectingProxy;
using featureforge::testing::S3rverProcess;
using testing::ApplySample;
using ::testing::HasSubstr;
using testing::Record;

constexpr char kBucket[] = "ff-registry";

class RegistryS3Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = S3rverProcess::Start({kBucket});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value().release();
    auto proxy = FaultInjectingProxy::Start(server_->port());
    ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
    proxy_ = std::move(proxy).value().release();
    // OpenObjectStore("s3://...") reads these, exactly as in an executor pod.
    setenv("AWS_ENDPOINT_URL_S3", proxy_->endpoint().c_str(), 1);
    setenv("AWS_ACCESS_KEY_ID", featureforge::testing::kS3rverAccessKeyId, 1);
    setenv("AWS_SECRET_ACCESS_KEY", featureforge::testing::kS3rverSecretAccessKey, 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("FEATUREFORGE_S3_MAX_ATTEMPTS", "3", 1);
  }
  static void TearDownTestSuite() {
    delete proxy_;
    proxy_ = nullptr;
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(proxy_, nullptr); }
  std::string Uri(const std::string& name) const {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string("s3://") + kBucket + "/" + info->name() + "/" + name;
  }

  static S3rverProcess* server_;
  static FaultInjectingProxy* proxy_;
};

S3rverProcess* RegistryS3Test::server_ = nullptr;
FaultInjectingProxy* RegistryS3Test::proxy_ = nullptr;

TEST_F(RegistryS3Test, ApplyRecordLoadRoundTrip) {
  const std::string uri = Uri("registry.pb");
  auto missing = Registry::Load(uri);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(uri));
  EXPECT_EQ(*Registry::Version(uri), "");

  ASSERT_TRUE(ApplySample(uri).ok());
  ASSERT_TRUE(Record(uri, 100).ok());
  auto loaded = Registry::Load(uri);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->project(), "rides");
  EXPECT_EQ(loaded->LastMaterializedEnd("hourly"), 110);
  auto store = OpenObjectStore(uri);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*Registry::Version(uri), **(*store)->CurrentVersion(uri));  // the ETag
}

TEST_F(RegistryS3Test, ServerErrorsThenSuccessLoseNothing) {
  const std::string uri = Uri("registry.pb");
  ASSERT_TRUE(ApplySample(uri).ok());
  const int faults = proxy_->faults_injected();
  proxy_->FailNext(1, FaultInjectingProxy::Fault::kInternalError500, "PUT");
  Status recorded = Record(uri, 100);
  ASSERT_TRUE(recorded.ok()) << recorded.ToString();
  proxy_->FailNext(1, FaultInjectingProxy::Fault::kInternalError500, "GET");
  auto loaded = Registry::Load(uri);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(proxy_->faults_injected(), faults + 2);
  EXPECT_EQ(loaded->feature_view("hourly")->intervals.size(), 1u);
}

TEST_F(RegistryS3Test, ServerThatKeepsFailingIsAnErrorNamingTheUri) {
  const std::string uri = Uri("registry.pb");
  ASSERT_TRUE(ApplySample(uri).ok());
  proxy_->FailNext(3, FaultInjectingProxy::Fault::kInternalError500, "GET");
  Status status = Record(uri, 100);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr(uri));
  EXPECT_TRUE(Registry::Load(uri)->feature_view("hourly")->intervals.empty());
}

TEST_F(RegistryS3Test, CorruptObjectIsCorruptionNamingTheUri) {
  const std::string uri = Uri("registry.pb");
  auto store = OpenObjectStore(uri);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put(uri, "not a registry").ok());
  auto loaded = Registry::Load(uri);
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
  EXPECT_THAT(loaded.status().message(), HasSubstr(uri));
}

// Threads of one process take turns on the registry (s3rver cannot check conditions, so this
// is the in-process lock plus the version re-check at work).
TEST_F(RegistryS3Test, ConcurrentThreadsLoseNoUpdate) {
  const std::string uri = Uri("registry.pb");
  ASSERT_TRUE(ApplySample(uri).ok());
  constexpr int kThreads = 3;
  constexpr int kEach = 5;
  EXPECT_EQ(testing::RecordFromThreads(uri, kThreads, kEach), 0);
  EXPECT_EQ(Registry::Load(uri)->feature_view("hourly")->intervals.size(),
            size_t{kThreads * kEach});
}

TEST_F(RegistryS3Test, CacheRereadsOnlyWhenTheEtagChanges) {
  const std::string uri = Uri("registry.pb");
  ASSERT_TRUE(ApplySample(uri).ok());
  RegistryCache cache(uri);
  ASSERT_TRUE(cache.Get().ok());
  ASSERT_TRUE(cache.Get().ok());
  EXPECT_EQ(cache.loads(), 1u);
  ASSERT_TRUE(Record(uri, 100).ok());
  auto reloaded = cache.Get();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  EXPECT_EQ(cache.loads(), 2u);
  EXPECT_EQ((*reloaded)->LastMaterializedEnd("hourly"), 110);
}

}  // namespace
}  // namespace featureforge::registry
