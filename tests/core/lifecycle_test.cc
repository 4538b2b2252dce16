#include "core/lifecycle.h"

#include "core/clock.h"
#include "gtest/gtest.h"

namespace vms {
namespace {

LiveRecord Record(uint64_t seq, const std::string& version, std::vector<std::string> sites = {},
                  const std::string& label = "") {
  LiveRecord r;
  r.set_app("app");
  r.set_version(version);
  r.set_live_seq(seq);
  for (auto& s : sites) r.add_sites(s);
  r.set_label(label);
  return r;
}

TEST(LifecycleTest, TheNewestRecordApplyingToASiteIsInEffectThere) {
  std::vector<LiveRecord> records = {Record(1, "1.0"), Record(2, "2.0", {"ny"}),
                                     Record(3, "b1", {}, "beta"), Record(4, "3.0", {"ldn", "ny"})};
  EXPECT_EQ(InEffect(records, "ny")[""].version(), "3.0");
  EXPECT_EQ(InEffect(records, "tky")[""].version(), "1.0");
  EXPECT_EQ(InEffect(records, "")[""].version(), "1.0") << "the world itself: world records only";
  EXPECT_EQ(InEffect(records, "tky")["beta"].version(), "b1");
  // A world record supersedes every older scoped one; order does not matter.
  records.push_back(Record(5, "4.0"));
  std::reverse(records.begin(), records.end());
  EXPECT_EQ(InEffect(records, "ny")[""].version(), "4.0");
  EXPECT_EQ(InEffect(records, "ldn")[""].version(), "4.0");
  // A retirement moves no pointer.
  LiveRecord retire = Record(6, "1.0");
  retire.set_kind(LiveRecord::RETIRE);
  records.push_back(retire);
  EXPECT_EQ(InEffect(records, "ny")[""].version(), "4.0");
}

TEST(LifecycleTest, LabelsAndScopesAreChecked) {
  EXPECT_TRUE(ValidateLabel("beta").ok());
  EXPECT_TRUE(ValidateLabel("lts-2").ok());
  for (const char* bad : {"", "Beta", "1.0", "b.eta", "-x", "abcdefghijklmnopqrstuvwxyzabcdefg"}) {
    EXPECT_FALSE(ValidateLabel(bad).ok()) << bad;
  }
  EXPECT_TRUE(ValidateScope({"ldn", "ny"}).ok());
  EXPECT_FALSE(ValidateScope({"ny", "ldn"}).ok());
  EXPECT_FALSE(ValidateScope({"ny", "ny"}).ok());
  EXPECT_FALSE(ValidateScope({"NY"}).ok());
  EXPECT_FALSE(ValidateScope(std::vector<std::string>(kMaxScopeSites + 1, "a")).ok());
  EXPECT_EQ(PointerName("app", ""), "app");
  EXPECT_EQ(PointerName("app", "beta"), "app@beta");
}

TEST(LifecycleTest, InstantsParseInBothSpellingsAndNothingElse) {
  EXPECT_EQ(ParseInstantMs("@1764064800"), 1764064800000);
  EXPECT_EQ(ParseInstantMs("2025-11-25T10:00:00Z"), 1764064800000);
  EXPECT_EQ(ParseInstantMs("1970-01-01T00:00:00Z"), 0);
  for (const char* bad :
       {"", "@", "@-1", "@12x", "@1234567890123", "2025-11-25T10:00:00", "2025-11-25 10:00:00Z",
        "2025-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2025-11-25T24:00:00Z", "yesterday"}) {
    EXPECT_FALSE(ParseInstantMs(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace vms
