#include "featureforge/testutil/testutil.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace featureforge::testutil {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// argv/envp arrays built before fork, so the child only calls async-signal-safe functions.
struct ExecArgs {
  std::vector<std::string> storage;
  std::vector<char*> argv, envp;
  ExecArgs(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
    std::map<std::string, std::string> merged;
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      size_t eq = kv.find('=');
      if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    for (const auto& [k, v] : env) merged[k] = v;
    storage.reserve(args.size() + merged.size());
    for (const auto& a : args) storage.push_back(a);
    for (const auto& [k, v] : merged) storage.push_back(k + "=" + v);
    for (size_t i = 0; i < args.size(); ++i) argv.push_back(storage[i].data());
    argv.push_back(nullptr);
    for (size_t i = args.size(); i < storage.size(); ++i) envp.push_back(storage[i].data());
    envp.push_back(nullptr);
  }
};

// Forks and execs; the child gets its own process group. `setup_fds` runs in the child before
// exec. Returns the pid, or -1 with `error` set (exec errors are reported through a pipe).
template <typename SetupFds>
pid_t Spawn(const std::vector<std::string>& argv, const SubprocessOptions& options,
            SetupFds setup_fds, std::string* error) {
  if (argv.empty()) {
    *error = "empty command";
    return -1;
  }
  ExecArgs exec_args(argv, options.env);
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  const char* dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    close(status_pipe[0]);
    close(status_pipe[1]);
    return -1;
  }
  if (pid == 0) {
    setpgid(0, 0);
    setup_fds();
    if (dir != nullptr && chdir(dir) != 0) {
      int e = errno;
      (void)!write(status_pipe[1], &e, sizeof(e));
      _exit(127);
    }
    execvpe(exec_args.argv[0], exec_args.argv.data(), exec_args.envp.data());
    int e = errno;
    (void)!write(status_pipe[1], &e, sizeof(e));
    _exit(127);
  }
  close(status_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(status_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(status_pipe[0]);
  if (n == sizeof(child_errno)) {
    waitpid(pid, nullptr, 0);
    *error = "cannot run '" + argv[0] + "'" + (dir ? std::string(" in ") + dir : "") + ": " +
             std::strerror(child_errno);
    return -1;
  }
  return pid;
}

void FillStatus(int status, ProcessResult* result) {
  if (WIFEXITED(status)) {
    result->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result->term_signal = WTERMSIG(status);
  }
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::Join(const std::string& relative) const { return path_ + "/" + relative; }

std::string TempDir::WriteFile(const std::string& relative, const std::string& content) const {
  std::string full = Join(relative);
  fs::create_directories(fs::path(full).parent_path());
  std::ofstream out(full, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + full);
  return full;
}

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    close(fd);
    throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(e));
  }
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string FindInPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string ProcessResult::Describe() const {
  std::string head = timed_out     ? "timed out"
                     : term_signal ? "signal " + std::to_string(term_signal)
                                   : "exit " + std::to_string(exit_code);
  return head + "\n--- stdout ---\n" + stdout_text + "\n--- stderr ---\n" + stderr_text;
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const SubprocessOptions& options) {
  ProcessResult result;
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(in_pipe, O_CLOEXEC) != 0) {
    result.stderr_text = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  std::string error;
  pid_t pid = Spawn(
      argv, options,
      [&] {
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
      },
      &error);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    close(err_pipe[0]);
    result.stderr_text = error;
    return result;
  }
  // Feed stdin from a thread so a child that writes a lot before reading cannot deadlock us.
  std::thread feeder([fd = in_pipe[1], text = options.stdin_text] {
    signal(SIGPIPE, SIG_IGN);
    size_t off = 0;
    while (off < text.size()) {
      ssize_t n = write(fd, text.data() + off, text.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    close(fd);
  });

  const auto deadline = Clock::now() + options.timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.stdout_text, &result.stderr_text};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    int rc = poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (rc < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  int status = 0;
  while (true) {
    pid_t w = waitpid(pid, &status, result.timed_out ? 0 : WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (Clock::now() > deadline) {
      result.timed_out = true;
      kill(-pid, SIGKILL);
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  feeder.join();
  FillStatus(status, &result);
  if (result.timed_out) result.exit_code = -1;
  return result;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const std::string& log_path,
                                     const SubprocessOptions& options) {
  int log_fd = open(log_path.empty() ? "/dev/null" : log_path.c_str(),
                    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_in < 0) {
    error_ = "open " + log_path + ": " + std::strerror(errno);
    if (log_fd >= 0) close(log_fd);
    if (null_in >= 0) close(null_in);
    return;
  }
  pid_ = Spawn(
      argv, options,
      [&] {
        dup2(null_in, 0);
        dup2(log_fd, 1);
        dup2(log_fd, 2);
      },
      &error_);
  close(log_fd);
  close(null_in);
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0) Stop(SIGKILL, std::chrono::milliseconds(0));
}

bool BackgroundProcess::Running() {
  if (pid_ <= 0 || reaped_) return false;
  pid_t w = waitpid(pid_, &status_, WNOHANG);
  if (w == pid_) reaped_ = true;
  return !reaped_;
}

int BackgroundProcess::Stop(int sig, std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (!reaped_) {
    kill(-pid_, sig);
    const auto deadline = Clock::now() + grace;
    while (!reaped_) {
      pid_t w = waitpid(pid_, &status_, WNOHANG);
      if (w == pid_ || (w < 0 && errno == ECHILD)) {
        reaped_ = true;
        break;
      }
      if (Clock::now() >= deadline) {
        kill(-pid_, SIGKILL);
        waitpid(pid_, &status_, 0);
        reaped_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    // Anything the process left in its group goes too.
    kill(-pid_, SIGKILL);
  }
  ProcessResult r;
  FillStatus(status_, &r);
  return r.term_signal ? -r.term_signal : r.exit_code;
}

namespace {

// The process id of the Redis server answering on 127.0.0.1:port (from INFO server), or -1.
// Checking the pid, not just PING, makes sure we talk to the server we started and not one a
// parallel test started on the same port after our bind failed.
pid_t RedisServerPid(int port, const std::string& password) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  pid_t pid = -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string request;
    if (!password.empty()) {
      request +=
          "*2\r\n$4\r\nAUTH\r\n$" + std::to_string(password.size()) + "\r\n" + password + "\r\n";
    }
    request += "INFO server\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      std::string reply;
      char buf[4096];
      const auto deadline = Clock::now() + std::chrono::seconds(2);
      while (Clock::now() < deadline) {
        size_t at = reply.find("process_id:");
        if (at != std::string::npos && reply.find("\r\n", at) != std::string::npos) {
          pid = static_cast<pid_t>(std::atol(reply.c_str() + at + 11));
          break;
        }
        if (reply.find("-ERR") != std::string::npos || reply.find("-NOAUTH") != std::string::npos ||
            reply.find("-WRONGPASS") != std::string::npos) {
          break;
        }
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0) break;
        reply.append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  return pid;
}

}  // namespace

RedisServer::~RedisServer() { Kill(); }

std::string RedisServer::Start(const std::vector<std::string>& extra_args,
                               std::chrono::milliseconds ready_timeout) {
  if (process_) return "redis-server already running on " + address();
  const std::string binary = FindInPath("redis-server");
  if (binary.empty()) {
    return "redis-server is not installed (not found in PATH); the Redis tests need a real "
           "server: install the redis-server package (scripts/setup does)";
  }
  // A port picked free can be taken before the server binds it: retry a few times.
  std::string last_error;
  for (int attempt = 0; attempt < 5; ++attempt) {
    dir_ = std::make_unique<TempDir>("ff-redis");
    port_ = PickFreePort();
    std::vector<std::string> argv{binary,   "--port",       std::to_string(port_),
                                  "--bind", "127.0.0.1",    "--save",
                                  "",       "--appendonly", "no",
                                  "--dir",  dir_->path(),   "--daemonize",
                                  "no"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<BackgroundProcess>(argv, dir_->Join("redis.log"));
    if (process_->pid() <= 0) return process_->error();
    std::string password;
    for (size_t i = 0; i + 1 < extra_args.size(); ++i) {
      if (extra_args[i] == "--requirepass") password = extra_args[i + 1];
    }
    const auto deadline = Clock::now() + ready_timeout;
    while (Clock::now() < deadline && process_->Running()) {
      if (RedisServerPid(port_, password) == process_->pid()) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    last_error = "redis-server on port " + std::to_string(port_) +
                 (process_->Running() ? " did not answer INFO in time" : " exited") +
                 "; its log:\n" + Log();
    process_->Stop(SIGKILL, std::chrono::milliseconds(0));
    process_.reset();
  }
  return last_error;
}

void RedisServer::Kill() {
  if (!process_) return;
  process_->Stop(SIGKILL, std::chrono::milliseconds(0));
  process_.reset();
}

void RedisServer::Stop() {
  if (!process_) return;
  process_->Stop(SIGTERM, std::chrono::milliseconds(5000));
  process_.reset();
}

std::string RedisServer::Log() const { return dir_ ? ReadFile(dir_->Join("redis.log")) : ""; }

std::string BuildDir() {
  const char* dir = std::getenv("FEATUREFORGE_BINARY_DIR");
  return dir != nullptr ? dir : FEATUREFORGE_TEST_BINARY_DIR;
}

std::string SourceDir() {
  const char* dir = std::getenv("FEATUREFORGE_SOURCE_DIR");
  return dir != nullptr ? dir : FEATUREFORGE_TEST_SOURCE_DIR;
}

}  // namespace featureforge::testutil
