#include "core/clock.h"

namespace vms {

namespace {

class RealClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
  bool WaitUntil(CondVar* cv, TimePoint deadline) override { return cv->WaitUntil(deadline); }
};

}  // namespace

Clock* Clock::Real() {
  static RealClock* clock = new RealClock;  // never destroyed: threads may outlive main
  return clock;
}

}  // namespace vms
