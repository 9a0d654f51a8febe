#include "featureforge/common/time.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace featureforge {
namespace {

bool ParseDigits(std::string_view text, size_t pos, size_t count, int* out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return true;
}

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

Status BadTimestamp(std::string_view text, std::string_view why) {
  return Status::InvalidArgument("invalid timestamp '" + std::string(text) + "': " +
                                 std::string(why) +
                                 " (expected e.g. 2024-01-31 or 2024-01-31T12:00:00Z)");
}

}  // namespace

Result<TimestampMicros> ParseTimestamp(std::string_view text) {
  int year, month, day, hour = 0, minute = 0, second = 0;
  if (!ParseDigits(text, 0, 4, &year) || text.size() < 10 || text[4] != '-' ||
      !ParseDigits(text, 5, 2, &month) || text[7] != '-' || !ParseDigits(text, 8, 2, &day)) {
    return BadTimestamp(text, "date must be YYYY-MM-DD");
  }
  if (month < 1 || month > 12) return BadTimestamp(text, "month out of range");
  if (day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) {
    return BadTimestamp(text, "day out of range");
  }
  size_t pos = 10;
  int64_t micros = 0;
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == ' ')) {
    if (!ParseDigits(text, pos + 1, 2, &hour) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ParseDigits(text, pos + 4, 2, &minute)) {
      return BadTimestamp(text, "time must be HH:MM[:SS[.ffffff]]");
    }
    pos += 6;
    if (pos < text.size() && text[pos] == ':') {
      if (!ParseDigits(text, pos + 1, 2, &second)) return BadTimestamp(text, "bad seconds");
      pos += 3;
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          if (digits < 6) micros = micros * 10 + (text[pos] - '0');
          ++digits;
          ++pos;
        }
        if (digits == 0) return BadTimestamp(text, "empty fraction");
        for (int i = digits; i < 6; ++i) micros *= 10;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return BadTimestamp(text, "time out of range");
  }
  int64_t offset_seconds = 0;
  if (pos < text.size()) {
    char c = text[pos];
    if (c == 'Z' || c == 'z') {
      ++pos;
    } else if (c == '+' || c == '-') {
      int oh, om = 0;
      if (!ParseDigits(text, pos + 1, 2, &oh)) return BadTimestamp(text, "bad UTC offset");
      size_t next = pos + 3;
      if (next < text.size() && text[next] == ':') ++next;
      if (next < text.size()) {
        if (!ParseDigits(text, next, 2, &om)) return BadTimestamp(text, "bad UTC offset");
        next += 2;
      }
      offset_seconds = (c == '+' ? 1 : -1) * (oh * 3600 + om * 60);
      pos = next;
    }
  }
  if (pos != text.size()) return BadTimestamp(text, "unexpected trailing characters");
  int64_t days = DaysFromCivil(year, month, day);
  int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return seconds * kMicrosPerSecond + micros;
}

std::string FormatTimestamp(TimestampMicros ts) {
  int64_t seconds = ts / kMicrosPerSecond;
  int64_t micros = ts % kMicrosPerSecond;
  if (micros < 0) {
    micros += kMicrosPerSecond;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[64];
  if (micros == 0) {
    std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lldZ",
                  static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60),
                  static_cast<long long>(micros));
  }
  return buf;
}

Result<DurationMicros> ParseDuration(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("empty duration");
  int64_t total = 0;
  size_t pos = 0;
  bool any = false;
  while (pos < text.size()) {
    int64_t number = 0;
    auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), number);
    if (ec != std::errc() || number < 0) {
      return Status::InvalidArgument("invalid duration '" + std::string(text) +
                                     "' (expected e.g. 30s, 15m, 2h, 1d, 1h30m)");
    }
    pos = static_cast<size_t>(ptr - text.data());
    int64_t unit = kMicrosPerSecond;
    if (pos < text.size()) {
      switch (text[pos]) {
        case 's': unit = kMicrosPerSecond; break;
        case 'm': unit = 60 * kMicrosPerSecond; break;
        case 'h': unit = 3600 * kMicrosPerSecond; break;
        case 'd': unit = 86400 * kMicrosPerSecond; break;
        case 'w': unit = 7 * 86400 * kMicrosPerSecond; break;
        default:
          return Status::InvalidArgument("invalid duration unit in '" + std::string(text) +
                                         "' (use s, m, h, d or w)");
      }
      ++pos;
    } else if (any) {
      return Status::InvalidArgument("invalid duration '" + std::string(text) +
                                     "': trailing number without unit");
    }
    total += number * unit;
    any = true;
  }
  return total;
}

std::string FormatDuration(DurationMicros d) {
  if (d == 0) return "0s";
  std::string out;
  int64_t s = d / kMicrosPerSecond;
  if (s >= 86400) out += std::to_string(s / 86400) + "d", s %= 86400;
  if (s >= 3600) out += std::to_string(s / 3600) + "h", s %= 3600;
  if (s >= 60) out += std::to_string(s / 60) + "m", s %= 60;
  if (s > 0 || out.empty()) out += std::to_string(s) + "s";
  return out;
}

namespace {
class RealClock : public Clock {
 public:
  TimestampMicros Now() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};
}  // namespace

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

}  // namespace featureforge
