#include "core/thread_pool.h"

#include <sched.h>

#include <atomic>

namespace vms {

ThreadPool::ThreadPool(int threads) : per_key_limit_(std::max(1, threads / 2)) {
  for (int i = 0; i < std::max(1, threads); ++i) workers_.emplace_back([this] { Work(); });
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::MaybeReady(const std::string& key, Lane* lane) {
  if (lane->ready || lane->tasks.empty()) return;
  if (!key.empty() && lane->running >= per_key_limit_) return;
  lane->ready = true;
  ready_.push_back(key);
}

void ThreadPool::Submit(std::string key, std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    Lane& lane = lanes_[key];
    lane.tasks.push_back(std::move(task));
    ++queued_;
    MaybeReady(key, &lane);
  }
  cv_.Signal();
}

void ThreadPool::Work() {
  MutexLock lock(&mu_);
  for (;;) {
    while (ready_.empty() && !(stopping_ && queued_ == 0)) cv_.Wait();
    if (ready_.empty()) return;  // stopping and drained
    std::string key = std::move(ready_.front());
    ready_.pop_front();
    Lane* lane = &lanes_[key];
    lane->ready = false;
    std::function<void()> task = std::move(lane->tasks.front());
    lane->tasks.pop_front();
    --queued_;
    ++lane->running;
    MaybeReady(key, lane);  // its next task takes its turn after the others
    if (!ready_.empty()) cv_.Signal();
    mu_.Unlock();
    task();
    task = nullptr;  // destroyed outside the lock, like it ran
    mu_.Lock();
    lane = &lanes_[key];
    --lane->running;
    if (lane->tasks.empty() && lane->running == 0) {
      lanes_.erase(key);
    } else {
      MaybeReady(key, lane);
      if (!ready_.empty()) cv_.Signal();
    }
    if (stopping_ && queued_ == 0) cv_.SignalAll();
  }
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  Mutex done_mu;
  CondVar done_cv(&done_mu);
  int running = size();  // under done_mu
  // Each worker pulls indices until none remain, so uneven items balance out.
  for (int w = 0; w < size(); ++w) {
    Submit([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
      MutexLock lock(&done_mu);
      if (--running == 0) done_cv.SignalAll();
    });
  }
  MutexLock lock(&done_mu);
  while (running != 0) done_cv.Wait();
}

int CpuCount() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace vms
