#include "core/clock.h"

namespace vms {

namespace {

class RealClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  int64_t WallMs() const override { return WallClockMs(); }
  bool WaitUntil(CondVar* cv, TimePoint deadline) override { return cv->WaitUntil(deadline); }
};

}  // namespace

Clock* Clock::Real() {
  static RealClock* clock = new RealClock;  // never destroyed: threads may outlive main
  return clock;
}

std::optional<int64_t> ParseInstantMs(std::string_view text) {
  auto digits = [](std::string_view d) {
    if (d.empty() || d.size() > 12) return false;
    for (char c : d) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (text.starts_with('@')) {
    text.remove_prefix(1);
    if (!digits(text)) return std::nullopt;
    return std::stoll(std::string(text)) * 1000;
  }
  // YYYY-MM-DDTHH:MM:SSZ, exactly.
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return std::nullopt;
  }
  auto field = [&](size_t at, size_t n, int lo, int hi) -> std::optional<int> {
    std::string_view d = text.substr(at, n);
    if (!digits(d)) return std::nullopt;
    int v = std::stoi(std::string(d));
    if (v < lo || v > hi) return std::nullopt;
    return v;
  };
  auto year = field(0, 4, 1970, 9999), month = field(5, 2, 1, 12), day = field(8, 2, 1, 31),
       hour = field(11, 2, 0, 23), minute = field(14, 2, 0, 59), second = field(17, 2, 0, 60);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  struct tm tm = {};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  time_t t = timegm(&tm);
  struct tm back;
  gmtime_r(&t, &back);
  if (back.tm_mday != *day) return std::nullopt;  // 2026-02-30
  return static_cast<int64_t>(t) * 1000;
}

}  // namespace vms
