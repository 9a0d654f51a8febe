// A feature repo written to a fresh temp folder, removed when the test ends.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace featureforge::testing {

class TempRepo {
 public:
  TempRepo() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ff_repo_XXXXXX").string();
    root_ = mkdtemp(pattern.data());
  }
  ~TempRepo() {
    std::error_code error;
    std::filesystem::remove_all(root_, error);
  }
  TempRepo(const TempRepo&) = delete;
  TempRepo& operator=(const TempRepo&) = delete;

  // Writes `content` to `relative` (parent folders created).
  void Write(const std::string& relative, const std::string& content) const {
    std::filesystem::path path = root_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << content;
  }
  std::string root() const { return root_.string(); }
  std::string Path(const std::string& relative) const { return (root_ / relative).string(); }

 private:
  std::filesystem::path root_;
};

}  // namespace featureforge::testing
