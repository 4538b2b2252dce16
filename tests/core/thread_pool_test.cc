#include "core/thread_pool.h"

#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace vms {
namespace {

TEST(ThreadPoolTest, RunsEveryTaskQueuedBeforeItIsDestroyed) {
  std::atomic<int> ran{0};
  {
    ThreadPool pool(3);
    for (int i = 0; i < 100; ++i) pool.Submit(i % 2 ? "a" : "", [&] { ++ran; });
  }
  EXPECT_EQ(ran, 100);
}

TEST(ThreadPoolTest, OneKeyFloodingThePoolLeavesWorkersForAnotherKey) {
  ThreadPool pool(4);
  // The flooder's tasks block until released: at most half the workers may
  // hold them, so the other caller's task runs while they all wait.
  std::latch release(1);
  std::atomic<int> flood_running{0}, flood_peak{0};
  for (int i = 0; i < 50; ++i) {
    pool.Submit("flooder", [&] {
      int now = ++flood_running;
      for (int peak = flood_peak; now > peak && !flood_peak.compare_exchange_weak(peak, now);) {
      }
      release.wait();
      --flood_running;
    });
  }
  std::latch other_ran(1);
  pool.Submit("other", [&] { other_ran.count_down(); });
  other_ran.wait();  // hangs here if the flooder held every worker
  EXPECT_LE(flood_peak, 2);
  release.count_down();
}

TEST(ThreadPoolTest, KeysTakeTurns) {
  ThreadPool pool(1);
  Mutex mu;
  std::vector<std::string> order;
  std::latch start(1), done(4);
  pool.Submit([&] { start.wait(); });  // hold the one worker while we queue
  auto record = [&](std::string key) {
    pool.Submit(key, [&, key] {
      MutexLock lock(&mu);
      order.push_back(key);
      done.count_down();
    });
  };
  for (int i = 0; i < 3; ++i) record("a");
  record("b");
  start.count_down();
  done.wait();
  // "b" came after three of "a" but runs second, not last.
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "a", "a"}));
}

}  // namespace
}  // namespace vms
