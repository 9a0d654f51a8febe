#include "http_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace ffharness {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

HttpRequest ToRequest(const http::request<http::string_body>& in) {
  HttpRequest out;
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  std::string_view target = out.target;
  auto qpos = target.find('?');
  out.path = UrlDecode(target.substr(0, qpos), false);
  if (qpos != std::string_view::npos) {
    std::string_view query = target.substr(qpos + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view part = query.substr(0, amp);
      auto eq = part.find('=');
      std::string key = UrlDecode(part.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : UrlDecode(part.substr(eq + 1), true);
      if (!key.empty()) out.query[key] = value;
      if (amp == std::string_view::npos) break;
      query = query.substr(amp + 1);
    }
  }
  for (const auto& field : in) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, inserted] = out.headers.emplace(name, std::string(field.value()));
    if (!inserted) it->second += "," + std::string(field.value());
  }
  out.body = in.body();
  return out;
}

template <typename Stream>
class StreamChunkWriter : public ChunkWriter {
 public:
  StreamChunkWriter(Stream& stream, int fd) : stream_(stream), fd_(fd) {}
  bool Write(std::string_view data) override {
    if (failed_) return false;
    beast::error_code ec;
    net::write(stream_, http::make_chunk(net::const_buffer(data.data(), data.size())), ec);
    if (ec) failed_ = true;
    return !failed_;
  }
  bool PeerClosed() override {
    if (failed_) return true;
    pollfd p{fd_, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) failed_ = true;
    return failed_;
  }
  void Finish() {
    if (failed_) return;
    beast::error_code ec;
    net::write(stream_, http::make_chunk_last(), ec);
  }

 private:
  Stream& stream_;
  int fd_;
  bool failed_ = false;
};

class BeastServer : public HttpServer {
 public:
  BeastServer(const HttpServerOptions& options, HttpHandler handler)
      : options_(options), handler_(std::move(handler)), ssl_ctx_(ssl::context::tls_server) {}

  ~BeastServer() override { Stop(); }

  featureforge::Status Init() {
    try {
      if (options_.tls) {
        ssl_ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                             ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                             ssl::context::no_tlsv1_1);
        ssl_ctx_.use_certificate_chain(net::buffer(options_.cert_pem));
        ssl_ctx_.use_private_key(net::buffer(options_.key_pem), ssl::context::pem);
      }
      tcp::endpoint endpoint(net::ip::make_address(options_.bind_address),
                             static_cast<unsigned short>(options_.port));
      acceptor_.open(endpoint.protocol());
      acceptor_.set_option(net::socket_base::reuse_address(true));
      acceptor_.bind(endpoint);
      acceptor_.listen(net::socket_base::max_listen_connections);
      port_ = acceptor_.local_endpoint().port();
    } catch (const std::exception& e) {
      return featureforge::Status::IOError("cannot listen on " + options_.bind_address + ":" +
                                           std::to_string(options_.port) + ": " + e.what());
    }
    accept_thread_ = std::thread([this] { AcceptLoop(); });
    return featureforge::Status::OK();
  }

  int port() const override { return port_; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    beast::error_code ec;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    acceptor_.close(ec);
    if (accept_thread_.joinable()) accept_thread_.join();
    std::unique_lock<std::mutex> lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    cv_.wait(lock, [this] { return active_connections_ == 0; });
  }

 private:
  void AcceptLoop() {
    while (!stopped_) {
      beast::error_code ec;
      tcp::socket socket(ioc_);
      acceptor_.accept(socket, ec);
      if (ec) {
        if (stopped_) return;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      ++active_connections_;
      std::thread([this, s = std::move(socket)]() mutable { Serve(std::move(s)); }).detach();
    }
  }

  void Serve(tcp::socket socket) {
    int fd = socket.native_handle();
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_fds_.insert(fd);
    }
    try {
      if (options_.tls) {
        beast::ssl_stream<tcp::socket> stream(std::move(socket), ssl_ctx_);
        beast::error_code ec;
        stream.handshake(ssl::stream_base::server, ec);
        if (!ec) ServeStream(stream, fd);
        stream.shutdown(ec);
        {
          std::lock_guard<std::mutex> lock(mu_);
          open_fds_.erase(fd);
        }
        beast::get_lowest_layer(stream).close(ec);
      } else {
        ServeStream(socket, fd);
        std::lock_guard<std::mutex> lock(mu_);
        open_fds_.erase(fd);
        beast::error_code ec;
        socket.close(ec);
      }
    } catch (const std::exception&) {
      std::lock_guard<std::mutex> lock(mu_);
      open_fds_.erase(fd);
    }
    std::lock_guard<std::mutex> lock(mu_);
    --active_connections_;
    cv_.notify_all();
  }

  template <typename Stream>
  void ServeStream(Stream& stream, int fd) {
    beast::flat_buffer buffer;
    while (!stopped_) {
      beast::error_code ec;
      http::request_parser<http::string_body> parser;
      parser.body_limit(256u << 20);
      http::read(stream, buffer, parser, ec);
      if (ec) return;
      const auto& req = parser.get();
      HttpResponse response;
      try {
        response = handler_(ToRequest(req));
      } catch (const std::exception& e) {
        response.status = 500;
        response.body = std::string(
                            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                            "\"reason\":\"InternalError\",\"code\":500,\"message\":\"") +
                        "internal error\"}";
      }
      bool keep_alive = req.keep_alive();
      if (response.stream) {
        http::response<http::empty_body> res{static_cast<http::status>(response.status),
                                             req.version()};
        res.set(http::field::content_type, response.content_type);
        for (const auto& [k, v] : response.headers) res.set(k, v);
        res.chunked(true);
        http::response_serializer<http::empty_body> serializer{res};
        http::write_header(stream, serializer, ec);
        if (ec) return;
        StreamChunkWriter<Stream> writer(stream, fd);
        response.stream(writer);
        writer.Finish();
        if (writer.PeerClosed()) return;
      } else {
        http::response<http::string_body> res{static_cast<http::status>(response.status),
                                              req.version()};
        res.set(http::field::content_type, response.content_type);
        for (const auto& [k, v] : response.headers) res.set(k, v);
        res.keep_alive(keep_alive);
        res.body() = std::move(response.body);
        res.prepare_payload();
        http::write(stream, res, ec);
        if (ec) return;
      }
      if (!keep_alive) return;
    }
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  net::io_context ioc_;
  ssl::context ssl_ctx_;
  tcp::acceptor acceptor_{ioc_};
  int port_ = 0;
  std::atomic<bool> stopped_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<int> open_fds_;
  int active_connections_ = 0;
};

}  // namespace

std::string UrlDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

featureforge::Result<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, HttpHandler handler) {
  auto server = std::make_unique<BeastServer>(options, std::move(handler));
  FF_RETURN_IF_ERROR(server->Init());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace ffharness
