// The chain of trust on real processes: a root made by vms-admin, a keyring
// naming the admin's and the master's keys, owners' keys registered with
// `vms key`, apps made by an admin's `vms owners`, and pushes and flips that
// the real vms signs; a real replica and a real mount that trust only
// root.pub.
#include <sys/xattr.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/keys.h"
#include "gtest/gtest.h"
#include "tests/testing/pki.h"
#include "tests/testing/testing.h"
#include "tools/admin/root.h"

namespace vms {
namespace {

namespace fs = std::filesystem;
using testing::RunResult;
using testing::TestPki;
using testing::WaitFor;
using testing::WriteFile;

// Each test user's signing key, in their certificate directory (where `vms`
// looks, as VMS_TLS_DIR).
void EnsureSigningKey(const std::string& user) {
  ASSERT_TRUE(SigningKey::LoadOrCreate(TestPki::Get().UserDir(user), "signing").ok());
}

class TrustTest : public ::testing::Test {
 protected:
  TrustTest() {
    for (const char* user : {"alice", "bob", "admin"}) EnsureSigningKey(user);
    auto root = admin::InitRoot(dir_ / "root");
    EXPECT_TRUE(root.ok()) << root.status();
    // The master's key exists before the keyring that names it.
    fs::create_directories(dir_ / "master");
    EXPECT_TRUE(SigningKey::LoadOrCreate(dir_ / "master", "master").ok());
    auto ring =
        admin::SignKeyring({.root_dir = dir_ / "root",
                            .admin_keys = {TestPki::Get().UserDir("admin") + "/signing.pub"},
                            .master_key = dir_ / "master/master.pub",
                            .out = dir_ / "keyring"});
    EXPECT_TRUE(ring.ok()) << ring.status();
    // The master's copies: replaced to rotate.
    Give(root_pub(), dir_ / "given/root.pub");
    Give(dir_ / "keyring", dir_ / "given/keyring");
    master_ = std::make_unique<testing::MasterProcess>(
        dir_ / "master", std::vector<std::string>{"--trust", dir_ / "given/root.pub", "--keyring",
                                                  dir_ / "given/keyring"});
  }
  ~TrustTest() override { mount_.reset(); }

  std::string root_pub() const { return dir_ / "root/root.pub"; }
  // Puts `from` where the master reads `to`.
  static void Give(const std::string& from, const std::string& to) {
    testing::WriteFile(to, testing::ReadFileOrDie(from));
  }
  RunResult As(const std::string& user, std::vector<std::string> args) {
    return testing::RunAs(dir_, master_->address(), user, std::move(args));
  }
  RunResult Push(const std::string& user, const std::string& app, const std::string& version) {
    return As(user, {"push", app, version, testing::WriteToolVersion(dir_, app, version)});
  }
  static void ExpectOk(const RunResult& r) { EXPECT_EQ(r.exit_code, 0) << r.out << r.err; }
  static void ExpectRefused(const RunResult& r, const std::string& what) {
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  }
  // A site and a host that trust root.pub only.
  void StartSiteAndHost() {
    replica_ = std::make_unique<testing::ReplicaProcess>("ny", master_->address(), root_pub(),
                                                         dir_ / "ny");
    mount_ = std::make_unique<testing::FuseProcess>(
        dir_ / "dist",
        std::vector<std::string>{"--replicas", replica_->address(), "--cache", dir_ / "cache",
                                 "--trust", root_pub()},
        dir_ / "fuse.log");
  }
  // alice's key registered, alpha hers, 1 pushed and live, seen at a host.
  void AliceMakesAlphaOneLiveAtAHost() {
    ExpectOk(As("alice", {"key", "register"}));
    ExpectOk(As("admin", {"owners", "alpha", "add", "alice"}));
    ExpectOk(Push("alice", "alpha", "1"));
    ExpectOk(As("alice", {"live", "alpha", "1"}));
    StartSiteAndHost();
    ASSERT_TRUE(WaitLive("alpha", "1")) << mount_->log() << replica_->log();
  }
  bool WaitLive(const std::string& app, const std::string& version) {
    return WaitFor([&] {
      std::error_code ec;
      return fs::read_symlink(dir_ / ("dist/" + app), ec).string() == app + "@" + version;
    });
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::MasterProcess> master_;
  std::unique_ptr<testing::ReplicaProcess> replica_;
  std::unique_ptr<testing::FuseProcess> mount_;
};

TEST_F(TrustTest, AnAdminMakesTheAppItsOwnersSignAndEveryHostVerifies) {
  ExpectOk(As("alice", {"key", "register"}));
  ExpectOk(As("bob", {"key", "register"}));
  // No app without an admin's ownership record.
  ExpectRefused(Push("alice", "alpha", "1"), "has no owners signed by an admin yet");
  ExpectRefused(As("alice", {"owners", "alpha", "add", "alice"}), "an admin makes an app");
  ExpectOk(As("admin", {"owners", "alpha", "add", "alice"}));
  RunResult owners = As("bob", {"owners", "alpha"});
  ExpectOk(owners);
  EXPECT_NE(owners.out.find("vms://user/alice  key "), std::string::npos) << owners.out;
  EXPECT_NE(owners.out.find("ownership record 1"), std::string::npos) << owners.out;

  // The everyday commands are unchanged: one each, signed by alice's vms.
  ExpectOk(Push("alice", "alpha", "1"));
  ExpectOk(As("alice", {"live", "alpha", "1"}));
  ExpectOk(Push("alice", "alpha", "2"));
  ExpectRefused(Push("bob", "alpha", "3"), "vms://user/bob may not push alpha");

  StartSiteAndHost();
  ASSERT_TRUE(WaitLive("alpha", "1")) << mount_->log() << replica_->log();
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "dist/alpha/bin/tool"), "#!/bin/sh\necho 1\n");
  ExpectOk(As("alice", {"live", "alpha", "2"}));
  ASSERT_TRUE(WaitLive("alpha", "2")) << mount_->log();
  ExpectOk(As("alice", {"rollback", "alpha"}));
  ASSERT_TRUE(WaitLive("alpha", "1")) << mount_->log();
  // Another version by name resolves through the chain too.
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "dist/alpha@2/bin/tool"), "#!/bin/sh\necho 2\n");

  // /dist says the master's checkpoints are fresh (they come with the
  // heartbeats of idle streams).
  std::string checkpoint;
  EXPECT_TRUE(WaitFor([&] {
    char value[512] = {};
    ssize_t n = getxattr((dir_ / "dist").c_str(), "user.vms.checkpoint", value, sizeof value - 1);
    checkpoint = n > 0 ? std::string(value, static_cast<size_t>(n)) : "";
    return checkpoint.starts_with("fresh: seq ");
  })) << checkpoint;

  // vms verify checks the chain from root.pub and names each signer.
  RunResult verify = As("bob", {"verify", "alpha", "--trust", root_pub()});
  ExpectOk(verify);
  EXPECT_NE(verify.out.find("ownership record 1 of alpha (vms://user/alice; 1 to sign): signed "
                            "by admin key"),
            std::string::npos)
      << verify.out;
  EXPECT_NE(verify.out.find("live record 3 (1): signed by owner vms://user/alice of alpha"),
            std::string::npos)
      << verify.out;
  EXPECT_NE(verify.out.find("OK: every signature verifies, from the root to the app's owners"),
            std::string::npos)
      << verify.out;

  // Its checkpoint thread stops with the master: SIGTERM ends it cleanly.
  mount_.reset();
  EXPECT_EQ(replica_->Terminate(), 0);
  EXPECT_EQ(master_->Terminate(), 0);
}

// Labels and retirements are live records like flips: signed by an owner,
// verified by the replica and the host from root.pub.
TEST_F(TrustTest, AnOwnerSignsALabelAndARetirementAndHostsApplyThem) {
  ExpectOk(As("alice", {"key", "register"}));
  ExpectOk(As("admin", {"owners", "alpha", "add", "alice"}));
  for (const char* v : {"1", "2", "3"}) {
    ExpectOk(Push("alice", "alpha", v));
    ExpectOk(As("alice", {"live", "alpha", v}));
  }
  ExpectOk(As("alice", {"policy", "alpha", "--keep-last", "1"}));
  StartSiteAndHost();
  ASSERT_TRUE(WaitLive("alpha", "3")) << mount_->log() << replica_->log();
  ASSERT_EQ(testing::ReadFileOrDie(dir_ / "dist/alpha@1/bin/tool"), "#!/bin/sh\necho 1\n");

  ExpectOk(As("alice", {"label", "alpha", "beta", "2"}));
  EXPECT_TRUE(WaitFor([&] {
    std::error_code ec;
    return fs::read_symlink(dir_ / "dist/alpha@beta", ec).string() == "alpha@2";
  })) << mount_->log();
  ExpectRefused(As("bob", {"retire", "alpha", "1"}), "vms://user/bob may not");
  ExpectOk(As("alice", {"retire", "alpha", "1"}));
  EXPECT_TRUE(WaitFor([&] { return !fs::exists(dir_ / "dist/alpha@1"); }))
      << mount_->log() << replica_->log();
  EXPECT_NE(mount_->log().find("retired at"), std::string::npos) << mount_->log();
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "dist/alpha@beta/bin/tool"), "#!/bin/sh\necho 2\n");
  EXPECT_EQ(testing::ReadFileOrDie(dir_ / "dist/alpha/bin/tool"), "#!/bin/sh\necho 3\n");

  RunResult verify = As("bob", {"verify", "alpha", "--trust", root_pub()});
  ExpectOk(verify);
  EXPECT_NE(verify.out.find("OK: every signature verifies, from the root to the app's owners"),
            std::string::npos)
      << verify.out;
}

// Once: a thief with a copy of alice's certificate registered their own key
// with --replace, and the documented refresh (`vms owners APP add alice`)
// then wrote an ownership record with only the thief's key.
TEST_F(TrustTest, AStolenCertificateAloneCannotRegisterTheThiefsKey) {
  ExpectOk(As("alice", {"key", "register"}));
  ExpectOk(As("admin", {"owners", "alpha", "add", "alice"}));
  ExpectOk(Push("alice", "alpha", "1"));
  const std::string alice = TestPki::Get().UserDir("alice");
  auto copy_cert = [&](const std::string& to) {
    fs::create_directories(to);
    for (const char* f : {"ca.crt", "cert.crt", "cert.key"}) {
      fs::copy_file(alice + "/" + f, to + "/" + f);
    }
    EXPECT_TRUE(SigningKey::LoadOrCreate(to, "signing").ok());
  };
  auto in = [&](const std::string& tls_dir, std::vector<std::string> args) {
    args.insert(args.begin(), {testing::CliBin(), "--master", master_->address()});
    return testing::Run(args, {.env = {{"HOME", dir_ / "home"}, {"VMS_TLS_DIR", tls_dir}}});
  };
  const std::string thief = dir_ / "thief";
  copy_cert(thief);
  ExpectRefused(in(thief, {"key", "register", "--replace"}), "must be vouched for");
  ExpectRefused(in(thief, {"key", "register"}), "must be vouched for");
  // The refresh step puts alice's own key in the record, and only it.
  ExpectOk(As("admin", {"owners", "alpha", "add", "alice"}));
  ExpectRefused(in(thief, {"live", "alpha", "1"}), "signed by 0 of its owners");
  ExpectOk(As("alice", {"live", "alpha", "1"}));

  // alice rotates her key: the old one vouches for the new; owners see it.
  const std::string rotated = dir_ / "alice-rotated";
  copy_cert(rotated);
  ExpectOk(in(rotated, {"key", "register", "--replace", "--old-key", alice}));
  RunResult audit = As("alice", {"audit", "alpha"});
  ExpectOk(audit);
  EXPECT_NE(audit.out.find("key replace vms://user/alice"), std::string::npos) << audit.out;
}

TEST_F(TrustTest, AReplacedKeySignsNothingNewWhileWhatItSignedStays) {
  ExpectOk(As("alice", {"key", "register"}));
  ExpectOk(As("admin", {"owners", "alpha", "add", "alice"}));
  ExpectOk(Push("alice", "alpha", "1"));
  ExpectOk(As("alice", {"live", "alpha", "1"}));

  // alice's key is stolen: a copy of her directory keeps the old key.
  const std::string alice = TestPki::Get().UserDir("alice");
  const std::string thief = dir_ / "thief";
  fs::create_directories(thief);
  for (const char* f : {"ca.crt", "cert.crt", "cert.key", "signing.key", "signing.pub"}) {
    fs::copy_file(alice + "/" + f, thief + "/" + f);
  }
  // She makes a new key, registers it in place of the old, and an admin
  // re-adds her: ownership record 2 has only the new key.
  const std::string fresh = dir_ / "alice-new";
  fs::create_directories(fresh);
  for (const char* f : {"ca.crt", "cert.crt", "cert.key"}) {
    fs::copy_file(alice + "/" + f, fresh + "/" + f);
  }
  ASSERT_TRUE(SigningKey::LoadOrCreate(fresh, "signing").ok());
  auto in = [&](const std::string& tls_dir, std::vector<std::string> args) {
    args.insert(args.begin(), {testing::CliBin(), "--master", master_->address()});
    return testing::Run(args, {.env = {{"HOME", dir_ / "home"}, {"VMS_TLS_DIR", tls_dir}}});
  };
  // The thief holds her certificate and her key, so neither vouches for a
  // new one: an admin registers it.
  ExpectRefused(in(fresh, {"key", "register", "--replace"}), "must be vouched for");
  ExpectOk(As("admin", {"key", "register", "--for", "vms://user/alice", "--key",
                        fresh + "/signing.pub", "--replace"}));
  ExpectRefused(in(thief, {"key", "register", "--replace", "--old-key", thief}),
                "not a signature by a registered key");
  ExpectOk(As("admin", {"owners", "alpha", "add", "alice"}));

  // The old key's flip is refused; the new key's goes through.
  WriteFile(dir_ / "src/alpha/2/bin/tool", "#!/bin/sh\necho 2\n", 0755);
  ExpectOk(in(fresh, {"push", "alpha", "2", dir_ / "src/alpha/2"}));
  ExpectRefused(in(thief, {"live", "alpha", "2"}), "former owner key of vms://user/alice");
  StartSiteAndHost();
  ASSERT_TRUE(WaitLive("alpha", "1")) << mount_->log() << replica_->log();
  ExpectOk(in(fresh, {"live", "alpha", "2"}));
  ASSERT_TRUE(WaitLive("alpha", "2")) << mount_->log() << replica_->log();
  // What the old key signed before stays valid: release 1 and live record 1.
  RunResult verify = As("bob", {"verify", "alpha", "--trust", root_pub()});
  ExpectOk(verify);
  EXPECT_NE(verify.out.find("live record 1 (1): signed by former owner key of vms://user/alice"),
            std::string::npos)
      << verify.out;
}

TEST_F(TrustTest, UnderAThresholdOfTwoAPushAndAFlipWaitForASecondOwner) {
  ExpectOk(As("alice", {"key", "register"}));
  ExpectOk(As("bob", {"key", "register"}));
  ExpectOk(As("admin", {"owners", "alpha", "add", "alice"}));
  ExpectOk(As("admin", {"owners", "alpha", "add", "bob"}));
  ExpectOk(As("admin", {"owners", "alpha", "threshold", "2"}));
  RunResult nothing = As("bob", {"sign", "alpha"});
  ExpectOk(nothing);
  EXPECT_NE(nothing.out.find("nothing of alpha waits"), std::string::npos) << nothing.out;

  ExpectRefused(Push("alice", "alpha", "1"),
                "alpha's push is signed by 1 of its owners and takes 2: it waits here");
  // Only the owners see what waits, and a refused co-signer takes nothing away.
  EnsureSigningKey("carol");
  ExpectOk(As("carol", {"key", "register"}));
  ExpectRefused(As("carol", {"sign", "alpha"}), "vms://user/carol may not");
  // vms sign shows what it signs and asks; not at a terminal, only --yes signs.
  RunResult asked = As("bob", {"sign", "alpha"});
  ExpectRefused(asked, "shows what it signs and asks first");
  EXPECT_NE(asked.out.find("vms://user/alice asks to push alpha 1"), std::string::npos)
      << asked.out;
  RunResult cosign = As("bob", {"sign", "alpha", "--yes"});
  ExpectOk(cosign);
  EXPECT_NE(cosign.out.find("vms://user/alice asks to push alpha 1"), std::string::npos)
      << cosign.out;
  EXPECT_NE(cosign.out.find("done: push alpha 1"), std::string::npos) << cosign.out;

  ExpectRefused(As("alice", {"live", "alpha", "1"}), "alpha's live is signed by 1 of its owners");
  // An admin's key is not an owner's: it adds nothing, and the flip waits on.
  RunResult by_admin = As("admin", {"sign", "alpha", "--yes"});
  ExpectOk(by_admin);
  EXPECT_NE(by_admin.out.find("still waiting: alpha's live is signed by 1 of its owners"),
            std::string::npos)
      << by_admin.out;
  cosign = As("bob", {"sign", "alpha", "--yes"});
  ExpectOk(cosign);
  EXPECT_NE(cosign.out.find("asks to make alpha 1 live everywhere"), std::string::npos)
      << cosign.out;
  // A label move and a retirement are shown as what they are, not as a flip.
  ExpectRefused(As("alice", {"label", "alpha", "beta", "1"}), "it waits here");
  cosign = As("bob", {"sign", "alpha", "--yes"});
  ExpectOk(cosign);
  EXPECT_NE(cosign.out.find("asks to move alpha@beta to 1 (a new label"), std::string::npos)
      << cosign.out;

  StartSiteAndHost();
  ASSERT_TRUE(WaitLive("alpha", "1")) << mount_->log() << replica_->log();
  RunResult verify = As("bob", {"verify", "alpha", "--trust", root_pub()});
  ExpectOk(verify);
  EXPECT_NE(verify.out.find("2 to sign"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("live record 1 (1): signed by owner vms://user/alice of alpha"),
            std::string::npos)
      << verify.out;
  EXPECT_NE(verify.out.find("owner vms://user/bob of alpha"), std::string::npos) << verify.out;
}

TEST_F(TrustTest, ARotatedRootAndKeyringReachReplicasAndHostsThroughTheLog) {
  ASSERT_NO_FATAL_FAILURE(AliceMakesAlphaOneLiveAtAHost());

  // The admins rotate: a root of 3 keys (2 to sign) signed by the old one,
  // and keyring 2 signed by the new root. Only the master is given them;
  // the replica and the host keep the old root.pub.
  auto rotated = admin::RotateRoot(dir_ / "root", dir_ / "root2", 3, 2);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->record.version(), 2u);
  auto ring = admin::SignKeyring({.root_dir = dir_ / "root2",
                                  .admin_keys = {TestPki::Get().UserDir("admin") + "/signing.pub"},
                                  .master_key = dir_ / "master/master.pub",
                                  .previous = dir_ / "keyring",
                                  .out = dir_ / "keyring2"});
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->version(), 2u);
  EXPECT_EQ(ring->root_version(), 2u);
  Give(dir_ / "root2/root.pub", dir_ / "given/root.pub");
  Give(dir_ / "keyring2", dir_ / "given/keyring");
  ASSERT_EQ(master_->Terminate(), 0);
  master_->Start();

  ExpectOk(Push("alice", "alpha", "2"));
  ExpectOk(As("alice", {"live", "alpha", "2"}));
  ASSERT_TRUE(WaitLive("alpha", "2")) << mount_->log() << replica_->log();
  EXPECT_NE(replica_->log().find("accepted application/vnd.vms.root+pb"), std::string::npos)
      << replica_->log();
  RunResult verify = As("bob", {"verify", "alpha", "--trust", root_pub()});
  ExpectOk(verify);
  EXPECT_NE(verify.out.find("root version 2: signed by"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("keyring version 2"), std::string::npos) << verify.out;

  // An old keyring given again is refused at start, naming the file.
  Give(dir_ / "keyring", dir_ / "given/keyring");
  ASSERT_EQ(master_->Terminate(), 0);
  EXPECT_ANY_THROW(master_->Start());
  EXPECT_NE(master_->log().find("keyring version 1 is older than 2"), std::string::npos)
      << master_->log();
}

TEST_F(TrustTest, AKeyringNearExpiryIsShownUntilTheNextOneIsGiven) {
  // Signed to expire in 10 days: inside the 30 days it is shown for.
  auto ring = admin::SignKeyring({.root_dir = dir_ / "root",
                                  .admin_keys = {TestPki::Get().UserDir("admin") + "/signing.pub"},
                                  .master_key = dir_ / "master/master.pub",
                                  .previous = dir_ / "keyring",
                                  .out = dir_ / "keyring-short",
                                  .expires_days = 10});
  ASSERT_TRUE(ring.ok()) << ring.status();
  Give(dir_ / "keyring-short", dir_ / "given/keyring");
  ASSERT_EQ(master_->Terminate(), 0);
  master_->Start();
  RunResult sites = As("bob", {"sites"});
  ExpectOk(sites);
  EXPECT_NE(sites.out.find("warning: the keyring (version 2) expires at"), std::string::npos)
      << sites.out;
  EXPECT_NE(sites.out.find("(in 9 days)"), std::string::npos) << sites.out;
  EXPECT_NE(sites.out.find("vms-admin keyring --previous"), std::string::npos) << sites.out;
  EXPECT_NE(master_->log().find("trust: the keyring (version 2) expires"), std::string::npos)
      << master_->log();
  // Under --json the warning goes to stderr, and stdout still parses.
  RunResult json = As("bob", {"sites", "--json"});
  ExpectOk(json);
  EXPECT_EQ(json.out.rfind("[", 0), 0u) << json.out;
  EXPECT_NE(json.err.find("expires at"), std::string::npos) << json.err;

  // The next keyring, for a year: nothing more to say.
  ASSERT_TRUE(admin::SignKeyring({.root_dir = dir_ / "root",
                                  .admin_keys = {TestPki::Get().UserDir("admin") + "/signing.pub"},
                                  .master_key = dir_ / "master/master.pub",
                                  .previous = dir_ / "keyring-short",
                                  .out = dir_ / "keyring-year"})
                  .ok());
  Give(dir_ / "keyring-year", dir_ / "given/keyring");
  ASSERT_EQ(master_->Terminate(), 0);
  master_->Start();
  sites = As("bob", {"sites"});
  ExpectOk(sites);
  EXPECT_EQ(sites.out.find("warning:"), std::string::npos) << sites.out;
}

TEST_F(TrustTest, AMasterRestartedWithoutItsRootOfTrustRunsWithTheChainItStored) {
  ASSERT_NO_FATAL_FAILURE(AliceMakesAlphaOneLiveAtAHost());

  // --trust and --keyring left off once: the stored chain is kept, so
  // nothing the master signs alone enters the log.
  ASSERT_EQ(master_->Terminate(), 0);
  master_->SetArgs({});
  master_->Start();
  EXPECT_NE(master_->log().find("started without --trust: running with the chain of trust"),
            std::string::npos)
      << master_->log();
  ExpectOk(Push("alice", "alpha", "2"));
  ExpectOk(As("alice", {"live", "alpha", "2"}));
  ASSERT_TRUE(WaitLive("alpha", "2")) << mount_->log() << replica_->log();
  EXPECT_EQ(replica_->log().find("refusing"), std::string::npos) << replica_->log();

  // And given again, the world goes on as before.
  ASSERT_EQ(master_->Terminate(), 0);
  master_->SetArgs({"--trust", dir_ / "given/root.pub", "--keyring", dir_ / "given/keyring"});
  master_->Start();
  ExpectOk(As("alice", {"rollback", "alpha"}));
  ASSERT_TRUE(WaitLive("alpha", "1")) << mount_->log() << replica_->log();
}

}  // namespace
}  // namespace vms
