// Shared helpers for tests that need real files, ports, processes and servers.
// Link `ff_testutil`. Everything here is for tests only; nothing in the product depends on it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace featureforge::testutil {

// A fresh directory under $TMPDIR (or /tmp), removed recursively when the object goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ff-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + relative
  std::string Join(const std::string& relative) const;
  // Writes `content` to Join(relative), creating parent folders; returns the full path.
  std::string WriteFile(const std::string& relative, const std::string& content) const;

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that was free when asked (bound to port 0, then released).
int PickFreePort();

// Reads a whole file; empty when it cannot be read.
std::string ReadFile(const std::string& path);

// The result of a finished subprocess.
struct ProcessResult {
  int exit_code = -1;   // the exit status, or -1 when killed by a signal or timed out
  int term_signal = 0;  // the signal that ended it, if any
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
  // "exit 0" / "signal 9" / "timed out" plus both outputs, for assertion messages.
  std::string Describe() const;
};

struct SubprocessOptions {
  std::string working_dir;                    // empty = inherit
  std::map<std::string, std::string> env;     // added to (and overriding) the parent environment
  std::string stdin_text;                     // written to the child's stdin, then closed
  std::chrono::milliseconds timeout{120000};  // killed (SIGKILL, whole process group) after this
};

// Runs argv[0] (searched in PATH) with arguments, captures stdout and stderr, waits for exit.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const SubprocessOptions& options = {});

// A child process running in the background (its own process group); killed by the destructor.
class BackgroundProcess {
 public:
  // Starts argv; stdout/stderr go to `log_path` (appended) when given, else /dev/null.
  // Returns std::nullopt-like empty object (pid() <= 0) with error() set when exec fails.
  BackgroundProcess(const std::vector<std::string>& argv, const std::string& log_path = "",
                    const SubprocessOptions& options = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& error() const { return error_; }
  bool Running();
  // Sends `signal` to the process group and waits up to `grace` for exit, then SIGKILLs.
  // Returns the exit status as ProcessResult::exit_code / term_signal semantics.
  int Stop(int signal = 15, std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string error_;
};

// A real redis-server on 127.0.0.1 and a free port, without persistence. Start() fails with a
// clear message when redis-server is not installed (tests must not silently skip).
class RedisServer {
 public:
  RedisServer() = default;
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts the server and waits until it answers PING. Returns an error message, empty on success.
  // `extra_args` are appended to the command line (e.g. {"--requirepass", "secret"}).
  std::string Start(const std::vector<std::string>& extra_args = {},
                    std::chrono::milliseconds ready_timeout = std::chrono::milliseconds(15000));
  // Kills the server (SIGKILL: it goes away like a crashed server) and waits for it.
  void Kill();
  // Stops it gracefully (SIGTERM).
  void Stop();
  bool running() const { return process_ != nullptr; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  std::string address() const { return host() + ":" + std::to_string(port_); }
  // redis-server's own log, for failure messages.
  std::string Log() const;

 private:
  int port_ = 0;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<BackgroundProcess> process_;
};

// The build tree and source tree of this build ($FEATUREFORGE_BINARY_DIR /
// $FEATUREFORGE_SOURCE_DIR override them), for tests that run built binaries or read examples/.
std::string BuildDir();
std::string SourceDir();

// Absolute path of an executable found in PATH, or empty.
std::string FindInPath(const std::string& name);

}  // namespace featureforge::testutil
