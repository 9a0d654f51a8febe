// Progress of long work: a live line (rows, rate, ETA) when stderr is a terminal, periodic
// structured log lines otherwise (so executor pod logs stay readable).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace featureforge::worker {

class ProgressReporter {
 public:
  // `what` names the work, e.g. "materialize driver_hourly_stats".
  explicit ProgressReporter(std::string what);
  ~ProgressReporter();

  // rows_total < 0 when unknown. Cheap to call per chunk: output is rate limited.
  void Update(int64_t rows_done, int64_t rows_total);
  // Prints the final line (rows, elapsed, rate).
  void Finish(int64_t rows_done);

 private:
  void Emit(int64_t rows_done, int64_t rows_total, bool final_line);

  std::string what_;
  bool terminal_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_emit_;
};

}  // namespace featureforge::worker
