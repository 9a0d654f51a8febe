// How to reach and authenticate to an API server: kubeconfig files and in-cluster config.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include "featureforge/common/status.h"

namespace featureforge::k8s {

// A bearer token read from a file and re-read whenever the file changes on disk (projected
// service account tokens rotate). Thread-safe.
class TokenFile {
 public:
  explicit TokenFile(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // The current token; re-reads the file when its mtime, size or inode changed.
  Result<std::string> Token();

 private:
  std::string path_;
  std::mutex mu_;
  std::string token_;
  bool loaded_ = false;
  int64_t mtime_ns_ = 0;
  int64_t size_ = -1;
  ino_t inode_ = 0;
};

struct RestConfig {
  std::string server;  // "https://host:port" (no trailing slash)
  // PEM bundle used to verify the server; empty means the system trust store.
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  // Client certificate authentication (PEM).
  std::string client_cert_pem;
  std::string client_key_pem;
  // Bearer token authentication: a fixed token, or a file that is re-read when it rotates.
  std::string bearer_token;
  std::shared_ptr<TokenFile> token_file;
  // The namespace of the kubeconfig context, or the pod's namespace in-cluster ("" if unknown).
  std::string default_namespace;
  std::string user_agent = "featureforge-operator";
  // Where this config came from, for error messages ("kubeconfig /path context ctx").
  std::string source;
  // Per-request limits for non-watch calls.
  long connect_timeout_ms = 5'000;
  long request_timeout_ms = 30'000;

  // The token to send now (empty when none is configured).
  Result<std::string> CurrentToken() const;
};

// Parses kubeconfig text. `file_name` names the file in errors; relative certificate and token
// paths resolve against `base_dir`. An empty `context` selects current-context.
Result<RestConfig> ParseKubeconfig(const std::string& text, const std::string& file_name,
                                   const std::string& base_dir, const std::string& context = "");
Result<RestConfig> LoadKubeconfig(const std::string& path, const std::string& context = "");

// Where the in-cluster config lives; injectable so tests can point at a temp dir.
struct InClusterPaths {
  std::string token_path = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  std::string ca_path = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  std::string namespace_path = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
  // Empty means read KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT from the environment.
  std::string host;
  std::string port;
};
Result<RestConfig> InClusterConfig(const InClusterPaths& paths = {});

// $KUBECONFIG (first entry), then in-cluster when KUBERNETES_SERVICE_HOST is set, then
// ~/.kube/config.
Result<RestConfig> LoadDefaultConfig(const std::string& context = "");

}  // namespace featureforge::k8s
