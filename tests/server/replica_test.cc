#include "server/replica.h"

#include "core/envelope.h"
#include "core/lifecycle.h"
#include "core/tree.h"
#include "gtest/gtest.h"
#include "server/master.h"
#include "tests/testing/fake_upstream.h"
#include "tests/testing/testing.h"
#include "tests/testing/trust_world.h"

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

bool Held(Replica& replica, const std::string& raw) {
  return replica.records().objects().Missing(std::vector<Hash>{Sha256(raw)}).value().empty();
}

// What the upstream sends with an event of a version retired later.
Envelope RetirementOf(const Master& master, const std::string& version) {
  return master.records().Retirement("app", version).value().value();
}

// Retirement is a rule of the log: a replica reaching the release of a
// version retired later (new, or rebuilt from an empty disk) applies it as
// a record, fetching nothing, where today's code fetched objects the master
// had already collected and retried for ever.
TEST_F(ReplicaLogicTest, AReleaseRetiredLaterAppliesWithoutItsObjects) {
  upstream_ = FakeUpstream(master_.get());
  Push("1");
  Push("2");
  ASSERT_TRUE(master_->Retire({.app = "app", .version = "1", .principal = "d"}).ok());  // seq 3
  // Its own file is gone upstream: fetching it cannot succeed.
  EXPECT_FALSE(Apply(MasterEvent(1)).ok());
  EXPECT_EQ(replica_->applied_seq(), 0u);

  const Envelope retire = RetirementOf(*master_, "1");
  upstream_.fetched = 0;
  ASSERT_TRUE(replica_->Apply(MasterEvent(1), &upstream_, nullptr, &retire).ok());
  EXPECT_EQ(upstream_.fetched, 0);
  EXPECT_TRUE(replica_->last_applied_retired());
  auto state = replica_->records().LoadAppState("app").value().value();
  EXPECT_TRUE(IsRetired(state, "1"));
  EXPECT_EQ(state.version_count(), 1u);
  // A downstream replica of this one hears the same.
  auto passed_on = replica_->records().Retirement("app", "1");
  ASSERT_TRUE(passed_on.ok() && passed_on->has_value()) << passed_on.status();
  EXPECT_EQ((*passed_on)->SerializeAsString(), retire.SerializeAsString());

  ASSERT_TRUE(Apply(MasterEvent(2)).ok());
  EXPECT_FALSE(replica_->last_applied_retired());
  EXPECT_EQ(upstream_.fetched, 3);
  // The retirement itself fetches nothing and turns "ahead" into retired.
  ASSERT_TRUE(Apply(MasterEvent(3)).ok());
  EXPECT_EQ(upstream_.fetched, 3);
  state = replica_->records().LoadAppState("app").value().value();
  EXPECT_EQ(state.retired_ahead_size(), 0);
  ASSERT_EQ(state.retired_size(), 1);
  EXPECT_EQ(state.retired(0), "1");
  auto fsck = replica_->Fsck(false);
  ASSERT_TRUE(fsck.ok()) << fsck.status();
  EXPECT_TRUE(fsck->incomplete.empty()) << fsck->incomplete[0];
  EXPECT_EQ(fsck->releases, 1u);
}

// A retirement the upstream claims but that does not check (another key,
// another version) changes nothing: the release is fetched as any other.
TEST_F(ReplicaLogicTest, ARetirementThatDoesNotCheckIsIgnored) {
  upstream_ = FakeUpstream(master_.get());
  Push("1");
  Push("2");
  ASSERT_TRUE(master_->Retire({.app = "app", .version = "1", .principal = "d"}).ok());
  const Envelope of_1 = RetirementOf(*master_, "1");  // genuine, but of 1
  LiveRecord r;
  ASSERT_TRUE(r.ParseFromString(of_1.payload()));
  r.set_version("2");
  const Envelope forged = SignEnvelope(kLiveType, r.SerializeAsString(), SigningKey::Generate());
  int site = 0;
  for (const Envelope* claim : {&forged, &of_1}) {
    auto replica = Replica::Open({.data_dir = dir_ / ("r" + std::to_string(++site)), .site = "ny"},
                                 TrustChain::MasterKeyOnly(master_->public_key()))
                       .value();
    ASSERT_TRUE(replica->Apply(MasterEvent(1), &upstream_, nullptr, &of_1).ok());
    upstream_.fetched = 0;
    ASSERT_TRUE(replica->Apply(MasterEvent(2), &upstream_, nullptr, claim).ok());
    EXPECT_FALSE(replica->last_applied_retired());
    EXPECT_FALSE(IsRetired(replica->records().LoadAppState("app").value().value(), "2"));
    EXPECT_EQ(upstream_.fetched, 3) << "tree, a, b of 2";
  }
}

// A live record of a version retired later moves a pointer in the records
// but fetches nothing; the retirement of a version never held fetches
// nothing either (today ApplyLive fetched a version only to retire it).
TEST_F(ReplicaLogicTest, ALiveRecordOfAVersionRetiredLaterFetchesNothing) {
  upstream_ = FakeUpstream(master_.get());
  Push("1");                                              // seq 1
  Push("2");                                              // seq 2
  ASSERT_TRUE(master_->SetLive({"app", "1", "d"}).ok());  // seq 3
  ASSERT_TRUE(master_->SetLive({"app", "2", "d"}).ok());  // seq 4
  RetentionPolicy keep1;
  keep1.set_keep_last(1);
  ASSERT_TRUE(master_->Policy("d", "app", keep1).ok());
  // 1 was the rollback target; with keep-last 1 it still is, so push and
  // flip once more.
  Push("3");                                                                            // seq 5
  ASSERT_TRUE(master_->SetLive({"app", "3", "d"}).ok());                                // seq 6
  ASSERT_TRUE(master_->Retire({.app = "app", .version = "1", .principal = "d"}).ok());  // 7
  const Envelope retire = RetirementOf(*master_, "1");
  for (uint64_t seq = 1; seq <= 7; ++seq) {
    Event e = MasterEvent(seq);
    const bool of_1 = e.version() == "1" && seq != 7;
    auto s = replica_->Apply(e, &upstream_, nullptr, of_1 ? &retire : nullptr);
    ASSERT_TRUE(s.ok()) << "seq " << seq << ": " << s;
  }
  EXPECT_EQ(upstream_.fetched, 2 + 2 + 1) << "2's tree, a, b; 3's tree and b; nothing of 1";
  auto state = replica_->records().LoadAppState("app").value().value();
  EXPECT_EQ(state.live_version(), "3");
  EXPECT_TRUE(IsRetired(state, "1"));

  // A replica that never held 1 at all (its release never reached it):
  // the retirement applies without a fetch.
  auto other = Replica::Open({.data_dir = dir_ / "other", .site = "ldn"},
                             TrustChain::MasterKeyOnly(master_->public_key()))
                   .value();
  Event alone = MasterEvent(7);
  alone.set_seq(1);
  upstream_.fetched = 0;
  ASSERT_TRUE(other->Apply(alone, &upstream_, nullptr).ok());
  EXPECT_EQ(upstream_.fetched, 0);
  EXPECT_TRUE(IsRetired(other->records().LoadAppState("app").value().value(), "1"));
}

// The wish to collect is written with the retirement and cleared only by a
// collection that succeeded: a restart before it does not lose it.
TEST_F(ReplicaLogicTest, TheWishToCollectSurvivesARestart) {
  upstream_ = FakeUpstream(master_.get());
  Push("1");
  Push("2");
  ASSERT_TRUE(Apply(MasterEvent(1)).ok());
  ASSERT_TRUE(Apply(MasterEvent(2)).ok());
  ASSERT_TRUE(master_->Retire({.app = "app", .version = "1", .principal = "d"}).ok());
  ASSERT_TRUE(Apply(MasterEvent(3)).ok());
  EXPECT_TRUE(replica_->gc_wanted());
  EXPECT_TRUE(Held(*replica_, "own content of 1"));
  replica_.reset();
  replica_ = Replica::Open({.data_dir = dir_ / "replica", .site = "ny"},
                           TrustChain::MasterKeyOnly(master_->public_key()))
                 .value();
  EXPECT_TRUE(replica_->gc_wanted());
  auto gc = replica_->CollectIfWanted();
  ASSERT_TRUE(gc.ok()) << gc.status();
  ASSERT_TRUE(gc->has_value());
  EXPECT_EQ((*gc)->versions_retired, 1u);
  EXPECT_FALSE(Held(*replica_, "own content of 1"));
  EXPECT_FALSE(replica_->gc_wanted());
  auto none = replica_->CollectIfWanted();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

// An upstream whose objects are all gone (collected), with a chain of trust
// further along than its follower's.
class CollectedUpstream : public Upstream {
 public:
  absl::Status Fetch(std::span<const Hash> hashes, const Sink& sink) override {
    ++fetches;
    return absl::NotFoundError("object not found");
  }
  absl::StatusOr<std::vector<Envelope>> Releases(const std::string& app) override {
    return std::vector<Envelope>();
  }
  absl::StatusOr<TrustSnapshot> Trust() override { return trust; }
  TrustSnapshot trust;
  int fetches = 0;
};

Event TrustEvent(uint64_t seq, Envelope env) {
  Event e;
  e.set_seq(seq);
  e.set_type(Event::TRUST_CHANGED);
  *e.mutable_envelope() = std::move(env);
  return e;
}

// Under a root of trust, a retirement signed by owners named in an
// ownership record the follower has not reached yet is checked against its
// upstream's chain on a scratch copy: the follower's own chain takes
// nothing out of order, and a record in that chain that does not verify
// (signed by no admin) proves nothing.
TEST(ReplicaTrustTest, ARetirementUnderALaterOwnershipIsCheckedOnAScratchChain) {
  testing::TempDir dir;
  testing::TrustWorld w;
  const std::string root(32, 'r');
  Envelope alice_owns = w.AliceOwns("alpha");
  Envelope bob_owns = w.Ownership("alpha", 2, {{"vms://user/bob", &w.bob}}, nullptr, 1, 0, 1);
  Envelope forged_bob = w.Ownership("alpha", 2, {{"vms://user/bob", &w.bob}}, &w.bob, 1, 0, 1);
  Event release;
  release.set_seq(3);
  release.set_type(Event::RELEASE_ADDED);
  release.set_app("alpha");
  release.set_version("1.0");
  *release.mutable_envelope() = testing::TrustWorld::Sign(
      kReleaseType, testing::TrustWorld::MakeRelease("alpha", "1.0", root), w.alice);
  LiveRecord retire = testing::TrustWorld::MakeLive("alpha", "1.0", root, 1, 2);
  retire.set_kind(LiveRecord::RETIRE);
  const Envelope retire_env = testing::TrustWorld::Sign(kLiveType, retire, w.bob);

  for (bool genuine : {false, true}) {
    auto replica = Replica::Open({.data_dir = dir / (genuine ? "genuine" : "forged"), .site = "ny"},
                                 TrustChain(w.TrustedRoot()))
                       .value();
    ASSERT_TRUE(replica->Apply(TrustEvent(1, w.Keyring()), nullptr, nullptr).ok());
    ASSERT_TRUE(replica->Apply(TrustEvent(2, alice_owns), nullptr, nullptr).ok());
    const std::string chain_before = replica->TrustRecords().SerializeAsString();
    CollectedUpstream upstream;
    for (const Envelope& env : {w.Keyring(), alice_owns, genuine ? bob_owns : forged_bob}) {
      *upstream.trust.add_records() = env;
    }
    auto s = replica->Apply(release, &upstream, nullptr, &retire_env);
    EXPECT_EQ(replica->TrustRecords().SerializeAsString(), chain_before);
    if (!genuine) {
      EXPECT_FALSE(s.ok());
      EXPECT_EQ(upstream.fetches, 1) << "not shown retired: fetched, and not found";
      EXPECT_EQ(replica->applied_seq(), 2u);
      continue;
    }
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(upstream.fetches, 0);
    EXPECT_TRUE(IsRetired(replica->records().LoadAppState("alpha").value().value(), "1.0"));
    // The log then brings the ownership record and the retirement in order.
    ASSERT_TRUE(replica->Apply(TrustEvent(4, bob_owns), &upstream, nullptr).ok());
    Event retire_event;
    retire_event.set_seq(5);
    retire_event.set_type(Event::LIVE_CHANGED);
    retire_event.set_app("alpha");
    retire_event.set_version("1.0");
    *retire_event.mutable_envelope() = retire_env;
    ASSERT_TRUE(replica->Apply(retire_event, &upstream, nullptr).ok());
    EXPECT_EQ(upstream.fetches, 0);
    auto state = replica->records().LoadAppState("alpha").value().value();
    EXPECT_EQ(state.retired_size(), 1);
    EXPECT_EQ(state.retired_ahead_size(), 0);
  }
}

}  // namespace
}  // namespace vms
