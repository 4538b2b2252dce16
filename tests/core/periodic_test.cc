#include "core/periodic.h"

#include <atomic>

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using Next = PeriodicTask::Next;

TEST(PeriodicTaskTest, RunsAgainAfterEachDelayUntilItIsDone) {
  std::atomic<int> runs{0};
  PeriodicTask task([&] { return ++runs < 3 ? Next::In(milliseconds(1)) : Next::Done(); });
  ASSERT_TRUE(testing::WaitFor([&] { return task.runs() == 3; }));
  task.Wake();  // done: nothing runs any more
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(runs.load(), 3);
}

TEST(PeriodicTaskTest, AWakeRunsItAtOnceWhateverItsWait) {
  std::atomic<int> runs{0};
  PeriodicTask task([&] {
    ++runs;
    return Next::In(hours(1));
  });
  ASSERT_TRUE(testing::WaitFor([&] { return task.runs() == 1; }));
  task.Wake();
  ASSERT_TRUE(testing::WaitFor([&] { return task.runs() == 2; }));
  EXPECT_EQ(runs.load(), 2);
}

TEST(PeriodicTaskTest, AnIdleTaskWaitsOnlyForAWake) {
  std::atomic<int> runs{0};
  PeriodicTask task(
      [&] {
        ++runs;
        return Next::WhenWoken();
      },
      hours(1));
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(task.runs(), 0u);  // the first run waits its hour
  for (uint64_t i = 1; i <= 3; ++i) {
    task.Wake();
    ASSERT_TRUE(testing::WaitFor([&] { return task.runs() == i; }));
  }
}

TEST(PeriodicTaskTest, StopEndsAWaitAtOnceAndNoRunStartsAfter) {
  std::atomic<int> runs{0};
  auto task = std::make_unique<PeriodicTask>([&] {
    ++runs;
    return Next::In(hours(24));
  });
  ASSERT_TRUE(testing::WaitFor([&] { return runs.load() == 1; }));
  const auto start = std::chrono::steady_clock::now();
  task->Stop();  // not a day: the wait ends
  EXPECT_LT(std::chrono::steady_clock::now() - start, hours(1));
  task->Wake();
  task.reset();
  EXPECT_EQ(runs.load(), 1);
}

}  // namespace
}  // namespace vms
