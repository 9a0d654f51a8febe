#include "featureforge/testutil/sample_repo.h"

#include <ctime>
#include <filesystem>

#include "featureforge/testutil/testutil.h"

namespace featureforge::testutil {

std::string SampleRepo::end_iso() const {
  std::time_t seconds = static_cast<std::time_t>(end_unix_seconds);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

SampleRepo CreateSampleRepo(const std::string& dir, const SampleRepoOptions& options) {
  namespace fs = std::filesystem;
  SampleRepo repo;
  repo.dir = dir;
  repo.end_unix_seconds =
      options.end_unix_seconds != 0 ? options.end_unix_seconds : std::time(nullptr) / 3600 * 3600;
  const std::string source = SourceDir() + "/examples/driver_ranking";
  std::error_code error;
  fs::copy(source, dir, fs::copy_options::recursive, error);
  if (error) {
    repo.error = "copying " + source + " to " + dir + ": " + error.message();
    return repo;
  }
  fs::remove_all(dir + "/data", error);
  ProcessResult generated = RunProcess({BuildDir() + "/examples/ff-sample-data", "--repo", dir,
                                        "--drivers", std::to_string(options.drivers), "--days",
                                        std::to_string(options.days), "--end", repo.end_iso()});
  if (generated.exit_code != 0) repo.error = "ff-sample-data failed: " + generated.Describe();
  return repo;
}

}  // namespace featureforge::testutil
