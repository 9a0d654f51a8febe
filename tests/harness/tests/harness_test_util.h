// Test helpers: start ff-apiserver on a free port in a temp dir, run the real kubectl against it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace ffharness::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv (searched in PATH) to completion with stdout/stderr captured; `stdin_text` is fed
// to its standard input.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_text = "");

// A running child whose stdout+stderr go to a file (kubectl get -w, kubectl wait).
class BackgroundCommand {
 public:
  BackgroundCommand(const std::vector<std::string>& argv, const std::string& output_file);
  ~BackgroundCommand();
  std::string Output() const;
  // Waits (up to `seconds`, as a safety net only) until Output() contains `text`.
  bool WaitForOutput(const std::string& text, int seconds = 60) const;
  // Waits for exit; returns the exit code (kills it after `seconds`).
  int Wait(int seconds = 60);
  void Kill();

 private:
  pid_t pid_ = -1;
  std::string output_file_;
  int exit_code_ = -1;
};

class ApiServerProcess {
 public:
  // extra_flags go to ff-apiserver (e.g. {"--watch-history", "5"}).
  explicit ApiServerProcess(std::vector<std::string> extra_flags = {});
  ~ApiServerProcess();

  bool Start();  // in a fresh temp dir on a free port; false if it did not come up
  // SIGTERM (state saved to DIR/state.json) then start again on the same port and dir.
  bool Restart();
  void Stop();

  const std::string& dir() const { return dir_; }
  std::string kubeconfig() const { return dir_ + "/kubeconfig"; }
  int port() const { return port_; }

  // kubectl --kubeconfig ... --cache-dir ... <args>
  CommandResult Kubectl(const std::vector<std::string>& args,
                        const std::string& stdin_text = "") const;
  std::vector<std::string> KubectlArgv(const std::vector<std::string>& args) const;
  // kubectl apply -f - with `yaml`.
  CommandResult Apply(const std::string& yaml) const;

 private:
  bool Launch();

  std::vector<std::string> extra_flags_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Path of a built binary of this build tree (FEATUREFORGE_BINARY_DIR/<relative>).
std::string BinaryPath(const std::string& relative);

}  // namespace ffharness::testing
