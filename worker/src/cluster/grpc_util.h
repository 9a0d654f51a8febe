// Helpers shared by the head, the worker and the client: gRPC status -> Status, channels that
// reconnect quickly after a head restart, per-call deadlines.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "featureforge/common/status.h"

namespace featureforge::cluster {

// A channel to `address` whose reconnect backoff is capped at ~1 s (gRPC's default grows to
// 120 s, which would keep workers away from a restarted head for minutes).
std::shared_ptr<grpc::Channel> NewHeadChannel(const std::string& address);

// Sets the deadline of `context` to now + timeout.
void SetDeadline(grpc::ClientContext* context, std::chrono::milliseconds timeout);

// Maps a failed call on the head at `address` to a Status that names the head and the method:
// UNAVAILABLE and CANCELLED -> kUnavailable, DEADLINE_EXCEEDED -> kTimeout, NOT_FOUND -> kNotFound,
// INVALID_ARGUMENT -> kInvalidArgument, anything else -> kInternal.
Status StatusFromGrpc(const grpc::Status& status, const std::string& address,
                      const std::string& method, std::chrono::milliseconds timeout);

// The inverse for the head's handlers.
grpc::Status GrpcFromStatus(const Status& status);

// Wall-clock milliseconds since the Unix epoch.
int64_t NowUnixMs();

}  // namespace featureforge::cluster
