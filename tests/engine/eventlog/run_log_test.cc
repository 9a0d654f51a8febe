// MaterializationRunLog: the events every materialization entry point writes (.keep first, run
// start, a start and an end per view with counts, run end or error), and the URI / run id
// helpers.
#include "featureforge/eventlog/run_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "featureforge/objectstore/memory_store.h"

namespace featureforge {
namespace {

using json = nlohmann::json;

const TimestampMicros kT0 = 1'700'000'000LL * kMicrosPerSecond;

class OrderRecordingStore : public MemoryObjectStore {
 public:
  Status Put(const std::string& uri, std::string_view data) override {
    puts.push_back(uri);
    return MemoryObjectStore::Put(uri, data);
  }
  std::vector<std::string> puts;
};

std::vector<json> Lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

struct Fixture {
  std::shared_ptr<OrderRecordingStore> store = std::make_shared<OrderRecordingStore>();
  ManualClock clock{kT0};
  EventLogOptions Options() {
    EventLogOptions options;
    options.store = store;
    options.clock = &clock;
    return options;
  }
};

TEST(MaterializationRunLogTest, LogsRunAndEveryViewWithCounts) {
  Fixture f;
  auto run = MaterializationRunLog::Open("mem://logs/p", "run-1", f.Options());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_TRUE((*run)->enabled());
  ASSERT_EQ(f.store->puts, std::vector<std::string>{"mem://logs/p/.keep"});

  store::MaterializeRequest request;
  request.start = kT0 - 3600 * kMicrosPerSecond;
  request.end = kT0;
  request.views = {"a", "b"};
  int inner_calls = 0;
  request.progress = [&](const std::string&) -> store::ProgressCallback {
    ++inner_calls;
    return {};
  };
  (*run)->Begin(&request);
  // What the engine does: ask each view's progress callback as the view begins.
  (void)request.progress("a");
  f.clock.Advance(2 * kMicrosPerSecond);
  (void)request.progress("b");
  EXPECT_EQ(inner_calls, 2);  // the caller's own progress still runs

  store::MaterializeResult result;
  result.views.push_back({"a", request.start, request.end, 10, 8, 2, true, "", 1.5});
  result.views.push_back(
      {"b", request.start, request.end, 0, 0, 0, true, "no rows in window", 0.1});
  f.clock.Advance(kMicrosPerSecond);
  ASSERT_TRUE((*run)->Succeeded(result).ok());

  auto lines = Lines(*f.store->Get("mem://logs/p/run-1.jsonl"));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0]["stage"], "run");
  EXPECT_EQ(lines[0]["event"], "start");
  EXPECT_NE(lines[0]["message"].get<std::string>().find("views=a,b"), std::string::npos);
  EXPECT_EQ(lines[1]["stage"], "materialize:a");
  EXPECT_EQ(lines[1]["event"], "start");
  EXPECT_EQ(lines[2]["stage"], "materialize:b");
  EXPECT_EQ(lines[3]["stage"], "materialize:a");
  EXPECT_EQ(lines[3]["event"], "end");
  EXPECT_EQ(lines[3]["rows"], 8);
  EXPECT_DOUBLE_EQ(lines[3]["seconds"].get<double>(), 1.5);
  EXPECT_EQ(lines[3]["counts"],
            json({{"rows_read", 10}, {"rows_written", 8}, {"rows_skipped_stale", 2}}));
  EXPECT_EQ(lines[4]["message"], "no rows in window");
  EXPECT_EQ(lines[5]["stage"], "run");
  EXPECT_EQ(lines[5]["event"], "end");
  EXPECT_EQ(lines[5]["rows"], 8);
  EXPECT_DOUBLE_EQ(lines[5]["seconds"].get<double>(), 3.0);
  EXPECT_EQ(lines[5]["counts"]["rows_read"], 10);
  EXPECT_EQ(lines[5]["message"], "b: no rows in window");
  EXPECT_TRUE(lines[5]["bytes"].is_null());
}

TEST(MaterializationRunLogTest, FailureNamesTheRunningView) {
  Fixture f;
  auto run = MaterializationRunLog::Open("mem://logs/p", "run-2", f.Options());
  ASSERT_TRUE(run.ok());
  store::MaterializeRequest request;
  request.incremental = true;
  (*run)->Begin(&request, "custom description");
  (void)request.progress("v");
  ASSERT_TRUE((*run)->Failed(Status::Unavailable("redis down")).ok());
  auto lines = Lines(*f.store->Get("mem://logs/p/run-2.jsonl"));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0]["message"], "custom description");
  EXPECT_EQ(lines[2]["stage"], "materialize:v");
  EXPECT_EQ(lines[2]["event"], "error");
  EXPECT_NE(lines[2]["message"].get<std::string>().find("redis down"), std::string::npos);
  EXPECT_EQ(lines[3]["stage"], "run");
  EXPECT_EQ(lines[3]["event"], "error");
}

TEST(MaterializationRunLogTest, FailureBeforeAnyViewIsTheRunsError) {
  Fixture f;
  auto run = MaterializationRunLog::Open("mem://logs/p", "run-3", f.Options());
  ASSERT_TRUE(run.ok());
  store::MaterializeRequest request;
  (*run)->Begin(&request);
  ASSERT_TRUE((*run)->Failed(Status::InvalidArgument("defs.yaml:3: bad")).ok());
  auto lines = Lines(*f.store->Get("mem://logs/p/run-3.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["stage"], "run");
  EXPECT_EQ(lines[1]["event"], "error");
}

TEST(MaterializationRunLogTest, WithoutPrefixNothingIsWritten) {
  auto run = MaterializationRunLog::Open("", "run-4");
  ASSERT_TRUE(run.ok());
  EXPECT_FALSE((*run)->enabled());
  store::MaterializeRequest request;
  (*run)->Begin(&request);
  EXPECT_FALSE(request.progress);  // no hook added
  EXPECT_TRUE((*run)->Succeeded({}).ok());
  EXPECT_TRUE((*run)->Failed(Status::Internal("x")).ok());
}

TEST(MaterializationRunLogTest, BadPrefixFailsNamingIt) {
  auto run = MaterializationRunLog::Open("nosuchscheme://x/y", "run-5");
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("nosuchscheme://x/y"), std::string::npos)
      << run.status().ToString();
}

TEST(EventLogUriTest, FlagBeatsEnvironment) {
  ::unsetenv("FEATUREFORGE_EVENT_LOG_URI");
  EXPECT_EQ(ResolveEventLogUri(""), "");
  ::setenv("FEATUREFORGE_EVENT_LOG_URI", "s3://b/env", 1);
  EXPECT_EQ(ResolveEventLogUri(""), "s3://b/env");
  EXPECT_EQ(ResolveEventLogUri("/tmp/flag"), "/tmp/flag");
  ::unsetenv("FEATUREFORGE_EVENT_LOG_URI");
}

TEST(EventLogUriTest, RunIdsAreUniqueAndValidFileNames) {
  ManualClock clock(kT0);
  const std::string a = NewRunId("materialize", clock);
  const std::string b = NewRunId("materialize", clock);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("materialize-20231114T221320Z-", 0), 0u) << a;
  Fixture f;
  EXPECT_TRUE(EventLog::Open("mem://ids", a, f.Options()).ok());
}

}  // namespace
}  // namespace featureforge
