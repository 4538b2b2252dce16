#include "core/periodic.h"

namespace vms {

PeriodicTask::PeriodicTask(Task task, std::chrono::milliseconds first)
    : task_(std::move(task)), thread_([this, first] { Loop(first); }) {}

void PeriodicTask::Loop(std::chrono::milliseconds first) {
  MutexLock lock(&mu_);
  Next next = Next::In(first);
  while (!stop_) {
    if (next.idle_) {
      while (!stop_ && !woken_) cv_.Wait();
    } else {
      const auto due = std::chrono::steady_clock::now() + next.delay_;
      while (!stop_ && !woken_ && cv_.WaitUntil(due)) {
      }
    }
    if (stop_) return;
    woken_ = false;
    mu_.Unlock();
    next = task_();
    mu_.Lock();
    ++runs_;
    if (next.delay_.count() < 0 && !next.idle_) return;  // done
  }
}

void PeriodicTask::Wake() {
  MutexLock lock(&mu_);
  woken_ = true;
  cv_.SignalAll();
}

void PeriodicTask::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

uint64_t PeriodicTask::runs() const {
  MutexLock lock(&mu_);
  return runs_;
}

}  // namespace vms
