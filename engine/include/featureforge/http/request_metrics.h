// Per-route request metrics in the Prometheus text format: request counts by route, method and
// status code, a latency histogram per route, errors (status >= 400) by route and code.
// Plug Observe into Server's RequestObserver. Thread-safe.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace featureforge::http {

class RequestMetrics {
 public:
  // `prefix` starts every metric name, e.g. "featureforge_server".
  explicit RequestMetrics(std::string prefix);

  void Observe(const std::string& route, const std::string& method, int status, double seconds);
  // text/plain; version=0.0.4
  std::string RenderPrometheus() const;

  // Histogram bucket upper bounds in seconds (0.25 ms .. 10 s).
  static constexpr std::array<double, 16> kBuckets = {
      0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};  // non-cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  std::string prefix_;
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
};

}  // namespace featureforge::http
