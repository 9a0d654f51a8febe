// ff-apiserver: the harness Kubernetes API server. See tests/harness/README.md for flags.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api_server.h"
#include "certs.h"
#include "http_server.h"

namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

bool WriteFile(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << data;
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

std::string Kubeconfig(const std::string& server, const std::string& ca_pem,
                       const std::string& token) {
  std::string out =
      "apiVersion: v1\nkind: Config\nclusters:\n- name: ff-harness\n  cluster:\n    server: " +
      server + "\n";
  if (!ca_pem.empty())
    out += "    certificate-authority-data: " + ffharness::Base64Encode(ca_pem) + "\n";
  out +=
      "contexts:\n- name: ff-harness\n  context:\n    cluster: ff-harness\n    user: ff-admin\n    "
      "namespace: default\n"
      "current-context: ff-harness\nusers:\n- name: ff-admin\n  user:" +
      (token.empty() ? std::string(" {}\n") : "\n    token: " + token + "\n");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ff-apiserver: the featureforge test harness Kubernetes API server"};
  std::string dir;
  int port = 0;
  bool plain_http = false;
  bool no_snapshot = false;
  ffharness::ApiServerOptions options;
  app.add_option("--dir", dir, "working dir: kubeconfig, certificates, token, address, state.json")
      ->required();
  app.add_option("--port", port, "port on 127.0.0.1 (0 = a free one)");
  app.add_flag("--plain-http", plain_http, "serve plain HTTP instead of TLS");
  app.add_flag("--no-snapshot", no_snapshot, "neither load nor write DIR/state.json");
  app.add_option("--watch-history", options.watch_history, "change events kept for watch resume");
  app.add_option("--bookmark-interval", options.bookmark_interval_seconds,
                 "seconds between watch BOOKMARKs");
  std::string service_range = "10.96.0.0/16";
  app.add_option("--service-cluster-ip-range", service_range,
                 "IPv4 CIDR Service clusterIPs are allocated from (tests: a loopback range such "
                 "as 127.96.0.0/16, which ff-kube-proxy serves)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  {
    std::string error;
    if (!ffharness::ParseServiceIpRange(service_range, &options.service_ip_base,
                                        &options.service_ip_count, &error)) {
      std::cerr << "ff-apiserver: --service-cluster-ip-range: " << error << "\n";
      return 2;
    }
  }

  // Block the stop signals before any thread starts, so sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string ca, cert, key, token;
  if (!plain_http) {
    if (!ReadFile(dir + "/ca.crt", &ca) || !ReadFile(dir + "/server.crt", &cert) ||
        !ReadFile(dir + "/server.key", &key)) {
      auto certs = ffharness::GenerateServerCertificates();
      if (!certs.ok()) {
        std::cerr << "ff-apiserver: " << certs.status().ToString() << "\n";
        return 1;
      }
      ca = certs->ca_cert_pem;
      cert = certs->server_cert_pem + certs->ca_cert_pem;
      key = certs->server_key_pem;
      if (!WriteFile(dir + "/ca.crt", ca) || !WriteFile(dir + "/server.crt", cert) ||
          !WriteFile(dir + "/server.key", key)) {
        std::cerr << "ff-apiserver: cannot write certificates to " << dir << "\n";
        return 1;
      }
    }
  }
  if (!ReadFile(dir + "/token", &token) || token.empty()) {
    token = ffharness::RandomHex(24);
    if (!WriteFile(dir + "/token", token)) {
      std::cerr << "ff-apiserver: cannot write " << dir << "/token\n";
      return 1;
    }
  }
  // Clients never send bearer tokens over plain HTTP, so plain HTTP serves without authentication.
  options.token = plain_http ? "" : token;
  ffharness::ApiServer api(options);
  std::string state_file = dir + "/state.json";
  if (!no_snapshot && std::filesystem::exists(state_file)) {
    auto status = api.LoadSnapshot(state_file);
    if (!status.ok()) {
      std::cerr << "ff-apiserver: " << status.ToString() << "\n";
      return 1;
    }
  }
  ffharness::HttpServerOptions http_options;
  http_options.port = port;
  http_options.tls = !plain_http;
  http_options.cert_pem = cert;
  http_options.key_pem = key;
  auto server = ffharness::HttpServer::Start(
      http_options, [&api](const ffharness::HttpRequest& r) { return api.Handle(r); });
  if (!server.ok()) {
    std::cerr << "ff-apiserver: " << server.status().ToString() << "\n";
    return 1;
  }
  std::string address = "127.0.0.1:" + std::to_string((*server)->port());
  std::string url = (plain_http ? "http://" : "https://") + address;
  std::filesystem::remove(dir + "/address", ec);
  if (!WriteFile(dir + "/kubeconfig", Kubeconfig(url, ca, options.token)) ||
      !WriteFile(dir + "/address", address + "\n")) {
    std::cerr << "ff-apiserver: cannot write " << dir << "/kubeconfig\n";
    return 1;
  }
  std::cout << "ff-apiserver listening on " << url << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  api.Shutdown();
  (*server)->Stop();
  if (!no_snapshot) {
    auto status = api.SaveSnapshot(state_file);
    if (!status.ok()) {
      std::cerr << "ff-apiserver: " << status.ToString() << "\n";
      return 1;
    }
  }
  std::cout << "ff-apiserver stopped" << std::endl;
  return 0;
}
