#include "task_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "featureforge/common/status.h"
#include "grpc_util.h"

extern char** environ;

namespace featureforge::cluster {
namespace {

namespace fs = std::filesystem;

constexpr auto kPollInterval = std::chrono::milliseconds(10);

// Executor flags that also come from the environment: the child must see only what the task
// says, not values the worker process happens to have.
const std::set<std::string>& ScrubbedEnv() {
  static const std::set<std::string> names = {"FEATUREFORGE_MODE",
                                              "FEATUREFORGE_START",
                                              "FEATUREFORGE_END",
                                              "FEATUREFORGE_VIEWS",
                                              "FEATUREFORGE_PARTITION",
                                              "FEATUREFORGE_CHUNK_SIZE",
                                              "FEATUREFORGE_EVENT_LOG_URI",
                                              "FEATUREFORGE_RUN_ID",
                                              "FEATUREFORGE_TERMINATION_MESSAGE_PATH",
                                              "FF_TERMINATION_MESSAGE_PATH",
                                              "FEATUREFORGE_ATTEMPT",
                                              "FEATUREFORGE_REPO"};
  return names;
}

v1::TaskResult Failure(v1::TaskResult result, int exit_code, const std::string& error) {
  result.set_ok(false);
  result.set_exit_code(exit_code);
  result.set_error(error);
  result.set_finished_unix_ms(NowUnixMs());
  return result;
}

// Why the task must stop now, or "" to go on.
std::string StopReason(const v1::Task& task, const TaskControl& control) {
  if (control.stopped()) return control.reason();
  if (task.deadline_unix_ms() > 0 && NowUnixMs() >= task.deadline_unix_ms()) {
    return "deadline passed (task deadline " + std::to_string(task.deadline_unix_ms()) +
           " unix ms)";
  }
  return "";
}

v1::TaskResult RunNoop(const v1::Task& task, TaskControl& control, v1::TaskResult result) {
  const v1::NoopTask& noop = task.spec().noop();
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(noop.sleep_ms());
  while (std::chrono::steady_clock::now() < until) {
    if (std::string why = StopReason(task, control); !why.empty()) {
      return Failure(std::move(result), 1, why);
    }
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(
        kPollInterval, until - std::chrono::steady_clock::now()));
  }
  if (noop.fail()) return Failure(std::move(result), 1, "noop task failed as asked (fail=true)");
  result.set_ok(true);
  result.set_exit_code(0);
  result.set_finished_unix_ms(NowUnixMs());
  return result;
}

// Checks that a repo file name stays inside the repo folder.
Status CheckRelativePath(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("repo_files has an empty path");
  if (path[0] == '/') return Status::InvalidArgument("repo_files path '" + path + "' is absolute");
  for (const auto& part : fs::path(path)) {
    if (part == "..") {
      return Status::InvalidArgument("repo_files path '" + path + "' leaves the repo (..)");
    }
  }
  return Status::OK();
}

Status WriteRepo(const google::protobuf::Map<std::string, std::string>& files,
                 const fs::path& repo) {
  for (const auto& [relative, content] : files) {
    FF_RETURN_IF_ERROR(CheckRelativePath(relative));
    const fs::path target = repo / relative;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec)
      return Status::IOError("cannot create " + target.parent_path().string() + ": " +
                             ec.message());
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) return Status::IOError("cannot write " + target.string());
  }
  return Status::OK();
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Tail(const std::string& text, size_t max) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

std::vector<std::string> ExecutorArgs(const TaskRunnerOptions& options,
                                      const v1::MaterializePartition& spec, const fs::path& repo,
                                      const fs::path& message_path) {
  std::vector<std::string> args = {options.executable, "--repo",
                                   repo.string(),      "executor",
                                   "--mode",           spec.mode().empty() ? "range" : spec.mode()};
  if (!spec.start().empty()) args.insert(args.end(), {"--start", spec.start()});
  args.insert(args.end(), {"--end", spec.end()});
  const int count = spec.partition_count() > 0 ? spec.partition_count() : 1;
  args.insert(args.end(), {"--partition",
                           std::to_string(spec.partition_index()) + "/" + std::to_string(count)});
  if (spec.feature_views_size() > 0) {
    std::string views;
    for (const auto& v : spec.feature_views()) views += (views.empty() ? "" : ",") + v;
    args.insert(args.end(), {"--views", views});
  }
  if (spec.chunk_size() > 0)
    args.insert(args.end(), {"--chunk-size", std::to_string(spec.chunk_size())});
  if (!spec.event_log_uri().empty())
    args.insert(args.end(), {"--event-log-uri", spec.event_log_uri()});
  if (!spec.run_id().empty()) args.insert(args.end(), {"--run-id", spec.run_id()});
  args.insert(args.end(), {"--termination-message-path", message_path.string()});
  return args;
}

std::vector<std::string> ExecutorEnv(const v1::Task& task) {
  const v1::MaterializePartition& spec = task.spec().materialize();
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    if (ScrubbedEnv().count(name) == 0 && spec.env().count(name) == 0) env.push_back(entry);
  }
  for (const auto& [name, value] : spec.env()) {
    if (name != "FEATUREFORGE_ATTEMPT") env.push_back(name + "=" + value);
  }
  env.push_back("FEATUREFORGE_ATTEMPT=" + std::to_string(spec.attempt() > 0 ? spec.attempt() : 1));
  env.push_back("FEATUREFORGE_TASK_ID=" + task.task_id());
  env.push_back("FEATUREFORGE_LEASE_COUNT=" + std::to_string(task.lease_count()));
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Forks and execs; the child gets its own process group (so a kill reaches its children), an
// empty signal mask (the worker blocks SIGTERM for its signal thread) and the log as output.
Result<pid_t> Spawn(std::vector<std::string> args, std::vector<std::string> env,
                    const fs::path& log_path) {
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return Status::IOError("cannot open " + log_path.string() + ": " + std::strerror(errno));
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  std::vector<char*> argv = CStrings(args);
  std::vector<char*> envp = CStrings(env);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return Status::IOError(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0);
    // The executor dies with its worker (kill -9, OOM): a task the head hands to another worker
    // must not keep running here. The forking thread supervises the child until it exits.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the worker died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    const char* msg = "featureforge worker: exec of the executor failed\n";
    (void)!write(STDERR_FILENO, msg, std::strlen(msg));
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent: no window where a kill misses the group
  close(log_fd);
  if (null_fd >= 0) close(null_fd);
  return pid;
}

// Waits for the child; stops it (SIGTERM, then SIGKILL after kill_grace) when the task must
// stop. Returns the wait status and the stop reason ("" when it ended by itself).
std::pair<int, std::string> Supervise(pid_t pid, const v1::Task& task,
                                      const TaskRunnerOptions& options, TaskControl& control) {
  int status = 0;
  std::string stop_reason;
  auto kill_at = std::chrono::steady_clock::time_point::max();
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) break;
    if (stop_reason.empty()) {
      stop_reason = StopReason(task, control);
      if (!stop_reason.empty()) {
        killpg(pid, SIGTERM);
        kill_at = std::chrono::steady_clock::now() + options.kill_grace;
      }
    } else if (std::chrono::steady_clock::now() >= kill_at) {
      killpg(pid, SIGKILL);
      kill_at = std::chrono::steady_clock::time_point::max();
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  killpg(pid, SIGKILL);  // grandchildren the executor may have left behind
  return {status, stop_reason};
}

v1::TaskResult RunMaterialize(const v1::Task& task, const TaskRunnerOptions& options,
                              TaskControl& control, v1::TaskResult result) {
  const v1::MaterializePartition& spec = task.spec().materialize();
  std::string base = options.work_dir;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  }
  std::string pattern = base + "/ff-task-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    return Failure(std::move(result), 1,
                   "cannot create a task folder under " + base + ": " + std::strerror(errno));
  }
  const fs::path dir = pattern;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};

  const fs::path repo = dir / "repo";
  if (Status written = WriteRepo(spec.repo_files(), repo); !written.ok()) {
    return Failure(std::move(result), 2, written.ToString());
  }
  const fs::path message_path = dir / "termination-message.json";
  const fs::path log_path = dir / "executor.log";
  auto pid = Spawn(ExecutorArgs(options, spec, repo, message_path), ExecutorEnv(task), log_path);
  if (!pid.ok()) return Failure(std::move(result), 1, pid.status().ToString());

  auto [status, stop_reason] = Supervise(*pid, task, options, control);
  result.set_result_json(ReadText(message_path));
  result.set_finished_unix_ms(NowUnixMs());
  const int exit_code = WIFEXITED(status)     ? WEXITSTATUS(status)
                        : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                              : 1;
  result.set_exit_code(exit_code);
  if (!stop_reason.empty()) {
    result.set_ok(false);
    result.set_error("stopped: " + stop_reason);
    return result;
  }
  if (exit_code == 0) {
    result.set_ok(true);
    return result;
  }
  result.set_ok(false);
  std::string error;
  try {
    auto message = nlohmann::json::parse(result.result_json());
    error = message.value("error", "");
  } catch (const std::exception&) {
    // No (or a partial) termination message: the log says what happened.
  }
  if (error.empty())
    error =
        "executor exited with " + std::to_string(exit_code) + ": " + Tail(ReadText(log_path), 2000);
  result.set_error(error);
  return result;
}

}  // namespace

void TaskControl::Stop(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_.load()) return;
  reason_ = reason;
  stopped_.store(true);
}

std::string TaskControl::reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reason_;
}

v1::TaskResult RunTask(const v1::Task& task, const TaskRunnerOptions& options,
                       TaskControl& control) {
  v1::TaskResult result;
  result.set_started_unix_ms(NowUnixMs());
  try {
    switch (task.spec().kind_case()) {
      case v1::TaskSpec::kNoop:
        return RunNoop(task, control, std::move(result));
      case v1::TaskSpec::kMaterialize:
        return RunMaterialize(task, options, control, std::move(result));
      default:
        return Failure(std::move(result), 2,
                       "not supported: task " + task.task_id() + " has no known spec kind");
    }
  } catch (const std::exception& e) {
    return Failure(std::move(result), 1, std::string("worker error running the task: ") + e.what());
  }
}

}  // namespace featureforge::cluster
