// Client certificates and CA files from a kubeconfig against a real TLS server that demands a
// client certificate (openssl s_server with -Verify), certificates made with the openssl CLI.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "featureforge/k8s/client.h"

namespace featureforge::k8s {
namespace {

using ::testing::HasSubstr;

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

bool Listening(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class MutualTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "ff-mtls-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    std::string script =
        "set -e; cd " + dir_ +
        "; gen() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout $1.key -out $1.csr -subj /CN=$2 2>/dev/null; }\n"
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
        "-out ca.crt -days 1 -subj /CN=ff-test-ca 2>/dev/null\n"
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key "
        "-out other-ca.crt -days 1 -subj /CN=ff-other-ca 2>/dev/null\n"
        "gen server 127.0.0.1; gen client ff-test-user\n"
        "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext\n"
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
        "-extfile san.ext -out server.crt 2>/dev/null\n"
        "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
        "-out client.crt 2>/dev/null\n"
        "mkdir -p www/api/v1/namespaces\n"
        // s_server -HTTP sends files verbatim: they carry their own status line and headers.
        "printf 'HTTP/1.0 200 OK\\r\\nContent-Type: application/json\\r\\n\\r\\n"
        "{\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"default\"}}'"
        " > www/api/v1/namespaces/default\n";
    ASSERT_EQ(std::system(script.c_str()), 0) << "openssl could not make test certificates";
    port_ = FreePort();
    pid_ = fork();
    if (pid_ == 0) {
      std::string www = dir_ + "/www";
      if (chdir(www.c_str()) != 0) _exit(126);
      FILE* out = std::freopen((dir_ + "/s_server.log").c_str(), "a", stdout);
      (void)out;
      dup2(STDOUT_FILENO, STDERR_FILENO);
      std::string accept = "127.0.0.1:" + std::to_string(port_);
      std::string cert = dir_ + "/server.crt", key = dir_ + "/server.key", ca = dir_ + "/ca.crt";
      execlp("openssl", "openssl", "s_server", "-accept", accept.c_str(), "-HTTP", "-cert",
             cert.c_str(), "-key", key.c_str(), "-CAfile", ca.c_str(), "-Verify", "1",
             "-verify_return_error", "-quiet", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200 && !Listening(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(Listening(port_)) << ReadFile(dir_ + "/s_server.log");
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  std::string Base64(const std::string& file) {
    std::string out_file = dir_ + "/b64.out";
    std::string command = "openssl base64 -A -in " + dir_ + "/" + file + " > " + out_file;
    EXPECT_EQ(std::system(command.c_str()), 0);
    return ReadFile(out_file);
  }

  // Contexts: files (CA + client cert/key as files), data (all as -data), nocert, wrongca.
  std::string WriteKubeconfig() {
    std::string server = "https://127.0.0.1:" + std::to_string(port_);
    std::string text =
        "apiVersion: v1\nkind: Config\ncurrent-context: files\nclusters:\n"
        "- name: good\n  cluster:\n    server: " +
        server +
        "\n    certificate-authority: ca.crt\n"
        "- name: good-data\n  cluster:\n    server: " +
        server + "\n    certificate-authority-data: " + Base64("ca.crt") +
        "\n"
        "- name: wrong-ca\n  cluster:\n    server: " +
        server +
        "\n    certificate-authority: other-ca.crt\n"
        "users:\n"
        "- name: files\n  user:\n    client-certificate: client.crt\n    client-key: client.key\n"
        "- name: data\n  user:\n    client-certificate-data: " +
        Base64("client.crt") + "\n    client-key-data: " + Base64("client.key") +
        "\n"
        "- name: nocert\n  user:\n    token: abc\n"
        "contexts:\n"
        "- name: files\n  context: {cluster: good, user: files}\n"
        "- name: data\n  context: {cluster: good-data, user: data}\n"
        "- name: nocert\n  context: {cluster: good, user: nocert}\n"
        "- name: wrongca\n  context: {cluster: wrong-ca, user: files}\n";
    std::string path = dir_ + "/kubeconfig";
    std::ofstream(path) << text;
    return path;
  }

  Result<Json> GetDefaultNamespace(const std::string& kubeconfig, const std::string& context) {
    FF_ASSIGN_OR_RETURN(RestConfig config, LoadKubeconfig(kubeconfig, context));
    FF_ASSIGN_OR_RETURN(auto client, Client::Create(config));
    return client->Get(resources::Namespaces(), "", "default");
  }

  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(MutualTlsTest, ClientCertificatesFromFilesAndDataAreAccepted) {
  std::string kubeconfig = WriteKubeconfig();
  auto from_files = GetDefaultNamespace(kubeconfig, "files");
  ASSERT_TRUE(from_files.ok()) << from_files.status().ToString();
  EXPECT_EQ((*from_files)["metadata"]["name"], "default");
  auto from_data = GetDefaultNamespace(kubeconfig, "data");
  ASSERT_TRUE(from_data.ok()) << from_data.status().ToString();
  EXPECT_EQ((*from_data)["metadata"]["name"], "default");
}

TEST_F(MutualTlsTest, MissingClientCertificateAndWrongCaFailClearly) {
  std::string kubeconfig = WriteKubeconfig();
  auto no_cert = GetDefaultNamespace(kubeconfig, "nocert");
  ASSERT_FALSE(no_cert.ok());
  EXPECT_TRUE(K8sErrorOf(no_cert.status()).has_value()) << no_cert.status().ToString();
  EXPECT_THAT(no_cert.status().message(), HasSubstr("https://127.0.0.1:"));
  auto wrong_ca = GetDefaultNamespace(kubeconfig, "wrongca");
  ASSERT_FALSE(wrong_ca.ok());
  EXPECT_EQ(ReasonOf(wrong_ca.status()), K8sReason::kTlsError) << wrong_ca.status().ToString();
  EXPECT_THAT(wrong_ca.status().message(), HasSubstr("TLS"));
}

}  // namespace
}  // namespace featureforge::k8s
