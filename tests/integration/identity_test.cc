// Who may do what, on real processes over mutual TLS: a master started with
// --admins admin, and users alice, bob and admin running the real vms with
// their own certificates (VMS_TLS_DIR). Site reports from certificates of
// the wrong kind or name go through raw gRPC, as a modified client would.
#include <sys/stat.h>

#include <string>
#include <thread>
#include <vector>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "net/rpc.h"
#include "nlohmann/json.hpp"
#include "tests/testing/pki.h"
#include "tests/testing/testing.h"
#include "tests/testing/tls.h"
#include "tools/pki/pki.h"
#include "vms.grpc.pb.h"

namespace vms {
namespace {

using nlohmann::json;
using testing::RunResult;
using testing::TestPki;
using testing::WriteFile;

class IdentityTest : public ::testing::Test {
 protected:
  IdentityTest() : master_(dir_ / "master") {}

  // The real vms as `user` (vms://user/USER).
  RunResult As(const std::string& user, std::vector<std::string> args) {
    return testing::RunAs(dir_, master_.address(), user, std::move(args));
  }
  RunResult Push(const std::string& user, const std::string& app, const std::string& version) {
    return As(user, {"push", app, version, testing::WriteToolVersion(dir_, app, version)});
  }
  // `r` failed, saying `what`.
  static void ExpectRefused(const RunResult& r, const std::string& what) {
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  }
  json Audit(const std::string& user, const std::string& app) {
    RunResult r = As(user, {"audit", app, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json::array();
  }

  testing::TempDir dir_;
  testing::MasterProcess master_;
};

TEST_F(IdentityTest, APushTheMasterWillRefuseUploadsNothing) {
  ASSERT_EQ(Push("alice", "alpha", "1").exit_code, 0);
  // 8 MiB the master has never seen, in large-object files once uploaded.
  WriteFile(dir_ / "big/model.bin", testing::RandomBytes(8 << 20, 7));
  const uint64_t before = testing::DiskBytes(dir_ / "master/db/large");
  ExpectRefused(As("bob", {"push", "alpha", "2", dir_ / "big"}),
                "vms://user/bob may not push alpha");
  // A version name taken by other content, and "live", are refused as early.
  ExpectRefused(As("alice", {"push", "alpha", "1", dir_ / "big"}), "already exists");
  ExpectRefused(As("alice", {"push", "alpha", "live", dir_ / "big"}), "not a version");
  EXPECT_LT(testing::DiskBytes(dir_ / "master/db/large"), before + (1 << 20));
  // The same push by an owner goes through, and uploads it.
  ASSERT_EQ(As("alice", {"push", "alpha", "2", dir_ / "big"}).exit_code, 0);
  EXPECT_GE(testing::DiskBytes(dir_ / "master/db/large"), before + (8 << 20));
}

TEST_F(IdentityTest, OnlyOwnersAndAdminsChangeAnAppAndRefusalsSayWhoMay) {
  ASSERT_EQ(Push("alice", "alpha", "1").exit_code, 0);
  ASSERT_EQ(Push("alice", "alpha", "2").exit_code, 0);
  RunResult owners = As("bob", {"owners", "alpha"});  // reads are for everyone
  ASSERT_EQ(owners.exit_code, 0) << owners.err;
  EXPECT_EQ(owners.out, "vms://user/alice\n");

  // bob may read but not change alice's app; each refusal names him, the
  // action, and who may.
  ExpectRefused(Push("bob", "alpha", "3"),
                "vms://user/bob may not push alpha: owners are vms://user/alice (and admins)");
  ExpectRefused(As("bob", {"live", "alpha", "1"}),
                "vms://user/bob may not make alpha live: owners are vms://user/alice");
  ASSERT_EQ(As("alice", {"live", "alpha", "1"}).exit_code, 0);
  ASSERT_EQ(As("alice", {"live", "alpha", "2"}).exit_code, 0);
  ExpectRefused(As("bob", {"rollback", "alpha"}),
                "vms://user/bob may not roll back alpha: owners are vms://user/alice");
  ExpectRefused(As("bob", {"owners", "alpha", "add", "bob"}),
                "vms://user/bob may not change the owners of alpha");
  ExpectRefused(As("bob", {"audit", "alpha"}), "may not read the audit log of alpha");
  ExpectRefused(As("bob", {"sites", "remove", "ny"}), "only admins may");
  RunResult list = As("bob", {"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(json::parse(list.out)[0]["live"], "2") << "nothing bob tried changed anything";

  // Once alice adds him, bob may; the last owner cannot be removed.
  RunResult add = As("alice", {"owners", "alpha", "add", "bob"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_EQ(add.out, "vms://user/alice\nvms://user/bob\n");
  EXPECT_EQ(Push("bob", "alpha", "3").exit_code, 0);
  EXPECT_EQ(As("bob", {"rollback", "alpha"}).exit_code, 0);
  ASSERT_EQ(As("bob", {"owners", "alpha", "remove", "alice"}).exit_code, 0);
  ExpectRefused(As("bob", {"owners", "alpha", "remove", "bob"}), "at least one owner");
  ExpectRefused(As("alice", {"live", "alpha", "3"}), "owners are vms://user/bob");

  // An admin may do anything to any app.
  EXPECT_EQ(As("admin", {"live", "alpha", "3"}).exit_code, 0);
  EXPECT_EQ(As("admin", {"owners", "alpha", "add", "alice"}).exit_code, 0);

  // Every attempt is in the audit log, refused ones too, with who made it.
  json audit = Audit("admin", "alpha");
  std::vector<std::string> seen;
  for (const json& e : audit) {
    seen.push_back(e["principal"].get<std::string>() + " " + e["action"].get<std::string>() +
                   (e["allowed"].get<bool>() ? "" : " REFUSED"));
  }
  for (const char* want :
       {"vms://user/alice push", "vms://user/bob push REFUSED", "vms://user/bob live REFUSED",
        "vms://user/bob rollback REFUSED", "vms://user/bob owners add REFUSED",
        "vms://user/alice owners add", "vms://user/bob push", "vms://user/bob owners remove",
        "vms://user/admin live", "vms://user/admin owners add"}) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), want), seen.end()) << want;
  }
  EXPECT_EQ(audit[0]["action"], "owners add") << "newest first";
  // bob, an owner now, reads his app's log; only admins read everything.
  EXPECT_EQ(Audit("bob", "alpha").size(), audit.size());
  ExpectRefused(As("bob", {"audit"}), "vms://user/bob may not read the audit log of every app");
  EXPECT_EQ(As("admin", {"audit"}).exit_code, 0);
}

TEST_F(IdentityTest, HistoryNamesTheAuthenticatedPrincipalNotWhatAClientSends) {
  ASSERT_EQ(Push("alice", "alpha", "1").exit_code, 0);
  // A modified client still sends the old `issuer` field (3) naming someone
  // else; the master never reads it.
  SetLiveRequest req;
  req.set_app("alpha");
  req.set_version("1");
  req.GetReflection()->MutableUnknownFields(&req)->AddLengthDelimited(3, "vms://user/mallory");
  auto publish = Publish::NewStub(testing::TestChannel(master_.address(), "user", "alice"));
  auto flip = Unary<FlipResponse>(publish.get(), &Publish::Stub::SetLive, req,
                                  std::chrono::seconds(30), "live");
  ASSERT_TRUE(flip.ok()) << flip.status();
  RunResult history = As("bob", {"history", "alpha", "--json"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_EQ(json::parse(history.out)[0]["by"], "vms://user/alice");
  RunResult versions = As("bob", {"versions", "alpha", "--json"});
  ASSERT_EQ(versions.exit_code, 0) << versions.err;
  EXPECT_NE(versions.out.find("vms://user/alice"), std::string::npos) << versions.out;
}

TEST_F(IdentityTest, NewAppsOnlyByAppCreators) {
  testing::MasterProcess strict(dir_ / "strict", {"--app-creators", "alice"});
  auto push = [&](const std::string& user, const std::string& app) {
    const std::string src = dir_ / ("src/" + app);
    WriteFile(src + "/f", "x", 0644);
    return testing::Run({testing::CliBin(), "--master", strict.address(), "push", app, "1", src},
                        {.env = {{"VMS_TLS_DIR", TestPki::Get().UserDir(user)}}});
  };
  EXPECT_EQ(push("alice", "a1").exit_code, 0);
  ExpectRefused(push("bob", "b1"),
                "vms://user/bob may not push a new app b1: app creators are vms://user/alice");
  EXPECT_EQ(push("admin", "c1").exit_code, 0);
}

TEST_F(IdentityTest, NoExpiredOrForeignCertificateIsRefusedAndVmsSaysWhich) {
  // What vms says, before it connects.
  RunResult none = testing::Run({testing::CliBin(), "--master", master_.address(), "list"},
                                {.env = {{"HOME", dir_ / "nohome"}, {"VMS_TLS_DIR", ""}}});
  ExpectRefused(none, "no client certificate");
  ASSERT_TRUE(pki::Issue(TestPki::Get().dir(), "user", "stale", {.expired = true}).ok());
  testing::CertFiles stale = TestPki::Get().Files("user", "stale");
  ExpectRefused(testing::Run({testing::CliBin(), "--master", master_.address(), "--tls-ca",
                              stale.ca, "--tls-cert", stale.cert, "--tls-key", stale.key, "list"}),
                "expired on");
  ASSERT_TRUE(pki::InitCa(dir_ / "other").ok());
  ASSERT_TRUE(pki::Issue(dir_ / "other", "user", "eve").ok());
  ExpectRefused(testing::Run({testing::CliBin(), "--master", master_.address(), "--tls-ca",
                              stale.ca, "--tls-cert", dir_ / "other/user-eve.crt", "--tls-key",
                              dir_ / "other/user-eve.key", "list"}),
                "is not signed by the CA in");
  ExpectRefused(
      testing::Run({testing::CliBin(), "--master", master_.address(), "--insecure", "list"}),
      "speaks plaintext");

  // What the master does with a client that skips those checks.
  auto raw = [&](const std::string& cert, const std::string& key) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = testing::ReadFileOrDie(stale.ca);
    if (!cert.empty()) {
      o.pem_cert_chain = testing::ReadFileOrDie(cert);
      o.pem_private_key = testing::ReadFileOrDie(key);
    }
    auto read = Read::NewStub(grpc::CreateChannel(master_.address(), grpc::SslCredentials(o)));
    return Unary<ListAppsResponse>(read.get(), &Read::Stub::ListApps, ListAppsRequest(),
                                   std::chrono::seconds(10), "list")
        .status();
  };
  EXPECT_TRUE(
      raw(TestPki::Get().Files("user", "alice").cert, TestPki::Get().Files("user", "alice").key)
          .ok());
  for (const auto& [cert, key] : {std::pair<std::string, std::string>{"", ""},
                                  {stale.cert, stale.key},
                                  {dir_ / "other/user-eve.crt", dir_ / "other/user-eve.key"}}) {
    absl::Status s = raw(cert, key);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << cert << ": " << s;
    // Attack run 2, fault 18: the master's log said "certificate verify
    // failed" and nothing more; it names whose certificate and why (at most
    // one line a second: one refusal each second here).
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  }
  EXPECT_NE(master_.log().find("refused a client's handshake: vms://user/stale (serial "),
            std::string::npos)
      << master_.log();
  EXPECT_NE(master_.log().find("): certificate has expired"), std::string::npos) << master_.log();
  EXPECT_NE(master_.log().find("refused a client's handshake: vms://user/eve (serial "),
            std::string::npos)
      << master_.log();
  EXPECT_NE(master_.log().find("): unable to get local issuer certificate"), std::string::npos)
      << master_.log();
}

TEST_F(IdentityTest, OnlyASiteReportsAndOnlyAboutItself) {
  auto report = [&](const std::string& kind, const std::string& name, const std::string& site) {
    auto sites = Sites::NewStub(testing::TestChannel(master_.address(), kind, name));
    SiteReport r;
    r.set_site(site);
    r.set_address("127.0.0.1:1");
    r.set_full(true);
    return Unary<ReportAck>(sites.get(), &Sites::Stub::Report, r, std::chrono::seconds(10),
                            "report")
        .status();
  };
  EXPECT_TRUE(report("site", "ny", "ny").ok());
  absl::Status host = report("host", "web1", "ny");
  EXPECT_TRUE(absl::IsPermissionDenied(host)) << host;
  EXPECT_NE(host.message().find("only sites"), std::string::npos) << host;
  absl::Status user = report("user", "alice", "ny");
  EXPECT_TRUE(absl::IsPermissionDenied(user)) << user;
  absl::Status other = report("site", "ldn", "ny");
  EXPECT_TRUE(absl::IsPermissionDenied(other)) << other;
  EXPECT_NE(other.message().find("vms://site/ldn may not report about site ny"), std::string::npos)
      << other;
  RunResult sites = As("admin", {"sites", "--json"});
  ASSERT_EQ(sites.exit_code, 0) << sites.err;
  EXPECT_EQ(json::parse(sites.out).size(), 1u) << sites.out;
}

}  // namespace
}  // namespace vms

namespace vms {
namespace {

TEST(KeyTest, KeyGenMakesAPrivateKeyOnceAndKeyShowPrintsIt) {
  testing::TempDir dir;
  const std::string keys = dir / "config/vms";
  // No certificate directory: the key goes to ~/.config/vms, and is only
  // registered with a master later (vms key register).
  RunResult gen = testing::Run({testing::CliBin(), "key", "gen"},
                               {.env = {{"XDG_CONFIG_HOME", dir / "config"}, {"VMS_TLS_DIR", ""}}});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  struct stat st;
  ASSERT_EQ(stat((keys + "/signing.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  size_t at = gen.out.find("key id: ");
  ASSERT_NE(at, std::string::npos) << gen.out;
  const std::string keyid = gen.out.substr(at + 8, 64);

  // Never overwritten: a second gen refuses and names the key there.
  const std::string before = testing::ReadFileOrDie(keys + "/signing.key");
  RunResult again = testing::Run({testing::CliBin(), "key", "gen", "--dir", keys});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already have a signing key (key id " + keyid), std::string::npos)
      << again.err;
  EXPECT_EQ(testing::ReadFileOrDie(keys + "/signing.key"), before);

  RunResult show = testing::Run({testing::CliBin(), "key", "show", "--dir", keys});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find(keyid), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("BEGIN PUBLIC KEY"), std::string::npos) << show.out;
  RunResult none = testing::Run({testing::CliBin(), "key", "show", "--dir", dir / "none"});
  EXPECT_NE(none.err.find("vms key gen makes one"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace vms
