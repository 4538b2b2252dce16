// A compromised master, played by this test: an in-process gRPC server with
// a master's certificate, serving an event log and a chain of trust that the
// test writes by hand, with the keys of a TrustWorld (the master's own key
// among them: the attacker holds it). A real vms-replica that trusts only
// root.pub follows it, and a real vms-fuse mount follows the replica. Each
// test first serves a good world (alpha 1 live, signed by its owner alice),
// then one crafted record, and checks that it is refused, that nothing
// stored changes (the replica's applied seq), that /dist still shows alpha
// 1, and that the replica's log names the reason.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/hash.h"
#include "core/lifecycle.h"
#include "core/thread_pool.h"
#include "core/tree.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "net/daemon.h"
#include "net/rpc.h"
#include "server/read_service.h"
#include "server/record_store.h"
#include "tests/testing/testing.h"
#include "tests/testing/tls.h"
#include "tests/testing/trust_world.h"
#include "vms.grpc.pb.h"

namespace vms {
namespace {

namespace fs = std::filesystem;
using testing::TrustWorld;
using testing::WaitFor;

// The compromised master: whatever the test appends is served as is.
class EvilMaster {
 public:
  // Serving as vms://KIND/evil: a master to a replica, or a site (a
  // compromised replica) to a host.
  explicit EvilMaster(const std::string& dir, const std::string& kind = "master")
      : pool_(std::make_unique<ThreadPool>(4)) {
    fs::create_directories(dir);
    store_ = RecordStore::Open(dir + "/db").value();
    read_ = std::make_unique<ReadService>(
        store_.get(), pool_.get(),
        ReadServiceOptions{.heartbeat = std::chrono::milliseconds(200),
                           .trust =
                               [this] {
                                 MutexLock lock(&mu_);
                                 return trust_;
                               },
                           .checkpoint =
                               [this] {
                                 MutexLock lock(&mu_);
                                 return checkpoint_;
                               }});
    grpc::ServerBuilder builder;
    builder.RegisterService(read_.get());
    listening_ = StartServer(&builder, "127.0.0.1:0", testing::TestCredentials(kind, "evil"),
                             dir + "/address")
                     .value();
  }
  ~EvilMaster() {
    read_->BeginShutdown();
    listening_.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    // The pool's tasks may still use the service: they finish first.
    listening_.server.reset();
    pool_.reset();
  }
  const std::string& address() const { return listening_.address; }

  // A one-file tree ("tool" holding `content`), stored; its root.
  Hash StoreTree(const std::string& content) {
    std::string tree =
        EncodeTree({{.name = "tool", .size = content.size(), .hash = Sha256(content)}}).value();
    std::vector<StoredObject> objs;
    for (const std::string& raw : {content, tree}) {
      EncodedObject e = Encode(raw, 1);
      objs.push_back({Sha256(raw), e.codec, raw.size(), e.data});
    }
    EXPECT_TRUE(store_->mutable_objects().Ingest(&objs).ok());
    return Sha256(tree);
  }
  // Serves the objects stored under `other` as if they were `root`'s: a
  // tree that is not the one the release names.
  void ServeAs(const Hash& root, const Hash& other) {
    rocksdb::WriteBatch batch;
    for (const std::string& family : ObjectStore::Families()) {
      auto value = store_->db()->Get(family, std::string(other.View())).value();
      if (value) batch.Put(store_->db()->Family(family), root.View(), *value);
    }
    ASSERT_TRUE(store_->db()->Write(&batch, true).ok());
  }

  void AppendTrust(const Envelope& env, const std::string& app = "") {
    Event e = Next(Event::TRUST_CHANGED, app, "", env);
    rocksdb::WriteBatch batch;
    store_->PutEvent(&batch, e);
    ASSERT_TRUE(store_->Commit(&batch, e.seq()).ok());
    MutexLock lock(&mu_);
    *trust_.add_records() = env;
  }
  void AppendRelease(const Envelope& env) {
    Release r = ParseRelease(env).value();
    Event e = Next(Event::RELEASE_ADDED, r.app(), r.version(), env);
    rocksdb::WriteBatch batch;
    store_->PutEvent(&batch, e);
    store_->PutRelease(&batch, r, env);
    AppState state = store_->LoadAppState(r.app()).value().value_or(AppState());
    AddReleaseToState(r, &state);
    store_->PutAppState(&batch, state);
    ASSERT_TRUE(store_->Commit(&batch, e.seq()).ok());
  }
  void AppendLive(const Envelope& env) {
    LiveRecord l = ParseLiveRecord(env).value();
    Event e = Next(Event::LIVE_CHANGED, l.app(), l.version(), env);
    rocksdb::WriteBatch batch;
    store_->PutEvent(&batch, e);
    store_->PutLive(&batch, l, env);
    AppState state = store_->LoadAppState(l.app()).value().value_or(AppState());
    AddLiveToState(l, &state);
    store_->PutAppState(&batch, state);
    ASSERT_TRUE(store_->Commit(&batch, e.seq()).ok());
  }
  void SetCheckpoint(Envelope env) {
    MutexLock lock(&mu_);
    checkpoint_ = std::move(env);
  }
  uint64_t head() const { return store_->head_seq(); }

 private:
  Event Next(Event::Type type, const std::string& app, const std::string& version,
             const Envelope& env) {
    Event e;
    e.set_seq(store_->head_seq() + 1);
    e.set_type(type);
    e.set_app(app);
    e.set_version(version);
    *e.mutable_envelope() = env;
    return e;
  }

  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<RecordStore> store_;
  std::unique_ptr<ReadService> read_;
  Listening listening_;
  Mutex mu_;
  TrustSnapshot trust_ ABSL_GUARDED_BY(mu_);
  std::optional<Envelope> checkpoint_ ABSL_GUARDED_BY(mu_);
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Trust : public ::testing::Test {
 protected:
  Trust() : evil_(dir_ / "evil") {
    testing::WriteFile(dir_ / "root.pub", ArmorRoot(w_.RootEnvelope()));
    ServeGoodWorld(&evil_);
    replica_ = std::make_unique<testing::ReplicaProcess>("ny", evil_.address(), dir_ / "root.pub",
                                                         dir_ / "ny");
    mount_ = std::make_unique<testing::FuseProcess>(
        dir_ / "dist",
        std::vector<std::string>{"--replicas", replica_->address(), "--cache", dir_ / "cache",
                                 "--trust", dir_ / "root.pub"},
        dir_ / "fuse.log");
    good_head_ = evil_.head();
    EXPECT_TRUE(WaitFor([&] { return AppliedSeq() == good_head_; })) << replica_->log();
    EXPECT_TRUE(ShowsAlpha1()) << mount_->log();
  }
  ~Trust() override { mount_.reset(); }

  // The good world: keyring, alpha owned by alice, beta by bob, alpha 1 live
  // and alpha 2 released, all signed as they should be.
  void ServeGoodWorld(EvilMaster* evil) {
    evil->AppendTrust(w_.Keyring());
    evil->AppendTrust(w_.AliceOwns("alpha"), "alpha");
    evil->AppendTrust(w_.Ownership("beta", 1, {{"vms://user/bob", &w_.bob}}), "beta");
    root1_ = evil->StoreTree("v1\n");
    root2_ = evil->StoreTree("v2\n");
    evil->AppendRelease(Sequenced(TrustWorld::Sign(
        kReleaseType, TrustWorld::MakeRelease("alpha", "1", std::string(root1_.View())),
        w_.alice)));
    live1_ = Sequenced(TrustWorld::Sign(
        kLiveType, TrustWorld::MakeLive("alpha", "1", std::string(root1_.View()), 1), w_.alice));
    evil->AppendLive(live1_);
    evil->AppendRelease(Sequenced(TrustWorld::Sign(
        kReleaseType, TrustWorld::MakeRelease("alpha", "2", std::string(root2_.View()), 1, 2),
        w_.alice)));
    checkpoint_issued_ = NowMs();
    evil->SetCheckpoint(
        w_.Checkpoint(evil->head(), checkpoint_issued_, checkpoint_issued_ + 3600000));
  }

  // The master's sequencing signature, which a compromised master adds to
  // anything: it counts for nothing.
  Envelope Sequenced(Envelope env) {
    AddSignature(&env, w_.master);
    return env;
  }
  uint64_t AppliedSeq() {
    auto stub = Read::NewStub(testing::TestChannel(replica_->address()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    SiteInfoResponse info;
    if (!stub->SiteInfo(&ctx, SiteInfoRequest(), &info).ok()) return 0;
    last_info_ = info;
    return info.applied_seq();
  }
  bool ShowsAlpha1() {
    return WaitFor([&] {
      std::error_code ec;
      return fs::read_symlink(dir_ / "dist/alpha", ec).string() == "alpha@1" &&
             testing::ReadFileOrDie(dir_ / "dist/alpha/tool") == "v1\n";
    });
  }
  // The crafted record was refused for `reason`, and nothing changed.
  void ExpectRefused(const std::string& reason) {
    EXPECT_TRUE(WaitFor([&] { return replica_->log().find(reason) != std::string::npos; }))
        << "the replica's log does not say: " << reason << "\n"
        << replica_->log();
    EXPECT_EQ(AppliedSeq(), good_head_);
    EXPECT_TRUE(last_info_.stuck()) << last_info_.last_error();
    EXPECT_NE(last_info_.last_error().find(reason), std::string::npos) << last_info_.last_error();
    EXPECT_TRUE(ShowsAlpha1()) << mount_->log();
  }
  Envelope Flip2(const SigningKey& key, uint64_t ownership_seq = 1) {
    return Sequenced(TrustWorld::Sign(
        kLiveType, TrustWorld::MakeLive("alpha", "2", std::string(root2_.View()), 2, ownership_seq),
        key));
  }

  testing::TempDir dir_;
  TrustWorld w_;
  EvilMaster evil_;
  Hash root1_, root2_;
  Envelope live1_;
  int64_t checkpoint_issued_ = 0;
  uint64_t good_head_ = 0;
  SiteInfoResponse last_info_;
  std::unique_ptr<testing::ReplicaProcess> replica_;
  std::unique_ptr<testing::FuseProcess> mount_;
};

TEST_F(Trust, RefusesFlipSignedOnlyByMaster) {
  evil_.AppendLive(TrustWorld::Sign(
      kLiveType, TrustWorld::MakeLive("alpha", "2", std::string(root2_.View()), 2), w_.master));
  ExpectRefused("is signed by 0 of its owners; it takes 1 (signed by: the master key");
}

TEST_F(Trust, RefusesFlipSignedByRevokedKey) {
  // An admin replaced alice by bob at live_seq 1; alice's key, naming her
  // old record, can no longer flip.
  evil_.AppendTrust(w_.Ownership("alpha", 2, {{"vms://user/bob", &w_.bob}}, nullptr, 1,
                                 /*live_seq_at=*/1, /*release_seq_at=*/2),
                    "alpha");
  good_head_ = evil_.head();
  ASSERT_TRUE(WaitFor([&] { return AppliedSeq() == good_head_; })) << replica_->log();
  evil_.AppendLive(Flip2(w_.alice));
  ExpectRefused("owners changed since (record 2): a key removed then signs nothing new");
}

TEST_F(Trust, RefusesFlipSignedByAnotherAppsOwner) {
  evil_.AppendLive(Flip2(w_.bob));
  ExpectRefused("is signed by 0 of its owners");
}

TEST_F(Trust, RefusesReplayedLiveRecord) {
  evil_.AppendLive(live1_);
  ExpectRefused("live_seq 1 is not above 1");
}

TEST_F(Trust, RefusesOwnershipSignedByNonAdmin) {
  evil_.AppendTrust(w_.Ownership("alpha", 2, {{"vms://user/bob", &w_.bob}}, &w_.bob), "alpha");
  ExpectRefused("is not signed by an admin key");
}

TEST_F(Trust, RefusesKeyringNotSignedByRoot) {
  // The attacker's keyring makes the bob an admin, signed by the master key.
  evil_.AppendTrust(w_.Keyring(2, &w_.master));
  ExpectRefused("keyring version 2 is signed by 0 root keys; it takes 1");
}

TEST_F(Trust, RefusesOldKeyring) {
  evil_.AppendTrust(w_.Keyring(2));
  good_head_ = evil_.head();
  ASSERT_TRUE(WaitFor([&] { return AppliedSeq() == good_head_; })) << replica_->log();
  // Keyring 1 again, but naming the attacker's master key: a rollback.
  evil_.AppendTrust(w_.Keyring(1, nullptr, &w_.bob));
  ExpectRefused("keyring version 1 is older than 2, held here");
}

TEST_F(Trust, RefusesReleaseWhoseTreeIsNotItsRoot) {
  Hash root3 = evil_.StoreTree("v3\n");
  Hash rogue = evil_.StoreTree("rogue\n");
  evil_.ServeAs(root3, rogue);
  evil_.AppendRelease(Sequenced(TrustWorld::Sign(
      kReleaseType, TrustWorld::MakeRelease("alpha", "3", std::string(root3.View()), 1, 3),
      w_.alice)));
  ExpectRefused("does not match its hash");
}

TEST_F(Trust, RefusesReplayedCheckpointAndShowsAFreeze) {
  // A newer checkpoint, then the old one again.
  EXPECT_TRUE(WaitFor([&] {
    AppliedSeq();
    return last_info_.checkpoint_issued_unix_ms() == checkpoint_issued_;
  }));
  int64_t newer = checkpoint_issued_ + 1000;
  evil_.SetCheckpoint(w_.Checkpoint(good_head_, newer, newer + 3600000));
  EXPECT_TRUE(WaitFor([&] {
    AppliedSeq();
    return last_info_.checkpoint_issued_unix_ms() == newer;
  }));
  evil_.SetCheckpoint(w_.Checkpoint(good_head_, checkpoint_issued_, checkpoint_issued_ + 3600000));
  EXPECT_TRUE(WaitFor([&] {
    return replica_->log().find("is not newer than the one held") != std::string::npos;
  })) << replica_->log();
  AppliedSeq();
  EXPECT_EQ(last_info_.checkpoint_issued_unix_ms(), newer);
  EXPECT_FALSE(last_info_.frozen());

  // A master that stops signing (one that expired a second ago): shown as a
  // freeze, never a failure to serve.
  evil_.SetCheckpoint(w_.Checkpoint(good_head_, newer + 1, NowMs() - 1000));
  EXPECT_TRUE(WaitFor([&] {
    AppliedSeq();
    return last_info_.frozen();
  }));
  EXPECT_TRUE(WaitFor([&] {
    return replica_->log().find("no fresh checkpoint since") != std::string::npos;
  })) << replica_->log();
  EXPECT_TRUE(ShowsAlpha1());
}

// A compromised replica serving a host directly: the host's own checks
// refuse what the replica would have.
TEST_F(Trust, HostRefusesWhatACompromisedReplicaServes) {
  EvilMaster site(dir_ / "evil-site", "site");
  ServeGoodWorld(&site);
  testing::FuseProcess host(
      dir_ / "host-dist",
      {"--replicas", site.address(), "--cache", dir_ / "host-cache", "--trust", dir_ / "root.pub"},
      dir_ / "host-fuse.log");
  auto shows = [&](const std::string& version) {
    return WaitFor([&] {
      std::error_code ec;
      return fs::read_symlink(dir_ / "host-dist/alpha", ec).string() == "alpha@" + version;
    });
  };
  ASSERT_TRUE(shows("1")) << host.log();
  // A flip to 2 that alice did sign goes through; then the crafted ones.
  site.AppendLive(Flip2(w_.alice));
  ASSERT_TRUE(shows("2")) << host.log();
  site.AppendLive(Sequenced(TrustWorld::Sign(
      kLiveType, TrustWorld::MakeLive("alpha", "1", std::string(root1_.View()), 3), w_.master)));
  site.AppendLive(live1_);  // a replay of an older one
  site.AppendTrust(w_.Ownership("alpha", 2, {{"vms://user/bob", &w_.bob}}, &w_.bob), "alpha");
  for (const std::string reason :
       {"is signed by 0 of its owners; it takes 1 (signed by: the master key",
        "live_seq 1 is not above 2", "is not signed by an admin key"}) {
    EXPECT_TRUE(WaitFor([&] { return host.log().find(reason) != std::string::npos; }))
        << reason << "\n"
        << host.log();
  }
  EXPECT_TRUE(shows("2"));
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "host-dist/alpha/tool"), "v2\n");
}

}  // namespace
}  // namespace vms
