// A small HTTP/1.1 server (TLS or plain) for the harness API server. One thread per connection;
// handlers may stream a chunked response (watches). The only file that includes Boost.Beast is
// http_server.cc, because Beast compiles slowly.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "featureforge/common/status.h"

namespace ffharness {

struct HttpRequest {
  std::string method;
  std::string target;                          // raw request target, e.g. /api/v1/pods?watch=1
  std::string path;                            // percent-decoded path without the query
  std::map<std::string, std::string> query;    // percent-decoded query parameters (last wins)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
  std::string Query(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  }
};

// Writes chunks of a streaming response. Write returns false once the peer is gone.
class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  virtual bool Write(std::string_view data) = 0;
  // True when the peer closed its side (checked without blocking).
  virtual bool PeerClosed() = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the response is sent chunked and this function writes the body.
  std::function<void(ChunkWriter&)> stream;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0: pick a free port
  bool tls = true;
  std::string cert_pem;  // server certificate chain (PEM), when tls
  std::string key_pem;   // server private key (PEM), when tls
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Binds and starts accepting on a background thread.
  static featureforge::Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                                 HttpHandler handler);
  virtual int port() const = 0;
  // Stops accepting, shuts every open connection down and waits for connection threads.
  virtual void Stop() = 0;
};

// Percent-decoding of URL components ('+' is a space only in queries).
std::string UrlDecode(std::string_view text, bool plus_is_space);

}  // namespace ffharness
