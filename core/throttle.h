// Spaces work so that a byte rate stays under a limit, across threads: each
// Spend() sleeps until the bytes spent so far are due at the rate.
#ifndef VMS_CORE_THROTTLE_H_
#define VMS_CORE_THROTTLE_H_

#include <chrono>
#include <cstdint>
#include <thread>

#include "core/sync.h"

namespace vms {

class Throttle {
 public:
  // 0 bytes per second: unlimited.
  explicit Throttle(uint64_t bytes_per_second) : rate_(bytes_per_second) {}

  void Spend(uint64_t bytes) {
    if (rate_ == 0) return;
    std::chrono::steady_clock::time_point due;
    {
      MutexLock lock(&mu_);
      spent_ += bytes;
      due = start_ + std::chrono::microseconds(spent_ * 1000000 / rate_);
    }
    std::this_thread::sleep_until(due);
  }

 private:
  const uint64_t rate_;
  Mutex mu_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  uint64_t spent_ = 0;
};

}  // namespace vms

#endif  // VMS_CORE_THROTTLE_H_
