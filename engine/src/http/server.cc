// The Boost.Beast side of http::Server. Beast is header-only and slow to compile, so it lives in
// this one file only; everything else (router, JSON helpers, metrics) is in plain .cc files.
#include "featureforge/http/server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace featureforge::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, Router router, RequestObserver observer)
      : options_(std::move(options)),
        router_(std::move(router)),
        observer_(std::move(observer)),
        ioc_(std::max(1, options_.threads)) {}

  ~Impl() { Stop(); }

  Status Bind() {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return Status::InvalidArgument("listen host '" + options_.host + "': " + ec.message());
    tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
    const std::string where = options_.host + ":" + std::to_string(options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("listen on " + where + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    return Status::OK();
  }

  void Run() {
    Accept();
    const int n = std::max(1, options_.threads);
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  void Stop() {
    std::unique_lock lock(stop_mu_);
    if (stopped_) return;
    stopping_ = true;
    asio::post(acceptor_.get_executor(), [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    });
    // Drain: requests being handled or written finish; idle connections are dropped below.
    auto deadline = Clock::now() + options_.shutdown_grace;
    while (in_flight_.load() > 0 && Clock::now() < deadline) {
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      lock.lock();
    }
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
    stopped_ = true;
    stopped_cv_.notify_all();
  }

  void Wait() {
    std::unique_lock lock(stop_mu_);
    stopped_cv_.wait(lock, [this] { return stopped_; });
  }

  int port() const { return port_; }
  const ServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(); }
  const Router& router() const { return router_; }

  void Observe(const std::string& path, const std::string& method, int status, double seconds) {
    if (!observer_) return;
    std::string route = router_.RouteOf(path);
    observer_(route.empty() ? "other" : route, method, status, seconds);
  }

  std::atomic<int> in_flight_{0};

 private:
  void Accept();

  ServerOptions options_;
  Router router_;
  RequestObserver observer_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{asio::make_strand(ioc_)};  // its strand serializes accept and close
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  std::condition_variable stopped_cv_;
  bool stopped_ = false;
};

namespace {

// One connection: read a request, handle it, write the response, repeat while kept alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Server::Impl* server) : stream_(std::move(socket)), server_(server) {}

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

 private:
  void ReadHeader() {
    if (server_->stopping()) return Close();
    parser_.emplace();
    parser_->body_limit(server_->options().max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(server_->options().max_header_bytes));
    // The first request must arrive within the request timeout; later ones may idle longer.
    stream_.expires_after(first_ ? server_->options().request_timeout
                                 : server_->options().idle_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    started_ = Clock::now();
    if (ec) return OnReadError(ec);
    stream_.expires_after(server_->options().request_timeout);
    const auto& header = parser_->get();
    auto expect = header.find(bhttp::field::expect);
    if (expect != header.end() && beast::iequals(expect->value(), "100-continue") &&
        !parser_->is_done()) {
      // curl and others wait for this before sending a body.
      asio::async_write(stream_, asio::buffer(kContinue, sizeof(kContinue) - 1),
                        [self = shared_from_this()](beast::error_code ec2, size_t) {
                          if (ec2) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->OnReadError(ec);
                        self->Handle();
                      });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return Close();
    }
    Response response;
    if (ec == bhttp::error::body_limit) {
      response = JsonError(413,
                           "request body exceeds the limit of " +
                               std::to_string(server_->options().max_body_bytes) + " bytes",
                           "body");
    } else if (ec == bhttp::error::header_limit) {
      response = JsonError(431, "request headers exceed the limit of " +
                                    std::to_string(server_->options().max_header_bytes) + " bytes");
    } else {
      response = JsonError(400, "malformed HTTP request: " + ec.message());
    }
    std::string path;
    std::string method;
    if (parser_ && parser_->is_header_done()) {
      path = std::string(parser_->get().target());
      path = path.substr(0, path.find('?'));
      method = std::string(parser_->get().method_string());
    }
    Send(response, /*keep_alive=*/false, path, method);
  }

  void Handle() {
    server_->in_flight_.fetch_add(1);
    auto& raw = parser_->get();
    Request request;
    request.method = std::string(raw.method_string());
    request.target = std::string(raw.target());
    auto q = request.target.find('?');
    request.path = request.target.substr(0, q);
    if (q != std::string::npos) request.query = request.target.substr(q + 1);
    for (const auto& field : raw) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers[name] = std::string(field.value());
    }
    request.body = std::move(raw.body());
    const bool keep_alive = raw.keep_alive();
    Response response = server_->router().Dispatch(request);
    Send(response, keep_alive && !server_->stopping(), request.path, request.method);
    server_->in_flight_.fetch_sub(1);
  }

  void Send(const Response& response, bool keep_alive, const std::string& path,
            const std::string& method) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(response.status));
    res->set(bhttp::field::server, server_->options().server_name);
    res->set(bhttp::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res->set(name, value);
    res->body() = response.body;
    res->keep_alive(keep_alive);
    res->prepare_payload();
    const int status = response.status;
    stream_.expires_after(server_->options().request_timeout);
    server_->in_flight_.fetch_add(1);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res, keep_alive, status, path, method](
                           beast::error_code ec, size_t) {
                         self->server_->in_flight_.fetch_sub(1);
                         double seconds =
                             std::chrono::duration<double>(Clock::now() - self->started_).count();
                         self->server_->Observe(path, method, status, seconds);
                         if (ec || !keep_alive) return self->Close();
                         self->first_ = false;
                         self->ReadHeader();
                       });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Server::Impl* server_;
  Clock::time_point started_ = Clock::now();
  bool first_ = true;
};

}  // namespace

void Server::Impl::Accept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (stopping_ || ec == asio::error::operation_aborted) return;
      spdlog::warn("http accept on port {}: {}", port_, ec.message());
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), this)->Start();
    }
    if (!stopping_) Accept();
  });
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() {
  if (impl_) impl_->Stop();
}

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, Router router,
                                              RequestObserver observer) {
  if (options.threads < 1) {
    return Status::InvalidArgument("threads must be >= 1, got " + std::to_string(options.threads));
  }
  auto impl = std::make_unique<Impl>(options, std::move(router), std::move(observer));
  try {
    FF_RETURN_IF_ERROR(impl->Bind());
    impl->Run();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("start http server: ") + e.what());
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

int Server::port() const { return impl_->port(); }
const std::string& Server::host() const { return impl_->options().host; }
void Server::Stop() { impl_->Stop(); }
void Server::Wait() { impl_->Wait(); }

}  // namespace featureforge::http
