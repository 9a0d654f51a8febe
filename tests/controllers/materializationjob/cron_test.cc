#include "featureforge/controllers/materializationjob/cron.h"

#include <gtest/gtest.h>

namespace featureforge::controllers::mj {
namespace {

TimestampMicros T(const char* text) { return ParseTimestamp(text).value(); }
std::string Next(const std::string& expr, const char* after,
                 const TimeZone& zone = TimeZone::Utc()) {
  auto cron = CronSchedule::Parse(expr);
  EXPECT_TRUE(cron.ok()) << cron.status().ToString();
  auto next = cron->Next(T(after), zone);
  EXPECT_TRUE(next.ok()) << next.status().ToString();
  return next.ok() ? FormatTimestamp(*next) : "";
}

TEST(CronTest, EveryMinuteIsStrictlyAfter) {
  EXPECT_EQ(Next("* * * * *", "2024-01-01T00:00:00Z"), "2024-01-01T00:01:00Z");
  EXPECT_EQ(Next("* * * * *", "2024-01-01T00:00:30Z"), "2024-01-01T00:01:00Z");
}

TEST(CronTest, StepsRangesListsAndNames) {
  EXPECT_EQ(Next("*/15 * * * *", "2024-01-01T00:16:00Z"), "2024-01-01T00:30:00Z");
  EXPECT_EQ(Next("5 9-17/4 * * *", "2024-01-01T09:05:00Z"), "2024-01-01T13:05:00Z");
  EXPECT_EQ(Next("0 0 * * MON", "2024-01-01T00:00:00Z"),
            "2024-01-08T00:00:00Z");  // Jan 1 2024 = Monday
  EXPECT_EQ(Next("0 0 1 JAN,jul *", "2024-01-02T00:00:00Z"), "2024-07-01T00:00:00Z");
  EXPECT_EQ(Next("0 0 * * 7", "2024-01-01T00:00:00Z"), "2024-01-07T00:00:00Z");  // 7 = Sunday
  EXPECT_EQ(Next("@daily", "2024-02-28T12:00:00Z"), "2024-02-29T00:00:00Z");
  EXPECT_EQ(Next("@hourly", "2024-02-28T12:00:00Z"), "2024-02-28T13:00:00Z");
  EXPECT_EQ(Next("10/20 * * * *", "2024-01-01T00:31:00Z"), "2024-01-01T00:50:00Z");
}

TEST(CronTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // The 13th, or any Friday: after Mon 2024-01-01 the first is Fri 2024-01-05.
  EXPECT_EQ(Next("0 0 13 * FRI", "2024-01-01T00:00:00Z"), "2024-01-05T00:00:00Z");
  EXPECT_EQ(Next("0 0 29 2 *", "2024-03-01T00:00:00Z"), "2028-02-29T00:00:00Z");
}

TEST(CronTest, ErrorsNameTheField) {
  auto bad = CronSchedule::Parse("0 24 * * *");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("field 2 (hour)"), std::string::npos)
      << bad.status().ToString();
  EXPECT_FALSE(CronSchedule::Parse("* * * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("*/0 * * * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("5-1 * * * *").ok());
  EXPECT_FALSE(CronSchedule::Parse("x * * * *").ok());
  auto never = CronSchedule::Parse("0 0 30 2 *");
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->Next(T("2024-01-01T00:00:00Z"), TimeZone::Utc()).ok());
}

TEST(TimeZoneTest, BerlinOffsetsAndDst) {
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok()) << berlin.status().ToString();
  EXPECT_EQ(berlin->OffsetAt(T("2024-01-15T00:00:00Z") / kMicrosPerSecond), 3600);
  EXPECT_EQ(berlin->OffsetAt(T("2024-07-15T00:00:00Z") / kMicrosPerSecond), 7200);
  // 02:30 daily in Berlin: 01:30Z in winter, 00:30Z in summer.
  EXPECT_EQ(Next("30 2 * * *", "2024-01-15T00:00:00Z", *berlin), "2024-01-15T01:30:00Z");
  EXPECT_EQ(Next("30 2 * * *", "2024-07-15T00:00:00Z", *berlin), "2024-07-15T00:30:00Z");
  // 2024-03-31 02:30 does not exist in Berlin (clocks jump 02:00 -> 03:00): next is April 1st.
  EXPECT_EQ(Next("30 2 * * *", "2024-03-30T12:00:00Z", *berlin), "2024-04-01T00:30:00Z");
  // Midnight local after a DST day is still found (the day is not skipped).
  EXPECT_EQ(Next("0 0 * * *", "2024-03-31T12:00:00Z", *berlin), "2024-03-31T22:00:00Z");
}

TEST(TimeZoneTest, NewYorkAndUnknownZone) {
  auto ny = TimeZone::Load("America/New_York");
  ASSERT_TRUE(ny.ok()) << ny.status().ToString();
  EXPECT_EQ(Next("0 9 * * *", "2024-01-10T00:00:00Z", *ny), "2024-01-10T14:00:00Z");
  EXPECT_EQ(Next("0 9 * * *", "2024-06-10T00:00:00Z", *ny), "2024-06-10T13:00:00Z");
  EXPECT_FALSE(TimeZone::Load("Mars/Olympus").ok());
  EXPECT_FALSE(TimeZone::Load("../etc/passwd").ok());
  EXPECT_FALSE(TimeZone::Parse("x", "not tzif").ok());
}

}  // namespace
}  // namespace featureforge::controllers::mj
