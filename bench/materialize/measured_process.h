// Runs a command as a child process and reports what the kernel accounted for it: wall time,
// CPU time and peak resident memory (wait4's rusage).
#pragma once

#include <string>
#include <vector>

namespace featureforge::bench {

struct Measurement {
  int exit_code = -1;
  double wall_seconds = 0;
  double user_seconds = 0;
  double sys_seconds = 0;
  long max_rss_kib = 0;
  std::string output;  // stdout + stderr
};

// Runs argv (argv[0] is a path or found in PATH), capturing its output.
Measurement RunMeasured(const std::vector<std::string>& argv);

}  // namespace featureforge::bench
