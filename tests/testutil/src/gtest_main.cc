// The main() of every test binary: GoogleTest's, except that the tests of a suite whose
// SetUpTestSuite failed are reported FAILED instead of SKIPPED.
//
// GoogleTest skips every test of such a suite and prints "[  SKIPPED ]" for each, and the
// CTest properties gtest_discover_tests writes mark any test whose output matches that as
// skipped, whatever its exit code. A fixture whose server never came up then read as "Skipped"
// in ctest's summary. CTest cannot be told to drop that regex (set_tests_properties appends to
// it), so the printer says what happened instead: the binary still exits 1 and ctest reports
// the tests failed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

using ::testing::TestEventListener;
using ::testing::TestInfo;
using ::testing::TestPartResult;
using ::testing::TestSuite;
using ::testing::UnitTest;

bool SetUpFailed(const TestSuite* suite) {
  return suite != nullptr && suite->ad_hoc_test_result().Failed();
}

// Wraps GoogleTest's default printer and forwards every event to it, except the "skipped"
// events of tests whose suite could not be set up, and the final summary once any suite failed
// to set up (the default summary lists those tests as skipped).
class SuiteSetUpFailurePrinter : public TestEventListener {
 public:
  explicit SuiteSetUpFailurePrinter(TestEventListener* printer) : printer_(printer) {}

  void OnTestProgramStart(const UnitTest& u) override { printer_->OnTestProgramStart(u); }
  void OnTestIterationStart(const UnitTest& u, int i) override {
    printer_->OnTestIterationStart(u, i);
  }
  void OnEnvironmentsSetUpStart(const UnitTest& u) override {
    printer_->OnEnvironmentsSetUpStart(u);
  }
  void OnEnvironmentsSetUpEnd(const UnitTest& u) override { printer_->OnEnvironmentsSetUpEnd(u); }
  void OnTestSuiteStart(const TestSuite& s) override { printer_->OnTestSuiteStart(s); }
  void OnTestStart(const TestInfo& t) override { printer_->OnTestStart(t); }
  void OnTestPartResult(const TestPartResult& r) override {
    if (r.skipped() && SetUpFailed(UnitTest::GetInstance()->current_test_suite())) return;
    printer_->OnTestPartResult(r);
  }
  void OnTestEnd(const TestInfo& t) override {
    if (t.result()->Skipped() && SetUpFailed(UnitTest::GetInstance()->current_test_suite())) {
      std::printf("[  FAILED  ] %s.%s (not run: SetUpTestSuite of %s failed, see above)\n",
                  t.test_suite_name(), t.name(), t.test_suite_name());
      std::fflush(stdout);
      return;
    }
    printer_->OnTestEnd(t);
  }
  void OnTestSuiteEnd(const TestSuite& s) override { printer_->OnTestSuiteEnd(s); }
  void OnEnvironmentsTearDownStart(const UnitTest& u) override {
    printer_->OnEnvironmentsTearDownStart(u);
  }
  void OnEnvironmentsTearDownEnd(const UnitTest& u) override {
    printer_->OnEnvironmentsTearDownEnd(u);
  }
  void OnTestIterationEnd(const UnitTest& u, int i) override {
    if (!AnySuiteSetUpFailed(u)) return printer_->OnTestIterationEnd(u, i);
    PrintSummary(u);
  }
  void OnTestProgramEnd(const UnitTest& u) override { printer_->OnTestProgramEnd(u); }

 private:
  static bool AnySuiteSetUpFailed(const UnitTest& u) {
    for (int i = 0; i < u.total_test_suite_count(); ++i) {
      if (SetUpFailed(u.GetTestSuite(i))) return true;
    }
    return false;
  }

  // GoogleTest's summary, with the tests of suites that could not be set up counted as failed.
  static void PrintSummary(const UnitTest& u) {
    std::vector<std::string> failed;
    std::vector<std::string> broken_suites;
    int passed = 0;
    for (int i = 0; i < u.total_test_suite_count(); ++i) {
      const TestSuite* suite = u.GetTestSuite(i);
      const bool broken = SetUpFailed(suite);
      if (broken) broken_suites.emplace_back(suite->name());
      for (int j = 0; j < suite->total_test_count(); ++j) {
        const TestInfo* t = suite->GetTestInfo(j);
        if (!t->should_run()) continue;
        if (t->result()->Failed() || (broken && t->result()->Skipped())) {
          failed.push_back(std::string(suite->name()) + "." + t->name());
        } else if (t->result()->Passed()) {
          ++passed;
        }
      }
    }
    std::printf("[==========] %d tests from %d test suites ran. (%lld ms total)\n",
                u.test_to_run_count(), u.test_suite_to_run_count(),
                static_cast<long long>(u.elapsed_time()));
    std::printf("[  PASSED  ] %d tests.\n", passed);
    std::printf("[  FAILED  ] %zu tests, listed below:\n", failed.size());
    for (const auto& name : failed) std::printf("[  FAILED  ] %s\n", name.c_str());
    for (const auto& name : broken_suites) {
      std::printf("[  FAILED  ] %s: SetUpTestSuite failed\n", name.c_str());
    }
    std::printf("\n%zu FAILED TESTS\n", failed.size());
    std::fflush(stdout);
  }

  std::unique_ptr<TestEventListener> printer_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleMock(&argc, argv);
  auto& listeners = UnitTest::GetInstance()->listeners();
  TestEventListener* printer = listeners.Release(listeners.default_result_printer());
  if (printer != nullptr) listeners.Append(new SuiteSetUpFailurePrinter(printer));
  return RUN_ALL_TESTS();
}
