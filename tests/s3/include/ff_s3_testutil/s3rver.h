// Test fixtures for S3 code: a real s3rver (the npm S3-compatible server) on a free loopback
// port with its own temp directory, and a fault-injecting HTTP proxy to put in front of it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/objectstore/s3_store.h"

namespace featureforge::testing {

// s3rver's built-in account: the only credentials it accepts.
inline constexpr char kS3rverAccessKeyId[] = "S3RVER";
inline constexpr char kS3rverSecretAccessKey[] = "S3RVER";

class S3rverProcess {
 public:
  // Starts `node .../s3rver -d <tmp> -a 127.0.0.1 -p 0 --configure-bucket <b>...` and waits
  // until it reports its port. Fails (naming the log) if node or the npm package is missing.
  static Result<std::unique_ptr<S3rverProcess>> Start(const std::vector<std::string>& buckets);
  ~S3rverProcess();  // stops the server and removes its directory

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Options pointing at this server with its credentials and short retry backoff.
  S3Options Options() const;
  const std::string& data_dir() const { return data_dir_; }

 private:
  S3rverProcess() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string root_dir_;
  std::string data_dir_;
};

// An HTTP/1.1 proxy on 127.0.0.1:<free port> that forwards every request to `upstream_port`
// (one request per connection, "Connection: close"), except that it can be told to fail the
// next N requests instead: answer 500 InternalError, 503 SlowDown, drop the connection
// without answering, or hang (read the request, never answer; for timeout tests).
class FaultInjectingProxy {
 public:
  enum class Fault { kInternalError500, kSlowDown503, kDropConnection, kHang };

  static Result<std::unique_ptr<FaultInjectingProxy>> Start(int upstream_port);
  ~FaultInjectingProxy();

  // The next `count` requests whose method equals `method` (any method when empty) fail.
  void FailNext(int count, Fault fault, const std::string& method = "");
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests_seen() const { return requests_seen_.load(); }
  int faults_injected() const { return faults_injected_.load(); }
  // The head (request line + headers, CRLF-separated) of every request received, in order.
  std::vector<std::string> request_heads() const;

 private:
  FaultInjectingProxy() = default;
  void AcceptLoop();
  void Serve(int client_fd);
  bool TakeFault(const std::string& method, Fault* fault);

  int listen_fd_ = -1;
  int port_ = 0;
  int upstream_port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_seen_{0};
  std::atomic<int> faults_injected_{0};
  mutable std::mutex mu_;
  std::vector<std::string> request_heads_;
  int pending_faults_ = 0;
  Fault pending_fault_ = Fault::kInternalError500;
  std::string fault_method_;
  std::thread accept_thread_;
  std::vector<std::thread> workers_;
};

}  // namespace featureforge::testing
