#include "harness_test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace ffharness::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  char* made = mkdtemp(buf.data());
  return made ? std::string(made) : std::string();
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_file,
            const std::string& err_file, const std::string& in_file) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  setpgid(0, 0);
  int in = open(in_file.empty() ? "/dev/null" : in_file.c_str(), O_RDONLY);
  int out = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = err_file == out_file ? out : open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

std::string BinaryPath(const std::string& relative) {
  const char* dir = std::getenv("FEATUREFORGE_BINARY_DIR");
  return std::string(dir ? dir : ".") + "/" + relative;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text) {
  static std::string tmp = MakeTempDir("ffcmd");
  static int counter = 0;
  std::string base = tmp + "/" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  std::string in_file;
  if (!stdin_text.empty()) {
    in_file = base + ".in";
    std::ofstream(in_file) << stdin_text;
  }
  pid_t pid = Spawn(argv, base + ".out", base + ".err", in_file);
  CommandResult result;
  result.exit_code = WaitExit(pid);
  result.out = ReadAll(base + ".out");
  result.err = ReadAll(base + ".err");
  std::filesystem::remove(base + ".out");
  std::filesystem::remove(base + ".err");
  if (!in_file.empty()) std::filesystem::remove(in_file);
  return result;
}

BackgroundCommand::BackgroundCommand(const std::vector<std::string>& argv,
                                     const std::string& output_file)
    : output_file_(output_file) {
  pid_ = Spawn(argv, output_file, output_file, "");
}

BackgroundCommand::~BackgroundCommand() { Kill(); }

std::string BackgroundCommand::Output() const { return ReadAll(output_file_); }

bool BackgroundCommand::WaitForOutput(const std::string& text, int seconds) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

int BackgroundCommand::Wait(int seconds) {
  if (pid_ < 0) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      return exit_code_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Kill();
  return exit_code_;
}

void BackgroundCommand::Kill() {
  if (pid_ < 0) return;
  kill(pid_, SIGKILL);
  exit_code_ = WaitExit(pid_);
  pid_ = -1;
}

ApiServerProcess::ApiServerProcess(std::vector<std::string> extra_flags)
    : extra_flags_(std::move(extra_flags)) {}

ApiServerProcess::~ApiServerProcess() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

bool ApiServerProcess::Start() {
  dir_ = MakeTempDir("ffapiserver");
  port_ = 0;
  return !dir_.empty() && Launch();
}

bool ApiServerProcess::Launch() {
  std::filesystem::remove(dir_ + "/address");
  std::vector<std::string> argv = {BinaryPath("tests/harness/ff-apiserver"), "--dir", dir_,
                                   "--port", std::to_string(port_)};
  argv.insert(argv.end(), extra_flags_.begin(), extra_flags_.end());
  pid_ = Spawn(argv, dir_ + "/server.log", dir_ + "/server.log", "");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string address = ReadAll(dir_ + "/address");
    if (!address.empty()) {
      port_ = std::stoi(address.substr(address.rfind(':') + 1));
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool ApiServerProcess::Restart() {
  Stop();
  return Launch();
}

void ApiServerProcess::Stop() {
  if (pid_ < 0) return;
  kill(pid_, SIGTERM);
  WaitExit(pid_);
  pid_ = -1;
}

std::vector<std::string> ApiServerProcess::KubectlArgv(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"kubectl", "--kubeconfig", kubeconfig(), "--cache-dir",
                                   dir_ + "/kubectl-cache"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

CommandResult ApiServerProcess::Kubectl(const std::vector<std::string>& args,
                                        const std::string& stdin_text) const {
  return RunCommand(KubectlArgv(args), stdin_text);
}

CommandResult ApiServerProcess::Apply(const std::string& yaml) const {
  return Kubectl({"apply", "-f", "-"}, yaml);
}

}  // namespace ffharness::testing
