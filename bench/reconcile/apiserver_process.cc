#include "apiserver_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace featureforge::bench {

Result<ProcessUsage> ReadProcessUsage(pid_t pid) {
  std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat_file(base + "/stat");
  std::string stat_line;
  if (!stat_file || !std::getline(stat_file, stat_line)) {
    return Status::IOError("cannot read " + base + "/stat");
  }
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  size_t close = stat_line.rfind(')');
  if (close == std::string::npos) return Status::Internal("malformed " + base + "/stat");
  std::istringstream fields(stat_line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int index = 3; fields >> field; ++index) {
    if (index == 14) utime = std::stoull(field);
    if (index == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  std::ifstream statm(base + "/statm");
  long long pages_total = 0, pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) {
    return Status::IOError("cannot read " + base + "/statm");
  }
  ProcessUsage usage;
  usage.cpu_seconds =
      static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  usage.rss_bytes = pages_resident * sysconf(_SC_PAGESIZE);
  return usage;
}

ApiServerProcess::ApiServerProcess(std::string binary, std::vector<std::string> extra_args)
    : binary_(std::move(binary)), extra_args_(std::move(extra_args)) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "ff-bench-reconcile-XXXXXX").string();
  if (mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
}

ApiServerProcess::~ApiServerProcess() {
  Kill();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

Status ApiServerProcess::Start() {
  if (dir_.empty()) return Status::IOError("cannot create a temp directory for ff-apiserver");
  if (access(binary_.c_str(), X_OK) != 0) {
    return Status::NotFound("ff-apiserver binary not found at " + binary_ +
                            " (build the ff-apiserver target or pass --apiserver)");
  }
  std::vector<std::string> args = {binary_, "--port", "0", "--dir", dir_, "--no-snapshot"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::string log = dir_ + "/server.log";
  pid_t pid = fork();
  if (pid < 0) return Status::IOError("fork failed");
  if (pid == 0) {
    if (std::freopen(log.c_str(), "a", stdout) != nullptr) dup2(STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  pid_ = pid;
  for (int i = 0; i < 1200; ++i) {
    std::ifstream in(dir_ + "/address");
    std::string address;
    if (in && std::getline(in, address) && !address.empty()) return Status::OK();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::ifstream err(log);
      std::stringstream text;
      text << err.rdbuf();
      return Status::Unavailable("ff-apiserver exited at start: " + text.str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Kill();
  return Status::Timeout("ff-apiserver did not write " + dir_ + "/address within 60 s");
}

void ApiServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

Result<k8s::RestConfig> ApiServerProcess::Config() const {
  return k8s::LoadKubeconfig(dir_ + "/kubeconfig");
}

}  // namespace featureforge::bench
