#include "harness_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "featureforge/k8s/client.h"

namespace featureforge::k8s::testing {

HarnessProcess::HarnessProcess(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)) {
  std::string pattern = (std::filesystem::temp_directory_path() / "ff-harness-XXXXXX").string();
  dir_ = mkdtemp(pattern.data());
}

HarnessProcess::~HarnessProcess() {
  if (pid_ > 0) Kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string HarnessProcess::BinaryPath() {
  if (const char* explicit_path = std::getenv("FF_APISERVER"); explicit_path && *explicit_path) {
    return explicit_path;
  }
  const char* build = std::getenv("FEATUREFORGE_BINARY_DIR");
  return std::string(build ? build : ".") + "/tests/harness/ff-apiserver";
}

Status HarnessProcess::Start() {
  std::string binary = BinaryPath();
  if (access(binary.c_str(), X_OK) != 0) {
    return Status::NotFound("harness API server binary not found at " + binary);
  }
  std::filesystem::remove(dir_ + "/address");
  std::vector<std::string> args = {binary, "--port", std::to_string(port_), "--dir", dir_};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::string log = dir_ + "/server.log";
  pid_t pid = fork();
  if (pid < 0) return Status::IOError("fork failed");
  if (pid == 0) {
    FILE* out = std::freopen(log.c_str(), "a", stdout);
    (void)out;
    dup2(STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  // The server writes DIR/address once it accepts connections.
  for (int i = 0; i < 600; ++i) {
    std::ifstream in(dir_ + "/address");
    std::string address;
    if (in && std::getline(in, address) && !address.empty()) {
      port_ = std::stoi(address.substr(address.rfind(':') + 1));
      return Status::OK();
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream err(log);
      std::stringstream text;
      text << err.rdbuf();
      return Status::Unavailable("harness API server exited at start: " + text.str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Kill();
  return Status::Timeout("harness API server did not write " + dir_ + "/address");
}

Status HarnessProcess::Stop() {
  if (pid_ <= 0) return Status::OK();
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Internal("harness API server did not exit cleanly (status " +
                            std::to_string(status) + ")");
  }
  return Status::OK();
}

void HarnessProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

Status HarnessProcess::Restart() {
  FF_RETURN_IF_ERROR(Stop());
  // The port was free a moment ago; retry briefly in case the old socket lingers.
  Status started;
  for (int attempt = 0; attempt < 20; ++attempt) {
    started = Start();
    if (started.ok()) return started;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return started;
}

Status HarnessProcess::HarnessCall(const std::string& endpoint) const {
  FF_ASSIGN_OR_RETURN(RestConfig config, Config());
  FF_ASSIGN_OR_RETURN(auto client, Client::Create(config));
  return client->Request("POST", "/harness/" + endpoint).status();
}

Result<std::string> HarnessProcess::Kubectl(const std::string& args) const {
  std::string out_file = dir_ + "/kubectl.out";
  std::string err_file = dir_ + "/kubectl.err";
  std::string command =
      "kubectl --kubeconfig " + kubeconfig_path() + " " + args + " >" + out_file + " 2>" + err_file;
  int rc = std::system(command.c_str());
  std::ifstream out(out_file), err(err_file);
  std::stringstream out_text, err_text;
  out_text << out.rdbuf();
  err_text << err.rdbuf();
  if (rc != 0) {
    return Status::Internal("kubectl " + args + " failed: " + err_text.str() + out_text.str());
  }
  return out_text.str();
}

}  // namespace featureforge::k8s::testing
