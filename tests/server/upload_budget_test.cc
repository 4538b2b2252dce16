#include "server/upload_budget.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"

namespace vms {
namespace {

using std::chrono::microseconds;
using std::chrono::seconds;

class UploadBudgetTest : public ::testing::Test {
 protected:
  testing::FakeClock clock_;
  UploadBudget budget_{100 << 20, &clock_};  // 100 MiB/s
};

TEST_F(UploadBudgetTest, WithinTheBurstNothingWaits) {
  // 4 s of burst at 100 MiB/s: 400 MiB at once is fine.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(budget_.Reserve("a", 100 << 20), microseconds(0));
  // The next 100 MiB is due one second later.
  EXPECT_EQ(budget_.Reserve("a", 100 << 20), seconds(1));
  EXPECT_EQ(budget_.Reserve("a", 50 << 20), microseconds(1500000));
}

TEST_F(UploadBudgetTest, TheRateRefillsAndClientsAreSeparate) {
  for (int i = 0; i < 6; ++i) budget_.Reserve("a", 100 << 20);
  EXPECT_EQ(budget_.Reserve("b", 100 << 20), microseconds(0)) << "b owes nothing for a";
  clock_.Advance(seconds(10));
  EXPECT_EQ(budget_.Reserve("a", 100 << 20), microseconds(0)) << "paid off meanwhile";
}

TEST_F(UploadBudgetTest, HostileSizesDoNotOverflow) {
  microseconds wait = budget_.Reserve("a", std::numeric_limits<uint64_t>::max());
  EXPECT_GT(wait, seconds(1000000));
  EXPECT_EQ(budget_.Reserve("a", std::numeric_limits<uint64_t>::max()), wait) << "saturated";
}

TEST(UploadBudget, UnlimitedNeverWaits) {
  UploadBudget budget(0);
  EXPECT_EQ(budget.Reserve("a", std::numeric_limits<uint64_t>::max()), microseconds(0));
}

TEST(UploadBudget, ClientIsThePeerWithoutItsPort) {
  EXPECT_EQ(UploadBudget::ClientOf("ipv4:10.0.0.1:51234"), "ipv4:10.0.0.1");
  EXPECT_EQ(UploadBudget::ClientOf("ipv6:[::1]:5"), "ipv6:[::1]");
  EXPECT_EQ(UploadBudget::ClientOf("unix:/run/vms.sock"), "unix:/run/vms.sock");
}

}  // namespace
}  // namespace vms
