// Timestamps are int64 microseconds since the Unix epoch, always UTC.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "featureforge/common/status.h"

namespace featureforge {

using TimestampMicros = int64_t;
using DurationMicros = int64_t;

constexpr DurationMicros kMicrosPerSecond = 1'000'000;

// Parses "2024-01-31", "2024-01-31T12:00:00", "2024-01-31 12:00:00.123456", with an optional
// "Z" or "+hh:mm"/"-hh:mm" offset (converted to UTC). No offset means UTC.
Result<TimestampMicros> ParseTimestamp(std::string_view text);
// "2024-01-31T12:00:00Z", with ".ffffff" only when there are sub-second digits.
std::string FormatTimestamp(TimestampMicros ts);

// Parses "30s", "15m", "2h", "1d", "1w", "1h30m", "86400" (seconds), "0".
Result<DurationMicros> ParseDuration(std::string_view text);
std::string FormatDuration(DurationMicros d);

// The clock is injectable so tests control "now".
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimestampMicros Now() const = 0;
};
// The process-wide real clock.
const Clock& SystemClock();

class ManualClock : public Clock {
 public:
  explicit ManualClock(TimestampMicros now) : now_(now) {}
  TimestampMicros Now() const override { return now_; }
  void Set(TimestampMicros now) { now_ = now; }
  void Advance(DurationMicros d) { now_ += d; }

 private:
  TimestampMicros now_;
};

}  // namespace featureforge
