// The operator's small HTTP endpoint: /metrics (Prometheus text), /healthz and /readyz.
// (Boost.Beast lives only in http_server.cc.)
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "featureforge/common/status.h"

namespace featureforge::runtime {

struct HttpEndpoints {
  std::function<std::string()> metrics;  // body of GET /metrics
  std::function<Status()> healthz;       // 200 "ok" when OK, else 500 with the message
  std::function<Status()> readyz;
};

class HealthServer {
 public:
  // Binds `address` ("127.0.0.1:0", ":8080", "0.0.0.0:8081"); port 0 picks a free port.
  static Result<std::unique_ptr<HealthServer>> Start(const std::string& address,
                                                     HttpEndpoints endpoints);
  virtual ~HealthServer() = default;
  virtual int port() const = 0;
  // Stops accepting, closes connections and joins the server thread. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace featureforge::runtime
