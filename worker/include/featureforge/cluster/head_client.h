// HeadClient: what a ComputeCluster client (the operator's controllers, the CLI) asks a head.
//
// Every call has a deadline (the timeout given at construction), so a dead or partitioned head
// never blocks a caller: it gets kUnavailable / kTimeout naming the head's address instead.
// Link `ff_cluster_client`; unit tests of callers use MockHeadClient
// (featureforge/cluster/testing/mock_head_client.h, link `ff_cluster_client_testing`).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "featureforge/cluster/v1/cluster.pb.h"
#include "featureforge/common/status.h"

namespace featureforge::cluster {

class HeadClient {
 public:
  virtual ~HeadClient() = default;

  // Idempotent per job_id and task_id (resubmitting adds only the tasks the head lacks).
  virtual Result<v1::SubmitJobResponse> SubmitJob(const v1::SubmitJobRequest& request) = 0;
  // kNotFound when the head does not know the job (never submitted, or the head restarted).
  virtual Result<v1::Job> GetJob(const std::string& job_id) = 0;
  // Cancels queued tasks; running ones stop on their worker's next heartbeat. Idempotent.
  virtual Result<v1::CancelJobResponse> CancelJob(const std::string& job_id) = 0;
  virtual Result<v1::ClusterStatus> GetClusterStatus() = 0;

  // "host:port" as given at construction (for messages).
  virtual const std::string& address() const = 0;
};

// A client over gRPC (plain-text HTTP/2) to the head at `address` ("host:port"). Each call
// fails after `timeout`. Creating the client never blocks or fails; connection errors surface
// per call as kUnavailable: "ComputeCluster head at <address> is unavailable: ...".
std::unique_ptr<HeadClient> NewGrpcHeadClient(std::string address,
                                              std::chrono::milliseconds timeout);

}  // namespace featureforge::cluster
