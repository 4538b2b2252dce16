// Wall-clock time for records (created, issued). Code that stamps records
// takes a std::function<int64_t()> so tests can inject their own clock.
#ifndef VMS_CORE_CLOCK_H_
#define VMS_CORE_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace vms {

inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace vms

#endif  // VMS_CORE_CLOCK_H_
