#include "featureforge/k8s/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "test_util.h"

namespace featureforge::k8s {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

constexpr const char* kCaPem = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
// base64("hello-cert") and base64("hello-key")
constexpr const char* kCertB64 = "aGVsbG8tY2VydA==";
constexpr const char* kKeyB64 = "aGVsbG8ta2V5";

std::string TwoContexts(const std::string& current) {
  return "apiVersion: v1\nkind: Config\ncurrent-context: " + current +
         "\n"
         "clusters:\n"
         "- name: prod\n"
         "  cluster:\n"
         "    server: https://10.0.0.1:6443/\n"
         "    certificate-authority: ca.crt\n"
         "- name: dev\n"
         "  cluster:\n"
         "    server: https://127.0.0.1:8443\n"
         "    insecure-skip-tls-verify: true\n"
         "contexts:\n"
         "- name: prod-admin\n"
         "  context: {cluster: prod, user: admin, namespace: team-a}\n"
         "- name: dev-bot\n"
         "  context: {cluster: dev, user: bot}\n"
         "users:\n"
         "- name: admin\n"
         "  user:\n"
         "    client-certificate-data: " +
         kCertB64 + "\n    client-key-data: " + kKeyB64 +
         "\n"
         "- name: bot\n"
         "  user:\n"
         "    tokenFile: token\n";
}

TEST(KubeconfigTest, CurrentContextWithCaFileAndClientCertData) {
  TempDir dir;
  dir.Write("ca.crt", kCaPem);
  dir.Write("token", "t0k3n\n");
  std::string path = dir.Write("config", TwoContexts("prod-admin"));
  auto config = LoadKubeconfig(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://10.0.0.1:6443");
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_FALSE(config->insecure_skip_tls_verify);
  EXPECT_EQ(config->client_cert_pem, "hello-cert");
  EXPECT_EQ(config->client_key_pem, "hello-key");
  EXPECT_EQ(config->default_namespace, "team-a");
  EXPECT_THAT(config->source, HasSubstr("prod-admin"));
  auto token = config->CurrentToken();
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "");
}

TEST(KubeconfigTest, ExplicitContextWithInsecureAndTokenFile) {
  TempDir dir;
  dir.Write("ca.crt", kCaPem);
  dir.Write("token", "t0k3n\n");
  std::string path = dir.Write("config", TwoContexts("prod-admin"));
  auto config = LoadKubeconfig(path, "dev-bot");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://127.0.0.1:8443");
  EXPECT_TRUE(config->insecure_skip_tls_verify);
  EXPECT_TRUE(config->ca_pem.empty());
  auto token = config->CurrentToken();
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "t0k3n");
}

TEST(KubeconfigTest, InsecureFalseIsNotHonoured) {
  std::string text =
      "current-context: c\nclusters:\n- name: k\n  cluster: {server: 'https://h:1', "
      "insecure-skip-tls-verify: false}\ncontexts:\n- name: c\n  context: {cluster: k}\n";
  auto config = ParseKubeconfig(text, "inline", "");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_FALSE(config->insecure_skip_tls_verify);
}

TEST(KubeconfigTest, MalformedYamlNamesFileAndLine) {
  TempDir dir;
  std::string path = dir.Write("config", "clusters:\n- name: [unclosed\n  cluster: x\n");
  auto config = LoadKubeconfig(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr(path));
  EXPECT_THAT(config.status().message(), HasSubstr("line"));
}

TEST(KubeconfigTest, MissingServerNamesTheField) {
  std::string text =
      "current-context: c\nclusters:\n- name: k\n  cluster: {certificate-authority-data: "
      "QQ==}\ncontexts:\n- name: c\n  context: {cluster: k}\n";
  auto config = ParseKubeconfig(text, "/tmp/my.kubeconfig", "");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("/tmp/my.kubeconfig"));
  EXPECT_THAT(config.status().message(), HasSubstr("clusters[name=k].cluster.server"));
}

TEST(KubeconfigTest, UnknownContextAndMissingCurrentContext) {
  std::string text = "clusters: []\ncontexts: []\n";
  auto no_current = ParseKubeconfig(text, "f", "");
  ASSERT_FALSE(no_current.ok());
  EXPECT_THAT(no_current.status().message(), HasSubstr("current-context"));
  auto unknown = ParseKubeconfig(text, "f", "", "nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("'contexts' has no entry named 'nope'"));
}

TEST(KubeconfigTest, BadBase64AndBadBoolAndMissingFile) {
  std::string base =
      "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
      "users:\n- name: u\n  user: {token: abc}\n";
  auto bad_b64 = ParseKubeconfig(base +
                                     "clusters:\n- name: k\n  cluster: {server: 'https://h', "
                                     "certificate-authority-data: 'not*base64'}\n",
                                 "f", "");
  ASSERT_FALSE(bad_b64.ok());
  EXPECT_THAT(bad_b64.status().message(), HasSubstr("certificate-authority-data"));
  auto bad_bool = ParseKubeconfig(base +
                                      "clusters:\n- name: k\n  cluster: {server: 'https://h', "
                                      "insecure-skip-tls-verify: maybe}\n",
                                  "f", "");
  ASSERT_FALSE(bad_bool.ok());
  EXPECT_THAT(bad_bool.status().message(), HasSubstr("insecure-skip-tls-verify"));
  auto missing = ParseKubeconfig(base +
                                     "clusters:\n- name: k\n  cluster: {server: 'https://h', "
                                     "certificate-authority: /nonexistent/ca.crt}\n",
                                 "f", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/ca.crt"));
  auto bad_server =
      ParseKubeconfig(base + "clusters:\n- name: k\n  cluster: {server: 'h:6443'}\n", "f", "");
  ASSERT_FALSE(bad_server.ok());
  EXPECT_THAT(bad_server.status().message(), HasSubstr("server"));
  auto ok =
      ParseKubeconfig(base + "clusters:\n- name: k\n  cluster: {server: 'https://h'}\n", "f", "");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok->CurrentToken(), "abc");
}

TEST(KubeconfigTest, ClientCertWithoutKeyIsAnError) {
  std::string text =
      std::string(
          "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
          "clusters:\n- name: k\n  cluster: {server: 'https://h'}\n"
          "users:\n- name: u\n  user: {client-certificate-data: ") +
      kCertB64 + "}\n";
  auto config = ParseKubeconfig(text, "f", "");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("client-key"));
}

TEST(KubeconfigTest, ExecCredentialsAreNotSupported) {
  std::string text =
      "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n"
      "clusters:\n- name: k\n  cluster: {server: 'https://h'}\n"
      "users:\n- name: u\n  user: {exec: {command: aws}}\n";
  auto config = ParseKubeconfig(text, "f", "");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kNotSupported);
}

TEST(TokenFileTest, RereadWhenRotated) {
  TempDir dir;
  std::string path = dir.Write("token", "first\n");
  TokenFile token(path);
  ASSERT_EQ(*token.Token(), "first");
  // Rotation the way kubelet does it: a new file swapped in (new inode).
  dir.Write("token.new", "second-and-longer");
  std::filesystem::rename(dir.path() + "/token.new", path);
  EXPECT_EQ(*token.Token(), "second-and-longer");
  // The file briefly missing during a swap keeps the last token.
  std::filesystem::remove(path);
  EXPECT_EQ(*token.Token(), "second-and-longer");
}

TEST(InClusterTest, ReadsInjectedPaths) {
  TempDir dir;
  InClusterPaths paths;
  paths.token_path = dir.Write("token", "sa-token");
  paths.ca_path = dir.Write("ca.crt", kCaPem);
  paths.namespace_path = dir.Write("namespace", "featureforge-system\n");
  paths.host = "10.96.0.1";
  paths.port = "443";
  auto config = InClusterConfig(paths);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->default_namespace, "featureforge-system");
  EXPECT_EQ(*config->CurrentToken(), "sa-token");
  dir.Write("token.new", "rotated-token");
  std::filesystem::rename(dir.path() + "/token.new", paths.token_path);
  EXPECT_EQ(*config->CurrentToken(), "rotated-token");

  paths.host = "fd00::1";
  auto v6 = InClusterConfig(paths);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->server, "https://[fd00::1]:443");
}

TEST(InClusterTest, HostAndPortFromTheEnvironment) {
  TempDir dir;
  InClusterPaths paths;
  paths.token_path = dir.Write("token", "sa-token");
  paths.ca_path = dir.Write("ca.crt", kCaPem);
  paths.namespace_path = dir.path() + "/missing-namespace";
  setenv("KUBERNETES_SERVICE_HOST", "10.0.0.10", 1);
  setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
  auto config = InClusterConfig(paths);
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://10.0.0.10:6443");
  EXPECT_EQ(config->default_namespace, "");
  auto outside = InClusterConfig(paths);
  ASSERT_FALSE(outside.ok());
  EXPECT_THAT(outside.status().message(), HasSubstr("KUBERNETES_SERVICE_HOST"));
}

TEST(DefaultConfigTest, KubeconfigEnvironmentVariableWins) {
  TempDir dir;
  dir.Write("ca.crt", kCaPem);
  dir.Write("token", "t");
  std::string path = dir.Write("config", TwoContexts("prod-admin"));
  std::string list = path + ":/nonexistent/second";
  setenv("KUBECONFIG", list.c_str(), 1);
  auto config = LoadDefaultConfig("dev-bot");
  unsetenv("KUBECONFIG");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server, "https://127.0.0.1:8443");
}

TEST(InClusterTest, MissingTokenIsAClearError) {
  InClusterPaths paths;
  paths.token_path = "/nonexistent/token";
  paths.host = "h";
  paths.port = "1";
  auto config = InClusterConfig(paths);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("/nonexistent/token"));
}

}  // namespace
}  // namespace featureforge::k8s
