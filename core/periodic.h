// One thread that runs a task again and again, each run saying when the
// next one is due: the shape of every background loop of the daemons (a
// report each interval, a retry each second, a queue drained while it has
// work). The wait is interruptible: Wake() runs the task at once, and the
// destructor (or Stop()) returns as soon as a run in progress ends.
//
//   PeriodicTask census([&] { Send(); return PeriodicTask::Next::In(interval); });
#ifndef VMS_CORE_PERIODIC_H_
#define VMS_CORE_PERIODIC_H_

#include <chrono>
#include <functional>
#include <thread>

#include "core/sync.h"

namespace vms {

class PeriodicTask {
 public:
  // When to run again.
  class Next {
   public:
    static Next In(std::chrono::milliseconds d) { return Next(d, false); }
    static Next WhenWoken() { return Next(std::chrono::milliseconds(0), true); }
    static Next Done() { return Next(std::chrono::milliseconds(-1), false); }

   private:
    friend class PeriodicTask;
    Next(std::chrono::milliseconds d, bool idle) : delay_(d), idle_(idle) {}
    std::chrono::milliseconds delay_;
    bool idle_;
  };
  using Task = std::function<Next()>;

  // The first run is after `first` (0: at once).
  explicit PeriodicTask(Task task, std::chrono::milliseconds first = std::chrono::milliseconds(0));
  ~PeriodicTask() { Stop(); }
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

  // Runs the task now (after the run in progress, if any), whatever its
  // wait; a no-op once it is done.
  void Wake();
  // No run starts after this returns; idempotent. Not from the task.
  void Stop();
  // How many runs have ended (for tests, which count, never time).
  uint64_t runs() const;

 private:
  void Loop(std::chrono::milliseconds first);

  Task task_;
  mutable Mutex mu_;
  CondVar cv_{&mu_};
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t runs_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;  // last: starts once the rest is made
};

}  // namespace vms

#endif  // VMS_CORE_PERIODIC_H_
