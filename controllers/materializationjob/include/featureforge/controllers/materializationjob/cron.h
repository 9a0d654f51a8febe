// Five-field cron schedules (minute hour day-of-month month day-of-week), as Kubernetes CronJob
// accepts them, evaluated in an IANA time zone read from the system tzdata (TZif files).
//
// Fields: `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b,c`, month names
// JAN-DEC, weekday names SUN-SAT (0 and 7 are Sunday), and the macros @yearly/@annually,
// @monthly, @weekly, @daily/@midnight, @hourly. As in cron, when both day-of-month and
// day-of-week are restricted a day matches if either matches.
// Wall-clock times skipped by a DST change never fire; repeated ones fire once per occurrence.
#pragma once

#include <bitset>
#include <memory>
#include <string>
#include <vector>

#include "featureforge/common/status.h"
#include "featureforge/common/time.h"

namespace featureforge::controllers::mj {

// A time zone: UTC offsets over time from a TZif file.
class TimeZone {
 public:
  static TimeZone Utc();
  // `name` like "Europe/Berlin"; read from `zoneinfo_dir` (default /usr/share/zoneinfo).
  static Result<TimeZone> Load(const std::string& name,
                               const std::string& zoneinfo_dir = "/usr/share/zoneinfo");
  // Parses TZif bytes (v1 or v2+; the 64-bit section is used when present).
  static Result<TimeZone> Parse(const std::string& name, const std::string& tzif);

  const std::string& name() const { return name_; }
  // Offset from UTC in seconds at the UTC instant `utc_seconds`. After the last transition the
  // last offset stays in force (Debian's "fat" tzdata lists transitions through 2037).
  int64_t OffsetAt(int64_t utc_seconds) const;

 private:
  std::string name_ = "UTC";
  std::vector<int64_t> transitions_;    // UTC seconds, ascending
  std::vector<int32_t> offsets_after_;  // offset in force from transitions_[i]
  int32_t initial_offset_ = 0;
};

class CronSchedule {
 public:
  // Errors name the field: "cron field 2 (hour): 24 out of range 0-23".
  static Result<CronSchedule> Parse(const std::string& expression);

  // The first fire time strictly after `after` (UTC micros) in `zone`; error when none within
  // five years (e.g. "0 0 30 2 *").
  Result<TimestampMicros> Next(TimestampMicros after, const TimeZone& zone) const;

  const std::string& expression() const { return expression_; }

 private:
  std::string expression_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;  // 1..31
  std::bitset<13> months_;         // 1..12
  std::bitset<7> days_of_week_;    // 0..6, Sunday = 0
  bool dom_restricted_ = false;
  bool dow_restricted_ = false;

  bool DayMatches(int day_of_month, int month, int day_of_week) const;
};

}  // namespace featureforge::controllers::mj
