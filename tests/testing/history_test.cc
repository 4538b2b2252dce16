// The history checker catches each fault it exists for, planted in an
// otherwise sound history: an acknowledged flip lost, one written twice,
// one acknowledged before it was written (and so out of real-time order),
// a refused flip written, a gap.
#include "tests/testing/history.h"

#include "gtest/gtest.h"

namespace vms::testing {
namespace {

using Outcome = FlipOp::Outcome;

FlipOp Live(int client, std::string version, int64_t from, int64_t to, Outcome outcome,
            uint64_t live_seq = 0) {
  return {.client = client,
          .app = "tool",
          .version = std::move(version),
          .invoked_ms = from,
          .completed_ms = to,
          .outcome = outcome,
          .live_seq = live_seq};
}

class HistoryTest : public ::testing::Test {
 protected:
  // Sound: two clients, one answer lost (written), one refused (not).
  std::vector<FlipOp> ops_ = {
      Live(0, "1.0", 0, 10, Outcome::kOk, 1),    Live(1, "2.0", 5, 20, Outcome::kOk, 2),
      Live(0, "3.0", 21, 30, Outcome::kUnknown), Live(1, "1.0", 25, 40, Outcome::kFailed),
      Live(0, "2.0", 41, 50, Outcome::kOk, 4),
  };
  std::map<std::string, std::vector<LogRecord>> log_ = {
      {"tool", {{1, "1.0", false}, {2, "2.0", false}, {3, "3.0", false}, {4, "2.0", false}}}};
};

TEST_F(HistoryTest, ASoundHistoryPasses) { EXPECT_TRUE(CheckHistory(ops_, log_).empty()); }

TEST_F(HistoryTest, AnAcknowledgedFlipMissingFromTheLogIsLost) {
  // The bug of acknowledging before the log took it: the answer named a
  // record that never came to be.
  log_["tool"].pop_back();
  auto problems = CheckHistory(ops_, log_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("lost"), std::string::npos) << problems[0];
}

TEST_F(HistoryTest, AFlipWrittenTwiceIsCaught) {
  // A retry after a write that happened: the log holds it twice.
  log_["tool"].push_back({5, "2.0", false});
  auto problems = CheckHistory(ops_, log_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("no acknowledged flip"), std::string::npos) << problems[0];
}

TEST_F(HistoryTest, ARefusedFlipInTheLogIsCaught) {
  log_["tool"][2].version = "1.0";  // the refused flip, not the unknown one
  auto problems = CheckHistory(ops_, log_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("refused"), std::string::npos) << problems[0];
}

TEST_F(HistoryTest, TwoAcknowledgementsOfOneRecordAreCaught) {
  ops_.push_back(Live(2, "2.0", 60, 70, Outcome::kOk, 4));
  auto problems = CheckHistory(ops_, log_);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("twice"), std::string::npos) << problems[0];
}

TEST_F(HistoryTest, RealTimeOrderIsKept) {
  // Client 0's first flip was acknowledged (at 10) before client 1's began
  // (at 15), yet the log puts client 1's first: a stale leader answered.
  ops_[1].invoked_ms = 15;
  std::swap(ops_[0].live_seq, ops_[1].live_seq);
  std::swap(log_["tool"][0].version, log_["tool"][1].version);
  auto problems = CheckHistory(ops_, log_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("out of order"), std::string::npos) << problems[0];
}

TEST_F(HistoryTest, AGapIsCaught) {
  log_["tool"].erase(log_["tool"].begin() + 2);
  ops_[2].outcome = Outcome::kFailed;
  auto problems = CheckHistory(ops_, log_);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("gap"), std::string::npos) << problems[0];
}

TEST_F(HistoryTest, AnAnswerThatNamesAnotherVersionIsCaught) {
  ops_[4].version = "3.0";
  auto problems = CheckHistory(ops_, log_);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("changed"), std::string::npos) << problems[0];
}

}  // namespace
}  // namespace vms::testing
