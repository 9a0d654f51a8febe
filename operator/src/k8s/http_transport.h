// libcurl transport for the Kubernetes client (internal). A pool of easy handles: each request
// borrows one, so connections and TLS sessions are reused across requests and threads.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/k8s/config.h"

namespace featureforge::k8s {

struct HttpRequest {
  std::string method = "GET";
  std::string path_and_query;  // appended to the server URL
  std::string body;
  std::string content_type;
  long timeout_ms = 0;     // 0: the config's request timeout
  bool streaming = false;  // watch: no overall timeout unless timeout_ms is set
};

struct HttpResponse {
  long status = 0;
  std::string body;  // empty for streaming requests (the chunks went to the callback)
};

// Receives response body chunks of a streaming request; return false to stop reading.
using ChunkHandler = std::function<bool(std::string_view)>;

class HttpTransport {
 public:
  explicit HttpTransport(RestConfig config);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  const RestConfig& config() const { return config_; }
  // New TCP connections opened so far (the rest of the requests reused one).
  uint64_t connections_opened() const { return connections_opened_.load(); }
  // Performs a request. Failures without an HTTP response become K8s transport statuses
  // (Unavailable, TLSError, Timeout); any HTTP status is returned as a response. With
  // `on_chunk`, 2xx bodies are streamed to it; `cancel` aborts the transfer within ~1 s.
  Result<HttpResponse> Perform(const HttpRequest& request, const ChunkHandler& on_chunk = nullptr,
                               const std::atomic<bool>* cancel = nullptr);

 private:
  CURL* Acquire();
  void Release(CURL* handle);

  RestConfig config_;
  std::mutex mu_;
  std::vector<CURL*> idle_;
  std::atomic<uint64_t> connections_opened_{0};
};

}  // namespace featureforge::k8s
