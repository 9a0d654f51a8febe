// Internal: one HTTP exchange over libcurl, with pooled easy handles (so connections are
// reused) and optional streaming of a successful response body into a file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace featureforge::objectstore_internal {

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;  // sent for PUT/POST (may be empty)
  // When set, a 2xx response body is written here instead of HttpResponse::body.
  std::FILE* download = nullptr;
  int64_t connect_timeout_ms = 10'000;
  int64_t total_timeout_ms = 0;  // 0: none
  int64_t stall_timeout_ms = 0;  // 0: none; else abort below 1 byte/s for this long
};

struct HttpResponse {
  long status = 0;
  std::string body;  // error bodies are kept (first 1 MiB) even when downloading
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  // Transport outcome: 0 when an HTTP response arrived, else the CURLcode and curl's message.
  int transport_error = 0;
  std::string transport_message;
  bool transport_retryable = false;  // connection refused/reset, timeouts, partial transfer
  bool transport_timeout = false;
  bool download_write_failed = false;  // the local file could not be written
  int download_errno = 0;              // errno of that failed write
};

// Never throws; the outcome is in the returned response.
HttpResponse PerformHttp(const HttpRequest& request);

}  // namespace featureforge::objectstore_internal
