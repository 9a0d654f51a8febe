// ff-kube-proxy: unit tests of its endpoint choice, and end to end with ff-apiserver (loopback
// Service range), ff-kubelet running a TCP echo pod, and kubectl: clusterIP:port reaches the
// ready pod, follows a replacement pod, and refuses when no pod is ready.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness_test_util.h"
#include "service_proxy.h"

namespace ffharness::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::shared_ptr<const json> PodJson(const std::string& name, const std::string& ip, bool ready,
                                    const std::string& app = "echo") {
  return std::make_shared<const json>(
      json{{"metadata", {{"name", name}, {"namespace", "default"}, {"labels", {{"app", app}}}}},
           {"spec",
            {{"containers",
              {{{"name", "c"}, {"ports", {{{"name", "echo"}, {"containerPort", 8080}}}}}}}}},
           {"status",
            {{"phase", "Running"},
             {"podIP", ip},
             {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}});
}

TEST(ServiceProxyUnitTest, PortsOfLoopbackServicesOnly) {
  json service = {{"metadata", {{"name", "s"}, {"namespace", "default"}}},
                  {"spec",
                   {{"clusterIP", "127.96.0.10"},
                    {"selector", {{"app", "echo"}}},
                    {"ports", {{{"port", 80}, {"targetPort", "echo"}}, {{"port", 81}}}}}}};
  auto ports = proxy::PortsOfService(service);
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_EQ(ports[0].ip, "127.96.0.10");
  EXPECT_EQ(ports[0].target_port, "echo");
  EXPECT_EQ(ports[1].target_port, 81);
  service["spec"]["clusterIP"] = "10.96.0.10";  // cannot be bound on this machine
  EXPECT_TRUE(proxy::PortsOfService(service).empty());
  service["spec"]["clusterIP"] = "127.96.0.10";
  service["spec"].erase("selector");  // no selector: endpoints are managed by hand
  EXPECT_TRUE(proxy::PortsOfService(service).empty());
}

TEST(ServiceProxyUnitTest, PicksReadyMatchingPodsRoundRobin) {
  proxy::ServicePort port;
  port.ns = "default";
  port.port = 80;
  port.target_port = "echo";
  port.selector = {{"app", "echo"}};
  std::vector<std::shared_ptr<const json>> pods = {
      PodJson("a", "127.0.0.2", true), PodJson("b", "127.0.0.3", false),
      PodJson("c", "127.0.0.4", true), PodJson("d", "127.0.0.5", true, "other")};
  EXPECT_EQ(proxy::PickEndpoint(port, pods, 0), "127.0.0.2:8080");
  EXPECT_EQ(proxy::PickEndpoint(port, pods, 1), "127.0.0.4:8080");
  EXPECT_EQ(proxy::PickEndpoint(port, pods, 2), "127.0.0.2:8080");
  port.target_port = 9000;
  EXPECT_EQ(proxy::PickEndpoint(port, pods, 0), "127.0.0.2:9000");
  port.selector = {{"app", "none"}};
  EXPECT_EQ(proxy::PickEndpoint(port, pods, 0), std::nullopt);
}

// One request: connect, send, read until the peer closes. "" when refused or closed at once.
std::string Exchange(const std::string& ip, int port, const std::string& text) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size())) {
    char buf[512];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, n);
  }
  close(fd);
  return out;
}

bool Eventually(const std::function<bool()>& done, int seconds = 90) {
  for (int i = 0; i < seconds * 4; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return done();
}

const char* kEchoServer =
    "import os, socket\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind((os.environ['POD_IP'], 8080))\n"
    "s.listen(16)\n"
    "while True:\n"
    "    c, _ = s.accept()\n"
    "    d = c.recv(1024)\n"
    "    c.sendall(os.environ['POD_NAME'].encode() + b':' + d)\n"
    "    c.close()\n";

std::string EchoPod(const std::string& name) {
  json pod = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", name}, {"labels", {{"app", "echo"}}}}},
      {"spec",
       {{"containers",
         {{{"name", "echo"},
           {"image", "featureforge/echo"},
           {"command", {"python3", "-c", kEchoServer}},
           {"ports", {{{"name", "echo"}, {"containerPort", 8080}}}},
           {"env",
            {{{"name", "POD_IP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}},
             {{"name", "POD_NAME"},
              {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}}}},
           {"readinessProbe", {{"tcpSocket", {{"port", 8080}}}, {"periodSeconds", 1}}}}}}}}};
  return pod.dump();
}

TEST(ServiceProxyE2E, ClusterIpReachesTheReadyPodAndFollowsReplacements) {
  ApiServerProcess server({"--service-cluster-ip-range", "127.96.0.0/16"});
  ASSERT_TRUE(server.Start());
  BackgroundCommand kubelet({BinaryPath("tests/harness/ff-kubelet"), "--kubeconfig",
                             server.kubeconfig(), "--root-dir", server.dir() + "/kubelet"},
                            server.dir() + "/kubelet.log");
  BackgroundCommand proxy(
      {BinaryPath("tests/harness/ff-kube-proxy"), "--kubeconfig", server.kubeconfig()},
      server.dir() + "/proxy.log");
  auto r = server.Apply(
      "apiVersion: v1\nkind: Service\nmetadata: {name: echo}\nspec:\n  selector: {app: echo}\n"
      "  ports: [{port: 80, targetPort: echo}]\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string ip = server.Kubectl({"get", "svc/echo", "-o", "jsonpath={.spec.clusterIP}"}).out;
  ASSERT_THAT(ip, StartsWith("127.96."));

  ASSERT_EQ(server.Apply(EchoPod("echo-1")).exit_code, 0);
  ASSERT_EQ(
      server.Kubectl({"wait", "--for=condition=Ready", "pod/echo-1", "--timeout=90s"}).exit_code, 0)
      << kubelet.Output();
  EXPECT_TRUE(Eventually([&] { return Exchange(ip, 80, "hi") == "echo-1:hi"; }))
      << proxy.Output() << kubelet.Output();

  // The pod goes, another comes: the same clusterIP:port now reaches it.
  ASSERT_EQ(server.Kubectl({"delete", "pod", "echo-1", "--timeout=60s"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return Exchange(ip, 80, "hi").empty(); }));  // nothing ready
  ASSERT_EQ(server.Apply(EchoPod("echo-2")).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return Exchange(ip, 80, "again") == "echo-2:again"; }))
      << proxy.Output();
  EXPECT_THAT(proxy.Output(), HasSubstr("serving " + ip + ":80 for default/echo"));

  // A deleted Service stops being served.
  ASSERT_EQ(server.Kubectl({"delete", "svc", "echo"}).exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return Exchange(ip, 80, "x").empty(); }));
  server.Kubectl({"delete", "pod", "echo-2", "--timeout=60s"});
}

}  // namespace
}  // namespace ffharness::testing
