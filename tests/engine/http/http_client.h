// A tiny blocking HTTP client on libcurl for tests of the HTTP servers. One client keeps one
// connection alive between requests, like a real service client would.
#pragma once

#include <string>

namespace featureforge::testing {

struct HttpResult {
  long status = 0;  // 0 when the request failed (see error)
  std::string body;
  std::string content_type;
  std::string error;         // curl's message when the transfer failed
  long new_connections = 0;  // connections opened for this request (0 = reused)
};

class HttpClient {
 public:
  // `base_url` like "http://127.0.0.1:1234"; `timeout_ms` bounds each request.
  explicit HttpClient(std::string base_url, long timeout_ms = 30000);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult Get(const std::string& path);
  HttpResult Post(const std::string& path, const std::string& body);
  HttpResult Request(const std::string& method, const std::string& path, const std::string& body);

 private:
  std::string base_url_;
  long timeout_ms_;
  void* curl_;
};

}  // namespace featureforge::testing
