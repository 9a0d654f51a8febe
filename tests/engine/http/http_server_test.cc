// http::Server with real sockets and a real client (libcurl): routing, keep-alive, limits,
// timeouts, concurrency on the pool, graceful stop and the metrics observer.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <thread>

#include "featureforge/http/request_metrics.h"
#include "featureforge/http/server.h"
#include "featureforge/testutil/testutil.h"
#include "http_client.h"

namespace featureforge::http {
namespace {

using testing::HttpClient;

std::string Url(const Server& server) {
  return "http://127.0.0.1:" + std::to_string(server.port());
}

Router EchoRouter() {
  Router router;
  router.Add("POST", "/echo", [](const Request& r) {
    Response response;
    response.content_type = "text/plain";
    response.body = r.method + " " + r.path + " q=" + r.query + " " + r.body;
    return response;
  });
  router.Add("GET", "/hello", [](const Request&) { return JsonBody(200, R"({"hello":"world"})"); });
  router.Add("GET", "/throw", [](const Request&) -> Response { throw std::runtime_error("boom"); });
  return router;
}

// Connects a raw socket to the server (for malformed requests); -1 on failure.
int RawConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{20, 0};  // a broken server fails the test instead of hanging it
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST(HttpServerTest, BindsPortZeroAndRoutes) {
  auto server = Server::Start(ServerOptions{}, EchoRouter());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  EXPECT_GT((*server)->port(), 0);
  HttpClient client(Url(**server));

  auto hello = client.Get("/hello");
  EXPECT_EQ(hello.status, 200) << hello.error;
  EXPECT_EQ(hello.body, R"({"hello":"world"})");
  EXPECT_EQ(hello.content_type, "application/json");

  auto echo = client.Post("/echo?x=1", "payload");
  EXPECT_EQ(echo.status, 200);
  EXPECT_EQ(echo.body, "POST /echo q=x=1 payload");

  auto missing = client.Get("/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["field"], "path");

  auto wrong_method = client.Get("/echo");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_NE(wrong_method.body.find("allowed: POST"), std::string::npos) << wrong_method.body;

  auto thrown = client.Get("/throw");
  EXPECT_EQ(thrown.status, 500);
  EXPECT_NE(thrown.body.find("boom"), std::string::npos);
}

TEST(HttpServerTest, KeepsConnectionsAlive) {
  auto server = Server::Start(ServerOptions{}, EchoRouter());
  ASSERT_TRUE(server.ok());
  HttpClient client(Url(**server));
  auto first = client.Get("/hello");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.new_connections, 1);
  for (int i = 0; i < 5; ++i) {
    auto again = client.Post("/echo", std::string(3000, 'x'));  // also exercises 100-continue
    ASSERT_EQ(again.status, 200);
    EXPECT_EQ(again.new_connections, 0) << "request " << i << " opened a new connection";
  }
}

TEST(HttpServerTest, OversizedBodyIs413) {
  ServerOptions options;
  options.max_body_bytes = 1000;
  auto server = Server::Start(options, EchoRouter());
  ASSERT_TRUE(server.ok());
  HttpClient client(Url(**server));
  EXPECT_EQ(client.Post("/echo", std::string(1000, 'a')).status, 200);
  auto big = client.Post("/echo", std::string(5000, 'a'));
  EXPECT_EQ(big.status, 413) << big.error;
  auto body = nlohmann::json::parse(big.body);
  EXPECT_EQ(body["field"], "body");
  EXPECT_NE(body["error"].get<std::string>().find("1000 bytes"), std::string::npos);
  // The server is still fine afterwards.
  HttpClient other(Url(**server));
  EXPECT_EQ(other.Get("/hello").status, 200);
}

TEST(HttpServerTest, MalformedRequestIs400) {
  auto server = Server::Start(ServerOptions{}, EchoRouter());
  ASSERT_TRUE(server.ok());
  int fd = RawConnect((*server)->port());
  ASSERT_GE(fd, 0);
  std::string garbage = "THIS IS NOT HTTP\r\n\r\n";
  ASSERT_EQ(write(fd, garbage.data(), garbage.size()), static_cast<ssize_t>(garbage.size()));
  std::string reply = ReadAll(fd);
  close(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
}

TEST(HttpServerTest, SlowRequestIsDroppedAfterTheRequestTimeout) {
  ServerOptions options;
  options.request_timeout = std::chrono::milliseconds(200);
  auto server = Server::Start(options, EchoRouter());
  ASSERT_TRUE(server.ok());
  int fd = RawConnect((*server)->port());
  ASSERT_GE(fd, 0);
  std::string partial = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc";
  ASSERT_EQ(write(fd, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
  // The server closes the connection (read returns 0) instead of waiting for the rest forever;
  // the socket's own 20 s receive timeout would fail this instead of hanging.
  char buf[256];
  ssize_t n = read(fd, buf, sizeof(buf));
  int err = errno;
  close(fd);
  EXPECT_EQ(n, 0) << "read returned " << n << " errno " << err;
}

TEST(HttpServerTest, HandlersRunConcurrentlyOnThePool) {
  ServerOptions options;
  options.threads = 4;
  std::mutex mu;
  std::condition_variable cv;
  int inside = 0;
  int max_inside = 0;
  Router router;
  router.Add("GET", "/wait", [&](const Request&) {
    std::unique_lock lock(mu);
    ++inside;
    max_inside = std::max(max_inside, inside);
    cv.notify_all();
    // Wait until all four are inside at once (bounded so a bug cannot hang the test).
    cv.wait_for(lock, std::chrono::seconds(20), [&] { return max_inside >= 4; });
    --inside;
    return JsonBody(200, "{}");
  });
  auto server = Server::Start(options, std::move(router));
  ASSERT_TRUE(server.ok());
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      HttpClient client(Url(**server));
      if (client.Get("/wait").status == 200) ++ok;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(max_inside, 4);
}

TEST(HttpServerTest, StopLetsInFlightRequestsFinish) {
  std::atomic<bool> entered{false};
  std::atomic<bool> release{false};
  Router router;
  router.Add("GET", "/slow", [&](const Request&) {
    entered = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return JsonBody(200, R"({"done":true})");
  });
  auto server = Server::Start(ServerOptions{}, std::move(router));
  ASSERT_TRUE(server.ok());
  const std::string url = Url(**server);
  testing::HttpResult result;
  std::thread client([&] {
    HttpClient c(url);
    result = c.Get("/slow");
  });
  while (!entered) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::thread stopper([&] { (*server)->Stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release = true;
  stopper.join();
  client.join();
  EXPECT_EQ(result.status, 200) << result.error;
  EXPECT_EQ(result.body, R"({"done":true})");
  // Stopped: new connections are refused.
  HttpClient late(url, 2000);
  EXPECT_EQ(late.Get("/slow").status, 0);
}

TEST(HttpServerTest, BindFailureNamesTheAddress) {
  auto first = Server::Start(ServerOptions{}, EchoRouter());
  ASSERT_TRUE(first.ok());
  ServerOptions options;
  options.port = (*first)->port();
  auto second = Server::Start(options, EchoRouter());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("127.0.0.1:" + std::to_string(options.port)),
            std::string::npos)
      << second.status().ToString();
}

TEST(HttpServerTest, ObserverFeedsPrometheusMetrics) {
  RequestMetrics metrics("test_server");
  auto server =
      Server::Start(ServerOptions{}, EchoRouter(),
                    [&](const std::string& route, const std::string& method, int status,
                        double seconds) { metrics.Observe(route, method, status, seconds); });
  ASSERT_TRUE(server.ok());
  {
    HttpClient client(Url(**server));
    for (int i = 0; i < 3; ++i) ASSERT_EQ(client.Get("/hello").status, 200);
    ASSERT_EQ(client.Get("/unknown/path").status, 404);
    ASSERT_EQ(client.Get("/echo").status, 405);
  }
  (*server)->Stop();  // every response is observed once written
  std::string text = metrics.RenderPrometheus();
  EXPECT_NE(text.find(R"(test_server_requests_total{route="/hello",method="GET",code="200"} 3)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(test_server_requests_total{route="other",method="GET",code="404"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(test_server_request_errors_total{route="/echo",code="405"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(test_server_request_duration_seconds_count{route="/hello"} 3)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(test_server_request_duration_seconds_bucket{route="/hello",le="+Inf"} 3)"),
            std::string::npos)
      << text;
}

TEST(HttpStatusTest, MapsStatusCodes) {
  EXPECT_EQ(HttpStatusFor(Status::InvalidArgument("x")), 422);
  EXPECT_EQ(HttpStatusFor(Status::NotFound("x")), 422);
  EXPECT_EQ(HttpStatusFor(Status::FailedPrecondition("x")), 409);
  EXPECT_EQ(HttpStatusFor(Status::NotSupported("x")), 501);
  EXPECT_EQ(HttpStatusFor(Status::Unavailable("x")), 503);
  EXPECT_EQ(HttpStatusFor(Status::Timeout("x")), 503);
  EXPECT_EQ(HttpStatusFor(Status::Internal("x")), 500);
  auto error = JsonError(422, "bad \"thing\"", "features[0]");
  auto body = nlohmann::json::parse(error.body);
  EXPECT_EQ(body["error"], "bad \"thing\"");
  EXPECT_EQ(body["field"], "features[0]");
  EXPECT_FALSE(nlohmann::json::parse(JsonError(500, "x").body).contains("field"));
}

}  // namespace
}  // namespace featureforge::http
