#include "measured_process.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace featureforge::bench {

Measurement RunMeasured(const std::vector<std::string>& argv) {
  Measurement m;
  char tmpl[] = "/tmp/ff-bench-out-XXXXXX";
  int out_fd = mkstemp(tmpl);
  if (out_fd < 0) return m;
  unlink(tmpl);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::perror("exec");
    _exit(127);
  }
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  m.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  m.user_seconds = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6;
  m.sys_seconds = usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  m.max_rss_kib = usage.ru_maxrss;
  lseek(out_fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = read(out_fd, buf, sizeof(buf))) > 0) m.output.append(buf, static_cast<size_t>(n));
  close(out_fd);
  return m;
}

}  // namespace featureforge::bench
