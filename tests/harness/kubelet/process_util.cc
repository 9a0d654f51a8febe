#include "process_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace ffharness::kubelet {
namespace {

using featureforge::Result;
using featureforge::Status;

std::string Repository(const std::string& image) {
  std::string repo = image.substr(0, image.find('@'));
  size_t slash = repo.rfind('/');
  size_t colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
    repo = repo.substr(0, colon);
  return repo;
}

std::string FindInPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    std::string dir =
        dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return "";
}

int ConnectWithTimeout(const std::string& host, int port, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return -1;
  }
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof(err);
    if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
        err != 0) {
      close(fd);
      return -1;
    }
  } else if (rc != 0) {
    close(fd);
    return -1;
  }
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

int ResolvePort(const json& port, const json& container) {
  if (port.is_number_integer()) return port.get<int>();
  if (port.is_string()) {
    std::string name = port.get<std::string>();
    for (const auto& p : container.value("ports", json::array())) {
      if (p.value("name", "") == name) return p.value("containerPort", 0);
    }
    try {
      return std::stoi(name);
    } catch (const std::exception&) {
    }
  }
  return 0;
}

}  // namespace

std::string CheckImage(const RuntimeConfig& config, const std::string& image) {
  if (image.empty()) return "the container has no image";
  std::string repo = Repository(image);
  std::string last = repo.substr(repo.rfind('/') == std::string::npos ? 0 : repo.rfind('/') + 1);
  for (const auto& prefix : config.image_prefixes) {
    if (repo.rfind(prefix, 0) == 0 || last.rfind(prefix, 0) == 0) return "";
  }
  std::string allowed;
  for (const auto& p : config.image_prefixes) allowed += (allowed.empty() ? "" : ", ") + p + "*";
  return "image \"" + image +
         "\" is not a featureforge image; the process kubelet only runs images matching " + allowed;
}

std::string ExpandVariables(const std::string& text,
                            const std::map<std::string, std::string>& env) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '$') {
      out.push_back('$');
      ++i;
    } else if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '(') {
      size_t close = text.find(')', i + 2);
      if (close == std::string::npos) {
        out += text.substr(i);
        break;
      }
      std::string name = text.substr(i + 2, close - i - 2);
      auto it = env.find(name);
      out += it != env.end() ? it->second : text.substr(i, close - i + 1);
      i = close;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

Result<std::vector<std::string>> ResolveArgv(const RuntimeConfig& config, const json& container,
                                             const std::map<std::string, std::string>& env) {
  std::string name = container.value("name", "");
  std::vector<std::string> argv;
  for (const auto& part : container.value("command", json::array()))
    argv.push_back(ExpandVariables(part.get<std::string>(), env));
  if (argv.empty()) {  // the image's entrypoint: its repository's last path part
    std::string repo = Repository(container.value("image", ""));
    argv.push_back(repo.substr(repo.rfind('/') == std::string::npos ? 0 : repo.rfind('/') + 1));
  }
  for (const auto& part : container.value("args", json::array()))
    argv.push_back(ExpandVariables(part.get<std::string>(), env));
  std::string program = argv[0];
  std::string base =
      program.substr(program.rfind('/') == std::string::npos ? 0 : program.rfind('/') + 1);
  bool project_binary = base.rfind("featureforge", 0) == 0;
  auto binary = config.binaries.find(base);
  if (binary != config.binaries.end() || project_binary) {
    if (binary == config.binaries.end()) {
      return Status::FailedPrecondition(
          "container \"" + name + "\": command \"" + base +
          "\" cannot run: the process kubelet was started without --binary " + base + "=PATH");
    }
    if (access(binary->second.c_str(), X_OK) != 0) {
      return Status::NotFound("container \"" + name + "\": the " + base + " binary " +
                              binary->second + " does not exist or is not executable");
    }
    argv[0] = binary->second;
    return argv;
  }
  bool allowed = false;
  for (const auto& a : config.allowed_commands)
    allowed |= (a == base && (program == base || program.rfind("/", 0) == 0));
  if (!allowed) {
    std::string list;
    for (const auto& [b, path] : config.binaries) list += (list.empty() ? "" : ", ") + b;
    for (const auto& a : config.allowed_commands) list += (list.empty() ? "" : ", ") + a;
    return Status::InvalidArgument("container \"" + name + "\": command \"" + program +
                                   "\" is not allowed by the process kubelet (allowed: " + list +
                                   ")");
  }
  std::string resolved = FindInPath(program);
  if (resolved.empty())
    return Status::NotFound("container \"" + name + "\": executable \"" + program +
                            "\" not found in $PATH");
  argv[0] = resolved;
  return argv;
}

Result<pid_t> SpawnProcess(const std::vector<std::string>& argv,
                           const std::map<std::string, std::string>& env,
                           const std::string& working_dir, const std::string& log_path) {
  std::error_code ec;
  std::filesystem::create_directories(working_dir, ec);
  if (ec) return Status::IOError("cannot create working dir " + working_dir + ": " + ec.message());
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return Status::IOError("cannot open log " + log_path);
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    close(log);
    return Status::IOError("fork failed");
  }
  if (pid == 0) {
    setpgid(0, 0);
    // The kubelet blocks SIGTERM/SIGINT for its signal thread; a container starts with an
    // empty mask, as under a real runtime, so deleting its pod stops it.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int null_in = open("/dev/null", O_RDONLY);
    dup2(null_in, 0);
    dup2(log, 1);
    dup2(log, 2);
    if (chdir(working_dir.c_str()) != 0) _exit(126);
    execve(args[0], args.data(), envp.data());
    const char* msg = "process kubelet: exec failed\n";
    ssize_t ignored = write(2, msg, strlen(msg));
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);
  close(log);
  return pid;
}

bool RunProbe(const json& probe, const json& container, const std::string& pod_ip,
              const std::map<std::string, std::string>& env, const std::string& working_dir) {
  int timeout_ms = probe.value("timeoutSeconds", 1) * 1000;
  if (probe.contains("httpGet")) {
    const json& h = probe["httpGet"];
    std::string host = h.value("host", pod_ip);
    int port = ResolvePort(h.value("port", json()), container);
    int fd = ConnectWithTimeout(host, port, timeout_ms);
    if (fd < 0) return false;
    std::string request = "GET " + h.value("path", "/") + " HTTP/1.0\r\nHost: " + host + ":" +
                          std::to_string(port) + "\r\nUser-Agent: ff-kubelet-probe\r\n";
    for (const auto& header : h.value("httpHeaders", json::array())) {
      request += header.value("name", "") + ": " + header.value("value", "") + "\r\n";
    }
    request += "\r\n";
    bool ok = send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
              static_cast<ssize_t>(request.size());
    char buf[64] = {0};
    ssize_t n = ok ? recv(fd, buf, sizeof(buf) - 1, 0) : -1;
    close(fd);
    if (n < 12) return false;
    int code = std::atoi(buf + 9);
    return code >= 200 && code < 400;
  }
  if (probe.contains("tcpSocket")) {
    std::string host = probe["tcpSocket"].value("host", pod_ip);
    int fd = ConnectWithTimeout(
        host, ResolvePort(probe["tcpSocket"].value("port", json()), container), timeout_ms);
    if (fd < 0) return false;
    close(fd);
    return true;
  }
  if (probe.contains("exec")) {
    std::vector<std::string> argv;
    for (const auto& a : probe["exec"].value("command", json::array()))
      argv.push_back(ExpandVariables(a.get<std::string>(), env));
    if (argv.empty()) return false;
    std::string program = FindInPath(argv[0]);
    if (program.empty()) return false;
    argv[0] = program;
    auto pid = SpawnProcess(argv, env, working_dir, "/dev/null");
    if (!pid.ok()) return false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int status = 0;
    while (waitpid(*pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(-*pid, SIGKILL);
        waitpid(*pid, &status, 0);
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return true;
}

std::string ReadTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  std::streamoff size = in.tellg();
  std::streamoff start = size > static_cast<std::streamoff>(max_bytes)
                             ? size - static_cast<std::streamoff>(max_bytes)
                             : 0;
  in.seekg(start);
  std::string out(static_cast<size_t>(size - start), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

}  // namespace ffharness::kubelet
