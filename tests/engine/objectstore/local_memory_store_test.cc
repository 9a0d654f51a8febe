// The local-file and in-memory stores, the URI helpers and the scheme registry.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "featureforge/objectstore/local_store.h"
#include "featureforge/objectstore/memory_store.h"
#include "featureforge/objectstore/object_store.h"

namespace featureforge {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ff-objectstore-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ObjectUriTest, ParsesSchemesBucketsAndPaths) {
  auto s3 = ParseObjectUri("s3://bucket/a/b.parquet");
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  EXPECT_EQ(s3->scheme, "s3");
  EXPECT_EQ(s3->authority, "bucket");
  EXPECT_EQ(s3->path, "a/b.parquet");

  auto file = ParseObjectUri("FILE:///tmp/x");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->scheme, "file");
  EXPECT_EQ(file->path, "/tmp/x");

  auto plain = ParseObjectUri("data/x.csv");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->scheme, "");
  EXPECT_EQ(plain->path, "data/x.csv");

  EXPECT_EQ(ParseObjectUri("s3:///key").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseObjectUri("file://otherhost/x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseObjectUri("").status().code(), StatusCode::kInvalidArgument);
}

TEST(ObjectUriTest, JoinPutsExactlyOneSlash) {
  EXPECT_EQ(JoinObjectUri("s3://b/logs", "x.jsonl"), "s3://b/logs/x.jsonl");
  EXPECT_EQ(JoinObjectUri("s3://b/logs/", "/x.jsonl"), "s3://b/logs/x.jsonl");
  EXPECT_EQ(JoinObjectUri("/tmp", ".keep"), "/tmp/.keep");
  EXPECT_TRUE(IsLocalObjectUri("/tmp/a"));
  EXPECT_TRUE(IsLocalObjectUri("file:///tmp/a"));
  EXPECT_FALSE(IsLocalObjectUri("s3://b/a"));
}

TEST(OpenObjectStoreTest, ChoosesByScheme) {
  auto local = OpenObjectStore("/tmp/anything");
  ASSERT_TRUE(local.ok());
  EXPECT_NE(dynamic_cast<LocalObjectStore*>(local->get()), nullptr);
  auto file = OpenObjectStore("file:///tmp/anything");
  ASSERT_TRUE(file.ok());
  EXPECT_NE(dynamic_cast<LocalObjectStore*>(file->get()), nullptr);
  auto mem = OpenObjectStore("mem://bucket/k");
  ASSERT_TRUE(mem.ok());
  EXPECT_EQ(mem->get(), SharedMemoryObjectStore().get());

  auto unknown = OpenObjectStore("gs://bucket/k");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotSupported);
  EXPECT_NE(unknown.status().message().find("gs://"), std::string::npos);
}

TEST(OpenObjectStoreTest, RegisteredSchemeIsUsed) {
  auto custom = std::make_shared<MemoryObjectStore>();
  RegisterObjectStoreScheme("test-custom", [custom](const std::string&) {
    return Result<std::shared_ptr<ObjectStore>>(std::shared_ptr<ObjectStore>(custom));
  });
  auto store = OpenObjectStore("test-custom://b/k");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put("test-custom://b/k", "v").ok());
  EXPECT_EQ(custom->size(), 1u);
}

TEST(OpenObjectStoreTest, S3WithoutCredentialsNamesTheVariables) {
  const char* saved_id = std::getenv("AWS_ACCESS_KEY_ID");
  std::string saved = saved_id ? saved_id : "";
  ::unsetenv("AWS_ACCESS_KEY_ID");
  auto store = OpenObjectStore("s3://bucket/key");
  if (!saved.empty()) ::setenv("AWS_ACCESS_KEY_ID", saved.c_str(), 1);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(store.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_NE(store.status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

// The same behaviour is expected of every store; each test runs against local and memory.
class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "local") {
      store_ = std::make_shared<LocalObjectStore>();
      root_ = dir_.path() + "/store";
    } else {
      store_ = std::make_shared<MemoryObjectStore>();
      root_ = "mem://bucket/store";
    }
  }
  std::string Uri(const std::string& name) const { return JoinObjectUri(root_, name); }

  TempDir dir_;
  std::shared_ptr<ObjectStore> store_;
  std::string root_;
};

TEST_P(StoreContractTest, PutGetRoundTripsBytes) {
  std::string data("binary\0data\xff", 12);
  ASSERT_TRUE(store_->Put(Uri("a/b/object.bin"), data).ok());
  auto got = store_->Get(Uri("a/b/object.bin"));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, data);
  ASSERT_TRUE(store_->Put(Uri("a/b/object.bin"), "replaced").ok());
  EXPECT_EQ(*store_->Get(Uri("a/b/object.bin")), "replaced");
  ASSERT_TRUE(store_->Put(Uri("empty"), "").ok());
  EXPECT_EQ(*store_->Get(Uri("empty")), "");
}

TEST_P(StoreContractTest, MissingObjectIsNotFoundNamingIt) {
  auto got = store_->Get(Uri("missing.txt"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kNotFound);
  EXPECT_NE(got.status().message().find("missing.txt"), std::string::npos);
  EXPECT_EQ(store_->GetToFile(Uri("missing.txt"), dir_ / "out").code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  auto exists = store_->Exists(Uri("missing.txt"));
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(*exists);
}

TEST_P(StoreContractTest, FilesInAndOut) {
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  std::ofstream(dir_ / "in.bin", std::ios::binary) << big;
  ASSERT_TRUE(store_->PutFile(Uri("big.bin"), dir_ / "in.bin").ok());
  ASSERT_TRUE(store_->GetToFile(Uri("big.bin"), dir_ / "nested/out.bin").ok());
  EXPECT_EQ(ReadFile(dir_ / "nested/out.bin"), big);
  EXPECT_EQ(store_->PutFile(Uri("x"), dir_ / "no-such-file").code(), StatusCode::kIOError);
}

TEST_P(StoreContractTest, ListIsAStringPrefixAndSorted) {
  for (std::string name : {"runs/2024-02.jsonl", "runs/2024-01.jsonl", "runs/sub/x", "other/y"}) {
    ASSERT_TRUE(store_->Put(Uri(name), name).ok());
  }
  auto all = store_->List(Uri("runs/"));
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(*all, (std::vector<std::string>{Uri("runs/2024-01.jsonl"), Uri("runs/2024-02.jsonl"),
                                            Uri("runs/sub/x")}));
  auto partial = store_->List(Uri("runs/2024-0"));
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->size(), 2u);
  auto none = store_->List(Uri("nothing-here/"));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // Listed URIs can be read back as they are.
  EXPECT_EQ(*store_->Get((*all)[2]), "runs/sub/x");
}

TEST_P(StoreContractTest, DeleteIsIdempotent) {
  ASSERT_TRUE(store_->Put(Uri("d"), "1").ok());
  EXPECT_TRUE(*store_->Exists(Uri("d")));
  ASSERT_TRUE(store_->Delete(Uri("d")).ok());
  EXPECT_FALSE(*store_->Exists(Uri("d")));
  EXPECT_TRUE(store_->Delete(Uri("d")).ok());
}

TEST_P(StoreContractTest, VersionsChangeOnEveryWrite) {
  auto missing = store_->CurrentVersion(Uri("v"));
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(store_->GetVersioned(Uri("v")).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(store_->Put(Uri("v"), "one").ok());
  auto first = store_->GetVersioned(Uri("v"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->data, "one");
  EXPECT_EQ(**store_->CurrentVersion(Uri("v")), first->version);
  ASSERT_TRUE(store_->Put(Uri("v"), "two").ok());  // same size: the version still changes
  auto second = store_->GetVersioned(Uri("v"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->data, "two");
  EXPECT_NE(second->version, first->version);
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContractTest, ::testing::Values("local", "memory"));

TEST(LocalObjectStoreTest, WritesLeaveNoTempFilesAndAcceptFileUris) {
  TempDir dir;
  LocalObjectStore store;
  std::string uri = "file://" + (dir / "x/y.txt");
  ASSERT_TRUE(store.Put(uri, "hello").ok());
  EXPECT_EQ(ReadFile(dir / "x/y.txt"), "hello");
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
    if (entry.is_regular_file()) ++files;
  }
  EXPECT_EQ(files, 1u);
  auto listed = store.List("file://" + (dir / "x/"));
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, std::vector<std::string>{uri});
}

TEST(LocalObjectStoreTest, ConcurrentWritersNeverLeaveAMixedFile) {
  TempDir dir;
  LocalObjectStore store;
  const std::string path = dir / "contended";
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      std::string data(256 * 1024, static_cast<char>('a' + w));
      for (int i = 0; i < 10; ++i) ASSERT_TRUE(store.Put(path, data).ok());
    });
  }
  for (auto& t : writers) t.join();
  std::string final_data = ReadFile(path);
  ASSERT_EQ(final_data.size(), 256u * 1024);
  EXPECT_EQ(final_data.find_first_not_of(final_data[0]), std::string::npos);
}

TEST(LocalObjectStoreTest, FolderIsNotAnObject) {
  TempDir dir;
  LocalObjectStore store;
  EXPECT_EQ(store.Get(dir.path()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Delete(dir.path()).code(), StatusCode::kInvalidArgument);
}

TEST(MemoryObjectStoreTest, SharedInstanceSeesWritesThroughOpen) {
  auto store = OpenObjectStore("mem://shared-test/k");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put("mem://shared-test/k", "v").ok());
  EXPECT_EQ(*SharedMemoryObjectStore()->Get("mem://shared-test/k"), "v");
  ASSERT_TRUE(SharedMemoryObjectStore()->Delete("mem://shared-test/k").ok());
}

}  // namespace
}  // namespace featureforge

namespace featureforge {
namespace {

TEST(MemoryObjectStoreTest, PutIfVersionIsACompareAndSwap) {
  MemoryObjectStore store;
  const std::string uri = "mem://b/cas";
  auto created = store.PutIfVersion(uri, "v1", "");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  // Create-if-absent fails once it exists.
  auto again = store.PutIfVersion(uri, "other", "");
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_NE(again.status().message().find(uri), std::string::npos);
  // Replace-if-unchanged succeeds once per version.
  auto replaced = store.PutIfVersion(uri, "v2", *created);
  ASSERT_TRUE(replaced.ok());
  EXPECT_NE(*replaced, *created);
  EXPECT_EQ(store.PutIfVersion(uri, "stale", *created).status().code(), StatusCode::kConflict);
  EXPECT_EQ(*store.Get(uri), "v2");
  // A deleted object no longer matches any version.
  ASSERT_TRUE(store.Delete(uri).ok());
  EXPECT_EQ(store.PutIfVersion(uri, "gone", *replaced).status().code(), StatusCode::kConflict);
}

TEST(LocalObjectStoreTest, ConditionalWritesAreNotSupported) {
  LocalObjectStore store;
  auto result = store.PutIfVersion("/tmp/ff-never-written", "x", "");
  EXPECT_EQ(result.status().code(), StatusCode::kNotSupported);
  EXPECT_FALSE(fs::exists("/tmp/ff-never-written"));
}

}  // namespace
}  // namespace featureforge
