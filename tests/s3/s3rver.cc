// S3rverProcess: runs the s3rver npm package as a child process on a free loopback port.
#include "ff_s3_testutil/s3rver.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

namespace featureforge::testing {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string FindNode() {
  const char* path_env = std::getenv("PATH");
  std::string paths = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= paths.size()) {
    size_t end = paths.find(':', start);
    if (end == std::string::npos) end = paths.size();
    fs::path candidate = fs::path(paths.substr(start, end - start)) / "node";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return "";
}

}  // namespace

Result<std::unique_ptr<S3rverProcess>> S3rverProcess::Start(
    const std::vector<std::string>& buckets) {
  const std::string script = std::string(FF_S3_FIXTURE_DIR) + "/node_modules/s3rver/bin/s3rver.js";
  if (!fs::exists(script)) {
    return Status::FailedPrecondition("s3rver is not installed at " + script +
                                      ": run scripts/setup (it runs npm install in tests/s3)");
  }
  std::string node = FindNode();
  if (node.empty()) return Status::FailedPrecondition("node is not on PATH (needed by s3rver)");

  std::unique_ptr<S3rverProcess> server(new S3rverProcess());
  std::string pattern = (fs::temp_directory_path() / "ff-s3rver-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return Status::IOError("mkdtemp for s3rver failed");
  server->root_dir_ = pattern;
  server->data_dir_ = pattern + "/data";
  fs::create_directories(server->data_dir_);
  const std::string log_path = pattern + "/s3rver.log";

  // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers
  // through its legacy provider.
  std::vector<std::string> args = {node,
                                   "--openssl-legacy-provider",
                                   script,
                                   "-d",
                                   server->data_dir_,
                                   "-a",
                                   "127.0.0.1",
                                   "-p",
                                   "0",
                                   "--silent"};
  for (const auto& bucket : buckets) {
    args.push_back("--configure-bucket");
    args.push_back(bucket);
  }
  pid_t pid = ::fork();
  if (pid < 0) return Status::IOError("fork for s3rver failed");
  if (pid == 0) {
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  server->pid_ = pid;

  const std::regex listening("listening on 127\\.0\\.0\\.1:([0-9]+)");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch match;
    std::string log = ReadAll(log_path);
    if (std::regex_search(log, match, listening)) {
      server->port_ = std::stoi(match[1]);
      return server;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      return Status::Unavailable("s3rver exited before listening; log " + log_path + ":\n" + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Timeout("s3rver did not report its port within 60 s; log " + log_path);
}

S3rverProcess::~S3rverProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    bool exited = false;
    for (int i = 0; i < 100 && !exited; ++i) {
      exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
      if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!exited) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
  if (!root_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(root_dir_, ec);
  }
}

S3Options S3rverProcess::Options() const {
  S3Options options;
  options.endpoint = endpoint();
  options.region = "us-east-1";
  options.credentials = {kS3rverAccessKeyId, kS3rverSecretAccessKey, ""};
  options.initial_backoff_ms = 1;
  options.max_backoff_ms = 20;
  return options;
}

}  // namespace featureforge::testing
