#include "featureforge/controllers/materializationjob/cron.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>

namespace featureforge::controllers::mj {
namespace {

constexpr int64_t kSecondsPerDay = 86400;

struct CivilTime {
  int year, month, day, hour, minute, day_of_week;
};

CivilTime ToCivil(int64_t local_seconds) {
  int64_t days = local_seconds >= 0 ? local_seconds / kSecondsPerDay
                                    : -((-local_seconds + kSecondsPerDay - 1) / kSecondsPerDay);
  int64_t rem = local_seconds - days * kSecondsPerDay;
  std::chrono::sys_days sd{std::chrono::days{days}};
  std::chrono::year_month_day ymd{sd};
  std::chrono::weekday wd{sd};
  return {int(ymd.year()), int(unsigned(ymd.month())), int(unsigned(ymd.day())),
          int(rem / 3600), int(rem % 3600 / 60),       int(wd.c_encoding())};
}

uint32_t ReadBE32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}
int64_t ReadBE64(const std::string& s, size_t at) {
  return int64_t((uint64_t(ReadBE32(s, at)) << 32) | ReadBE32(s, at + 4));
}

const char* const kFieldNames[] = {"minute", "hour", "day of month", "month", "day of week"};

Result<int> ParseValue(std::string token, int field) {
  static const char* const kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                        "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  static const char* const kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
  for (auto& c : token) c = char(std::toupper(static_cast<unsigned char>(c)));
  if (field == 3) {
    for (int i = 0; i < 12; ++i)
      if (token == kMonths[i]) return i + 1;
  }
  if (field == 4) {
    for (int i = 0; i < 7; ++i)
      if (token == kDays[i]) return i;
  }
  if (token.empty() || !std::all_of(token.begin(), token.end(), ::isdigit) || token.size() > 4) {
    return Status::InvalidArgument("'" + token + "' is not a number or name");
  }
  return std::stoi(token);
}

// Parses one field into `bits` (indexes lo..hi). Sets *restricted unless the field is "*".
template <size_t N>
Status ParseField(const std::string& text, int field, int lo, int hi, std::bitset<N>* bits,
                  bool* restricted) {
  auto error = [&](const std::string& what) {
    return Status::InvalidArgument("cron field " + std::to_string(field + 1) + " (" +
                                   kFieldNames[field] + ") '" + text + "': " + what);
  };
  *restricted = !(text == "*" || text == "?");
  std::stringstream parts(text);
  std::string part;
  while (std::getline(parts, part, ',')) {
    if (part.empty()) return error("empty list item");
    int step = 1;
    std::string range = part;
    if (auto slash = part.find('/'); slash != std::string::npos) {
      range = part.substr(0, slash);
      auto s = ParseValue(part.substr(slash + 1), -1);
      if (!s.ok() || *s <= 0) return error("step must be a positive number");
      step = *s;
    }
    int first = lo, last = hi;
    if (range != "*" && range != "?") {
      auto dash = range.find('-');
      auto a = ParseValue(range.substr(0, dash), field);
      if (!a.ok()) return error(a.status().message());
      first = *a;
      last = *a;
      if (dash != std::string::npos) {
        auto b = ParseValue(range.substr(dash + 1), field);
        if (!b.ok()) return error(b.status().message());
        last = *b;
      } else if (part.find('/') != std::string::npos) {
        last = hi;  // "a/n" means a, a+n, ... up to the maximum
      }
    }
    int max_allowed = field == 4 ? 7 : hi;  // 7 = Sunday as well
    if (first < lo || last > max_allowed || first > max_allowed) {
      return error(std::to_string(first == lo ? last : first) + " out of range " +
                   std::to_string(lo) + "-" + std::to_string(field == 4 ? 7 : hi));
    }
    if (first > last) return error("range start after its end");
    for (int v = first; v <= last; v += step) bits->set(size_t(field == 4 ? v % 7 : v));
  }
  return Status::OK();
}

}  // namespace

TimeZone TimeZone::Utc() { return TimeZone(); }

Result<TimeZone> TimeZone::Load(const std::string& name, const std::string& zoneinfo_dir) {
  if (name.empty() || name == "UTC" || name == "Etc/UTC") return Utc();
  if (name.find("..") != std::string::npos || name.front() == '/') {
    return Status::InvalidArgument("timeZone '" + name + "' is not an IANA zone name");
  }
  std::ifstream in(zoneinfo_dir + "/" + name, std::ios::binary);
  if (!in)
    return Status::NotFound("unknown timeZone '" + name + "' (no " + zoneinfo_dir + "/" + name +
                            ")");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return Parse(name, bytes);
}

Result<TimeZone> TimeZone::Parse(const std::string& name, const std::string& tzif) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("timeZone '" + name + "': bad TZif data: " + why);
  };
  if (tzif.size() < 44 || tzif.compare(0, 4, "TZif") != 0) return bad("no TZif header");
  auto counts = [&](size_t at, uint32_t c[6]) {
    for (int i = 0; i < 6; ++i) c[i] = ReadBE32(tzif, at + 20 + 4 * i);
  };
  uint32_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(0, c);
  size_t pos = 44;
  int time_size = 4;
  if (tzif[4] >= '2') {
    size_t v1_size = c[3] * 5 + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    pos = 44 + v1_size;
    if (tzif.size() < pos + 44 || tzif.compare(pos, 4, "TZif") != 0) return bad("no v2 header");
    counts(pos, c);
    pos += 44;
    time_size = 8;
  }
  const uint32_t timecnt = c[3], typecnt = c[4];
  size_t need = timecnt * (time_size + 1) + typecnt * 6;
  if (typecnt == 0 || tzif.size() < pos + need) return bad("truncated");
  TimeZone zone;
  zone.name_ = name;
  std::vector<int32_t> type_offsets(typecnt);
  size_t types_at = pos + timecnt * (time_size + 1);
  for (uint32_t i = 0; i < typecnt; ++i)
    type_offsets[i] = int32_t(ReadBE32(tzif, types_at + 6 * i));
  for (uint32_t i = 0; i < timecnt; ++i) {
    int64_t t = time_size == 8 ? ReadBE64(tzif, pos + 8 * i) : int32_t(ReadBE32(tzif, pos + 4 * i));
    uint8_t type = uint8_t(tzif[pos + timecnt * time_size + i]);
    if (type >= typecnt) return bad("transition type out of range");
    zone.transitions_.push_back(t);
    zone.offsets_after_.push_back(type_offsets[type]);
  }
  zone.initial_offset_ = type_offsets[0];
  return zone;
}

int64_t TimeZone::OffsetAt(int64_t utc_seconds) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_seconds);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_after_[size_t(it - transitions_.begin() - 1)];
}

Result<CronSchedule> CronSchedule::Parse(const std::string& expression) {
  std::string expr = expression;
  static const std::pair<const char*, const char*> kMacros[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  for (const auto& [macro, fields] : kMacros) {
    if (expr == macro) expr = fields;
  }
  std::stringstream in(expr);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5) {
    return Status::InvalidArgument("schedule '" + expression + "': expected 5 fields " +
                                   "(minute hour day-of-month month day-of-week), got " +
                                   std::to_string(fields.size()));
  }
  CronSchedule s;
  s.expression_ = expression;
  bool unused = false;
  FF_RETURN_IF_ERROR(ParseField(fields[0], 0, 0, 59, &s.minutes_, &unused));
  FF_RETURN_IF_ERROR(ParseField(fields[1], 1, 0, 23, &s.hours_, &unused));
  FF_RETURN_IF_ERROR(ParseField(fields[2], 2, 1, 31, &s.days_of_month_, &s.dom_restricted_));
  FF_RETURN_IF_ERROR(ParseField(fields[3], 3, 1, 12, &s.months_, &unused));
  FF_RETURN_IF_ERROR(ParseField(fields[4], 4, 0, 6, &s.days_of_week_, &s.dow_restricted_));
  return s;
}

bool CronSchedule::DayMatches(int day_of_month, int month, int day_of_week) const {
  if (!months_.test(size_t(month))) return false;
  bool dom = days_of_month_.test(size_t(day_of_month));
  bool dow = days_of_week_.test(size_t(day_of_week));
  if (dom_restricted_ && dow_restricted_) return dom || dow;
  return dom && dow;
}

Result<TimestampMicros> CronSchedule::Next(TimestampMicros after, const TimeZone& zone) const {
  // Start at the next whole UTC minute (every zone offset in use is a whole number of minutes).
  int64_t t = after / kMicrosPerSecond;
  if (after < 0 && after % kMicrosPerSecond != 0) --t;
  t = (t / 60 + 1) * 60;
  const int64_t limit = t + 5 * 366 * kSecondsPerDay;
  while (t < limit) {
    const int64_t offset = zone.OffsetAt(t);
    const CivilTime local = ToCivil(t + offset);
    if (!DayMatches(local.day, local.month, local.day_of_week)) {
      // Next local hour (not midnight: a DST change during the day would skip an hour).
      t += 3600 - local.minute * 60;
      continue;
    }
    if (!hours_.test(size_t(local.hour))) {
      t += 3600 - local.minute * 60;
      continue;
    }
    if (!minutes_.test(size_t(local.minute))) {
      t += 60;
      continue;
    }
    return t * kMicrosPerSecond;
  }
  return Status::InvalidArgument("schedule '" + expression_ + "' never fires within 5 years");
}

}  // namespace featureforge::controllers::mj
