#include "core/check.h"

#include "core/chunker.h"
#include "core/status_macros.h"
#include "gtest/gtest.h"

namespace vms {
namespace {

TEST(CheckDeathTest, AFailedCheckSaysWhereAndWhatBeforeItAborts) {
  EXPECT_DEATH(VMS_CHECK(1 + 1 == 3, "arithmetic"),
               "check failed at .*check_test.cc:[0-9]+: 1 \\+ 1 == 3 \\(arithmetic\\)");
}

TEST(CheckDeathTest, AChunkerWithImpossibleSizesIsAProgrammingError) {
  EXPECT_DEATH(Chunker({.min_size = 8, .avg_size = 6, .max_size = 16}),
               "chunker sizes must be min < avg < max");
}

absl::Status Fails() { return absl::DataLossError("torn"); }
absl::StatusOr<int> Seven() { return 7; }
absl::StatusOr<int> Missing() { return absl::NotFoundError("none"); }

absl::StatusOr<int> Sum(bool fail_first, bool missing) {
  if (fail_first) VMS_RETURN_IF_ERROR(Fails());
  VMS_ASSIGN_OR_RETURN(int a, Seven());
  int b = 0;
  VMS_ASSIGN_OR_RETURN(b, missing ? Missing() : Seven());
  return a + b;
}

TEST(StatusMacrosTest, ReturnTheErrorAsItIsOrGoOn) {
  EXPECT_EQ(Sum(false, false).value(), 14);
  EXPECT_TRUE(absl::IsDataLoss(Sum(true, false).status()));
  EXPECT_EQ(Sum(true, false).status().message(), "torn");
  EXPECT_TRUE(absl::IsNotFound(Sum(false, true).status()));
}

}  // namespace
}  // namespace vms
