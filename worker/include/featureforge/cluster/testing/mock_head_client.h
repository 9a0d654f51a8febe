// MockHeadClient: a gmock HeadClient for unit tests of code that talks to a head (e.g. the
// ComputeCluster and MaterializationJob controllers). Link `ff_cluster_client_testing`.
//
//   MockHeadClient head;
//   EXPECT_CALL(head, GetJob("job-1")).WillOnce(Return(Result<v1::Job>(Status::NotFound("x"))));
//
// Result<T> has no default value, so every call a test triggers needs an action.
#pragma once

#include <gmock/gmock.h>

#include <string>

#include "featureforge/cluster/head_client.h"

namespace featureforge::cluster::testing {

class MockHeadClient : public HeadClient {
 public:
  explicit MockHeadClient(std::string address = "mock-head:0") : address_(std::move(address)) {}

  MOCK_METHOD(Result<v1::SubmitJobResponse>, SubmitJob, (const v1::SubmitJobRequest& request),
              (override));
  MOCK_METHOD(Result<v1::Job>, GetJob, (const std::string& job_id), (override));
  MOCK_METHOD(Result<v1::CancelJobResponse>, CancelJob, (const std::string& job_id), (override));
  MOCK_METHOD(Result<v1::ClusterStatus>, GetClusterStatus, (), (override));

  const std::string& address() const override { return address_; }

 private:
  std::string address_;
};

}  // namespace featureforge::cluster::testing
