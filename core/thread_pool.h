// A fixed-size pool of worker threads running queued closures.
//
// Tasks submitted with a key (a server passes the caller's connection) are
// scheduled fairly: keys take turns, one task each, and no key runs more
// than half the workers at once. However many requests one caller queues,
// another caller's request waits for at most one task per other key ahead of
// it, and always finds a worker. Tasks without a key (the pool owner's own
// work) run in FIFO order, uncapped. Submit() may be called from any thread,
// including from a task. The destructor runs every task already queued,
// then joins the workers.
#ifndef VMS_CORE_THREAD_POOL_H_
#define VMS_CORE_THREAD_POOL_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "core/sync.h"

namespace vms {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Submit(std::function<void()> task) { Submit({}, std::move(task)); }
  void Submit(std::string key, std::function<void()> task);

  // Runs fn(i) for i in [0, n) on the pool's threads and waits for all.
  // Must not be called from a task of this pool.
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

  int size() const { return static_cast<int>(workers_.size()); }

 private:
  // The tasks of one key.
  struct Lane {
    std::deque<std::function<void()>> tasks;
    int running = 0;
    bool ready = false;  // in ready_
  };
  void Work();
  // Puts `key` at the back of ready_ if it has tasks it may start now.
  void MaybeReady(const std::string& key, Lane* lane) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  int per_key_limit_;  // for keyed lanes; the unkeyed lane has none
  Mutex mu_;
  CondVar cv_{&mu_};
  std::unordered_map<std::string, Lane> lanes_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> ready_ ABSL_GUARDED_BY(mu_);  // keys in turn order
  size_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

// The number of CPUs this process may run on (at least 1).
int CpuCount();

}  // namespace vms

#endif  // VMS_CORE_THREAD_POOL_H_
