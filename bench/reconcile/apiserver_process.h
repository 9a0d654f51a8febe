// The harness API server (tests/harness, `ff-apiserver`) as a child process of the benchmark: a
// fresh temp directory, a free loopback port, and the kernel's CPU/RSS accounting of the server
// so the benchmark can say which side of the connection spent the time.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/k8s/config.h"

namespace featureforge::bench {

// CPU seconds (user + system) and resident memory of a process, from /proc/<pid>/stat|statm.
struct ProcessUsage {
  double cpu_seconds = 0;
  int64_t rss_bytes = 0;
};
Result<ProcessUsage> ReadProcessUsage(pid_t pid);

class ApiServerProcess {
 public:
  ApiServerProcess(std::string binary, std::vector<std::string> extra_args);
  ~ApiServerProcess();  // kills the server and removes its directory
  ApiServerProcess(const ApiServerProcess&) = delete;
  ApiServerProcess& operator=(const ApiServerProcess&) = delete;

  // Starts on port 0 (a free one) and waits until DIR/address exists (the server accepts).
  Status Start();
  // SIGKILL and wait (no state is kept: every run uses a fresh server).
  void Kill();

  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  Result<k8s::RestConfig> Config() const;
  Result<ProcessUsage> Usage() const { return ReadProcessUsage(pid_); }

 private:
  std::string binary_;
  std::vector<std::string> extra_args_;
  std::string dir_;
  pid_t pid_ = -1;
};

}  // namespace featureforge::bench
