#include "core/envelope.h"
#include "core/tree.h"
#include "gtest/gtest.h"
#include "server/master.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/master_trees.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

class LiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.TickWallEveryRead(std::chrono::milliseconds(1));
    Reopen();
    for (const char* v : {"1", "2", "3", "4"}) Push(v);
  }
  void Reopen() {
    master_.reset();
    master_ = Master::Open({.data_dir = dir_.path(), .clock = &clock_}).value();
  }
  void Push(const std::string& version) {
    std::string content = "content of " + version;
    auto root = testing::StoreOneFileTree(master_.get(), "f", content);
    ASSERT_TRUE(root.ok()) << root.status();
    ASSERT_TRUE(master_->Commit({"app", version, *root, "dev@h", ""}).ok());
  }
  LiveRecord Live(const std::string& version) {
    auto r = master_->SetLive({"app", version, "ops@h"});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? ParseLiveRecord(r->record).value() : LiveRecord();
  }
  absl::StatusOr<LiveRecord> Rollback(const std::string& to = "") {
    auto r = master_->Rollback({"app", to, "ops@h"});
    if (!r.ok()) return r.status();
    return OpenLiveRecord(r->record, master_->public_key());
  }
  std::string LiveVersion() {
    std::vector<AppState> apps = master_->records().ListApps().value();
    for (const AppState& a : apps) {
      if (a.app() == "app") return a.live_version();
    }
    return "?";
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;  // each record stamped later than the one before
  std::unique_ptr<Master> master_;
};

TEST_F(LiveTest, SeqStrictlyIncreasesAndRecordsAreSigned) {
  uint64_t last = 0;
  for (const char* v : {"1", "2", "1", "3"}) {
    auto r = master_->SetLive({"app", v, "ops@h"});
    ASSERT_TRUE(r.ok()) << r.status();
    auto record = OpenLiveRecord(r->record, master_->public_key());
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(record->live_seq(), last + 1);
    EXPECT_EQ(record->issuer(), "ops@h");
    last = record->live_seq();
  }
  EXPECT_EQ(LiveVersion(), "3");
}

TEST_F(LiveTest, LiveOfTheLiveVersionIsANoOp) {
  Live("2");
  uint64_t head = master_->records().head_seq();
  auto again = master_->SetLive({"app", "2", "ops@h"});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(ParseLiveRecord(again->record).value().live_seq(), 1u);
  EXPECT_EQ(master_->records().head_seq(), head);
  EXPECT_EQ(master_->records().LiveHistory("app").value().size(), 1u);
}

TEST_F(LiveTest, UnknownVersionIsRefusedListingTheVersions) {
  auto s = master_->SetLive({"app", "9", "ops@h"}).status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_NE(s.message().find("its versions are: 1, 2, 3, 4"), std::string::npos) << s;
  EXPECT_TRUE(absl::IsNotFound(master_->SetLive({"nope", "1", "ops@h"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(master_->SetLive({"app", "bad version", "x"}).status()));
}

TEST_F(LiveTest, RollbackIssuesHigherSeqNamingThePreviousVersion) {
  Live("1");
  Live("2");
  auto r = Rollback();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version(), "1");
  EXPECT_EQ(r->previous_version(), "2");
  EXPECT_EQ(r->live_seq(), 3u);
  EXPECT_EQ(r->kind(), LiveRecord::ROLLBACK);
  EXPECT_EQ(LiveVersion(), "1");
}

TEST_F(LiveTest, RollbackTwiceInARowKeepsGoingBack) {
  Live("1");
  Live("2");
  Live("3");
  EXPECT_EQ(Rollback()->version(), "2");
  EXPECT_EQ(Rollback()->version(), "1");
  auto s = Rollback().status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("nothing to roll back to"), std::string::npos) << s;
  EXPECT_EQ(LiveVersion(), "1");
  // A new flip after rollbacks starts a new line of history.
  Live("4");
  EXPECT_EQ(Rollback()->version(), "1");
}

TEST_F(LiveTest, RollbackTo) {
  Live("1");
  Live("2");
  Live("3");
  auto r = Rollback("1");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version(), "1");
  EXPECT_EQ(r->previous_version(), "3");
  EXPECT_FALSE(Rollback().ok()) << "going back past 1 dropped 2 from the way back";
  // --to a version that was never live works too, and can be rolled back.
  EXPECT_EQ(Rollback("4")->version(), "4");
  EXPECT_EQ(Rollback()->version(), "1");
  EXPECT_TRUE(absl::IsNotFound(Rollback("9").status()));
}

TEST_F(LiveTest, RollbackWithoutHistoryIsRefused) {
  auto s = Rollback().status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("no live version yet"), std::string::npos) << s;
}

TEST_F(LiveTest, FlipsAreEventsAndSurviveRestart) {
  Live("1");
  Live("2");
  ASSERT_TRUE(Rollback().ok());
  Reopen();
  auto events = master_->records().ReadEvents(4, 10).value();  // after the 4 releases
  ASSERT_EQ(events.size(), 3u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].type(), Event::LIVE_CHANGED);
    EXPECT_EQ(events[i].seq(), 5 + i);
    EXPECT_TRUE(OpenLiveRecord(events[i].envelope(), master_->public_key()).ok());
  }
  auto history = master_->records().LiveHistory("app").value();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(ParseLiveRecord(history[2]).value().version(), "1");
  EXPECT_EQ(LiveVersion(), "1");
  EXPECT_EQ(Rollback().status().code(), absl::StatusCode::kFailedPrecondition)
      << "the way back survives a restart too";
}

}  // namespace
}  // namespace vms
