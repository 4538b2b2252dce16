// A Clock that moves only when the test says so. Waits on it poll their
// condition every millisecond of real time (a wake that may be spurious, as
// the Clock contract allows), so Advance() needs to know no waiter.
//
// Its wall clock starts at a fixed instant and moves with Advance(); with
// TickWallEveryRead(d) each reading also moves it on by d first, for tests
// that want every record stamped later than the one before.
#ifndef VMS_TESTS_TESTING_FAKE_CLOCK_H_
#define VMS_TESTS_TESTING_FAKE_CLOCK_H_

#include <atomic>
#include <chrono>

#include "core/clock.h"

namespace vms::testing {

class FakeClock : public Clock {
 public:
  TimePoint Now() const override {
    return TimePoint(std::chrono::steady_clock::duration(now_.load()));
  }
  bool WaitUntil(CondVar* cv, TimePoint deadline) override {
    if (Now() >= deadline) return false;
    ++waits_;
    cv->WaitFor(std::chrono::milliseconds(1));
    return Now() < deadline;
  }
  int64_t WallMs() const override { return wall_ms_ += wall_tick_ms_; }
  void Advance(std::chrono::steady_clock::duration d) {
    now_ += d.count();
    wall_ms_ += std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  }
  void SetWallMs(int64_t ms) { wall_ms_ = ms; }
  void TickWallEveryRead(std::chrono::milliseconds d) { wall_tick_ms_ = d.count(); }
  // How many waits began so far: a test that sees this grow knows a thread
  // is asleep on the clock.
  uint64_t waits() const { return waits_; }

 private:
  // Far from zero, so that "a while ago" never underflows.
  std::atomic<std::chrono::steady_clock::rep> now_{
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::hours(1000))
          .count()};
  std::atomic<uint64_t> waits_{0};
  mutable std::atomic<int64_t> wall_ms_{1'800'000'000'000};  // 2027-01-15
  std::atomic<int64_t> wall_tick_ms_{0};
};

}  // namespace vms::testing

#endif  // VMS_TESTS_TESTING_FAKE_CLOCK_H_
