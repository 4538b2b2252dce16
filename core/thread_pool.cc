#include "core/thread_pool.h"

#include <sched.h>

#include <atomic>

namespace vms {

ThreadPool::ThreadPool(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) workers_.emplace_back([this] { Work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::Submit(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::Work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex done_mu;
  std::condition_variable done_cv;
  int running = size();
  // Each worker pulls indices until none remain, so uneven items balance out.
  for (int w = 0; w < size(); ++w) {
    Submit([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
      std::lock_guard lock(done_mu);
      if (--running == 0) done_cv.notify_all();
    });
  }
  std::unique_lock lock(done_mu);
  done_cv.wait(lock, [&] { return running == 0; });
}

int CpuCount() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace vms
