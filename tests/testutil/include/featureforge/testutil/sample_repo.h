// The sample feature repo (examples/driver_ranking) as a test fixture: copied into a temp
// folder with freshly generated data, the way the CLI and feature server end-to-end tests use
// it.
#pragma once

#include <cstdint>
#include <string>

namespace featureforge::testutil {

struct SampleRepoOptions {
  int drivers = 40;
  int days = 4;
  // Last hour of generated data (Unix seconds); 0: the start of the current UTC hour.
  int64_t end_unix_seconds = 0;
};

struct SampleRepo {
  std::string dir;               // the repo folder
  int64_t end_unix_seconds = 0;  // last hour of the generated data
  std::string error;             // empty on success; else what failed, with the tool's output
  std::string end_iso() const;   // "2026-01-10T12:00:00Z"
};

// Copies <source>/examples/driver_ranking to `dir` (which must not exist yet) without its
// data/, then runs <build>/examples/ff-sample-data --repo dir --drivers N --days D --end E.
// Assert that `error` is empty.
SampleRepo CreateSampleRepo(const std::string& dir, const SampleRepoOptions& options = {});

}  // namespace featureforge::testutil
