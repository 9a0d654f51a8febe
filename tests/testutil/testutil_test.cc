#include "featureforge/testutil/testutil.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <regex>

#include "featureforge/testutil/sample_repo.h"

namespace featureforge::testutil {
namespace {

TEST(SampleRepoTest, EndIsAnIsoHourAndAMissingSourceTreeIsReported) {
  SampleRepo fixed;
  fixed.end_unix_seconds = 1768046400;
  EXPECT_EQ(fixed.end_iso(), "2026-01-10T12:00:00Z");

  TempDir empty_source("ff-tu-src");
  TempDir target("ff-tu-repo");
  ::setenv("FEATUREFORGE_SOURCE_DIR", empty_source.path().c_str(), 1);
  SampleRepo repo = CreateSampleRepo(target.Join("driver_ranking"));
  ::unsetenv("FEATUREFORGE_SOURCE_DIR");
  EXPECT_NE(repo.error.find(empty_source.path() + "/examples/driver_ranking"), std::string::npos)
      << repo.error;
  EXPECT_EQ(repo.end_unix_seconds % 3600, 0);
}

// ff_gtest_main: a suite whose setup fails must read as failed to ctest, whose generated
// properties skip any test with "[  SKIPPED ]" in its output, whatever the exit code.
TEST(GtestMainTest, FailedSuiteSetUpIsReportedFailedNotSkipped) {
  const std::string probe = BuildDir() + "/tests/testutil/ff-gtest-main-probe";
  const std::regex ctest_skip_regex(R"(\[  SKIPPED \])");

  auto broken = RunProcess({probe});
  EXPECT_EQ(broken.exit_code, 1) << broken.Describe();
  EXPECT_FALSE(std::regex_search(broken.stdout_text, ctest_skip_regex)) << broken.stdout_text;
  EXPECT_NE(broken.stdout_text.find("server did not start"), std::string::npos);
  EXPECT_NE(broken.stdout_text.find("[  FAILED  ] BrokenFixture.First (not run: SetUpTestSuite"),
            std::string::npos)
      << broken.stdout_text;
  EXPECT_NE(broken.stdout_text.find("[  PASSED  ] 1 tests."), std::string::npos);
  EXPECT_NE(broken.stdout_text.find("2 FAILED TESTS"), std::string::npos);

  // One test of the broken suite, as ctest runs it: still a failure.
  auto one = RunProcess({probe, "--gtest_filter=BrokenFixture.Second"});
  EXPECT_EQ(one.exit_code, 1) << one.Describe();
  EXPECT_FALSE(std::regex_search(one.stdout_text, ctest_skip_regex)) << one.stdout_text;

  // A healthy run keeps GoogleTest's own output.
  SubprocessOptions options;
  options.env["FF_PROBE_SETUP_SUCCEEDS"] = "1";
  auto healthy = RunProcess({probe}, options);
  EXPECT_EQ(healthy.exit_code, 0) << healthy.Describe();
  EXPECT_NE(healthy.stdout_text.find("[  PASSED  ] 3 tests."), std::string::npos)
      << healthy.stdout_text;
}

TEST(TempDirTest, CreatesAndRemoves) {
  std::string path;
  {
    TempDir dir("ff-tu");
    path = dir.path();
    EXPECT_TRUE(std::filesystem::is_directory(path));
    std::string file = dir.WriteFile("a/b.txt", "hello");
    EXPECT_EQ(ReadFile(file), "hello");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(PickFreePortTest, ReturnsAUsablePort) {
  int port = PickFreePort();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

TEST(RunProcessTest, CapturesOutputExitCodeStdinAndEnv) {
  SubprocessOptions options;
  options.env["FF_TU_VALUE"] = "42";
  options.stdin_text = "from stdin";
  auto r =
      RunProcess({"sh", "-c", "cat; echo; echo out $FF_TU_VALUE; echo err >&2; exit 3"}, options);
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_EQ(r.stdout_text, "from stdin\nout 42\n");
  EXPECT_EQ(r.stderr_text, "err\n");
  EXPECT_FALSE(r.timed_out);
}

TEST(RunProcessTest, WorkingDirectory) {
  TempDir dir;
  SubprocessOptions options;
  options.working_dir = dir.path();
  auto r = RunProcess({"pwd"}, options);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(std::filesystem::canonical(r.stdout_text.substr(0, r.stdout_text.size() - 1)),
            std::filesystem::canonical(dir.path()));
}

TEST(RunProcessTest, TimeoutKillsTheProcessGroup) {
  SubprocessOptions options;
  options.timeout = std::chrono::milliseconds(300);
  auto r = RunProcess({"sh", "-c", "sleep 30 & sleep 30"}, options);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, -1);
}

TEST(RunProcessTest, MissingBinaryIsReported) {
  auto r = RunProcess({"ff-no-such-binary-xyz"});
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_NE(r.stderr_text.find("ff-no-such-binary-xyz"), std::string::npos) << r.stderr_text;
}

TEST(BackgroundProcessTest, StopsWithSignal) {
  TempDir dir;
  BackgroundProcess p({"sh", "-c", "echo started; exec sleep 30"}, dir.Join("log"));
  ASSERT_GT(p.pid(), 0) << p.error();
  EXPECT_TRUE(p.Running());
  EXPECT_EQ(p.Stop(SIGTERM), -SIGTERM);
  EXPECT_FALSE(p.Running());
}

TEST(RedisServerTest, StartsAnswersAndStops) {
  RedisServer redis;
  ASSERT_EQ(redis.Start(), "");
  auto r = RunProcess({"redis-cli", "-p", std::to_string(redis.port()), "PING"});
  EXPECT_EQ(r.stdout_text, "PONG\n") << r.Describe();
  redis.Stop();
  EXPECT_FALSE(redis.running());
}

}  // namespace
}  // namespace featureforge::testutil
