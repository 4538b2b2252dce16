// Time, through one seam: a Clock.
//
// It reads two clocks. Wall-clock time (WallMs) stamps records (created,
// issued) and is what expiry and freshness are judged against; intervals
// (backoff, silence, report periods) run on the monotonic one (Now). Code
// that needs either takes a Clock*: the real one, or in tests a FakeClock
// (tests/testing/fake_clock.h) that a test moves forward by hand, so that a
// test of a 5 s silence takes no 5 s and cannot race a busy machine.
#ifndef VMS_CORE_CLOCK_H_
#define VMS_CORE_CLOCK_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "core/sync.h"

namespace vms {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;

  virtual TimePoint Now() const = 0;
  // Wall-clock milliseconds since the epoch.
  virtual int64_t WallMs() const = 0;
  // As CondVar::WaitUntil() with `deadline` on this clock: waits on `cv`,
  // whose mutex the caller holds, until it is signalled or the deadline
  // passes; false when it passed. Wakes may be spurious: call it in a loop
  // that checks its condition.
  virtual bool WaitUntil(CondVar* cv, TimePoint deadline) = 0;

  // The monotonic clock of the machine (std::chrono::steady_clock).
  static Clock* Real();
};

// The machine's wall clock, for code with no Clock to ask (tools, the
// client's display of ages).
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

// The instant `text` names, in unix ms: "2026-11-25T10:00:00Z" (UTC) or
// "@1764064800" (unix seconds); nullopt for anything else.
std::optional<int64_t> ParseInstantMs(std::string_view text);

}  // namespace vms

#endif  // VMS_CORE_CLOCK_H_
