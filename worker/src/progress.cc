#include "featureforge/worker/progress.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace featureforge::worker {
namespace {
constexpr auto kTerminalInterval = std::chrono::milliseconds(200);
constexpr auto kLogInterval = std::chrono::seconds(10);

std::string FormatSeconds(double seconds) {
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof(buf), "%.1fs", seconds);
  } else {
    std::snprintf(buf, sizeof(buf), "%dm%02ds", static_cast<int>(seconds) / 60,
                  static_cast<int>(seconds) % 60);
  }
  return buf;
}
}  // namespace

ProgressReporter::ProgressReporter(std::string what)
    : what_(std::move(what)),
      terminal_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_emit_(start_) {}

ProgressReporter::~ProgressReporter() {
  if (terminal_ && !finished_) std::fputc('\n', stderr);
}

void ProgressReporter::Update(int64_t rows_done, int64_t rows_total) {
  auto now = std::chrono::steady_clock::now();
  if (now - last_emit_ < (terminal_ ? kTerminalInterval : kLogInterval)) return;
  last_emit_ = now;
  Emit(rows_done, rows_total, false);
}

void ProgressReporter::Finish(int64_t rows_done) {
  Emit(rows_done, rows_done, true);
  finished_ = true;
}

void ProgressReporter::Emit(int64_t rows_done, int64_t rows_total, bool final_line) {
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? rows_done / elapsed : 0;
  std::string eta = "?";
  if (rows_total > 0 && rate > 0 && rows_done <= rows_total) {
    eta = FormatSeconds((rows_total - rows_done) / rate);
  }
  if (terminal_) {
    if (final_line) {
      std::fprintf(stderr, "\r\033[K%s: %lld rows in %s (%.0f rows/s)\n", what_.c_str(),
                   static_cast<long long>(rows_done), FormatSeconds(elapsed).c_str(), rate);
    } else if (rows_total > 0) {
      std::fprintf(stderr, "\r\033[K%s: %lld/%lld rows (%.0f%%), %.0f rows/s, ETA %s",
                   what_.c_str(), static_cast<long long>(rows_done),
                   static_cast<long long>(rows_total), 100.0 * rows_done / rows_total, rate,
                   eta.c_str());
    } else {
      std::fprintf(stderr, "\r\033[K%s: %lld rows, %.0f rows/s", what_.c_str(),
                   static_cast<long long>(rows_done), rate);
    }
    std::fflush(stderr);
  } else {
    spdlog::info("progress what=\"{}\" rows={} total={} rows_per_s={:.0f} elapsed_s={:.1f} eta={} "
                 "done={}",
                 what_, rows_done, rows_total, rate, elapsed, eta, final_line);
  }
}

}  // namespace featureforge::worker
