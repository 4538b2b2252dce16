// The master's access rules without a network: the authorisation table,
// owners and the audit log through Master, and which site may report about
// which (SiteRegistry::Apply with a sender).
#include "core/codec.h"
#include "core/limits.h"
#include "core/strings.h"
#include "core/tree.h"
#include "google/protobuf/descriptor.h"
#include "group.pb.h"
#include "gtest/gtest.h"
#include "server/authz.h"
#include "server/master.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/master_trees.h"
#include "tests/testing/testing.h"
#include "vms.pb.h"

namespace vms {
namespace {

const std::string kAlice = "vms://user/alice", kBob = "vms://user/bob", kAdmin = "vms://user/root",
                  kHost = "vms://host/web1", kSite = "vms://site/ny";

TEST(AuthzTest, TheTable) {
  Authorizer a = Authorizer::Create({.admins = {"root"}, .app_creators = {"*"}}).value();
  const std::vector<std::string> alice_owns = {kAlice};
  struct Case {
    std::string who;
    Action action;
    std::optional<std::vector<std::string>> owners;
    bool allowed;
  };
  for (const Case& c : std::vector<Case>{
           {kAlice, Action::kPush, std::nullopt, true},  // a new app: any user
           {kHost, Action::kPush, std::nullopt, false},
           {kSite, Action::kPush, std::nullopt, false},
           {kAlice, Action::kPush, alice_owns, true},
           {kBob, Action::kPush, alice_owns, false},
           {kBob, Action::kSetLive, alice_owns, false},
           {kBob, Action::kRollback, alice_owns, false},
           {kBob, Action::kChangeOwners, alice_owns, false},
           {kAlice, Action::kChangeOwners, alice_owns, true},
           {kAdmin, Action::kSetLive, alice_owns, true},
           {kAlice, Action::kPush, std::vector<std::string>{}, false},  // predates owners
           {kAdmin, Action::kPush, std::vector<std::string>{}, true},
           {kAlice, Action::kUpload, std::nullopt, true},
           {kHost, Action::kUpload, std::nullopt, false},
       }) {
    absl::Status s = a.Check(c.who, c.action, "alpha", c.owners);
    EXPECT_EQ(s.ok(), c.allowed) << c.who << " " << static_cast<int>(c.action) << ": " << s;
    if (!s.ok()) {
      EXPECT_TRUE(absl::IsPermissionDenied(s));
      EXPECT_TRUE(Sv(s.message()).starts_with(c.who + " may not ")) << s;
    }
  }
  EXPECT_FALSE(a.Check(kAlice, Action::kRemoveSite).ok());
  EXPECT_TRUE(a.Check(kAdmin, Action::kRemoveSite).ok());
  EXPECT_FALSE(a.Check(kAlice, Action::kReadAudit).ok());  // everything: admins only

  Authorizer closed = Authorizer::Create({.app_creators = {"alice"}}).value();
  EXPECT_TRUE(closed.Check(kAlice, Action::kPush, "new", std::nullopt).ok());
  absl::Status bob = closed.Check(kBob, Action::kPush, "new", std::nullopt);
  EXPECT_NE(bob.message().find("app creators are vms://user/alice"), std::string::npos) << bob;

  Authorizer insecure = Authorizer::Create({.insecure = true}).value();
  EXPECT_TRUE(insecure.Check("anonymous", Action::kRemoveSite).ok());
  EXPECT_FALSE(Authorizer::Create({.admins = {"Not A Principal"}}).ok());
}

// Every RPC of `service` is in `table` once, and the table names no other.
template <size_t N>
void ExpectEveryRpcListed(const google::protobuf::ServiceDescriptor* service,
                          const RpcAction (&table)[N], std::string_view table_name) {
  ASSERT_NE(service, nullptr);
  std::set<std::string_view> listed;
  for (const RpcAction& r : table) {
    EXPECT_TRUE(listed.insert(r.rpc).second) << r.rpc << " is listed twice";
  }
  for (int i = 0; i < service->method_count(); ++i) {
    EXPECT_EQ(listed.erase(service->method(i)->name()), 1u)
        << service->name() << "." << service->method(i)->name() << " has no action in "
        << table_name << " (server/authz.h)";
  }
  for (std::string_view extra : listed) {
    ADD_FAILURE() << extra << " is no RPC of " << service->name();
  }
}

// The Group service (a master group's nodes) has its rules in the table too:
// only master certificates may ask a node to hold a release or for a copy of
// its store; anyone may see the group.
TEST(AuthzTest, EveryGroupRpcHasItsActionInTheOneTable) {
  ExpectEveryRpcListed(HoldRequest::descriptor()->file()->FindServiceByName("Group"), kGroupActions,
                       "kGroupActions");

  Authorizer a = Authorizer::Create({.admins = {"root"}, .app_creators = {"*"}}).value();
  EXPECT_TRUE(a.Check("vms://master/m2", Action::kGroupNode).ok());
  for (const std::string& who : {kAlice, kHost, kSite}) {
    absl::Status s = a.Check(who, Action::kGroupNode);
    EXPECT_TRUE(absl::IsPermissionDenied(s)) << who << ": " << s;
    EXPECT_NE(s.message().find("only the nodes of the master group"), std::string::npos) << s;
    EXPECT_TRUE(a.Check(who, Action::kRead).ok());
  }
}

// One table names the action of every RPC of the Publish service: one
// added without an entry fails here, and every action's refusal says what
// was refused (a refused retire once said "may not make alpha live").
TEST(AuthzTest, EveryPublishRpcHasItsActionInTheOneTable) {
  ExpectEveryRpcListed(RetireRequest::descriptor()->file()->FindServiceByName("Publish"),
                       kPublishActions, "kPublishActions");

  Authorizer a = Authorizer::Create({.admins = {"root"}, .app_creators = {"*"}}).value();
  std::map<Action, std::string> refusals;
  for (const RpcAction& r : kPublishActions) {
    absl::Status s = a.Check(kHost, r.action, "alpha", std::vector<std::string>{kAlice});
    if (r.action == Action::kRead) {
      EXPECT_TRUE(s.ok()) << r.rpc << ": " << s;
      continue;
    }
    ASSERT_TRUE(absl::IsPermissionDenied(s)) << r.rpc << ": " << s;
    EXPECT_TRUE(a.Check(kAdmin, r.action, "alpha", std::vector<std::string>{kAlice}).ok());
    refusals[r.action] = std::string(s.message());
  }
  std::set<std::string> distinct;
  for (const auto& [action, message] : refusals) {
    EXPECT_TRUE(distinct.insert(message).second) << message;
  }
  EXPECT_NE(refusals[Action::kRetire].find("may not retire versions of alpha"), std::string::npos)
      << refusals[Action::kRetire];
  EXPECT_NE(refusals[Action::kCollect].find("may not collect garbage"), std::string::npos);
}

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_ = Master::Open(
                  {.data_dir = dir_.path(), .authz = {.admins = {"root"}, .app_creators = {"*"}}})
                  .value();
  }
  absl::StatusOr<CommitResult> Push(const std::string& who, const std::string& version) {
    auto root_or = testing::StoreOneFileTree(master_.get(), "f", "v" + version);
    EXPECT_TRUE(root_or.ok()) << root_or.status();
    if (!root_or.ok()) return root_or.status();
    Hash root = *root_or;
    return master_->Commit({.app = "alpha", .version = version, .root = root, .principal = who});
  }
  testing::TempDir dir_;
  std::unique_ptr<Master> master_;
};

TEST_F(AccessTest, TheFirstPusherOwnsTheAppAndEveryAttemptIsAudited) {
  ASSERT_TRUE(Push(kAlice, "1").ok());
  EXPECT_EQ(master_->Owners(kBob, "alpha", OwnersChange::kList).value().owners,
            std::vector<std::string>{kAlice});
  EXPECT_TRUE(absl::IsPermissionDenied(Push(kBob, "2").status()));
  EXPECT_TRUE(absl::IsPermissionDenied(master_->SetLive({"alpha", "1", kBob}).status()));
  auto retire = master_->Retire({.app = "alpha", .version = "1", .principal = kBob});
  EXPECT_TRUE(absl::IsPermissionDenied(retire.status()));
  EXPECT_NE(retire.status().message().find("may not retire"), std::string::npos) << retire.status();
  RetentionPolicy keep;
  keep.set_keep_last(1);
  auto policy = master_->Policy(kBob, "alpha", keep);
  EXPECT_NE(policy.status().message().find("may not set the retention policy"), std::string::npos)
      << policy.status();
  EXPECT_TRUE(absl::IsPermissionDenied(master_->RegisterKey(kHost, "not even a key", false)));
  ASSERT_TRUE(master_->SetLive({"alpha", "1", kAlice}).ok());
  EXPECT_EQ(master_->Owners(kAlice, "alpha", OwnersChange::kAdd, "bob").value().owners,
            (std::vector<std::string>{kAlice, kBob}));
  EXPECT_TRUE(
      absl::IsNotFound(master_->Owners(kAlice, "alpha", OwnersChange::kRemove, "carol").status()));
  ASSERT_TRUE(master_->Owners(kBob, "alpha", OwnersChange::kRemove, "alice").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      master_->Owners(kBob, "alpha", OwnersChange::kRemove, "bob").status()));

  auto audit = master_->Audit(kAdmin, "", 100).value();
  ASSERT_GE(audit.size(), 6u);
  EXPECT_EQ(audit.back().principal(), kAlice);  // oldest last
  EXPECT_EQ(audit.back().action(), "push");
  int refused = 0;
  for (const AuditEntry& e : audit) refused += !e.allowed();
  EXPECT_EQ(refused, 4);
  EXPECT_TRUE(absl::IsPermissionDenied(master_->Audit(kAlice, "alpha", 10).status()))
      << "alice is no longer an owner";
  EXPECT_EQ(master_->Audit(kBob, "alpha", 2).value().size(), 2u);
}

// Attack run 2, fault 16: refusals at 5,000/s pushed every accepted entry
// out of `vms audit APP -n 1000` and rolled the whole window in minutes.
TEST(AuditFloodTest, RefusalsBeyondAnAllowanceAreCountedAndAcceptedEntriesStay) {
  testing::TempDir dir;
  testing::FakeClock clock;
  auto master = Master::Open({.data_dir = dir.path(),
                              .clock = &clock,
                              .authz = {.admins = {"root"}, .app_creators = {"*"}}})
                    .value();
  auto root = testing::StoreOneFileTree(master.get(), "f", "v1");
  ASSERT_TRUE(root.ok()) << root.status();
  ASSERT_TRUE(
      master->Commit({.app = "alpha", .version = "1", .root = *root, .principal = kAlice}).ok());
  ASSERT_TRUE(master->SetLive({"alpha", "1", kAlice}).ok());
  constexpr int kFlood = 5000;
  for (int i = 0; i < kFlood; ++i) {
    ASSERT_TRUE(absl::IsPermissionDenied(master->SetLive({"alpha", "1", kBob}).status()));
  }
  auto count = [&](const std::vector<AuditEntry>& entries, const std::string& who, bool allowed) {
    int n = 0;
    for (const AuditEntry& e : entries) n += e.principal() == who && e.allowed() == allowed;
    return n;
  };
  auto audit = master->Audit(kAlice, "alpha", 1000).value();
  EXPECT_EQ(count(audit, kAlice, true), 2) << "the push and the flip are still there";
  EXPECT_EQ(count(audit, kBob, false), AuditLog::kRefusalBurst);
  EXPECT_EQ(master->audit().unstored_refusals(), uint64_t{kFlood - AuditLog::kRefusalBurst});
  // Another principal's refusal is stored: bob's flood is bob's alone.
  ASSERT_FALSE(master->SetLive({"alpha", "1", kHost}).ok());
  // And bob's next one, once his allowance grew back, says what was not stored.
  clock.Advance(AuditLog::kRefusalEvery);
  ASSERT_FALSE(master->SetLive({"alpha", "1", kBob}).ok());
  audit = master->Audit(kAlice, "alpha", 3).value();
  ASSERT_EQ(audit.size(), 3u);
  EXPECT_EQ(audit[0].principal(), kBob);
  EXPECT_NE(audit[0].outcome().find(
                StrCat("(and ", kFlood - AuditLog::kRefusalBurst, " more refusals of ", kBob)),
            std::string::npos)
      << audit[0].outcome();
  EXPECT_EQ(audit[1].principal(), kHost);
  EXPECT_EQ(audit[2].principal(), kBob);
  // Newest first across both kinds, after a restart too.
  master.reset();
  master = Master::Open({.data_dir = dir.path(),
                         .clock = &clock,
                         .authz = {.admins = {"root"}, .app_creators = {"*"}}})
               .value();
  ASSERT_TRUE(master->SetLive({"alpha", "1", kAlice}).ok());
  audit = master->Audit(kAlice, "alpha", 1000).value();
  ASSERT_EQ(audit.size(), 2u + AuditLog::kRefusalBurst + 3);
  EXPECT_EQ(audit.front().principal(), kAlice);
  EXPECT_EQ(audit.back().action(), "push");
  for (size_t i = 1; i < audit.size(); ++i) EXPECT_LT(audit[i].order(), audit[i - 1].order());
}

TEST_F(AccessTest, ASiteReportsAboutItselfAndRelaysOnlyForSitesBelowIt) {
  auto report = [&](const std::string& site, std::vector<std::string> via,
                    const std::string& sender) {
    SiteReport r;
    r.set_site(site);
    r.set_full(true);
    for (std::string& v : via) r.add_via(std::move(v));
    return master_->sites().Apply(r, sender).status();
  };
  EXPECT_TRUE(report("ny", {}, "ny").ok());
  EXPECT_TRUE(report("ldn", {}, "ldn").ok());
  // A site behind a relay is added by an admin first.
  absl::Status unknown = report("tky", {"tky"}, "ldn");
  EXPECT_TRUE(absl::IsPermissionDenied(unknown)) << unknown;
  EXPECT_NE(unknown.message().find("vms sites add tky"), std::string::npos) << unknown;
  ASSERT_TRUE(master_->sites().Add("tky").ok());
  ASSERT_TRUE(master_->sites().Add("osa").ok());
  EXPECT_TRUE(report("tky", {"tky"}, "ldn").ok());                       // tky follows ldn
  EXPECT_TRUE(report("osa", {"osa", "tky"}, "ldn").ok());                // osa follows tky
  EXPECT_TRUE(absl::IsPermissionDenied(report("ny", {}, "ldn")));        // as another site
  EXPECT_TRUE(absl::IsPermissionDenied(report("tky", {"osa"}, "ldn")));  // a path from elsewhere
  // ny, running under the master, cannot be claimed by ldn's subtree.
  absl::Status s = report("ny", {"ny"}, "ldn");
  EXPECT_TRUE(absl::IsPermissionDenied(s));
  EXPECT_NE(s.message().find("follows the master and reported within the last minute"),
            std::string::npos)
      << s;
  EXPECT_TRUE(report("tky", {}, "tky").ok()) << "a site may always speak for itself";
}

TEST_F(AccessTest, ASiteCertificateCannotInventSitesThatBlockEveryFlip) {
  SiteReport own;
  own.set_site("ny");
  own.set_full(true);
  ASSERT_TRUE(master_->sites().Apply(own, "ny").ok());
  // ny's certificate relays a report for a site nobody added.
  SiteReport phantom;
  phantom.set_site("phantom1");
  phantom.add_via("phantom1");
  phantom.set_full(true);
  absl::Status s = master_->sites().Apply(phantom, std::string("ny")).status();
  EXPECT_TRUE(absl::IsPermissionDenied(s)) << s;
  EXPECT_EQ(master_->sites().Names(), std::vector<std::string>{"ny"});
  // And however many sites report themselves, the master keeps a bounded
  // number: past it, a new one is refused, and an admin adds none either.
  for (size_t i = 1; i < kMaxSites; ++i) {
    SiteReport r;
    r.set_site("s" + std::to_string(i));
    ASSERT_TRUE(master_->sites().Apply(r, r.site()).ok()) << i;
  }
  SiteReport one_more;
  one_more.set_site("extra");
  s = master_->sites().Apply(one_more, std::string("extra")).status();
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_NE(s.message().find("vms sites remove"), std::string::npos) << s;
  EXPECT_TRUE(absl::IsResourceExhausted(master_->sites().Add("extra")));
  EXPECT_EQ(master_->sites().Names().size(), kMaxSites);
}

TEST_F(AccessTest, ASiteThatFailedOverIsTakenThroughTheHubItNamedAndNoOther) {
  auto report = [&](const std::string& site, const std::string& address,
                    std::vector<std::string> upstreams, std::vector<std::string> via,
                    const std::string& sender) {
    SiteReport r;
    r.set_site(site);
    r.set_address(address);
    r.set_full(true);
    for (std::string& u : upstreams) r.add_upstreams(std::move(u));
    for (std::string& v : via) r.add_via(std::move(v));
    return master_->sites().Apply(r, sender).status();
  };
  ASSERT_TRUE(report("eu", "10.0.1.1:7800", {}, {}, "eu").ok());
  ASSERT_TRUE(report("us", "10.0.2.1:7800", {}, {}, "us").ok());
  ASSERT_TRUE(report("af", "10.0.3.1:7800", {}, {}, "af").ok());
  ASSERT_TRUE(master_->sites().Add("ldn").ok());
  // ldn follows eu and names us as its second upstream.
  ASSERT_TRUE(
      report("ldn", "10.0.9.1:7800", {"10.0.1.1:7800", "10.0.2.1:7800"}, {"ldn"}, "eu").ok());
  // eu dies; ldn's reports come through us at once.
  EXPECT_TRUE(
      report("ldn", "10.0.9.1:7800", {"10.0.1.1:7800", "10.0.2.1:7800"}, {"ldn"}, "us").ok());
  // af was never named: it may not take ldn over, whatever its report says.
  absl::Status s =
      report("ldn", "10.0.9.1:7800", {"10.0.3.1:7800", "10.0.2.1:7800"}, {"ldn"}, "af");
  EXPECT_TRUE(absl::IsPermissionDenied(s)) << s;
  // Nor did a report through us change what ldn declared: af still may not.
  EXPECT_TRUE(
      absl::IsPermissionDenied(report("ldn", "10.0.9.1:7800", {"10.0.3.1:7800"}, {"ldn"}, "af")));
  // Back to eu, the first named.
  EXPECT_TRUE(
      report("ldn", "10.0.9.1:7800", {"10.0.1.1:7800", "10.0.2.1:7800"}, {"ldn"}, "eu").ok());
  auto sites = master_->sites().List("", "").value();
  for (const SiteState& site : sites) {
    if (site.name() == "ldn") {
      EXPECT_EQ(site.parent(), "eu");
    }
  }
}

// Attack run 2, fault 10: a compromised site took over the reports of a site
// quiet for a minute, named itself as its only upstream, and the real site's
// reports through its own relay were refused from then on, without a log line.
TEST(SiteTakeoverTest, ARelayThatTookAQuietSiteOverCannotLockItsOwnPathOut) {
  testing::TempDir dir;
  testing::FakeClock clock;
  auto master = Master::Open({.data_dir = dir.path(), .clock = &clock}).value();
  auto report = [&](const std::string& site, const std::string& address,
                    std::vector<std::string> upstreams, std::vector<std::string> via,
                    const std::string& sender) {
    SiteReport r;
    r.set_site(site);
    r.set_address(address);
    r.set_full(true);
    for (std::string& u : upstreams) r.add_upstreams(std::move(u));
    for (std::string& v : via) r.add_via(std::move(v));
    return master->sites().Apply(r, sender).status();
  };
  ASSERT_TRUE(report("eu", "10.0.1.1:7800", {}, {}, "eu").ok());
  ASSERT_TRUE(report("evil", "10.0.6.1:7800", {}, {}, "evil").ok());
  ASSERT_TRUE(master->sites().Add("ldn").ok());
  ASSERT_TRUE(report("ldn", "10.0.9.1:7800", {"10.0.1.1:7800"}, {"ldn"}, "eu").ok());
  // Running: evil may not take it over.
  EXPECT_TRUE(
      absl::IsPermissionDenied(report("ldn", "10.0.9.1:7800", {"10.0.6.1:7800"}, {"ldn"}, "evil")));
  // Quiet for a minute (a network cut): evil takes it over, naming itself.
  clock.Advance(std::chrono::milliseconds(SiteRegistry::kRecentMs + 1000));
  ASSERT_TRUE(report("ldn", "10.0.9.1:7800", {"10.0.6.1:7800"}, {"ldn"}, "evil").ok());
  ASSERT_TRUE(report("ldn", "10.0.9.1:7800", {"10.0.6.1:7800"}, {"ldn"}, "evil").ok());
  // ldn is back through eu, the upstream it named itself: taken back at once.
  absl::Status back = report("ldn", "10.0.9.1:7800", {"10.0.1.1:7800"}, {"ldn"}, "eu");
  EXPECT_TRUE(back.ok()) << back;
  auto sites = master->sites().List("", "").value();
  auto ldn = std::find_if(sites.begin(), sites.end(),
                          [](const SiteState& s) { return s.name() == "ldn"; });
  ASSERT_NE(ldn, sites.end());
  EXPECT_EQ(ldn->parent(), "eu");
  EXPECT_EQ(std::vector<std::string>(ldn->upstreams().begin(), ldn->upstreams().end()),
            std::vector<std::string>{"10.0.1.1:7800"});
  // And evil, while ldn reports, is refused again.
  EXPECT_TRUE(
      absl::IsPermissionDenied(report("ldn", "10.0.9.1:7800", {"10.0.6.1:7800"}, {"ldn"}, "evil")));
}

TEST_F(AccessTest, TheSiteMapNamesEverySiteAndChangesItsVersionWithIt) {
  SiteReport r;
  r.set_site("ny");
  r.set_address("10.0.1.1:7800");
  r.add_networks("10.1.0.0/16");
  ASSERT_TRUE(master_->sites().Apply(r, "ny").ok());
  // Attack run 2, fault 11: a site's certificate claimed 0.0.0.0/0 (or a
  // /32) and captured every host that --discovers. A claim is shown, not
  // used: the networks in the map are an admin's.
  auto map = master_->sites().SiteMap();
  ASSERT_EQ(map->sites_size(), 1);
  EXPECT_EQ(map->sites(0).networks_size(), 0);
  EXPECT_EQ(master_->sites().List("", "").value()[0].claimed_networks(0), "10.1.0.0/16");
  const uint64_t v0 = master_->sites().site_map_version();
  r.add_networks("0.0.0.0/0");
  ASSERT_TRUE(master_->sites().Apply(r, "ny").ok());
  EXPECT_EQ(master_->sites().site_map_version(), v0) << "a claim changes no map";
  EXPECT_TRUE(absl::IsPermissionDenied(master_->ServeSite(kSite, "ny", {"0.0.0.0/0"})));
  ASSERT_TRUE(master_->ServeSite(kAdmin, "ny", {"10.1.0.0/16"}).ok());
  map = master_->sites().SiteMap();
  ASSERT_EQ(map->sites(0).networks_size(), 1);
  EXPECT_EQ(map->sites(0).networks(0), "10.1.0.0/16");
  const uint64_t v1 = master_->sites().site_map_version();
  EXPECT_NE(v1, v0);
  EXPECT_EQ(map->version(), v1);
  ASSERT_TRUE(master_->sites().Apply(r, "ny").ok());
  EXPECT_EQ(master_->sites().site_map_version(), v1) << "the same report: the same map";
  ASSERT_TRUE(master_->ServeSite(kAdmin, "ny", {"10.1.0.0/16", "fd00:1::/32"}).ok());
  EXPECT_NE(master_->sites().site_map_version(), v1);
  absl::Status bad = master_->ServeSite(kAdmin, "ny", {"10.1.0.0/33"});
  EXPECT_TRUE(absl::IsInvalidArgument(bad)) << bad;
  EXPECT_NE(bad.message().find("10.1.0.0/33"), std::string::npos) << bad;
  EXPECT_EQ(master_->sites().SiteMap()->sites(0).networks_size(), 2) << "a refusal changes nothing";
  r.add_networks("10.1.0.0/33");
  bad = master_->sites().Apply(r, "ny").status();
  EXPECT_TRUE(absl::IsInvalidArgument(bad)) << bad;
  // An admin may assign networks to a site before it ever reported.
  ASSERT_TRUE(master_->ServeSite(kAdmin, "sf", {"10.2.0.0/16"}).ok());
  EXPECT_EQ(master_->sites().Names(), (std::vector<std::string>{"ny", "sf"}));
}

}  // namespace
}  // namespace vms
