// A small HTTP/1.1 server (Boost.Beast underneath, hidden in one .cc): a thread pool runs the
// handlers, connections are kept alive, request bodies are size-limited (413), a request must
// arrive within a timeout, idle keep-alive connections are closed, and Stop() drains in-flight
// requests before it returns. Handlers are plain synchronous functions; they run on one of the
// pool's threads, so per-thread resources (a Redis connection per thread) need no locking.
// Generic on purpose: the feature server and the operator's /metrics can both sit on it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "featureforge/common/status.h"

namespace featureforge::http {

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as sent, e.g. "/metrics?x=1"
  std::string path;                            // target without the query string
  std::string query;                           // after '?', empty when none
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

using Handler = std::function<Response(const Request&)>;

// Method + exact path -> handler. Unknown paths get 404, a known path with another method 405
// (with an Allow header); both with a JSON error body.
class Router {
 public:
  void Add(const std::string& method, const std::string& path, Handler handler);
  // The route's path when the path is known (whatever the method), else empty: a bounded label
  // for metrics.
  std::string RouteOf(const std::string& path) const;
  Response Dispatch(const Request& request) const;

 private:
  std::map<std::string, std::map<std::string, Handler>> routes_;  // path -> method -> handler
};

// Called after each response is written (also for 400/413/404 answered by the server itself).
// `route` is Router::RouteOf(path), or "other".
using RequestObserver = std::function<void(const std::string& route, const std::string& method,
                                           int status, double seconds)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = any free port; Server::port() reports the bound one
  int threads = 4;
  size_t max_body_bytes = 1 << 20;                   // larger bodies get 413
  size_t max_header_bytes = 16 << 10;                // larger headers get 431
  std::chrono::milliseconds request_timeout{10000};  // to receive one whole request
  std::chrono::milliseconds idle_timeout{60000};     // keep-alive connection without a request
  std::chrono::milliseconds shutdown_grace{10000};   // Stop() waits this long for in-flight
  std::string server_name = "featureforge";
};

class Server {
 public:
  // Binds and starts serving at once. Fails (Unavailable naming host:port) when it cannot bind.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options, Router router,
                                               RequestObserver observer = nullptr);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  const std::string& host() const;
  // Stops accepting, lets in-flight requests finish (up to shutdown_grace), closes connections
  // and joins the threads. Idempotent; safe from any thread except a handler.
  void Stop();
  // Blocks until Stop() was called (by another thread or a signal handler thread).
  void Wait();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// JSON bodies: {"error": message, "field": field} (field omitted when empty).
Response JsonError(int status, const std::string& message, const std::string& field = "");
Response JsonBody(int status, const std::string& json_text);
// The HTTP status a failed Status maps to: InvalidArgument/NotFound 422, FailedPrecondition and
// Conflict 409, NotSupported 501, Unavailable/Timeout 503, everything else 500.
int HttpStatusFor(const Status& status);
// Reason phrase for common codes ("OK", "Not Found", ...).
const char* ReasonPhrase(int status);

}  // namespace featureforge::http
