// Retirement and garbage collection on a real Master store, and a site's
// census, without the network.
#include "core/envelope.h"
#include "gtest/gtest.h"
#include "server/census.h"
#include "server/master.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/master_trees.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.TickWallEveryRead(std::chrono::milliseconds(10));
    master_ = Master::Open({.data_dir = dir_.path(), .clock = &clock_}).value();
  }
  Hash Release(const std::string& version, const std::string& content) {
    auto root = testing::StoreOneFileTree(master_.get(), "file", content).value();
    EXPECT_TRUE(
        master_->Commit({.app = "app", .version = version, .root = root, .principal = "d"}).ok());
    return root;
  }
  void Live(const std::string& version) {
    ASSERT_TRUE(master_->SetLive({.app = "app", .version = version, .principal = "d"}).ok());
  }
  bool Present(const std::string& content) {
    Hash h = Sha256(content);
    return master_->MissingObjects({&h, 1}).value().empty();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;  // each record stamped later than the one before
  std::unique_ptr<Master> master_;
};

// A version live a minute ago is one of the last live versions, even after
// a rollback popped it from the rollback stack.
TEST_F(LifecycleTest, TheVersionRolledBackFromIsKeptLikeAnyRecentLiveOne) {
  Release("1.0", "one");
  Release("2.0", "two");
  Live("1.0");
  Live("2.0");
  ASSERT_TRUE(master_->Rollback({.app = "app", .principal = "d"}).ok());  // 1.0 again
  auto retire = master_->Retire({.app = "app", .version = "2.0", .principal = "d"});
  EXPECT_TRUE(absl::IsFailedPrecondition(retire.status())) << retire.status();
  EXPECT_NE(retire.status().message().find("last 3 live versions"), std::string::npos)
      << retire.status();
  EXPECT_TRUE(Present("two"));
}

// Pushing a retired version again, same content and all, is refused: it
// once said "unchanged ... complete" and exited 0 while it stayed retired.
// And "live" is the pointer's name, never a version's.
TEST_F(LifecycleTest, ARetiredVersionCannotBePushedAgainAndLiveIsNoVersionName) {
  Hash one = Release("1.0", "one");
  Release("2.0", "two");
  Live("2.0");
  ASSERT_TRUE(master_->Retire({.app = "app", .version = "1.0", .principal = "d"}).ok());
  auto again = master_->Commit({.app = "app", .version = "1.0", .root = one, .principal = "d"});
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
  EXPECT_NE(again.status().message().find("was retired"), std::string::npos) << again.status();
  auto root = testing::StoreOneFileTree(master_.get(), "file", "live?").value();
  auto live = master_->Commit({.app = "app", .version = "live", .root = root, .principal = "d"});
  EXPECT_TRUE(absl::IsInvalidArgument(live.status())) << live.status();
  EXPECT_EQ(master_->records().FindRelease("app", "live").value(), std::nullopt);
}

// `vms gc` retiring N versions once ran N+1 full collections (one after
// each retirement, then its own): its retirements now defer to the one
// that follows them.
TEST_F(LifecycleTest, GcRetirementsShareOneCollection) {
  Release("1.0", "one");
  Release("2.0", "two");
  Release("3.0", "three");
  Live("3.0");
  for (const char* v : {"1.0", "2.0"}) {
    auto r =
        master_->Retire({.app = "app", .version = v, .principal = "d", .defer_collection = true});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_TRUE(r->flip.changed);
    EXPECT_FALSE(r->gc.has_value()) << "no collection yet";
  }
  EXPECT_TRUE(Present("one"));
  EXPECT_TRUE(Present("two"));
  auto gc = master_->Gc("d", "app", /*sweep=*/true);
  ASSERT_TRUE(gc.ok()) << gc.status();
  ASSERT_EQ(gc->stores.size(), 1u);
  EXPECT_EQ(gc->stores[0].versions_retired(), 2u);
  EXPECT_FALSE(Present("one"));
  EXPECT_FALSE(Present("two"));
  EXPECT_TRUE(Present("three"));
}

TEST_F(LifecycleTest, RetiringSweepsOnlyWhatNoKeptVersionUses) {
  Release("1.0", "one");
  Release("2.0", "two");
  Release("3.0", "three");
  Live("1.0");
  Live("2.0");
  Live("3.0");
  // Live and rollback targets stay.
  auto live = master_->Retire({.app = "app", .version = "3.0", .principal = "d"});
  EXPECT_TRUE(absl::IsFailedPrecondition(live.status())) << live.status();
  auto target = master_->Retire({.app = "app", .version = "1.0", .principal = "d"});
  EXPECT_NE(target.status().message().find("rollback target"), std::string::npos)
      << target.status();
  RetentionPolicy keep1;
  keep1.set_keep_last(1);
  ASSERT_TRUE(master_->Policy("d", "app", keep1).ok());
  auto retired = master_->Retire({.app = "app", .version = "1.0", .principal = "d"});
  ASSERT_TRUE(retired.ok()) << retired.status();
  EXPECT_TRUE(retired->flip.changed);
  ASSERT_TRUE(retired->gc.has_value());
  EXPECT_EQ(retired->gc->objects_removed(), 2u);  // its file and its tree
  EXPECT_EQ(retired->gc->versions_retired(), 1u);
  EXPECT_FALSE(Present("one"));
  EXPECT_TRUE(Present("two"));
  EXPECT_TRUE(Present("three"));
  auto state = master_->records().LoadAppState("app").value();
  ASSERT_EQ(state->retired_size(), 1);
  EXPECT_EQ(state->live_version(), "3.0");
  // A retired version cannot be made live again.
  auto back = master_->SetLive({.app = "app", .version = "1.0", .principal = "d"});
  EXPECT_TRUE(absl::IsFailedPrecondition(back.status())) << back.status();
}

TEST_F(LifecycleTest, UploadsOfAPushInProgressSurviveUntilTheyAreADayOld) {
  Release("1.0", "one");
  Live("1.0");
  Hash pending = testing::StoreOneFileTree(master_.get(), "file", "pending").value();
  auto gc = master_->CollectGarbage(false);
  ASSERT_TRUE(gc.ok()) << gc.status();
  EXPECT_EQ(gc->objects_removed(), 0u);
  EXPECT_TRUE(Present("pending"));
  // Nobody committed it for a day: it goes.
  clock_.Advance(Master::kUnreferencedUploadTtl);
  gc = master_->CollectGarbage(false);
  ASSERT_TRUE(gc.ok()) << gc.status();
  EXPECT_EQ(gc->objects_removed(), 2u);
  EXPECT_FALSE(Present("pending"));
  EXPECT_TRUE(Present("one"));
  // A commit of it now asks for the objects again.
  auto late = master_->Commit({.app = "app", .version = "2.0", .root = pending, .principal = "d"});
  EXPECT_TRUE(absl::IsFailedPrecondition(late.status())) << late.status();
}

TEST_F(LifecycleTest, ADryRunCountsWhatWouldGoAndRemovesNothing) {
  for (int i = 1; i <= 4; ++i) Release(std::to_string(i) + ".0", "v" + std::to_string(i));
  Live("4.0");
  RetentionPolicy policy;
  policy.set_keep_last(2);
  ASSERT_TRUE(master_->Policy("d", "app", policy).ok());
  auto plan = master_->Gc("d", "app", /*sweep=*/false);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::map<std::string, bool> retire;
  for (const GcCandidate& c : plan->candidates) retire[c.version()] = c.retire();
  EXPECT_EQ(retire, (std::map<std::string, bool>{
                        {"1.0", true}, {"2.0", true}, {"3.0", false}, {"4.0", false}}));
  ASSERT_EQ(plan->stores.size(), 1u);
  EXPECT_EQ(plan->stores[0].objects_removed(), 4u);
  EXPECT_GT(plan->stores[0].bytes_removed(), 0u);
  EXPECT_TRUE(Present("v1"));
  EXPECT_TRUE(Present("v2"));
}

TEST(SiteCensusTest, SumsHostsAndForgetsTheSilent) {
  testing::FakeClock clock;
  SiteCensus census(&clock);
  const int64_t now = clock.WallMs();
  auto report = [&](const std::string& host, uint32_t processes, int64_t last_use) {
    HostUsageReport r;
    r.set_host(host);
    r.set_interval_ms(60'000);
    VersionUsage* v = r.add_versions();
    v->set_app("app");
    v->set_version("1.0");
    v->set_processes(processes);
    v->set_open_files(processes * 2);
    v->set_last_use_unix_ms(last_use);
    return r;
  };
  ASSERT_TRUE(census.Add(report("a", 2, now)).ok());
  ASSERT_TRUE(census.Add(report("b", 0, now - 2 * SiteCensus::kDayMs)).ok());
  auto sum = census.Sum();
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_EQ(sum[0].hosts_now(), 1u);
  EXPECT_EQ(sum[0].hosts_day(), 1u);
  EXPECT_EQ(sum[0].hosts_week(), 2u);
  EXPECT_EQ(sum[0].processes(), 2u);
  EXPECT_EQ(sum[0].open_files(), 4u);
  ASSERT_EQ(sum[0].hosts_size(), 1);
  EXPECT_EQ(sum[0].hosts(0), "a");
  // a falls silent: after three intervals it no longer uses anything now.
  clock.Advance(std::chrono::minutes(4));
  sum = census.Sum();
  ASSERT_EQ(sum.size(), 1u);
  EXPECT_EQ(sum[0].hosts_now(), 0u);
  EXPECT_EQ(sum[0].hosts_day(), 1u);
  // A week later both are forgotten.
  clock.Advance(std::chrono::milliseconds(SiteCensus::kWeekMs));
  EXPECT_TRUE(census.Sum().empty());
  EXPECT_EQ(census.hosts(), 0u);
  // Bad input is refused.
  HostUsageReport bad = report("Bad Host", 1, clock.WallMs());
  EXPECT_FALSE(census.Add(bad).ok());
}

}  // namespace
}  // namespace vms
