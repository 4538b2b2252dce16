// Mutual TLS on loopback, in this process: a Read server that answers
// ListApps with the caller's principal, and clients with good, missing,
// expired, foreign and wrong-kind certificates. Refused handshakes are
// tested with plain gRPC SSL credentials too, as a modified client would
// connect, so the server's own checks are what is tested.
#include "net/tls.h"

#include <memory>
#include <string>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "net/channel.h"
#include "net/rpc.h"
#include "tests/testing/testing.h"
#include "tools/pki/pki.h"
#include "vms.grpc.pb.h"

namespace vms {
namespace {

using testing::ReadFileOrDie;

// Answers ListApps with one app: the caller's principal.
class WhoAmI final : public Read::Service {
 public:
  explicit WhoAmI(const Credentials& credentials) {
    grpc::ServerBuilder builder;
    ConfigureServer(&builder);
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", credentials.ForServer(), &port);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  ~WhoAmI() override { server_->Shutdown(DeadlineAfter(std::chrono::milliseconds(0))); }
  const std::string& address() const { return address_; }

  grpc::Status ListApps(grpc::ServerContext* ctx, const ListAppsRequest*,
                        ListAppsResponse* resp) override {
    resp->add_apps()->set_app(PeerPrincipal(*ctx->auth_context()));
    return grpc::Status::OK;
  }

 private:
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki::InitCa(ca_).ok());
    ASSERT_TRUE(pki::InitCa(other_ca_).ok());
    for (auto [kind, name] : {std::pair{"master", "main"}, {"site", "ny"}, {"user", "alice"}}) {
      ASSERT_TRUE(pki::Issue(ca_, kind, name).ok());
    }
    ASSERT_TRUE(pki::Issue(ca_, "user", "old", {.expired = true}).ok());
    ASSERT_TRUE(pki::Issue(other_ca_, "user", "eve").ok());
  }

  TlsFiles Files(const std::string& dir, const std::string& who) {
    return {
        .ca = dir + "/ca.crt", .cert = dir + "/" + who + ".crt", .key = dir + "/" + who + ".key"};
  }
  Credentials Load(const std::string& who) { return Credentials::Load(Files(ca_, who)).value(); }

  // Who the server says the caller is, or the error.
  absl::StatusOr<std::string> Call(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = Read::NewStub(channel);
    auto resp = Unary<ListAppsResponse>(stub.get(), &Read::Stub::ListApps, ListAppsRequest(),
                                        std::chrono::seconds(10), "list");
    if (!resp.ok()) return resp.status();
    return resp->apps(0).app();
  }
  // A client that skips every check of its own: plain gRPC SSL credentials.
  absl::StatusOr<std::string> RawCall(const std::string& address, const std::string& ca,
                                      const std::string& cert_dir, const std::string& who) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ReadFileOrDie(ca);
    if (!who.empty()) {
      o.pem_cert_chain = ReadFileOrDie(cert_dir + "/" + who + ".crt");
      o.pem_private_key = ReadFileOrDie(cert_dir + "/" + who + ".key");
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return Call(grpc::CreateCustomChannel(address, grpc::SslCredentials(o), args));
  }

  testing::TempDir dir_;
  const std::string ca_ = dir_ / "ca", other_ca_ = dir_ / "other";
};

TEST_F(TlsTest, TheServerKnowsTheCallerByTheCertificatesPrincipal) {
  WhoAmI master(Load("master-main"));
  const PeerKinds master_or_site{PrincipalKind::kMaster, PrincipalKind::kSite};
  EXPECT_EQ(Call(MakeChannel(master.address(), Load("user-alice"), master_or_site)).value(),
            "vms://user/alice");
  EXPECT_EQ(Call(MakeChannel(master.address(), Load("site-ny"), master_or_site)).value(),
            "vms://site/ny");
}

TEST_F(TlsTest, ABadCertificateIsRefusedBeforeConnectingAndTheErrorSaysWhy) {
  auto expired = Credentials::Load(Files(ca_, "user-old"));
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.status().message().find("expired on"), std::string::npos) << expired.status();
  auto foreign = Credentials::Load({.ca = ca_ + "/ca.crt",
                                    .cert = other_ca_ + "/user-eve.crt",
                                    .key = other_ca_ + "/user-eve.key"});
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("is not signed by the CA in"), std::string::npos)
      << foreign.status();
  auto none = Credentials::Load({.ca = ca_ + "/ca.crt"});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no --tls-cert"), std::string::npos) << none.status();
  auto mismatched = Credentials::Load(
      {.ca = ca_ + "/ca.crt", .cert = ca_ + "/user-alice.crt", .key = ca_ + "/site-ny.key"});
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("does not go with"), std::string::npos)
      << mismatched.status();
}

TEST_F(TlsTest, TheServerRefusesNoExpiredOrForeignCertificatesAtTheHandshake) {
  WhoAmI master(Load("master-main"));
  const std::string ca = ca_ + "/ca.crt";
  ASSERT_EQ(RawCall(master.address(), ca, ca_, "user-alice").value(), "vms://user/alice");
  // The server closes the connection without a reason the client could read
  // (vms says which before it connects: the test above).
  for (auto [dir, who] :
       {std::pair{ca_, std::string("")}, {ca_, "user-old"}, {other_ca_, "user-eve"}}) {
    auto r = RawCall(master.address(), ca, dir, who);
    ASSERT_FALSE(r.ok()) << who;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
    EXPECT_NE(r.status().message().find("refuses the client's certificate"), std::string::npos)
        << who << ": " << r.status();
  }
  // Plaintext to a TLS server.
  auto plain =
      Call(MakeChannel(master.address(), Credentials::Insecure(), {PrincipalKind::kMaster}));
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("speaks plaintext"), std::string::npos) << plain.status();
}

TEST_F(TlsTest, AClientRefusesAServerOfTheWrongKindOrAnotherCa) {
  // vms's own PKI gives only sites and the master server certificates; a
  // company's CA may give them to anyone, so the kind is checked too.
  WhoAmI site(Load("site-ny"));
  auto r = Call(MakeChannel(site.address(), Load("user-alice"), {PrincipalKind::kMaster}));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("vms://site/ny"), std::string::npos) << r.status();
  // A user's certificate cannot serve at all.
  WhoAmI impostor(Load("user-alice"));
  auto u = Call(MakeChannel(impostor.address(), Load("site-ny"), {PrincipalKind::kMaster}));
  ASSERT_FALSE(u.ok());
  EXPECT_NE(u.status().message().find("refused the server's certificate"), std::string::npos)
      << u.status();

  ASSERT_TRUE(pki::Issue(other_ca_, "master", "main").ok());
  WhoAmI foreign(Credentials::Load(Files(other_ca_, "master-main")).value());
  auto f = Call(MakeChannel(foreign.address(), Load("user-alice"), {PrincipalKind::kMaster}));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("refused the server's certificate"), std::string::npos)
      << f.status();
}

}  // namespace
}  // namespace vms
