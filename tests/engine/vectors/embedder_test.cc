// Embedders: the hashing embedder's determinism and geometry, truncation and normalization, and
// the OpenAI-compatible client against a scripted HTTP server on 127.0.0.1 (plain sockets).
#include "featureforge/embeddings/embedder.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace featureforge::embeddings {
namespace {

double Dot(const Vector& a, const Vector& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}
double Norm(const Vector& a) { return std::sqrt(Dot(a, a)); }

std::vector<Vector> EmbedAll(Embedder& e, std::vector<std::string> texts) {
  auto r = e.Embed(texts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<Vector>{};
}

TEST(HashingEmbedder, SameTextSameVectorAcrossInstances) {
  auto a = MakeHashingEmbedder({.dimension = 64, .seed = 7});
  auto b = MakeHashingEmbedder({.dimension = 64, .seed = 7});
  auto va = EmbedAll(*a, {"The quick brown fox", "jumps over"});
  auto vb = EmbedAll(*b, {"The quick brown fox", "jumps over"});
  ASSERT_EQ(va.size(), 2u);
  EXPECT_EQ(va, vb);
  EXPECT_EQ(va[0].size(), 64u);
  EXPECT_GT(Norm(va[0]), 0);
  // Case and punctuation do not matter; word tokens do.
  auto vc = EmbedAll(*a, {"the QUICK, brown fox!"});
  EXPECT_EQ(vc[0], va[0]);
}

TEST(HashingEmbedder, SeedChangesVectors) {
  auto a = MakeHashingEmbedder({.dimension = 64, .seed = 1});
  auto b = MakeHashingEmbedder({.dimension = 64, .seed = 2});
  EXPECT_NE(EmbedAll(*a, {"vector search"})[0], EmbedAll(*b, {"vector search"})[0]);
}

TEST(HashingEmbedder, SharedWordsAreCloserThanUnrelatedText) {
  auto e = WithPostprocessing(MakeHashingEmbedder({.dimension = 256}), 0, true);
  auto v = EmbedAll(*e, {"feature store for machine learning", "machine learning feature store",
                         "grilled salmon with lemon"});
  EXPECT_GT(Dot(v[0], v[1]), 0.6);
  EXPECT_LT(std::abs(Dot(v[0], v[2])), 0.3);
}

TEST(HashingEmbedder, EmptyTextIsZeroVector) {
  auto e = WithPostprocessing(MakeHashingEmbedder({.dimension = 32}), 0, true);
  auto v = EmbedAll(*e, {"", "  ,;  "});
  EXPECT_EQ(Norm(v[0]), 0);
  EXPECT_EQ(Norm(v[1]), 0);
}

TEST(Postprocessing, NormalizesToUnitLength) {
  auto raw = MakeHashingEmbedder({.dimension = 48});
  auto norm = WithPostprocessing(MakeHashingEmbedder({.dimension = 48}), 0, true);
  auto r = EmbedAll(*raw, {"one two three four five six"});
  auto n = EmbedAll(*norm, {"one two three four five six"});
  EXPECT_GT(Norm(r[0]), 1.5);
  EXPECT_NEAR(Norm(n[0]), 1.0, 1e-5);
  // Same direction.
  EXPECT_NEAR(Dot(r[0], n[0]) / Norm(r[0]), 1.0, 1e-5);
}

TEST(Postprocessing, TruncatesByCharactersNotBytes) {
  EXPECT_EQ(TruncateUtf8("héllo wörld", 4), "héll");
  EXPECT_EQ(TruncateUtf8("abc", 10), "abc");
  EXPECT_EQ(TruncateUtf8("日本語テキスト", 3), "日本語");
  auto e = WithPostprocessing(MakeHashingEmbedder({.dimension = 64}), 11, false);
  auto plain = MakeHashingEmbedder({.dimension = 64});
  EXPECT_EQ(EmbedAll(*e, {"hello world and more words"})[0], EmbedAll(*plain, {"hello world"})[0]);
}

TEST(MakeEmbedder, MissingApiKeyVariableNamesViewAndVariable) {
  repo::EmbeddingConfig config;
  config.embedder = "openai";
  config.model = "m";
  config.endpoint = "http://127.0.0.1:1/v1";
  config.dimension = 4;
  config.api_key_env = "FF_TEST_SURELY_UNSET_KEY";
  ::unsetenv("FF_TEST_SURELY_UNSET_KEY");
  auto e = MakeEmbedder(config, "docs");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("view 'docs'"), std::string::npos);
  EXPECT_NE(e.status().message().find("FF_TEST_SURELY_UNSET_KEY"), std::string::npos);
}

// A one-connection-at-a-time HTTP/1.1 server answering from a script; records request bodies.
class ScriptedServer {
 public:
  struct Reply {
    int status;
    std::string body;
    std::string extra_headers;
  };
  using Handler = std::function<Reply(const std::string& body)>;

  explicit ScriptedServer(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  std::vector<std::string> requests() {
    std::lock_guard guard(mutex_);
    return requests_;
  }
  std::vector<std::string> auth_headers() {
    std::lock_guard guard(mutex_);
    return auth_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string data;
      char buf[65536];
      size_t header_end = std::string::npos;
      size_t content_length = 0;
      while (true) {
        ssize_t n = ::recv(client, buf, sizeof(buf), 0);
        if (n <= 0) break;
        data.append(buf, static_cast<size_t>(n));
        if (header_end == std::string::npos) {
          header_end = data.find("\r\n\r\n");
          if (header_end != std::string::npos) {
            std::string lower = data.substr(0, header_end);
            for (char& c : lower) c = static_cast<char>(std::tolower(c));
            size_t at = lower.find("content-length:");
            if (at != std::string::npos) content_length = std::stoul(lower.substr(at + 15));
            size_t auth = lower.find("authorization:");
            if (auth != std::string::npos) {
              std::lock_guard guard(mutex_);
              auth_.push_back(data.substr(auth + 14, data.find("\r\n", auth) - auth - 14));
            }
          }
        }
        if (header_end != std::string::npos && data.size() >= header_end + 4 + content_length) {
          break;
        }
      }
      const std::string body = header_end == std::string::npos ? "" : data.substr(header_end + 4);
      {
        std::lock_guard guard(mutex_);
        requests_.push_back(body);
      }
      Reply reply = handler_(body);
      std::string response =
          "HTTP/1.1 " + std::to_string(reply.status) + " X\r\n" +
          "Content-Type: application/json\r\nContent-Length: " + std::to_string(reply.body.size()) +
          "\r\n" + reply.extra_headers + "Connection: close\r\n\r\n" + reply.body;
      ::send(client, response.data(), response.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::vector<std::string> auth_;
};

// Answers like an OpenAI endpoint: vector i of a request is [len(text), i, 1, ...] of `dim`.
ScriptedServer::Reply Embeddings(const std::string& body, int dim) {
  auto request = nlohmann::json::parse(body);
  nlohmann::json data = nlohmann::json::array();
  const auto& input = request["input"];
  // Out of order on purpose: clients must sort by index.
  for (size_t i = input.size(); i-- > 0;) {
    std::vector<float> v(static_cast<size_t>(dim), 1.0f);
    v[0] = static_cast<float>(input[i].get<std::string>().size());
    if (dim > 1) v[1] = static_cast<float>(i);
    data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", v}});
  }
  return {200,
          nlohmann::json({{"object", "list"}, {"data", data}, {"model", request["model"]}}).dump(),
          ""};
}

OpenAiOptions Options(const ScriptedServer& server, int dim) {
  OpenAiOptions options;
  options.endpoint = server.url();
  options.model = "test-model";
  options.dimension = dim;
  options.batch_size = 3;
  options.timeout_seconds = 10;
  options.max_retries = 3;
  options.initial_backoff_ms = 10;
  options.max_backoff_ms = 50;
  options.context = "view 'docs'";
  return options;
}

TEST(OpenAiEmbedder, BatchesAndOrdersByIndex) {
  ScriptedServer server([](const std::string& body) { return Embeddings(body, 4); });
  auto options = Options(server, 4);
  options.api_key = "sk-test";
  auto e = MakeOpenAiEmbedder(options);
  std::vector<std::string> texts = {"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g"};
  auto r = e->Embed(texts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ((*r)[i][0], static_cast<float>(texts[i].size())) << i;
    EXPECT_EQ((*r)[i][1], static_cast<float>(i % 3)) << i;  // index within its batch
  }
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);  // 3 + 3 + 1
  auto first = nlohmann::json::parse(requests[0]);
  EXPECT_EQ(first["model"], "test-model");
  EXPECT_EQ(first["input"].size(), 3u);
  ASSERT_EQ(server.auth_headers().size(), 3u);
  EXPECT_NE(server.auth_headers()[0].find("Bearer sk-test"), std::string::npos);
}

TEST(OpenAiEmbedder, RetriesAfterServerErrorThenSucceeds) {
  std::atomic<int> calls{0};
  ScriptedServer server([&](const std::string& body) -> ScriptedServer::Reply {
    int n = calls++;
    if (n == 0) return {500, R"({"error":{"message":"overloaded"}})", ""};
    if (n == 1) return {429, R"({"error":{"message":"slow down"}})", "Retry-After: 0\r\n"};
    return Embeddings(body, 2);
  });
  auto e = MakeOpenAiEmbedder(Options(server, 2));
  auto r = e->Embed(std::vector<std::string>{"hello"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0][0], 5.0f);
  EXPECT_EQ(calls.load(), 3);
}

TEST(OpenAiEmbedder, GivesUpAfterMaxRetriesAsUnavailable) {
  std::atomic<int> calls{0};
  ScriptedServer server([&](const std::string&) -> ScriptedServer::Reply {
    calls++;
    return {503, R"({"error":{"message":"down for maintenance"}})", ""};
  });
  auto e = MakeOpenAiEmbedder(Options(server, 2));
  auto r = e->Embed(std::vector<std::string>{"x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("view 'docs'"), std::string::npos);
  EXPECT_NE(r.status().message().find("down for maintenance"), std::string::npos);
  EXPECT_EQ(calls.load(), 4);  // 1 + max_retries
}

TEST(OpenAiEmbedder, WrongDimensionIsAnErrorNamingBoth) {
  ScriptedServer server([](const std::string& body) { return Embeddings(body, 3); });
  auto e = MakeOpenAiEmbedder(Options(server, 8));
  auto r = e->Embed(std::vector<std::string>{"x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("dimension 3"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("embedding.dimension is 8"), std::string::npos);
  EXPECT_NE(r.status().message().find("view 'docs'"), std::string::npos);
}

TEST(OpenAiEmbedder, ClientErrorIsNotRetried) {
  std::atomic<int> calls{0};
  ScriptedServer server([&](const std::string&) -> ScriptedServer::Reply {
    calls++;
    return {401, R"({"error":{"message":"invalid api key"}})", ""};
  });
  auto e = MakeOpenAiEmbedder(Options(server, 2));
  auto r = e->Embed(std::vector<std::string>{"x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("invalid api key"), std::string::npos);
  EXPECT_EQ(calls.load(), 1);
}

TEST(OpenAiEmbedder, ConnectionRefusedIsRetriedThenUnavailable) {
  int port = 0;
  {
    // A port that was just free: nothing listens there.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    ::close(fd);
  }
  OpenAiOptions options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(port) + "/v1/embeddings";
  options.model = "m";
  options.dimension = 2;
  options.max_retries = 2;
  options.initial_backoff_ms = 5;
  auto e = MakeOpenAiEmbedder(options);
  auto r = e->Embed(std::vector<std::string>{"x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("3 attempts"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace featureforge::embeddings
