// Wall-clock time for records (created, issued), and how it is shown. Code that stamps records
// takes a std::function<int64_t()> so tests can inject their own clock.
#ifndef VMS_CORE_CLOCK_H_
#define VMS_CORE_CLOCK_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace vms {

inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2026-11-25T16:30:31.123Z" (UTC).
inline std::string IsoTime(int64_t unix_ms) {
  time_t t = unix_ms / 1000;
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return buf;
}

}  // namespace vms

#endif  // VMS_CORE_CLOCK_H_
