// A fixed-size pool of worker threads running queued closures in FIFO order.
//
// Submit() may be called from any thread, including from a task. The
// destructor runs every task already queued, then joins the workers.
#ifndef VMS_CORE_THREAD_POOL_H_
#define VMS_CORE_THREAD_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace vms {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task);

  // Runs fn(i) for i in [0, n) on the pool's threads and waits for all.
  // Must not be called from a task of this pool.
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

  int size() const { return static_cast<int>(workers_.size()); }

 private:
  void Work();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

// The number of CPUs this process may run on (at least 1).
int CpuCount();

}  // namespace vms

#endif  // VMS_CORE_THREAD_POOL_H_
