#include "featureforge/controllers/materializationjob/job_logic.h"

#include <gtest/gtest.h>

#include "featureforge/controllers/materializationjob/cron.h"

namespace featureforge::controllers::mj {
namespace {

TimestampMicros T(const char* text) { return ParseTimestamp(text).value(); }
constexpr DurationMicros kSec = kMicrosPerSecond;

Json Job(Json spec) {
  return {{"apiVersion", "featureforge.dev/v1alpha1"},
          {"kind", "MaterializationJob"},
          {"metadata", {{"name", "daily"}, {"namespace", "ml"}, {"uid", "u1"}}},
          {"spec", spec}};
}

TEST(JobSpecTest, DefaultsAndFields) {
  auto spec = ParseJobSpec(Job({{"featureStore", "fs"},
                                {"startTime", "2024-01-01T00:00:00Z"},
                                {"endTime", "2024-01-02T00:00:00Z"},
                                {"executor", {{"partitions", 4}, {"parallelism", 2}}},
                                {"backoff", {{"initialSeconds", 1}}}}));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->partitions, 4);
  EXPECT_EQ(spec->parallelism, 2);
  EXPECT_EQ(spec->backoff_limit, 3);
  EXPECT_EQ(spec->backoff_initial_seconds, 1);
  EXPECT_EQ(spec->backoff_max_seconds, 300);
  EXPECT_FALSE(spec->incremental);
  EXPECT_EQ(*spec->end, T("2024-01-02T00:00:00Z"));
}

TEST(JobSpecTest, InvalidSpecsNameTheField) {
  auto error = [](Json spec) {
    auto parsed = ParseJobSpec(Job(spec));
    EXPECT_FALSE(parsed.ok());
    return parsed.ok() ? std::string() : parsed.status().message();
  };
  EXPECT_NE(error({{"mode", "incremental"}}).find("spec.featureStore"), std::string::npos);
  EXPECT_NE(error({{"featureStore", "fs"},
                   {"startTime", "2024-01-03T00:00:00Z"},
                   {"endTime", "2024-01-02T00:00:00Z"}})
                .find("is after spec.endTime"),
            std::string::npos);
  EXPECT_NE(error({{"featureStore", "fs"}, {"endTime", "2024-01-02T00:00:00Z"}})
                .find("spec.startTime is required"),
            std::string::npos);
  EXPECT_NE(error({{"featureStore", "fs"}, {"mode", "sometimes"}}).find("spec.mode"),
            std::string::npos);
  EXPECT_NE(
      error({{"featureStore", "fs"}, {"mode", "incremental"}, {"executor", {{"partitions", 0}}}})
          .find("spec.executor.partitions must be >= 1"),
      std::string::npos);
  EXPECT_NE(error({{"featureStore", "fs"}, {"mode", "incremental"}, {"schedule", "61 * * * *"}})
                .find("spec.schedule"),
            std::string::npos);
  EXPECT_NE(error({{"featureStore", "fs"},
                   {"mode", "incremental"},
                   {"schedule", "* * * * *"},
                   {"timeZone", "Nowhere/City"}})
                .find("spec.timeZone"),
            std::string::npos);
  EXPECT_NE(
      error({{"featureStore", "fs"}, {"mode", "incremental"}, {"concurrencyPolicy", "Sometimes"}})
          .find("concurrencyPolicy"),
      std::string::npos);
}

TEST(BackoffTest, CappedExponential) {
  EXPECT_EQ(RetryDelay(1, 10, 300), 10 * kSec);
  EXPECT_EQ(RetryDelay(2, 10, 300), 20 * kSec);
  EXPECT_EQ(RetryDelay(3, 10, 300), 40 * kSec);
  EXPECT_EQ(RetryDelay(6, 10, 300), 300 * kSec);
  EXPECT_EQ(RetryDelay(60, 10, 300), 300 * kSec);
  EXPECT_EQ(RetryDelay(1, 0, 300), 0);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100; ++i) {
    DurationMicros d = RetryDelay(3, 10, 300, &rng);
    EXPECT_GE(d, 40 * kSec);
    EXPECT_LE(d, 44 * kSec);                              // at most +10% jitter
    EXPECT_LE(RetryDelay(9, 10, 300, &rng), 300 * kSec);  // jitter never exceeds the cap
  }
}

PodView Pod(int partition, int attempt, const std::string& phase, Json message = nullptr,
            const std::string& reason = "") {
  PodView p;
  p.name = PodName("daily", partition, attempt);
  p.partition = partition;
  p.attempt = attempt;
  p.phase = phase;
  p.message = message;
  p.reason = reason;
  p.exit_code = phase == "Failed" ? 1 : 0;
  return p;
}

JobSpec Spec(int partitions, int parallelism, int backoff_limit) {
  JobSpec s;
  s.feature_store = "fs";
  s.partitions = partitions;
  s.parallelism = parallelism;
  s.backoff_limit = backoff_limit;
  s.backoff_initial_seconds = 10;
  s.backoff_max_seconds = 300;
  return s;
}

TEST(PartitionTest, StartRespectsParallelismAndBackoff) {
  JobSpec spec = Spec(4, 2, 3);
  std::vector<PartitionRecord> records;
  ObservePods(spec, {}, 0, &records);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(PartitionsToStart(spec, records, 0), (std::vector<int>{0, 1}));
  records[0].phase = "Running";
  records[1].phase = "BackingOff";
  records[1].retry_at = 100;
  EXPECT_EQ(PartitionsToStart(spec, records, 50), (std::vector<int>{2}));
  EXPECT_EQ(PartitionsToStart(spec, records, 100), (std::vector<int>{1}));
}

TEST(PartitionTest, FailureBacksOffThenFailsAtLimitAndSuccessIsKept) {
  JobSpec spec = Spec(2, 2, 1);
  std::vector<PartitionRecord> records;
  ObservePods(spec, {}, 0, &records);
  for (auto& r : records) {
    r.phase = "Running";
    r.attempts = 1;
    r.pod = PodName("daily", r.index, 1);
  }
  Json ok = {{"ok", true},
             {"rows_read", 5},
             {"rows_written", 3},
             {"views",
              {{{"view", "v"},
                {"start", "2024-01-01T00:00:00Z"},
                {"end", "2024-01-02T00:00:00Z"},
                {"rows_read", 5},
                {"rows_written", 3}}}}};
  auto out = ObservePods(
      spec, {Pod(0, 1, "Succeeded", ok), Pod(1, 1, "Failed", {{"error", "boom"}})}, 1000, &records);
  EXPECT_EQ(records[0].phase, "Succeeded");
  EXPECT_EQ(records[1].phase, "BackingOff");
  EXPECT_EQ(records[1].failures, 1);
  EXPECT_EQ(records[1].retry_at, 1000 + 10 * kSec);
  ASSERT_EQ(out.warning_events.size(), 1u);
  EXPECT_NE(out.warning_events[0].find("retrying partition 1 after 10s"), std::string::npos)
      << out.warning_events[0];
  EXPECT_NE(records[1].last_error.find("boom"), std::string::npos);

  // Observing the same pods again changes nothing (level-based, idempotent).
  auto again = ObservePods(spec, {Pod(0, 1, "Succeeded", ok), Pod(1, 1, "Failed")}, 2000, &records);
  EXPECT_TRUE(again.warning_events.empty());
  EXPECT_EQ(records[1].failures, 1);

  // Attempt 2 fails too: failures 2 > backoffLimit 1 -> Failed.
  records[1].phase = "Running";
  records[1].attempts = 2;
  auto last = ObservePods(spec, {Pod(0, 1, "Succeeded", ok), Pod(1, 2, "Failed")}, 3000, &records);
  EXPECT_EQ(records[1].phase, "Failed");
  ASSERT_EQ(last.warning_events.size(), 1u);
  EXPECT_NE(last.warning_events[0].find("backoffLimit 1"), std::string::npos);
  EXPECT_EQ(records[0].phase, "Succeeded");  // never redone
}

TEST(PartitionTest, EvictionIsRecreatedWithoutCounting) {
  JobSpec spec = Spec(1, 1, 0);
  std::vector<PartitionRecord> records;
  ObservePods(spec, {}, 0, &records);
  records[0].phase = "Running";
  records[0].attempts = 1;
  auto out = ObservePods(spec, {Pod(0, 1, "Failed", nullptr, "Evicted")}, 10, &records);
  EXPECT_EQ(records[0].phase, "Pending");
  EXPECT_EQ(records[0].failures, 0);
  EXPECT_EQ(out.pods_to_delete, std::vector<std::string>{"daily-p0-a1"});
  EXPECT_EQ(PartitionsToStart(spec, records, 10), std::vector<int>{0});
}

TEST(AggregateTest, SumsViewsAndNotesZeroRows) {
  std::vector<PartitionRecord> records(3);
  for (int i = 0; i < 3; ++i) records[size_t(i)].index = i;
  auto result = [](int64_t read, int64_t written, const char* start) {
    return Json{{"rows_read", read},
                {"rows_written", written},
                {"views",
                 {{{"view", "a"},
                   {"start", start},
                   {"end", "2024-01-02T00:00:00Z"},
                   {"rows_read", read},
                   {"rows_written", written}},
                  {{"view", "empty"},
                   {"start", start},
                   {"end", "2024-01-02T00:00:00Z"},
                   {"rows_read", 0},
                   {"rows_written", 0}}}}};
  };
  records[0].phase = "Succeeded";
  records[0].attempts = 1;
  records[0].result = result(10, 7, "2024-01-01T00:00:00Z");
  records[1].phase = "Succeeded";
  records[1].attempts = 3;
  records[1].result = result(5, 5, "2023-12-31T00:00:00Z");
  records[2].phase = "Running";
  records[2].attempts = 1;
  Aggregate a = AggregateRecords(records);
  EXPECT_EQ(a.total, 3);
  EXPECT_EQ(a.succeeded, 2);
  EXPECT_EQ(a.running, 1);
  EXPECT_EQ(a.attempts, 5);
  EXPECT_EQ(a.rows_read, 15);
  EXPECT_EQ(a.rows_written, 12);
  ASSERT_EQ(a.views.size(), 2u);
  EXPECT_EQ(a.views[0]["name"], "a");
  EXPECT_EQ(a.views[0]["rowsWritten"], 12);
  EXPECT_EQ(a.views[0]["start"], "2023-12-31T00:00:00Z");  // earliest partition start
  ASSERT_EQ(a.notes.size(), 1u);
  EXPECT_NE(a.notes[0].find("view empty read zero rows"), std::string::npos);
}

TEST(RecordTest, JsonRoundTrip) {
  PartitionRecord r;
  r.index = 2;
  r.phase = "BackingOff";
  r.attempts = 2;
  r.failures = 2;
  r.pod = "x";
  r.retry_at = T("2024-01-01T00:00:40Z");
  r.last_error = "boom";
  PartitionRecord back = PartitionRecord::FromJson(r.ToJson());
  EXPECT_EQ(back.ToJson(), r.ToJson());
}

TEST(ScheduleTest, FiresLatestDueTimeAndCountsMissed) {
  auto cron = CronSchedule::Parse("*/5 * * * *").value();
  auto d = DecideSchedule(cron, TimeZone::Utc(), T("2024-01-01T00:00:00Z"),
                          T("2024-01-01T00:03:00Z"), std::nullopt)
               .value();
  EXPECT_FALSE(d.fire);
  EXPECT_EQ(d.next, T("2024-01-01T00:05:00Z"));
  d = DecideSchedule(cron, TimeZone::Utc(), T("2024-01-01T00:00:00Z"), T("2024-01-01T00:05:10Z"),
                     std::nullopt)
          .value();
  ASSERT_TRUE(d.fire);
  EXPECT_EQ(*d.fire, T("2024-01-01T00:05:00Z"));
  EXPECT_EQ(d.missed, 0);
  EXPECT_EQ(d.next, T("2024-01-01T00:10:00Z"));
  // Operator down for 20 minutes: 3 runs missed, the latest one runs.
  d = DecideSchedule(cron, TimeZone::Utc(), T("2024-01-01T00:00:00Z"), T("2024-01-01T00:21:00Z"),
                     std::nullopt)
          .value();
  ASSERT_TRUE(d.fire);
  EXPECT_EQ(*d.fire, T("2024-01-01T00:20:00Z"));
  EXPECT_EQ(d.missed, 3);
  // Starting deadline passed: nothing runs, every due time counts as missed.
  d = DecideSchedule(cron, TimeZone::Utc(), T("2024-01-01T00:00:00Z"), T("2024-01-01T00:21:00Z"),
                     30)
          .value();
  EXPECT_FALSE(d.fire);
  EXPECT_EQ(d.missed, 4);
  EXPECT_EQ(*d.latest, T("2024-01-01T00:20:00Z"));
  EXPECT_NE(d.missed_reason.find("startingDeadlineSeconds 30"), std::string::npos);
}

TEST(ScheduleTest, ScheduleInTimeZone) {
  auto cron = CronSchedule::Parse("0 6 * * *").value();
  auto tokyo = TimeZone::Load("Asia/Tokyo").value();
  auto d = DecideSchedule(cron, tokyo, T("2024-01-01T00:00:00Z"), T("2024-01-01T10:00:00Z"),
                          std::nullopt)
               .value();
  EXPECT_FALSE(d.fire);
  EXPECT_EQ(d.next, T("2024-01-01T21:00:00Z"));  // 06:00 JST
}

TEST(ScheduleTest, ChildJob) {
  Json parent = Job({{"featureStore", "fs"},
                     {"mode", "incremental"},
                     {"schedule", "* * * * *"},
                     {"concurrencyPolicy", "Forbid"},
                     {"successfulRunsHistoryLimit", 2},
                     {"executor", {{"partitions", 2}}}});
  Json child = MakeChildJob(parent, T("2024-01-01T00:05:00Z"), T("2024-01-01T00:04:00Z"));
  EXPECT_EQ(child["metadata"]["name"], ChildName("daily", T("2024-01-01T00:05:00Z")));
  EXPECT_EQ(child["metadata"]["name"], "daily-28401125");
  EXPECT_EQ(child["metadata"]["labels"][kScheduleLabel], "daily");
  EXPECT_FALSE(child["spec"].contains("schedule"));
  EXPECT_FALSE(child["spec"].contains("concurrencyPolicy"));
  EXPECT_EQ(child["spec"]["endTime"], "2024-01-01T00:05:00Z");
  EXPECT_FALSE(child["spec"].contains("startTime"));
  EXPECT_EQ(child["spec"]["executor"]["partitions"], 2);
  ASSERT_TRUE(ParseJobSpec(child).ok());

  parent["spec"]["mode"] = "range";
  child = MakeChildJob(parent, T("2024-01-01T00:05:00Z"), T("2024-01-01T00:04:00Z"));
  EXPECT_EQ(child["spec"]["startTime"], "2024-01-01T00:04:00Z");
  ASSERT_TRUE(ParseJobSpec(child).ok());
}

TEST(PodViewTest, ReadsLabelsAndTerminationMessage) {
  Json pod = {
      {"metadata",
       {{"name", "daily-p1-a2"}, {"labels", {{kPartitionLabel, "1"}, {kAttemptLabel, "2"}}}}},
      {"status",
       {{"phase", "Failed"},
        {"containerStatuses",
         {{{"state",
            {{"terminated",
              {{"exitCode", 1},
               {"reason", "Error"},
               {"message", R"({"ok":false,"error":"x"})"},
               {"finishedAt", "2024-01-01T00:00:00Z"}}}}}}}}}}};
  PodView v = ViewOfPod(pod);
  EXPECT_EQ(v.partition, 1);
  EXPECT_EQ(v.attempt, 2);
  EXPECT_EQ(v.phase, "Failed");
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_EQ(v.reason, "Error");
  EXPECT_EQ(v.message["error"], "x");
  EXPECT_EQ(v.finished_at, T("2024-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace featureforge::controllers::mj
