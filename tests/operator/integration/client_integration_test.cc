// The Kubernetes client against the harness API server: CRUD, typed errors, patches, /status,
// discovery, paging, conflicts, watches, and transport failures (unreachable, TLS, auth).
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "featureforge/k8s/client.h"
#include "featureforge/runtime/retry.h"
#include "harness_process.h"

namespace featureforge::k8s {
namespace {

using testing::HarnessProcess;
using ::testing::HasSubstr;

Json ConfigMap(const std::string& name, Json data = Json::object(), Json labels = Json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", "default"}, {"labels", labels}}},
          {"data", data}};
}

class ClientIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new HarnessProcess();
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    auto config = server_->Config();
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = *config;
    auto client = Client::Create(config_);
    ASSERT_TRUE(client.ok());
    client_ = *client;
  }

  static HarnessProcess* server_;
  RestConfig config_;
  std::shared_ptr<Client> client_;
};
HarnessProcess* ClientIntegrationTest::server_ = nullptr;

TEST_F(ClientIntegrationTest, CrudAndTypedErrors) {
  const auto& cms = resources::ConfigMaps();
  auto created = client_->Create(cms, ConfigMap("crud", {{"k", "v1"}}, {{"app", "crud"}}));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_FALSE((*created)["metadata"].value("uid", "").empty());
  std::string rv1 = (*created)["metadata"]["resourceVersion"];

  auto duplicate = client_->Create(cms, ConfigMap("crud"));
  EXPECT_TRUE(IsAlreadyExists(duplicate.status())) << duplicate.status().ToString();
  EXPECT_EQ(duplicate.status().code(), StatusCode::kAlreadyExists);

  auto got = client_->Get(cms, "default", "crud");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["data"]["k"], "v1");

  ListOptions by_label;
  by_label.label_selector = "app=crud";
  auto listed = client_->List(cms, "default", by_label);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ((*listed)["items"].size(), 1u);
  by_label.label_selector = "app=other";
  EXPECT_EQ((*client_->List(cms, "default", by_label))["items"].size(), 0u);
  ListOptions by_field;
  by_field.field_selector = "metadata.name=crud";
  EXPECT_EQ((*client_->List(cms, "default", by_field))["items"].size(), 1u);

  Json changed = *got;
  changed["data"]["k"] = "v2";
  auto updated = client_->Update(cms, changed);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_NE((*updated)["metadata"]["resourceVersion"], rv1);

  // Writing the stale copy again loses the optimistic-concurrency race.
  changed["data"]["k"] = "stale";
  auto stale = client_->Update(cms, changed);
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(IsConflict(stale.status())) << stale.status().ToString();
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict);

  auto merged =
      client_->Patch(cms, "default", "crud", PatchType::kMerge, {{"data", {{"merged", "yes"}}}});
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_EQ((*merged)["data"]["merged"], "yes");
  EXPECT_EQ((*merged)["data"]["k"], "v2");

  auto json_patched =
      client_->Patch(cms, "default", "crud", PatchType::kJsonPatch,
                     Json::array({{{"op", "replace"}, {"path", "/data/k"}, {"value", "v3"}},
                                  {{"op", "remove"}, {"path", "/data/merged"}}}));
  ASSERT_TRUE(json_patched.ok()) << json_patched.status().ToString();
  EXPECT_EQ((*json_patched)["data"]["k"], "v3");
  EXPECT_FALSE((*json_patched)["data"].contains("merged"));

  auto strategic = client_->Patch(cms, "default", "crud", PatchType::kStrategicMerge,
                                  {{"metadata", {{"labels", {{"tier", "x"}}}}}});
  ASSERT_TRUE(strategic.ok()) << strategic.status().ToString();
  EXPECT_EQ((*strategic)["metadata"]["labels"]["tier"], "x");
  EXPECT_EQ((*strategic)["metadata"]["labels"]["app"], "crud");

  // A JSON patch whose test fails is rejected by the server with its own message.
  auto failed_test =
      client_->Patch(cms, "default", "crud", PatchType::kJsonPatch,
                     Json::array({{{"op", "test"}, {"path", "/data/k"}, {"value", "nope"}}}));
  EXPECT_FALSE(failed_test.ok());

  DeleteOptions background;
  background.propagation_policy = "Background";
  Status deleted = client_->Delete(cms, "default", "crud", background);
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  auto gone = client_->Get(cms, "default", "crud");
  EXPECT_TRUE(IsNotFound(gone.status())) << gone.status().ToString();
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(gone.status().message(), HasSubstr("crud"));  // the server's own message
  EXPECT_TRUE(IsNotFound(client_->Delete(cms, "default", "crud")));
}

TEST_F(ClientIntegrationTest, InvalidObjectsAreRejectedWithTheServerMessage) {
  auto invalid = client_->Create(resources::ConfigMaps(), ConfigMap("Not_A_Valid_Name"));
  ASSERT_FALSE(invalid.ok());
  EXPECT_TRUE(IsInvalid(invalid.status())) << invalid.status().ToString();
  EXPECT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.status().message(), HasSubstr("Not_A_Valid_Name"));
  // Strategic merge is refused client-side for custom resources.
  ResourceType widgets{"example.com", "v1", "widgets", "Widget", true};
  auto smp = client_->Patch(widgets, "default", "w", PatchType::kStrategicMerge, Json::object());
  EXPECT_EQ(smp.status().code(), StatusCode::kNotSupported);
}

TEST_F(ClientIntegrationTest, PagingWithLimitAndContinue) {
  const auto& cms = resources::ConfigMaps();
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(
        client_->Create(cms, ConfigMap("page-" + std::to_string(i), {}, {{"paged", "yes"}})).ok());
  }
  ListOptions options;
  options.label_selector = "paged=yes";
  options.limit = 3;
  auto first = client_->List(cms, "default", options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ((*first)["items"].size(), 3u);
  EXPECT_FALSE((*first)["metadata"].value("continue", "").empty());
  auto all = client_->ListAll(cms, "default", options);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ((*all)["items"].size(), 7u);
  EXPECT_FALSE((*all)["metadata"].value("resourceVersion", "").empty());
}

TEST_F(ClientIntegrationTest, CustomResourcesThroughDiscoveryAndStatusSubresource) {
  Json crd = Json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
      "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
      "versions": [{"name": "v1", "served": true, "storage": true,
        "subresources": {"status": {}},
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
          "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
          "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}}}}]}})");
  auto created_crd = client_->Create(resources::CustomResourceDefinitions(), crd);
  ASSERT_TRUE(created_crd.ok()) << created_crd.status().ToString();
  // Discovery finds the new kind (the CRD may take a moment to be served).
  Result<ResourceType> type = Status::NotFound("not yet");
  for (int i = 0; i < 100 && !type.ok(); ++i) {
    type = client_->Resolve("example.com/v1", "Widget");
    if (!type.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(type.ok()) << type.status().ToString();
  EXPECT_EQ(type->resource, "widgets");
  EXPECT_TRUE(type->namespaced);

  Json widget = {{"apiVersion", "example.com/v1"},
                 {"kind", "Widget"},
                 {"metadata", {{"name", "w1"}, {"namespace", "default"}}},
                 {"spec", {{"size", 3}}}};
  auto created = client_->Create(*type, widget);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  int64_t generation = (*created)["metadata"].value("generation", 0);
  Json with_status = *created;
  with_status["status"] = {{"phase", "Ready"}};
  with_status["spec"]["size"] = 99;  // ignored by /status
  auto status_updated = client_->UpdateStatus(*type, with_status);
  ASSERT_TRUE(status_updated.ok()) << status_updated.status().ToString();
  EXPECT_EQ((*status_updated)["status"]["phase"], "Ready");
  EXPECT_EQ((*status_updated)["spec"]["size"], 3);
  EXPECT_EQ((*status_updated)["metadata"].value("generation", 0), generation);
  auto status_patched = client_->Patch(*type, "default", "w1", PatchType::kMerge,
                                       {{"status", {{"phase", "Done"}}}}, "status");
  ASSERT_TRUE(status_patched.ok()) << status_patched.status().ToString();
  EXPECT_EQ((*status_patched)["status"]["phase"], "Done");
  auto unknown = client_->Resolve("example.com/v1", "Gizmo");
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
}

TEST_F(ClientIntegrationTest, ConcurrentWritersRetryConflicts) {
  const auto& cms = resources::ConfigMaps();
  ASSERT_TRUE(client_->Create(cms, ConfigMap("counter", {{"n", "0"}})).ok());
  constexpr int kThreads = 4;
  constexpr int kIncrements = 10;
  std::atomic<int> conflicts{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        Status s = runtime::RetryOnConflict(
            [&]() -> Status {
              FF_ASSIGN_OR_RETURN(Json cm, client_->Get(cms, "default", "counter"));
              int n = std::stoi(cm["data"]["n"].get<std::string>());
              cm["data"]["n"] = std::to_string(n + 1);
              Status written = client_->Update(cms, cm).status();
              if (IsConflict(written)) ++conflicts;
              return written;
            },
            /*max_attempts=*/100);
        if (!s.ok()) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(failures.load(), 0);
  auto final_cm = client_->Get(cms, "default", "counter");
  ASSERT_TRUE(final_cm.ok());
  EXPECT_EQ((*final_cm)["data"]["n"], std::to_string(kThreads * kIncrements));
}

TEST_F(ClientIntegrationTest, WatchStreamsChangesUntilCancelled) {
  const auto& cms = resources::ConfigMaps();
  auto list = client_->List(cms, "default");
  ASSERT_TRUE(list.ok());
  WatchOptions options;
  options.resource_version = (*list)["metadata"]["resourceVersion"];
  options.label_selector = "watched=yes";
  std::atomic<bool> cancel{false};
  std::mutex mu;
  std::vector<std::string> seen;
  Status watch_status;
  std::thread watcher([&] {
    watch_status = client_->Watch(
        cms, "default", options,
        [&](WatchEvent&& event) {
          std::lock_guard<std::mutex> lock(mu);
          if (event.type != "BOOKMARK") {
            seen.push_back(event.type + " " + event.object["metadata"].value("name", ""));
          }
          return true;
        },
        &cancel);
  });
  ASSERT_TRUE(client_->Create(cms, ConfigMap("w", {}, {{"watched", "yes"}})).ok());
  ASSERT_TRUE(client_->Create(cms, ConfigMap("unwatched")).ok());
  ASSERT_TRUE(
      client_->Patch(cms, "default", "w", PatchType::kMerge, {{"data", {{"a", "b"}}}}).ok());
  ASSERT_TRUE(client_->Delete(cms, "default", "w").ok());
  for (int i = 0; i < 300; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (seen.size() >= 3) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  cancel = true;
  watcher.join();
  EXPECT_TRUE(watch_status.ok()) << watch_status.ToString();
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED w", "MODIFIED w", "DELETED w"}));
}

TEST_F(ClientIntegrationTest, TooOldResourceVersionIsGone) {
  ASSERT_TRUE(client_->Create(resources::ConfigMaps(), ConfigMap("before-compact")).ok());
  auto list = client_->List(resources::ConfigMaps(), "default");
  ASSERT_TRUE(list.ok());
  ASSERT_TRUE(server_->HarnessCall("compact").ok());
  ASSERT_TRUE(client_->Create(resources::ConfigMaps(), ConfigMap("after-compact")).ok());
  WatchOptions options;
  options.resource_version = "1";
  Status status = client_->Watch(resources::ConfigMaps(), "default", options,
                                 [](WatchEvent&&) { return true; });
  EXPECT_TRUE(IsGone(status)) << status.ToString();
}

TEST_F(ClientIntegrationTest, TlsVerificationFailureIsAClearError) {
  RestConfig no_ca = config_;
  no_ca.ca_pem.clear();  // the harness CA is self-signed: the system store must reject it
  auto client = Client::Create(no_ca);
  ASSERT_TRUE(client.ok());
  auto result = (*client)->Get(resources::Namespaces(), "", "default");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(ReasonOf(result.status()), K8sReason::kTlsError) << result.status().ToString();
  EXPECT_THAT(result.status().message(), HasSubstr("TLS"));
  EXPECT_THAT(result.status().message(), HasSubstr(config_.server));
  EXPECT_TRUE(IsRetryable(result.status()));

  RestConfig insecure = no_ca;
  insecure.insecure_skip_tls_verify = true;
  auto insecure_client = Client::Create(insecure);
  EXPECT_TRUE((*insecure_client)->Get(resources::Namespaces(), "", "default").ok());
}

TEST_F(ClientIntegrationTest, BadTokenIsUnauthorizedAndTokenFilesRotate) {
  ::testing::TempDir();
  std::string token_path = server_->dir() + "/rotating-token";
  std::ofstream(token_path) << "wrong-token";
  RestConfig with_file = config_;
  with_file.bearer_token.clear();
  with_file.token_file = std::make_shared<TokenFile>(token_path);
  auto client = Client::Create(with_file);
  ASSERT_TRUE(client.ok());
  auto denied = (*client)->Get(resources::Namespaces(), "", "default");
  EXPECT_TRUE(IsUnauthorized(denied.status())) << denied.status().ToString();
  // Rotate the file (new inode, like a projected token update): the next call uses it.
  std::ofstream(token_path + ".new") << config_.bearer_token << "\n";
  std::filesystem::rename(token_path + ".new", token_path);
  auto allowed = (*client)->Get(resources::Namespaces(), "", "default");
  EXPECT_TRUE(allowed.ok()) << allowed.status().ToString();
}

TEST_F(ClientIntegrationTest, ConnectionsAreReused) {
  uint64_t before = client_->connections_opened();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client_->Get(resources::Namespaces(), "", "default").ok());
  }
  // Sequential requests share one pooled connection (a first one may have to be opened).
  EXPECT_LE(client_->connections_opened() - before, 1u);
  // Concurrent requests each borrow a connection and return it to the pool.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i)
        EXPECT_TRUE(client_->Get(resources::Namespaces(), "", "default").ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(client_->connections_opened() - before, 5u);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

TEST(ClientTransportTest, UnreachableServerIsUnavailable) {
  RestConfig config;
  config.server = "https://127.0.0.1:" + std::to_string(FreePort());
  config.connect_timeout_ms = 2000;
  auto client = Client::Create(config);
  ASSERT_TRUE(client.ok());
  auto result = (*client)->Get(resources::Pods(), "default", "p");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(result.status()), K8sReason::kUnavailable);
  EXPECT_THAT(result.status().message(), HasSubstr("cannot connect"));
  EXPECT_THAT(result.status().message(), HasSubstr(config.server));
  EXPECT_TRUE(IsRetryable(result.status()));
}

// A server that accepts but never answers: the client's deadline turns into a Timeout.
TEST(ClientTransportTest, SilentServerTimesOut) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 4), 0);  // the kernel completes the handshake; nobody reads
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  RestConfig config;
  config.server = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  config.request_timeout_ms = 300;
  auto client = Client::Create(config);
  ASSERT_TRUE(client.ok());
  auto result = (*client)->Get(resources::Pods(), "default", "p");
  close(listener);
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(IsTimeout(result.status())) << result.status().ToString();
  EXPECT_EQ(result.status().code(), StatusCode::kTimeout);
  EXPECT_TRUE(IsRetryable(result.status()));
}

// A plain-HTTP server that answers one watch with a complete event and half of a second one,
// then closes the connection.
TEST(ClientTransportTest, WatchStreamCutMidObjectIsAnError) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  std::thread server([listener] {
    int conn = accept(listener, nullptr, nullptr);
    char buf[4096];
    ssize_t got = read(conn, buf, sizeof(buf));
    (void)got;
    std::string response =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
        R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}})"
        "\n"
        R"({"type":"MODIFIED","object":{"metadata":{"name":"a","resou)";
    ssize_t sent = write(conn, response.data(), response.size());
    (void)sent;
    close(conn);
  });
  RestConfig config;
  config.server = "http://127.0.0.1:" + std::to_string(port);
  auto client = Client::Create(config);
  ASSERT_TRUE(client.ok());
  std::vector<std::string> names;
  Status status =
      (*client)->Watch(resources::Pods(), "default", WatchOptions{}, [&](WatchEvent&& e) {
        names.push_back(e.type);
        return true;
      });
  server.join();
  close(listener);
  EXPECT_EQ(names, (std::vector<std::string>{"ADDED"}));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(ReasonOf(status), K8sReason::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("cut mid-object"));
}

}  // namespace
}  // namespace featureforge::k8s
