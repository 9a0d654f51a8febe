#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "featureforge/runtime/http_server.h"

namespace featureforge::runtime {
namespace {

using ::testing::HasSubstr;

struct Reply {
  long status = 0;
  std::string body;
  std::string content_type;
};

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Reply Fetch(int port, const std::string& path) {
  Reply reply;
  CURL* curl = curl_easy_init();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    char* type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    if (type) reply.content_type = type;
  }
  curl_easy_cleanup(curl);
  return reply;
}

TEST(HealthServerTest, ServesMetricsHealthAndReadiness) {
  std::atomic<bool> ready{false};
  HttpEndpoints endpoints;
  endpoints.metrics = [] { return std::string("up 1\n"); };
  endpoints.healthz = [] { return Status::OK(); };
  endpoints.readyz = [&]() -> Status {
    return ready ? Status::OK() : Status::Unavailable("caches not synced: pods");
  };
  auto server = HealthServer::Start("127.0.0.1:0", endpoints);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  int port = (*server)->port();
  ASSERT_GT(port, 0);
  Reply metrics = Fetch(port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body, "up 1\n");
  EXPECT_THAT(metrics.content_type, HasSubstr("version=0.0.4"));
  EXPECT_EQ(Fetch(port, "/healthz").status, 200);
  Reply not_ready = Fetch(port, "/readyz");
  EXPECT_EQ(not_ready.status, 500);
  EXPECT_THAT(not_ready.body, HasSubstr("caches not synced: pods"));
  ready = true;
  EXPECT_EQ(Fetch(port, "/readyz").status, 200);
  EXPECT_EQ(Fetch(port, "/nope").status, 404);
  (*server)->Stop();
  EXPECT_EQ(Fetch(port, "/healthz").status, 0);  // nothing listens any more
}

TEST(HealthServerTest, BadAddressesAreClearErrors) {
  EXPECT_FALSE(HealthServer::Start("nonsense", {}).ok());
  EXPECT_FALSE(HealthServer::Start("127.0.0.1:99999", {}).ok());
  auto bad_host = HealthServer::Start("not-an-ip:0", {});
  ASSERT_FALSE(bad_host.ok());
  EXPECT_THAT(bad_host.status().message(), HasSubstr("not-an-ip"));
}

}  // namespace
}  // namespace featureforge::runtime
