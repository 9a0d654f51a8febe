// StageToLocal / PublishFromLocal on the in-memory store (the S3 path is the same code).
#include "featureforge/objectstore/staging.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "featureforge/objectstore/memory_store.h"

namespace featureforge {
namespace {

namespace fs = std::filesystem;

class StagingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ff-staging-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    for (std::string key : {"data/a.parquet", "data/b.parquet", "data/notes.txt", "data/.keep",
                            "data/_SUCCESS", "data/sub/c.parquet", "single.csv"}) {
      ASSERT_TRUE(store_.Put("mem://bkt/" + key, "content of " + key).ok());
    }
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string Staged(const std::string& key) const { return dir_ + "/stage/bkt/" + key; }

  MemoryObjectStore store_;
  std::string dir_;
};

TEST_F(StagingTest, SingleObject) {
  auto files = StageToLocal(store_, "mem://bkt/single.csv", dir_ + "/stage");
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(*files, std::vector<std::string>{Staged("single.csv")});
  EXPECT_EQ(Read(Staged("single.csv")), "content of single.csv");
}

TEST_F(StagingTest, FolderWithOrWithoutSlashSkipsMarkers) {
  for (std::string uri : {"mem://bkt/data/", "mem://bkt/data"}) {
    auto files = StageToLocal(store_, uri, dir_ + "/stage");
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    EXPECT_EQ(*files,
              (std::vector<std::string>{Staged("data/a.parquet"), Staged("data/b.parquet"),
                                        Staged("data/notes.txt"), Staged("data/sub/c.parquet")}))
        << uri;
  }
}

TEST_F(StagingTest, GlobMatchesWithinOneFolderLevel) {
  auto files = StageToLocal(store_, "mem://bkt/data/*.parquet", dir_ + "/stage");
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ(*files, (std::vector<std::string>{Staged("data/a.parquet"), Staged("data/b.parquet")}));
  EXPECT_EQ(Read(Staged("data/b.parquet")), "content of data/b.parquet");
}

TEST_F(StagingTest, NothingThereIsNotFound) {
  auto none = StageToLocal(store_, "mem://bkt/missing", dir_ + "/stage");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("mem://bkt/missing"), std::string::npos);
  EXPECT_EQ(StageToLocal(store_, "mem://bkt/data/*.csv", dir_).status().code(),
            StatusCode::kNotFound);
}

TEST_F(StagingTest, KeysCannotEscapeTheStagingFolder) {
  ASSERT_TRUE(store_.Put("mem://bkt/../../escape", "x").ok());
  auto files = StageToLocal(store_, "mem://bkt/../../escape", dir_ + "/stage");
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StagingTest, LocalUrisAreReturnedAsIs) {
  auto files = StageToLocal(store_, "file:///data/*.parquet", dir_);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, std::vector<std::string>{"/data/*.parquet"});
}

TEST_F(StagingTest, PublishUploadsAFileOrAFolderTree) {
  fs::create_directories(dir_ + "/out/year=2024");
  std::ofstream(dir_ + "/out/year=2024/part-0.parquet") << "p0";
  std::ofstream(dir_ + "/out/year=2024/part-1.parquet") << "p1";
  std::ofstream(dir_ + "/one.csv") << "one";
  ASSERT_TRUE(PublishFromLocal(store_, dir_ + "/out", "mem://bkt/published").ok());
  ASSERT_TRUE(PublishFromLocal(store_, dir_ + "/one.csv", "mem://bkt/one.csv").ok());
  EXPECT_EQ(*store_.Get("mem://bkt/published/year=2024/part-1.parquet"), "p1");
  EXPECT_EQ(*store_.Get("mem://bkt/one.csv"), "one");
  EXPECT_EQ(store_.List("mem://bkt/published/")->size(), 2u);
  EXPECT_FALSE(PublishFromLocal(store_, dir_ + "/absent.csv", "mem://bkt/x").ok());
}

}  // namespace
}  // namespace featureforge
