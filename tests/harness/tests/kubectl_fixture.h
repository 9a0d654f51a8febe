// A shared ff-apiserver for a test suite; each test works in its own namespace.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "harness_test_util.h"

namespace ffharness::testing {

inline const char* kWidgetCrd = R"(
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.featureforge.dev
spec:
  group: test.featureforge.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd], categories: [ffall]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Phase, type: string, jsonPath: .status.phase}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1, maximum: 10}
              mode: {type: string, enum: [fast, slow], default: fast}
              name: {type: string, maxLength: 8}
          status:
            type: object
            properties:
              phase: {type: string}
              observedGeneration: {type: integer}
              conditions:
                type: array
                items:
                  type: object
                  properties:
                    type: {type: string}
                    status: {type: string}
                    reason: {type: string}
                    message: {type: string}
                    lastTransitionTime: {type: string}
)";

class KubectlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ApiServerProcess();
    ASSERT_TRUE(server_->Start()) << "ff-apiserver did not start";
    auto r = server_->Apply(kWidgetCrd);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = server_->Kubectl({"wait", "--for=condition=Established",
                          "crd/widgets.test.featureforge.dev", "--timeout=60s"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ns_ = "t-";
    for (char c : name)
      ns_.push_back(
          static_cast<char>(std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '-'));
    if (ns_.size() > 60) ns_.resize(60);
    auto r = Kubectl({"apply", "-f", "-"},
                     "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns_ + "\n", false);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // kubectl in this test's namespace (unless namespaced is false).
  CommandResult Kubectl(std::vector<std::string> args, const std::string& stdin_text = "",
                        bool namespaced = true) {
    if (namespaced) {
      args.insert(args.begin(), ns_);
      args.insert(args.begin(), "-n");
    }
    return server_->Kubectl(args, stdin_text);
  }
  CommandResult Apply(const std::string& yaml) { return Kubectl({"apply", "-f", "-"}, yaml); }
  std::vector<std::string> KubectlArgv(std::vector<std::string> args) {
    args.insert(args.begin(), ns_);
    args.insert(args.begin(), "-n");
    return server_->KubectlArgv(args);
  }
  std::string Jsonpath(const std::string& object, const std::string& path) {
    auto r = Kubectl({"get", object, "-o", "jsonpath={" + path + "}"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  // Polls `kubectl get object` until it reports NotFound (safety deadline only).
  bool WaitGone(const std::string& object) {
    for (int i = 0; i < 600; ++i) {
      auto r = Kubectl({"get", object});
      if (r.exit_code != 0 && r.err.find("NotFound") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  static ApiServerProcess* server_;
  std::string ns_;
};

inline ApiServerProcess* KubectlTest::server_ = nullptr;

}  // namespace ffharness::testing
