#include "featureforge/http/request_metrics.h"

#include <cstdio>
#include <sstream>

namespace featureforge::http {
namespace {

// Prometheus label values escape backslash, quote and newline.
std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

}  // namespace

RequestMetrics::RequestMetrics(std::string prefix) : prefix_(std::move(prefix)) {}

void RequestMetrics::Observe(const std::string& route, const std::string& method, int status,
                             double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{route, method, status}];
  Histogram& h = latency_[route];
  ++h.count;
  h.sum += seconds;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++h.counts[i];
      break;
    }
  }
}

std::string RequestMetrics::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  const std::string requests = prefix_ + "_requests_total";
  out << "# HELP " << requests << " HTTP requests by route, method and status code.\n"
      << "# TYPE " << requests << " counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, code] = key;
    out << requests << "{route=\"" << Escape(route) << "\",method=\"" << Escape(method)
        << "\",code=\"" << code << "\"} " << count << "\n";
  }
  const std::string errors = prefix_ + "_request_errors_total";
  out << "# HELP " << errors << " HTTP responses with status >= 400 by route and status code.\n"
      << "# TYPE " << errors << " counter\n";
  std::map<std::pair<std::string, int>, uint64_t> by_route_code;
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, code] = key;
    if (code >= 400) by_route_code[{route, code}] += count;
  }
  for (const auto& [key, count] : by_route_code) {
    out << errors << "{route=\"" << Escape(key.first) << "\",code=\"" << key.second << "\"} "
        << count << "\n";
  }
  const std::string latency = prefix_ + "_request_duration_seconds";
  out << "# HELP " << latency
      << " Time from a request's headers to its response written, by route.\n"
      << "# TYPE " << latency << " histogram\n";
  for (const auto& [route, h] : latency_) {
    uint64_t cumulative = 0;
    const std::string label = "route=\"" + Escape(route) + "\"";
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.counts[i];
      out << latency << "_bucket{" << label << ",le=\"" << FormatDouble(kBuckets[i]) << "\"} "
          << cumulative << "\n";
    }
    out << latency << "_bucket{" << label << ",le=\"+Inf\"} " << h.count << "\n";
    out << latency << "_sum{" << label << "} " << FormatDouble(h.sum) << "\n";
    out << latency << "_count{" << label << "} " << h.count << "\n";
  }
  return out.str();
}

}  // namespace featureforge::http
