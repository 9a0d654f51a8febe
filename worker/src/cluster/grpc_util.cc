#include "grpc_util.h"

namespace featureforge::cluster {

std::shared_ptr<grpc::Channel> NewHeadChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Task specs carry whole feature repos; the default 4 MiB receive limit is too small for a
  // repo with inline data files.
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

void SetDeadline(grpc::ClientContext* context, std::chrono::milliseconds timeout) {
  context->set_deadline(std::chrono::system_clock::now() + timeout);
}

Status StatusFromGrpc(const grpc::Status& status, const std::string& address,
                      const std::string& method, std::chrono::milliseconds timeout) {
  const std::string what = "ComputeCluster head at " + address;
  const std::string detail = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return Status::OK();
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:  // the head shutting down cancels calls in flight
      return Status::Unavailable(what + " is unavailable (" + method + "): " + detail);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::Timeout(what + " did not answer " + method + " within " +
                             std::to_string(timeout.count()) + "ms");
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(detail.empty() ? what + ": " + method + ": not found" : detail);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(what + " rejected " + method + ": " + detail);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::FailedPrecondition(what + " refused " + method + ": " + detail);
    default:
      return Status::Internal(what + ": " + method + " failed (grpc code " +
                              std::to_string(static_cast<int>(status.error_code())) +
                              "): " + detail);
  }
}

grpc::Status GrpcFromStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kInvalidArgument:
      return {grpc::StatusCode::INVALID_ARGUMENT, status.message()};
    case StatusCode::kNotFound:
      return {grpc::StatusCode::NOT_FOUND, status.message()};
    case StatusCode::kFailedPrecondition:
      return {grpc::StatusCode::FAILED_PRECONDITION, status.message()};
    case StatusCode::kUnavailable:
      return {grpc::StatusCode::UNAVAILABLE, status.message()};
    default:
      return {grpc::StatusCode::INTERNAL, status.ToString()};
  }
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace featureforge::cluster
