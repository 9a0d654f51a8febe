// The only translation unit that includes Boost.Beast (slow to compile).
#include "featureforge/runtime/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace featureforge::runtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpEndpoints& endpoints)
      : stream_(std::move(socket)), endpoints_(endpoints) {}

  void Begin() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::Read, shared_from_this()));
  }

 private:
  void Read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, request_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    auto response = std::make_shared<http::response<http::string_body>>(Respond());
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, size_t) {
                        if (ec || !response->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
                          return;
                        }
                        self->Read();
                      });
  }

  http::response<http::string_body> Respond() {
    http::response<http::string_body> res;
    res.version(request_.version());
    res.keep_alive(request_.keep_alive());
    res.set(http::field::server, "featureforge-operator");
    std::string target(request_.target());
    target = target.substr(0, target.find('?'));
    auto text = [&res](http::status code, std::string body, const char* type) {
      res.result(code);
      res.set(http::field::content_type, type);
      res.body() = std::move(body);
    };
    if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
      text(http::status::method_not_allowed, "only GET\n", "text/plain");
    } else if (target == "/metrics" && endpoints_.metrics) {
      text(http::status::ok, endpoints_.metrics(), "text/plain; version=0.0.4; charset=utf-8");
    } else if ((target == "/healthz" && endpoints_.healthz) ||
               (target == "/readyz" && endpoints_.readyz)) {
      Status s = target == "/healthz" ? endpoints_.healthz() : endpoints_.readyz();
      if (s.ok())
        text(http::status::ok, "ok\n", "text/plain");
      else
        text(http::status::internal_server_error, s.ToString() + "\n", "text/plain");
    } else {
      text(http::status::not_found, "not found: " + target + "\n", "text/plain");
    }
    res.prepare_payload();
    if (request_.method() == http::verb::head) res.body().clear();
    return res;
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  const HttpEndpoints& endpoints_;
};

class BeastHealthServer : public HealthServer {
 public:
  explicit BeastHealthServer(HttpEndpoints endpoints)
      : endpoints_(std::move(endpoints)), acceptor_(asio::make_strand(io_)) {}
  ~BeastHealthServer() override { Stop(); }

  Status Listen(const std::string& host, unsigned short port) {
    beast::error_code ec;
    auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
    if (ec) return Status::InvalidArgument("metrics bind address '" + host + "': " + ec.message());
    tcp::endpoint endpoint(address, port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                                 ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
    return Status::OK();
  }

  int port() const override { return port_; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket s) {
      if (ec) return;  // closed by Stop()
      std::make_shared<Session>(std::move(s), endpoints_)->Begin();
      Accept();
    });
  }

  HttpEndpoints endpoints_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<HealthServer>> HealthServer::Start(const std::string& address,
                                                          HttpEndpoints endpoints) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("metrics bind address '" + address + "' must be host:port");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (...) {
    port = -1;
  }
  if (port < 0 || port > 65535) {
    return Status::InvalidArgument("metrics bind address '" + address + "': bad port");
  }
  auto server = std::make_unique<BeastHealthServer>(std::move(endpoints));
  FF_RETURN_IF_ERROR(server->Listen(host, static_cast<unsigned short>(port)));
  return std::unique_ptr<HealthServer>(std::move(server));
}

}  // namespace featureforge::runtime
