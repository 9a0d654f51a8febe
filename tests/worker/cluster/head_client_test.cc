// HeadClient over gRPC against an in-process ClusterHead service that misbehaves on purpose:
// status mapping, deadlines and messages naming the head's address.
#include "featureforge/cluster/head_client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <thread>

#include "featureforge/cluster/testing/mock_head_client.h"
#include "featureforge/cluster/v1/cluster.grpc.pb.h"
#include "featureforge/testutil/testutil.h"

namespace featureforge::cluster {
namespace {

using ::testing::HasSubstr;

// Knows job "known"; answers GetClusterStatus only after a long sleep.
class ScriptedHead final : public v1::ClusterHead::Service {
 public:
  grpc::Status GetJob(grpc::ServerContext*, const v1::GetJobRequest* request,
                      v1::Job* job) override {
    if (request->job_id() != "known") {
      return {grpc::StatusCode::NOT_FOUND, "job " + request->job_id() + " not found"};
    }
    job->set_job_id("known");
    job->set_succeeded(2);
    return grpc::Status::OK;
  }
  grpc::Status SubmitJob(grpc::ServerContext*, const v1::SubmitJobRequest* request,
                         v1::SubmitJobResponse* response) override {
    if (request->job_id().empty()) return {grpc::StatusCode::INVALID_ARGUMENT, "job_id is empty"};
    response->set_tasks_added(request->tasks_size());
    return grpc::Status::OK;
  }
  grpc::Status GetClusterStatus(grpc::ServerContext* context, const v1::GetClusterStatusRequest*,
                                v1::ClusterStatus*) override {
    // Sleeps past any client deadline the test uses, but ends when the call is cancelled.
    for (int i = 0; i < 100 && !context->IsCancelled(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return grpc::Status::OK;
  }
};

class HeadClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    address_ = "127.0.0.1:" + std::to_string(port_);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }

  ScriptedHead service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
};

TEST_F(HeadClientTest, GetJobReturnsTheJob) {
  auto client = NewGrpcHeadClient(address_, std::chrono::seconds(10));
  auto job = client->GetJob("known");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->job_id(), "known");
  EXPECT_EQ(job->succeeded(), 2);
  EXPECT_EQ(client->address(), address_);
}

TEST_F(HeadClientTest, UnknownJobIsNotFound) {
  auto client = NewGrpcHeadClient(address_, std::chrono::seconds(10));
  auto job = client->GetJob("never-submitted");
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), StatusCode::kNotFound) << job.status().ToString();
  EXPECT_THAT(job.status().message(), HasSubstr("never-submitted"));
}

TEST_F(HeadClientTest, RejectedRequestIsInvalidArgument) {
  auto client = NewGrpcHeadClient(address_, std::chrono::seconds(10));
  auto submitted = client->SubmitJob(v1::SubmitJobRequest());
  ASSERT_FALSE(submitted.ok());
  EXPECT_EQ(submitted.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(submitted.status().message(), HasSubstr("job_id is empty"));
}

TEST_F(HeadClientTest, SlowHeadTimesOutNamingTheAddressAndMethod) {
  auto client = NewGrpcHeadClient(address_, std::chrono::milliseconds(300));
  auto status = client->GetClusterStatus();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), StatusCode::kTimeout) << status.status().ToString();
  EXPECT_THAT(status.status().message(), HasSubstr(address_));
  EXPECT_THAT(status.status().message(), HasSubstr("GetClusterStatus"));
}

TEST(HeadClientUnavailableTest, NothingListeningIsUnavailableNamingTheAddress) {
  const std::string address = "127.0.0.1:" + std::to_string(testutil::PickFreePort());
  auto client = NewGrpcHeadClient(address, std::chrono::seconds(10));
  auto status = client->GetClusterStatus();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), StatusCode::kUnavailable) << status.status().ToString();
  EXPECT_THAT(status.status().message(), HasSubstr(address));
}

TEST(MockHeadClientTest, ScriptsAnswers) {
  testing::MockHeadClient head;
  v1::Job job;
  job.set_job_id("j");
  EXPECT_CALL(head, GetJob("j")).WillOnce(::testing::Return(Result<v1::Job>(job)));
  EXPECT_CALL(head, CancelJob("j"))
      .WillOnce(::testing::Return(Result<v1::CancelJobResponse>(Status::Unavailable("down"))));
  HeadClient& client = head;
  EXPECT_EQ(client.GetJob("j")->job_id(), "j");
  EXPECT_EQ(client.CancelJob("j").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(client.address(), "mock-head:0");
}

}  // namespace
}  // namespace featureforge::cluster
