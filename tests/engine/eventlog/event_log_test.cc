// EventLog on the in-memory store (ordering, batching, reopen), on local files (flushed per
// event, thread-safe) and on a real s3rver.
#include "featureforge/eventlog/event_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "featureforge/objectstore/local_store.h"
#include "featureforge/objectstore/memory_store.h"
#include "featureforge/objectstore/s3_store.h"
#include "ff_s3_testutil/s3rver.h"

namespace featureforge {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const TimestampMicros kT0 = 1'700'000'000LL * kMicrosPerSecond;

// Remembers the order of writes, so tests can see that .keep came first.
class RecordingStore : public MemoryObjectStore {
 public:
  Status Put(const std::string& uri, std::string_view data) override {
    puts.push_back(uri);
    return MemoryObjectStore::Put(uri, data);
  }
  Result<std::string> Get(const std::string& uri) override {
    touched_before_keep |= puts.empty();
    return MemoryObjectStore::Get(uri);
  }
  std::vector<std::string> puts;
  bool touched_before_keep = false;
};

std::vector<json> ParseLines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_FALSE(line.empty());
    out.push_back(json::parse(line));  // throws (test error) if a line is not JSON
  }
  return out;
}

TEST(EventLogTest, WritesKeepFirstThenJsonLines) {
  auto store = std::make_shared<RecordingStore>();
  ManualClock clock(kT0);
  EventLogOptions options;
  options.store = store;
  options.clock = &clock;
  auto log = EventLog::Open("mem://logs/runs", "run-1", options);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_EQ(store->puts.size(), 1u);
  EXPECT_EQ(store->puts[0], "mem://logs/runs/.keep");
  EXPECT_FALSE(store->touched_before_keep);
  EXPECT_EQ(*store->Get("mem://logs/runs/.keep"), "");

  ASSERT_TRUE((*log)->Start("read_source", "s3://b/x.parquet").ok());
  clock.Advance(1'500'000);
  ASSERT_TRUE((*log)->End("read_source", 1000, 52311).ok());
  ASSERT_TRUE((*log)->Start("write_online").ok());
  ASSERT_TRUE((*log)->Error("write_online", "redis \"down\"\nat 127.0.0.1").ok());
  ASSERT_TRUE((*log)->Close().ok());

  auto lines = ParseLines(*store->Get("mem://logs/runs/run-1.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["ts"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(lines[0]["run_id"], "run-1");
  EXPECT_EQ(lines[0]["stage"], "read_source");
  EXPECT_EQ(lines[0]["event"], "start");
  EXPECT_TRUE(lines[0]["rows"].is_null());
  EXPECT_EQ(lines[0]["message"], "s3://b/x.parquet");
  EXPECT_EQ(lines[1]["event"], "end");
  EXPECT_EQ(lines[1]["rows"], 1000);
  EXPECT_EQ(lines[1]["bytes"], 52311);
  EXPECT_DOUBLE_EQ(lines[1]["seconds"].get<double>(), 1.5);
  EXPECT_EQ(lines[1]["ts"], "2023-11-14T22:13:21.500000Z");
  EXPECT_EQ(lines[3]["event"], "error");
  EXPECT_EQ(lines[3]["message"], "redis \"down\"\nat 127.0.0.1");
  // Every line carries every key, in the documented order.
  std::string first =
      EventLog::FormatEvent(RunEvent{"s", RunEventKind::kStart, {}, {}, {}, "", {}}, kT0, "r");
  EXPECT_EQ(first,
            "{\"ts\":\"2023-11-14T22:13:20Z\",\"run_id\":\"r\",\"stage\":\"s\",\"event\":\"start\","
            "\"rows\":null,\"bytes\":null,\"seconds\":null,\"message\":\"\"}");

  EXPECT_EQ((*log)->Start("late").code(), StatusCode::kFailedPrecondition);
}

TEST(EventLogTest, ObjectStoreUploadsAtMostEveryIntervalAndOnFlush) {
  auto store = std::make_shared<MemoryObjectStore>();
  ManualClock clock(kT0);
  EventLogOptions options;
  options.store = store;
  options.clock = &clock;
  options.upload_interval = 10 * kMicrosPerSecond;
  auto log = EventLog::Open("mem://b/p", "r", options);
  ASSERT_TRUE(log.ok());
  size_t puts = store->put_count();  // the .keep

  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*log)->Start("s" + std::to_string(i)).ok());
  EXPECT_EQ(store->put_count(), puts) << "within the interval nothing is uploaded";
  EXPECT_FALSE(*store->Exists("mem://b/p/r.jsonl"));

  clock.Advance(10 * kMicrosPerSecond);
  ASSERT_TRUE((*log)->Start("s5").ok());
  EXPECT_EQ(store->put_count(), puts + 1);
  EXPECT_EQ(ParseLines(*store->Get("mem://b/p/r.jsonl")).size(), 6u);

  ASSERT_TRUE((*log)->Start("s6").ok());
  EXPECT_EQ(store->put_count(), puts + 1);
  ASSERT_TRUE((*log)->Flush().ok());
  EXPECT_EQ(store->put_count(), puts + 2);
  ASSERT_TRUE((*log)->Flush().ok());
  EXPECT_EQ(store->put_count(), puts + 2) << "nothing new, nothing uploaded";
  EXPECT_EQ(ParseLines(*store->Get("mem://b/p/r.jsonl")).size(), 7u);
}

TEST(EventLogTest, ReopeningARunContinuesItsLog) {
  auto store = std::make_shared<MemoryObjectStore>();
  EventLogOptions options;
  options.store = store;
  {
    auto log = EventLog::Open("mem://b/p/", "r", options);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Start("first").ok());
  }  // the destructor closes, which uploads
  auto log = EventLog::Open("mem://b/p/", "r", options);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Start("second").ok());
  ASSERT_TRUE((*log)->Close().ok());
  auto lines = ParseLines(*store->Get("mem://b/p/r.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["stage"], "first");
  EXPECT_EQ(lines[1]["stage"], "second");
}

TEST(EventLogTest, RejectsUnsafeRunIds) {
  EventLogOptions options;
  options.store = std::make_shared<MemoryObjectStore>();
  for (std::string bad : {"", "a/b", "..", ".keep", "x y"}) {
    auto log = EventLog::Open("mem://b/p", bad, options);
    ASSERT_FALSE(log.ok()) << bad;
    EXPECT_EQ(log.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(EventLog::Open("", "r", options).status().code(), StatusCode::kInvalidArgument);
}

class LocalEventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ff-eventlog-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string dir_;
};

TEST_F(LocalEventLogTest, FreshPrefixGetsKeepAndEachEventIsOnDiskAtOnce) {
  const std::string prefix = dir_ + "/not/yet/there";
  auto log = EventLog::Open(prefix, "run-7");
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  ASSERT_TRUE(fs::exists(prefix + "/.keep"));
  EXPECT_EQ(fs::file_size(prefix + "/.keep"), 0u);
  EXPECT_EQ((*log)->log_uri(), prefix + "/run-7.jsonl");

  ASSERT_TRUE((*log)->Start("materialize").ok());
  EXPECT_EQ(ParseLines(Read(prefix + "/run-7.jsonl")).size(), 1u) << "visible without Close";
  ASSERT_TRUE((*log)->End("materialize", 10, std::nullopt, "ok").ok());
  auto lines = ParseLines(Read(prefix + "/run-7.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["rows"], 10);
  EXPECT_TRUE(lines[1]["bytes"].is_null());
  EXPECT_GE(lines[1]["seconds"].get<double>(), 0.0);
  ASSERT_TRUE((*log)->Close().ok());
}

TEST_F(LocalEventLogTest, ConcurrentAppendsKeepWholeLines) {
  auto log = EventLog::Open("file://" + dir_ + "/logs", "threads");
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        std::string stage = "t" + std::to_string(t) + "-" + std::to_string(i);
        ASSERT_TRUE((*log)->Start(stage).ok());
        ASSERT_TRUE((*log)->End(stage, i, i * 10).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE((*log)->Close().ok());
  auto lines = ParseLines(Read(dir_ + "/logs/threads.jsonl"));
  EXPECT_EQ(lines.size(), 800u);
}

TEST(S3EventLogTest, WritesKeepAndLogToS3rver) {
  auto server = testing::S3rverProcess::Start({"ff-events"});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto store = S3ObjectStore::Create((*server)->Options());
  ASSERT_TRUE(store.ok());
  EventLogOptions options;
  options.store = *store;
  auto log = EventLog::Open("s3://ff-events/jobs/driver_stats", "20240101T000000-p3", options);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto keep = (*store)->Get("s3://ff-events/jobs/driver_stats/.keep");
  ASSERT_TRUE(keep.ok()) << keep.status().ToString();
  EXPECT_EQ(*keep, "");
  ASSERT_TRUE((*log)->Start("materialize").ok());
  ASSERT_TRUE((*log)->End("materialize", 42, 4096).ok());
  ASSERT_TRUE((*log)->Close().ok());
  auto text = (*store)->Get("s3://ff-events/jobs/driver_stats/20240101T000000-p3.jsonl");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto lines = ParseLines(*text);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["rows"], 42);
  EXPECT_EQ(lines[1]["run_id"], "20240101T000000-p3");
  auto listed = (*store)->List("s3://ff-events/jobs/driver_stats/");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);
}

}  // namespace
}  // namespace featureforge
