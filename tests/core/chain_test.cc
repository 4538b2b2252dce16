#include "core/chain.h"

#include "core/hash.h"
#include "gtest/gtest.h"
#include "tests/testing/trust_world.h"

namespace vms {
namespace {

using testing::TrustWorld;
using Order = TrustChain::Order;

const std::string kRoot(32, 'r');
constexpr int64_t kNow = 10'000;
constexpr int64_t kDayMs = 24 * 3600 * 1000;

// Whether a release of alpha signed by alice verifies, in log order.
bool AliceMaySign(const TrustChain& chain, const TrustWorld& w) {
  return chain
      .VerifyRelease(
          TrustWorld::Sign(kReleaseType, TrustWorld::MakeRelease("alpha", "1", kRoot), w.alice),
          Order::kCurrent)
      .ok();
}

bool Mentions(const absl::Status& s, std::string_view what) {
  return std::string(s.message()).find(what) != std::string::npos;
}

TEST(ChainTest, AcceptsAReleaseAndFlipSignedByAnOwner) {
  TrustWorld w;
  TrustChain chain = w.Chain();
  auto release = chain.VerifyRelease(
      TrustWorld::Sign(kReleaseType, TrustWorld::MakeRelease("alpha", "1.0", kRoot), w.alice),
      Order::kCurrent);
  ASSERT_TRUE(release.ok()) << release.status();
  Envelope live =
      TrustWorld::Sign(kLiveType, TrustWorld::MakeLive("alpha", "1.0", kRoot, 1), w.alice);
  AddSignature(&live, w.master);  // the master's sequencing signature does no harm
  EXPECT_TRUE(chain.VerifyLive(live, Order::kCurrent).ok());
}

TEST(ChainTest, RefusesARecordSignedOnlyByTheMasterOrByAnotherAppsOwner) {
  TrustWorld w;
  TrustChain chain = w.Chain();
  ASSERT_TRUE(*chain.Accept(w.Ownership("beta", 1, {{"vms://user/bob", &w.bob}})));
  auto by_master = chain.VerifyLive(
      TrustWorld::Sign(kLiveType, TrustWorld::MakeLive("alpha", "1.0", kRoot, 1), w.master),
      Order::kCurrent);
  EXPECT_TRUE(absl::IsUnauthenticated(by_master.status()));
  EXPECT_TRUE(Mentions(by_master.status(), "the master key")) << by_master.status();
  EXPECT_TRUE(Mentions(by_master.status(), "only")) << by_master.status();

  auto by_bob = chain.VerifyRelease(
      TrustWorld::Sign(kReleaseType, TrustWorld::MakeRelease("alpha", "1.0", kRoot), w.bob),
      Order::kCurrent);
  EXPECT_TRUE(absl::IsUnauthenticated(by_bob.status()));
  EXPECT_TRUE(Mentions(by_bob.status(), "signed by 0 of its owners")) << by_bob.status();

  // An app nobody was made owner of: nothing verifies.
  auto unowned = chain.VerifyRelease(
      TrustWorld::Sign(kReleaseType, TrustWorld::MakeRelease("gamma", "1.0", kRoot), w.alice),
      Order::kCurrent);
  EXPECT_TRUE(Mentions(unowned.status(), "no ownership record")) << unowned.status();
}

TEST(ChainTest, ARevokedKeySignsNothingNewButWhatItSignedStays) {
  TrustWorld w;
  TrustChain chain = w.Chain();
  Envelope old_flip =
      TrustWorld::Sign(kLiveType, TrustWorld::MakeLive("alpha", "1.0", kRoot, 1), w.alice);
  ASSERT_TRUE(chain.VerifyLive(old_flip, Order::kCurrent).ok());
  // The admin replaces alice's key with bob's, at live_seq 1.
  ASSERT_TRUE(*chain.Accept(
      w.Ownership("alpha", 2, {{"vms://user/bob", &w.bob}}, nullptr, 1, /*live_seq_at=*/1)));

  // alice's key, still naming the old record: refused for anything new...
  Envelope new_flip =
      TrustWorld::Sign(kLiveType, TrustWorld::MakeLive("alpha", "2.0", kRoot, 2), w.alice);
  auto refused = chain.VerifyLive(new_flip, Order::kCurrent);
  EXPECT_TRUE(absl::IsUnauthenticated(refused.status()));
  EXPECT_TRUE(Mentions(refused.status(), "owners changed since")) << refused.status();
  // ...or naming the new one.
  auto named_new = chain.VerifyLive(
      TrustWorld::Sign(kLiveType, TrustWorld::MakeLive("alpha", "2.0", kRoot, 2, 2), w.alice),
      Order::kCurrent);
  EXPECT_TRUE(Mentions(named_new.status(), "former owner key")) << named_new.status();
  // What it signed before stays valid when read back; a later one does not,
  // in whatever order it comes.
  EXPECT_TRUE(chain.VerifyLive(old_flip, Order::kHeld).ok());
  auto later = chain.VerifyLive(new_flip, Order::kHeld);
  EXPECT_TRUE(absl::IsUnauthenticated(later.status()));
  EXPECT_TRUE(Mentions(later.status(), "replaced those owners at number 1")) << later.status();
  // bob signs under record 2.
  EXPECT_TRUE(
      chain
          .VerifyLive(
              TrustWorld::Sign(kLiveType, TrustWorld::MakeLive("alpha", "2.0", kRoot, 2, 2), w.bob),
              Order::kCurrent)
          .ok());
}

TEST(ChainTest, AThresholdCountsOwnersNotKeys) {
  TrustWorld w;
  TrustChain chain(w.TrustedRoot());
  ASSERT_TRUE(*chain.Accept(w.Keyring()));
  SigningKey alice2 = SigningKey::Generate();
  OwnershipRecord o;
  o.set_app("alpha");
  o.set_ownership_seq(1);
  o.set_keyring_version(1);
  o.set_threshold(2);
  for (auto [who, key] :
       std::vector<std::pair<std::string, const SigningKey*>>{{"vms://user/alice", &w.alice},
                                                              {"vms://user/alice", &alice2},
                                                              {"vms://user/bob", &w.bob}}) {
    OwnerKey* k = o.add_owners();
    k->set_principal(who);
    k->set_key(key->public_key().Pem());
  }
  ASSERT_TRUE(*chain.Accept(TrustWorld::Sign(kOwnershipType, o, w.admin)));
  Envelope flip =
      TrustWorld::Sign(kLiveType, TrustWorld::MakeLive("alpha", "1", kRoot, 1), w.alice);
  AddSignature(&flip, alice2);  // alice twice is one owner
  auto one = chain.VerifyLive(flip, Order::kCurrent);
  EXPECT_TRUE(Mentions(one.status(), "is signed by 1 of its owners; it takes 2")) << one.status();
  AddSignature(&flip, w.bob);
  EXPECT_TRUE(chain.VerifyLive(flip, Order::kCurrent).ok());
  // A threshold above the number of owners is malformed.
  o.set_ownership_seq(2);
  o.set_threshold(3);
  EXPECT_TRUE(
      absl::IsInvalidArgument(chain.Accept(TrustWorld::Sign(kOwnershipType, o, w.admin)).status()));
}

TEST(ChainTest, OwnershipNeedsAnAdminKeyAndComesInOrder) {
  TrustWorld w;
  TrustChain chain = w.Chain();
  auto by_bob = chain.Accept(w.Ownership("alpha", 2, {{"vms://user/bob", &w.bob}}, &w.bob));
  EXPECT_TRUE(absl::IsUnauthenticated(by_bob.status()));
  EXPECT_TRUE(Mentions(by_bob.status(), "not signed by an admin key")) << by_bob.status();
  auto by_master = chain.Accept(w.Ownership("alpha", 2, {{"vms://user/bob", &w.bob}}, &w.master));
  EXPECT_TRUE(absl::IsUnauthenticated(by_master.status()));
  // A gap, a replay of a different record 1, and the same record 1 again.
  EXPECT_TRUE(absl::IsFailedPrecondition(
      chain.Accept(w.Ownership("alpha", 3, {{"vms://user/bob", &w.bob}})).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      chain.Accept(w.Ownership("alpha", 1, {{"vms://user/bob", &w.bob}})).status()));
  auto again = chain.Accept(w.AliceOwns("alpha"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(chain.ownership("alpha")->record.owners(0).principal(), "vms://user/alice");
  // Nothing above changed what an owner may sign.
  EXPECT_TRUE(AliceMaySign(chain, w));
}

// A refused record changes nothing: an unsigned ownership record 0 for an
// app never seen, refused as stale, once left an empty history behind that
// the next verification of that app dereferenced.
TEST(ChainTest, ARefusedOwnershipRecordForANewAppChangesNothing) {
  TrustWorld w;
  TrustChain chain = w.Chain();
  const std::string before = chain.Snapshot().SerializeAsString();
  OwnershipRecord zero;
  zero.set_app("newapp");
  zero.set_ownership_seq(0);
  Envelope unsigned_zero;
  unsigned_zero.set_payload_type(std::string(kOwnershipType));
  unsigned_zero.set_payload(zero.SerializeAsString());
  for (const Envelope& env : {unsigned_zero, w.Ownership("newapp", 0, {{"vms://user/bob", &w.bob}}),
                              w.Ownership("newapp", 2, {{"vms://user/bob", &w.bob}}),
                              w.Ownership("newapp", 1, {{"vms://user/bob", &w.bob}}, &w.bob)}) {
    EXPECT_FALSE(chain.Accept(env).ok());
    EXPECT_EQ(chain.Snapshot().SerializeAsString(), before);
    EXPECT_EQ(chain.ownership("newapp"), nullptr);
    auto release = chain.VerifyRelease(
        TrustWorld::Sign(kReleaseType, TrustWorld::MakeRelease("newapp", "1", kRoot), w.bob),
        Order::kCurrent);
    EXPECT_TRUE(absl::IsUnauthenticated(release.status())) << release.status();
    EXPECT_TRUE(Mentions(release.status(), "no ownership record")) << release.status();
  }
}

TEST(ChainTest, KeyringsNeedTheRootAndOnlyGoForward) {
  TrustWorld w;
  TrustChain chain(w.TrustedRoot());
  auto forged = chain.Accept(w.Keyring(1, &w.admin));
  EXPECT_TRUE(absl::IsUnauthenticated(forged.status())) << forged.status();
  EXPECT_EQ(chain.keyring(), nullptr);
  // Ownership before any keyring is refused.
  EXPECT_TRUE(absl::IsFailedPrecondition(chain.Accept(w.AliceOwns("alpha")).status()));
  ASSERT_TRUE(*chain.Accept(w.Keyring(1)));
  ASSERT_TRUE(*chain.Accept(w.Keyring(2)));
  // The old one again changes nothing; another one numbered 1 is refused.
  auto old = chain.Accept(w.Keyring(1));
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(*old);
  SigningKey other_master = SigningKey::Generate();
  auto older = chain.Accept(w.Keyring(1, nullptr, &other_master));
  EXPECT_TRUE(absl::IsFailedPrecondition(older.status())) << older.status();
  EXPECT_EQ(chain.keyring()->version(), 2u);
  EXPECT_EQ(chain.master_key()->keyid(), w.master.public_key().keyid());
  // Ownership records must name the keyring held now.
  EXPECT_TRUE(absl::IsFailedPrecondition(
      chain.Accept(w.Ownership("alpha", 1, {{"vms://user/alice", &w.alice}}, nullptr, 1))
          .status()));
  EXPECT_TRUE(*chain.Accept(w.Ownership("alpha", 1, {{"vms://user/alice", &w.alice}}, nullptr, 2)));
}

TEST(ChainTest, ANewRootNeedsTheOldRootAndItself) {
  TrustWorld w;
  TrustChain chain(w.TrustedRoot());
  SigningKey next_key = SigningKey::Generate();
  RootRecord next;
  next.set_version(2);
  next.set_threshold(1);
  next.add_keys(next_key.public_key().Pem());
  // Signed only by itself: refused.
  Envelope self_only = TrustWorld::Sign(kRootType, next, next_key);
  auto refused = chain.Accept(self_only);
  EXPECT_TRUE(absl::IsUnauthenticated(refused.status())) << refused.status();
  // By the old root alone: OpenRoot refuses (a root signs itself).
  EXPECT_FALSE(chain.Accept(TrustWorld::Sign(kRootType, next, w.root_key)).ok());
  Envelope both = self_only;
  AddSignature(&both, w.root_key);
  ASSERT_TRUE(*chain.Accept(both));
  EXPECT_EQ(chain.root().record.version(), 2u);
  // A keyring signed by the old root is now refused; by the new one, taken.
  EXPECT_FALSE(chain.Accept(w.Keyring(1)).ok());
  KeyringRecord k;
  k.set_version(1);
  k.set_root_version(2);
  k.add_admin_keys(w.admin.public_key().Pem());
  k.set_master_key(w.master.public_key().Pem());
  EXPECT_TRUE(*chain.Accept(TrustWorld::Sign(kKeyringType, k, next_key)));
}

TEST(ChainTest, CheckpointsAreTheMastersAndNeverGoBack) {
  TrustWorld w;
  TrustChain chain = w.Chain();
  EXPECT_FALSE(chain.checkpoint(1000).held);
  auto by_admin = chain.AcceptCheckpoint(w.Checkpoint(5, 1000, 2000, &w.admin), kNow);
  EXPECT_TRUE(absl::IsUnauthenticated(by_admin.status()));
  ASSERT_TRUE(*chain.AcceptCheckpoint(w.Checkpoint(5, 1000, 2000), kNow));
  EXPECT_TRUE(chain.checkpoint(1500).fresh);
  EXPECT_FALSE(chain.checkpoint(2500).fresh);
  ASSERT_TRUE(*chain.AcceptCheckpoint(w.Checkpoint(6, 3000, 4000), kNow));
  auto replay = chain.AcceptCheckpoint(w.Checkpoint(5, 1000, 2000), kNow);
  EXPECT_TRUE(absl::IsFailedPrecondition(replay.status()));
  EXPECT_TRUE(Mentions(replay.status(), "replayed")) << replay.status();
  EXPECT_EQ(chain.checkpoint(0).checkpoint.head_seq(), 6u);
}

TEST(ChainTest, ASnapshotRestoresTheSameChain) {
  TrustWorld w;
  TrustChain chain = w.Chain();
  ASSERT_TRUE(*chain.Accept(w.Ownership("alpha", 2, {{"vms://user/bob", &w.bob}})));
  ASSERT_TRUE(*chain.AcceptCheckpoint(w.Checkpoint(9, 1000, 2000), kNow));
  TrustChain restored(w.TrustedRoot());
  ASSERT_TRUE(restored.Restore(chain.Snapshot(), kNow).ok());
  EXPECT_EQ(restored.ownership("alpha")->record.ownership_seq(), 2u);
  EXPECT_EQ(restored.checkpoint(0).checkpoint.head_seq(), 9u);
  // A tampered snapshot stops at the bad record.
  TrustSnapshot bad = chain.Snapshot();
  bad.mutable_records(1)->mutable_signatures(0)->set_sig(std::string(64, 'x'));
  TrustChain partial(w.TrustedRoot());
  EXPECT_FALSE(partial.Restore(bad, kNow).ok());
  EXPECT_EQ(partial.ownership("alpha"), nullptr);
}

TEST(ChainTest, ACheckpointFromTheFutureIsRefusedAndHidesNoFreeze) {
  TrustWorld w;
  TrustChain chain = w.Chain();
  // Signed by a master whose clock is a day ahead (or by a stolen key).
  auto ahead = chain.AcceptCheckpoint(w.Checkpoint(5, kNow + kDayMs, kNow + kDayMs + 60'000), kNow);
  EXPECT_TRUE(absl::IsFailedPrecondition(ahead.status()));
  EXPECT_TRUE(Mentions(ahead.status(), "ahead of this clock")) << ahead.status();
  EXPECT_FALSE(chain.checkpoint(kNow).held);
  // So the next real one is not "replayed", and a lapse still shows.
  ASSERT_TRUE(*chain.AcceptCheckpoint(w.Checkpoint(5, kNow, kNow + 60'000), kNow));
  EXPECT_FALSE(chain.checkpoint(kNow + 61'000).fresh);
  // A little skew is no fault.
  EXPECT_TRUE(*chain.AcceptCheckpoint(w.Checkpoint(6, kNow + 60'000, kNow + 120'000), kNow));
  // A stored one from the future is dropped when restored, not fatal.
  TrustChain stored = w.Chain();
  TrustSnapshot snapshot = stored.Snapshot();
  *snapshot.mutable_checkpoint() = w.Checkpoint(7, kNow + kDayMs, kNow + kDayMs + 1);
  TrustChain restored(w.TrustedRoot());
  ASSERT_TRUE(restored.Restore(snapshot, kNow).ok());
  EXPECT_FALSE(restored.checkpoint(kNow).held);
  EXPECT_NE(restored.ownership("alpha"), nullptr);
}

// A keyring that expires at `expires`.
Envelope ExpiringKeyring(const TrustWorld& w, uint64_t version, int64_t issued, int64_t expires,
                         uint64_t root_version = 1) {
  KeyringRecord k;
  k.set_version(version);
  k.set_root_version(root_version);
  k.add_admin_keys(w.admin.public_key().Pem());
  k.set_master_key(w.master.public_key().Pem());
  k.set_issued_unix_ms(issued);
  k.set_expires_unix_ms(expires);
  return TrustWorld::Sign(kKeyringType, k, w.root_key);
}

Envelope OwnershipIssuedAt(const TrustWorld& w, const std::string& app, uint64_t seq,
                           int64_t issued) {
  OwnershipRecord o;
  o.set_app(app);
  o.set_ownership_seq(seq);
  o.set_threshold(1);
  o.set_keyring_version(1);
  o.set_issued_unix_ms(issued);
  OwnerKey* k = o.add_owners();
  k->set_principal("vms://user/alice");
  k->set_key(w.alice.public_key().Pem());
  return TrustWorld::Sign(kOwnershipType, o, w.admin);
}

TEST(ChainTest, AnExpiredKeyringVouchesForNothingNewAndKeepsWhatItSigned) {
  TrustWorld w;
  TrustChain chain(w.TrustedRoot());
  const int64_t expires = kNow + 40 * kDayMs;
  ASSERT_TRUE(*chain.Accept(ExpiringKeyring(w, 1, kNow, expires)));
  EXPECT_TRUE(chain.ExpiryWarnings(kNow).empty());
  ASSERT_TRUE(*chain.Accept(OwnershipIssuedAt(w, "alpha", 1, expires - 1)));

  // Shown 30 days before, with what to do.
  auto soon = chain.ExpiryWarnings(expires - 29 * kDayMs);
  ASSERT_EQ(soon.size(), 1u);
  EXPECT_NE(soon[0].find("the keyring (version 1) expires at"), std::string::npos) << soon[0];
  EXPECT_NE(soon[0].find("vms-admin keyring"), std::string::npos) << soon[0];

  // After: nothing new is accepted under it, and the refusal changes nothing.
  auto late = chain.Accept(OwnershipIssuedAt(w, "beta", 1, expires + 1));
  EXPECT_TRUE(absl::IsFailedPrecondition(late.status()));
  EXPECT_TRUE(Mentions(late.status(), "after keyring version 1 expired")) << late.status();
  EXPECT_EQ(chain.ownership("beta"), nullptr);
  auto checkpoint =
      chain.AcceptCheckpoint(w.Checkpoint(3, expires + 1, expires + 60'000), expires + 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(checkpoint.status()));
  EXPECT_FALSE(chain.checkpoint(expires + 1).held);
  auto past = chain.ExpiryWarnings(expires + 1);
  ASSERT_EQ(past.size(), 1u);
  EXPECT_NE(past[0].find("expired at"), std::string::npos) << past[0];

  // What it signed before stays valid, and the next keyring takes over.
  EXPECT_TRUE(AliceMaySign(chain, w));
  ASSERT_TRUE(*chain.Accept(ExpiringKeyring(w, 2, expires + 2, expires + 400 * kDayMs)));
  EXPECT_TRUE(chain.ExpiryWarnings(expires + 3).empty());
}

TEST(ChainTest, AKeyringIssuedAfterItsRootExpiredIsRefused) {
  TrustWorld w;
  RootRecord r;
  r.set_version(1);
  r.set_threshold(1);
  r.add_keys(w.root_key.public_key().Pem());
  r.set_expires_unix_ms(kNow);
  TrustChain chain(*OpenRoot(TrustWorld::Sign(kRootType, r, w.root_key)));
  ASSERT_TRUE(*chain.Accept(ExpiringKeyring(w, 1, kNow - 1, 0)));
  auto late = chain.Accept(ExpiringKeyring(w, 2, kNow + 1, 0));
  EXPECT_TRUE(absl::IsFailedPrecondition(late.status()));
  EXPECT_TRUE(Mentions(late.status(), "rotate the root")) << late.status();
  EXPECT_EQ(chain.keyring()->version(), 1u);
  auto warned = chain.ExpiryWarnings(kNow + 1);
  ASSERT_EQ(warned.size(), 1u);
  EXPECT_NE(warned[0].find("the root (version 1) expired"), std::string::npos) << warned[0];
}

TEST(ChainTest, ARecordHeldIsANoOpAndAnOlderDifferentOneIsRefused) {
  TrustWorld w;
  TrustChain chain = w.Chain();
  ASSERT_TRUE(*chain.Accept(w.Keyring(2)));
  // A watch sends the whole chain again: what is held changes nothing.
  EXPECT_FALSE(*chain.Accept(w.Keyring(1)));
  EXPECT_FALSE(*chain.Accept(w.AliceOwns("alpha")));
  EXPECT_EQ(chain.records().size(), 3u);
  // An older keyring that differs (naming another master key) is a rollback.
  auto rollback = chain.Accept(w.Keyring(1, nullptr, &w.bob));
  EXPECT_TRUE(absl::IsFailedPrecondition(rollback.status()));
  EXPECT_TRUE(Mentions(rollback.status(), "older than 2")) << rollback.status();
  EXPECT_EQ(chain.master_key()->keyid(), w.master.public_key().keyid());
}

TEST(ChainTest, SignersNamesASignatureThatDoesNotVerifyAsInvalid) {
  TrustWorld w;
  TrustChain chain = w.Chain();
  Envelope good =
      TrustWorld::Sign(kLiveType, TrustWorld::MakeLive("alpha", "1.0", kRoot, 1), w.alice);
  EXPECT_EQ(chain.Signers(good, "alpha").find("invalid"), std::string::npos)
      << chain.Signers(good, "alpha");
  // alice's key id, over bytes she never signed.
  Envelope forged = good;
  forged.mutable_signatures(0)->set_sig(std::string(64, 'x'));
  const std::string said = chain.Signers(forged, "alpha");
  EXPECT_NE(said.find("owner vms://user/alice of alpha"), std::string::npos) << said;
  EXPECT_NE(said.find("(invalid signature)"), std::string::npos) << said;
}

}  // namespace
}  // namespace vms
