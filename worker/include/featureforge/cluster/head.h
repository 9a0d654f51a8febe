// HeadServer: the ComputeCluster head as a library (what `featureforge head` runs). Serves the
// ClusterHead gRPC service over plain-text HTTP/2; state lives in memory, so every start has a
// new head_id and workers register again. Link `ff_cluster_head`.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "featureforge/common/status.h"

namespace featureforge::cluster {

struct HeadOptions {
  std::string bind_address = "127.0.0.1";  // 0.0.0.0 in a pod
  int port = 0;                            // 0 = any free port (see HeadServer::port())
  int64_t heartbeat_interval_ms = 1000;    // told to workers at registration
  int64_t heartbeat_timeout_ms = 5000;     // silence after which a worker is lost
  int32_t default_max_lease_count = 3;     // for jobs that do not set max_lease_count
  // Finished jobs are forgotten this long after they finished (0 = never). A client asking
  // later gets NOT_FOUND, exactly as after a head restart.
  int64_t finished_job_retention_s = 24 * 3600;
};

class HeadServer {
 public:
  // Binds and starts serving; kIOError naming the address when it cannot bind.
  static Result<std::unique_ptr<HeadServer>> Start(const HeadOptions& options);
  virtual ~HeadServer() = default;

  virtual int port() const = 0;
  // "<bind_address>:<port>"
  virtual std::string address() const = 0;
  virtual const std::string& head_id() const = 0;
  // Ends long polls, lets in-flight calls finish (up to a few seconds), stops serving.
  // Idempotent; the destructor calls it.
  virtual void Shutdown() = 0;
};

}  // namespace featureforge::cluster
