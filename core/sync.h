// Locks the compiler checks.
//
// std::mutex carries no thread-safety attributes, so an ABSL_GUARDED_BY that
// names one is checked by nobody. These thin wrappers carry them, and the
// clang build (ops/test --clang: -Wthread-safety -Werror) checks every
// annotation: touching a guarded field without its lock, or returning with
// a lock held, fails the build. Modelled on leveldb's port::Mutex/CondVar.
//
// Waits are on the monotonic clock (std::condition_variable waits with
// CLOCK_MONOTONIC), so a step of the wall clock neither ends nor stretches
// them; absl::CondVar in Debian's abseil waits on absolute CLOCK_REALTIME
// deadlines, which is why it is not used.
//
// A CondVar is not annotated with its mutex (the analysis cannot tie the two
// together): call Wait*() holding the Mutex it was made with, and write the
// condition as a loop around Wait(), so the analysis sees every access.
#ifndef VMS_CORE_SYNC_H_
#define VMS_CORE_SYNC_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace vms {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Tells the analysis the caller holds it (no run-time check).
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` for its scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class CondVar {
 public:
  // `mu` must outlive the CondVar; every Wait*() is called holding it.
  explicit CondVar(Mutex* mu) : mu_(mu) {}
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases the mutex while it waits, holds it again when it returns;
  // wakes may be spurious.
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // As Wait(), for at most `d`; false when the time ran out.
  template <typename Rep, typename Period>
  bool WaitFor(std::chrono::duration<Rep, Period> d) {
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    bool woken = cv_.wait_for(lock, d) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  // As Wait(), until `deadline` at most; false when it passed.
  bool WaitUntil(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  Mutex* const mu_;
  std::condition_variable cv_;
};

// Hand-offs ThreadSanitizer cannot see. gRPC's callback API calls
// OnWriteDone() (OnReadDone()) once the library is done with a message, an
// ordering made inside gRPC, which Debian ships uninstrumented: to TSan the
// next use of the message on another thread races the last. Mark both sides
// of such a hand-off with the same address; what a thread did before
// HappensBefore(p) is then ordered before what another does after
// HappensAfter(p). No-ops in every other build.
#if defined(__SANITIZE_THREAD__)
#define VMS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VMS_TSAN 1
#endif
#endif
#ifdef VMS_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
inline void HappensBefore(const void* p) { __tsan_release(const_cast<void*>(p)); }
inline void HappensAfter(const void* p) { __tsan_acquire(const_cast<void*>(p)); }
#else
inline void HappensBefore(const void*) {}
inline void HappensAfter(const void*) {}
#endif

}  // namespace vms

#endif  // VMS_CORE_SYNC_H_
