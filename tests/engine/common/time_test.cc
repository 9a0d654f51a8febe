#include "featureforge/common/time.h"

#include <gtest/gtest.h>

namespace featureforge {
namespace {

TEST(TimeTest, ParsesDatesAndTimes) {
  EXPECT_EQ(ParseTimestamp("1970-01-01").value(), 0);
  EXPECT_EQ(ParseTimestamp("1970-01-02T00:00:00Z").value(), 86400 * kMicrosPerSecond);
  EXPECT_EQ(ParseTimestamp("2024-02-29 12:30:15.5").value(),
            ParseTimestamp("2024-02-29T12:30:15Z").value() + 500000);
  EXPECT_EQ(ParseTimestamp("2024-01-01T02:00:00+02:00").value(),
            ParseTimestamp("2024-01-01T00:00:00Z").value());
}

TEST(TimeTest, RejectsBadTimestamps) {
  EXPECT_FALSE(ParseTimestamp("2023-02-29").ok());
  EXPECT_FALSE(ParseTimestamp("2024-13-01").ok());
  EXPECT_FALSE(ParseTimestamp("yesterday").ok());
  EXPECT_FALSE(ParseTimestamp("2024-01-01T25:00:00").ok());
  EXPECT_FALSE(ParseTimestamp("2024-01-01Tjunk").ok());
}

TEST(TimeTest, FormatRoundTrips) {
  for (const char* text : {"2024-01-31T12:00:00Z", "1999-12-31T23:59:59.000001Z",
                           "1969-07-20T20:17:40Z"}) {
    EXPECT_EQ(FormatTimestamp(ParseTimestamp(text).value()), text);
  }
}

TEST(TimeTest, Durations) {
  EXPECT_EQ(ParseDuration("1h30m").value(), 5400 * kMicrosPerSecond);
  EXPECT_EQ(ParseDuration("86400").value(), 86400 * kMicrosPerSecond);
  EXPECT_EQ(ParseDuration("2d").value(), 2 * 86400 * kMicrosPerSecond);
  EXPECT_FALSE(ParseDuration("3y").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_EQ(FormatDuration(ParseDuration("1d2h").value()), "1d2h");
}

}  // namespace
}  // namespace featureforge
