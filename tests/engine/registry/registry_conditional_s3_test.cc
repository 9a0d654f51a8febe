// Two processes updating one s3:// registry side by side lose no update. s3rver ignores
// conditional headers, so it runs behind conditional_s3_proxy.js, which enforces If-Match /
// If-None-Match on PutObject the way AWS S3 does; the client's probe must find that and use
// conditional writes (a 412 is a Conflict, and Update re-reads and retries).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "featureforge/objectstore/object_store.h"
#include "featureforge/registry/registry.h"
#include "featureforge/testutil/testutil.h"
#include "ff_s3_testutil/s3rver.h"
#include "registry_fixtures.h"

namespace featureforge::registry {
namespace {

constexpr char kBucket[] = "ff-registry-cas";

// Runs `body` in a forked child (which talks S3 on its own connections) and returns its exit
// code. The parent has not talked to the proxy before forking, so no connection is shared.
int RunInChild(const std::function<bool()>& body) {
  pid_t child = fork();
  if (child == 0) _exit(body() ? 0 : 1);
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(RegistryConditionalS3Test, TwoProcessesUpdatingSideBySideLoseNothing) {
  auto server = featureforge::testing::S3rverProcess::Start({kBucket});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  testutil::TempDir dir("ff-registry-cas");
  const std::string port_file = dir.Join("proxy.port");
  testutil::BackgroundProcess proxy(
      {"node", std::string(FF_REGISTRY_TEST_DIR) + "/conditional_s3_proxy.js",
       std::to_string((*server)->port()), port_file},
      dir.Join("proxy.log"));
  ASSERT_GT(proxy.pid(), 0) << proxy.error();
  while (!std::filesystem::exists(port_file)) {  // readiness, not a timing assertion
    ASSERT_TRUE(proxy.Running()) << testutil::ReadFile(dir.Join("proxy.log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  setenv("AWS_ENDPOINT_URL_S3", ("http://127.0.0.1:" + testutil::ReadFile(port_file)).c_str(), 1);
  setenv("AWS_ACCESS_KEY_ID", featureforge::testing::kS3rverAccessKeyId, 1);
  setenv("AWS_SECRET_ACCESS_KEY", featureforge::testing::kS3rverSecretAccessKey, 1);
  setenv("FEATUREFORGE_S3_CONDITIONAL_WRITES", "auto", 1);

  const std::string uri = std::string("s3://") + kBucket + "/shared/registry.pb";
  ASSERT_EQ(RunInChild([&] { return testing::ApplySample(uri).ok(); }), 0);

  constexpr int kProcesses = 2;
  constexpr int kEach = 15;
  EXPECT_TRUE(testing::RecordFromProcesses(uri, kProcesses, kEach));

  auto loaded = Registry::Load(uri);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->feature_view("hourly")->intervals.size(), size_t{kProcesses * kEach});
  // The writes really were conditional: a stale version is refused, not overwritten.
  auto store = OpenObjectStore(uri);
  ASSERT_TRUE(store.ok());
  auto stale = (*store)->PutIfVersion(uri, "stale", "\"00000000000000000000000000000000\"");
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict) << stale.status().ToString();
  EXPECT_TRUE(Registry::Load(uri).ok());
  unsetenv("AWS_ENDPOINT_URL_S3");
}

}  // namespace
}  // namespace featureforge::registry
