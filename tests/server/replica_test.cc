#include "server/replica.h"

#include "core/envelope.h"
#include "core/tree.h"
#include "gtest/gtest.h"
#include "server/master.h"
#include "tests/testing/fake_upstream.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

using testing::FakeUpstream;

class ReplicaLogicTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_ = Master::Open({.data_dir = dir_ / "master"}).value();
    replica_ = Replica::Open({.data_dir = dir_ / "replica", .site = "ny"},
                             TrustChain::MasterKeyOnly(master_->public_key()))
                   .value();
  }
  // Pushes a version with two files (one shared by every version).
  void Push(const std::string& version) {
    std::string shared = "shared content", own = "own content of " + version;
    std::string tree =
        EncodeTree(
            {{.name = "a", .type = EntryType::kFile, .size = shared.size(), .hash = Sha256(shared)},
             {.name = "b", .type = EntryType::kFile, .size = own.size(), .hash = Sha256(own)}})
            .value();
    std::vector<StoredObject> objs;
    for (const std::string& raw : {shared, own, tree}) {
      objs.push_back({Sha256(raw), Codec::kRaw, raw.size(), raw});
    }
    ASSERT_TRUE(master_->PutObjects(&objs).ok());
    ASSERT_TRUE(master_->Commit({"app", version, Sha256(tree), "dev@h", ""}).ok());
  }
  Event MasterEvent(uint64_t seq) { return master_->records().ReadEvents(seq - 1, 1).value()[0]; }
  absl::Status Apply(const Event& e) { return replica_->Apply(e, &upstream_, nullptr); }

  testing::TempDir dir_;
  std::unique_ptr<Master> master_;
  std::unique_ptr<Replica> replica_;
  FakeUpstream upstream_{nullptr};
};

TEST_F(ReplicaLogicTest, AppliesReleasesFetchingOnlyWhatItLacks) {
  upstream_ = FakeUpstream(master_.get());
  Push("1");
  Push("2");
  ASSERT_TRUE(Apply(MasterEvent(1)).ok());
  EXPECT_EQ(upstream_.fetched, 3);  // tree, a, b
  ASSERT_TRUE(Apply(MasterEvent(2)).ok());
  EXPECT_EQ(upstream_.fetched, 5) << "the shared file is not fetched again";
  EXPECT_EQ(replica_->applied_seq(), 2u);
  EXPECT_EQ(replica_->records().ListVersions("app").value().size(), 2u);
  EXPECT_TRUE(Apply(MasterEvent(1)).ok()) << "an event already applied is ignored";
}

TEST_F(ReplicaLogicTest, TamperedReleaseIsRefusedAndNothingIsStored) {
  upstream_ = FakeUpstream(master_.get());
  Push("1");
  Event e = MasterEvent(1);
  std::string* payload = e.mutable_envelope()->mutable_payload();
  (*payload)[3] ^= 0x01;
  auto s = Apply(e);
  EXPECT_TRUE(absl::IsUnauthenticated(s)) << s;
  EXPECT_EQ(replica_->applied_seq(), 0u);
  EXPECT_EQ(upstream_.fetched, 0);
  EXPECT_TRUE(absl::IsNotFound(replica_->records().ListVersions("app").status()));
  EXPECT_TRUE(Apply(MasterEvent(1)).ok()) << "the genuine record still applies";
}

TEST_F(ReplicaLogicTest, ReleaseFromAnotherKeyIsRefused) {
  upstream_ = FakeUpstream(master_.get());
  Push("1");
  Event e = MasterEvent(1);
  *e.mutable_envelope() =
      SignEnvelope(kReleaseType, e.envelope().payload(), SigningKey::Generate());
  EXPECT_TRUE(absl::IsUnauthenticated(Apply(e)));
}

TEST_F(ReplicaLogicTest, IncompleteFetchAppliesNothing) {
  upstream_ = FakeUpstream(master_.get());
  Push("1");
  upstream_.withhold = Sha256("own content of 1");
  EXPECT_FALSE(Apply(MasterEvent(1)).ok());
  EXPECT_EQ(replica_->applied_seq(), 0u);
  EXPECT_TRUE(absl::IsNotFound(replica_->records().ListVersions("app").status()));
  upstream_.withhold.reset();
  ASSERT_TRUE(Apply(MasterEvent(1)).ok());
  EXPECT_EQ(upstream_.fetched, 3) << "tree, a, b: nothing that arrived before is fetched again";
}

TEST_F(ReplicaLogicTest, GapsAndStaleLiveRecordsAreRefused) {
  upstream_ = FakeUpstream(master_.get());
  Push("1");
  Push("2");
  ASSERT_TRUE(master_->SetLive({"app", "1", "ops"}).ok());  // seq 3
  ASSERT_TRUE(master_->SetLive({"app", "2", "ops"}).ok());  // seq 4
  EXPECT_TRUE(absl::IsFailedPrecondition(Apply(MasterEvent(3)))) << "seq 3 before 1 and 2";
  for (uint64_t seq = 1; seq <= 4; ++seq) ASSERT_TRUE(Apply(MasterEvent(seq)).ok());
  EXPECT_EQ(replica_->records().LoadAppState("app").value()->live_version(), "2");

  // The first live record, replayed later under a new seq, is refused.
  Event replay = MasterEvent(3);
  replay.set_seq(5);
  auto s = Apply(replay);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("stale live record"), std::string::npos);
  EXPECT_EQ(replica_->applied_seq(), 4u);
  EXPECT_EQ(replica_->records().LoadAppState("app").value()->live_version(), "2");
}

TEST_F(ReplicaLogicTest, LiveRecordForAVersionNotHeldFetchesItFirst) {
  upstream_ = FakeUpstream(master_.get());
  Push("1");
  ASSERT_TRUE(master_->SetLive({"app", "1", "ops"}).ok());
  Event live = MasterEvent(2);
  live.set_seq(1);  // as if the release event had never reached this replica
  ASSERT_TRUE(Apply(live).ok());
  EXPECT_EQ(upstream_.fetched, 3);
  EXPECT_EQ(replica_->records().ListVersions("app").value().size(), 1u);
  EXPECT_EQ(replica_->records().LoadAppState("app").value()->live_version(), "1");
}

}  // namespace
}  // namespace vms
