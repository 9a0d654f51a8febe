// The gRPC HeadClient: one channel, one stub, a deadline on every call.
#include "featureforge/cluster/head_client.h"

#include "featureforge/cluster/v1/cluster.grpc.pb.h"
#include "grpc_util.h"

namespace featureforge::cluster {
namespace {

class GrpcHeadClient final : public HeadClient {
 public:
  GrpcHeadClient(std::string address, std::chrono::milliseconds timeout)
      : address_(std::move(address)),
        timeout_(timeout),
        stub_(v1::ClusterHead::NewStub(NewHeadChannel(address_))) {}

  Result<v1::SubmitJobResponse> SubmitJob(const v1::SubmitJobRequest& request) override {
    v1::SubmitJobResponse response;
    return Call("SubmitJob", request, &response, &v1::ClusterHead::Stub::SubmitJob);
  }

  Result<v1::Job> GetJob(const std::string& job_id) override {
    v1::GetJobRequest request;
    request.set_job_id(job_id);
    v1::Job response;
    return Call("GetJob", request, &response, &v1::ClusterHead::Stub::GetJob);
  }

  Result<v1::CancelJobResponse> CancelJob(const std::string& job_id) override {
    v1::CancelJobRequest request;
    request.set_job_id(job_id);
    v1::CancelJobResponse response;
    return Call("CancelJob", request, &response, &v1::ClusterHead::Stub::CancelJob);
  }

  Result<v1::ClusterStatus> GetClusterStatus() override {
    v1::GetClusterStatusRequest request;
    v1::ClusterStatus response;
    return Call("GetClusterStatus", request, &response, &v1::ClusterHead::Stub::GetClusterStatus);
  }

  const std::string& address() const override { return address_; }

 private:
  template <typename Request, typename Response, typename Method>
  Result<Response> Call(const char* name, const Request& request, Response* response,
                        Method method) {
    grpc::ClientContext context;
    SetDeadline(&context, timeout_);
    grpc::Status status = (stub_.get()->*method)(&context, request, response);
    if (!status.ok()) return StatusFromGrpc(status, address_, name, timeout_);
    return std::move(*response);
  }

  std::string address_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<v1::ClusterHead::Stub> stub_;
};

}  // namespace

std::unique_ptr<HeadClient> NewGrpcHeadClient(std::string address,
                                              std::chrono::milliseconds timeout) {
  return std::make_unique<GrpcHeadClient>(std::move(address), timeout);
}

}  // namespace featureforge::cluster
