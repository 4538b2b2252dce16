#include "fusefs/discovery.h"

#include "fusefs/remote.h"
#include "gtest/gtest.h"

namespace vms {
namespace {

SiteMap Map(std::vector<std::pair<std::string, std::vector<std::string>>> sites) {
  SiteMap map;
  map.set_version(7);
  for (auto& [name, networks] : sites) {
    SiteMapEntry* e = map.add_sites();
    e->set_site(name);
    e->set_address(name + ":7800");
    for (const std::string& n : networks) e->add_networks(n);
  }
  return map;
}

std::vector<IpAddress> Ips(std::vector<const char*> list) {
  std::vector<IpAddress> out;
  for (const char* s : list) out.push_back(ParseIp(s).value());
  return out;
}

TEST(DiscoveryTest, OwnSiteFirstThenTheNearestOthers) {
  SiteMap map = Map({{"fra", {"10.2.0.0/16"}},
                     {"ldn", {"10.1.0.0/16"}},
                     {"ny", {"10.3.0.0/16", "fd00:3::/32"}},
                     {"tky", {"10.4.0.0/16"}}});
  std::map<std::string, int64_t> rtt = {
      {"fra:7800", 9000}, {"ny:7800", 70000}, {"tky:7800", 240000}};
  DiscoveryChoice c = ChooseReplicas(map, Ips({"127.0.0.1", "10.1.4.2"}), rtt, 2);
  EXPECT_EQ(c.site, "ldn");
  EXPECT_EQ(c.replicas, (std::vector<std::string>{"ldn:7800", "fra:7800", "ny:7800"}));
  EXPECT_EQ(c.map_version, 7u);

  // An IPv6-only host of ny; tky unmeasured (did not answer) comes last.
  rtt.erase("tky:7800");
  c = ChooseReplicas(map, Ips({"fd00:3::9"}), rtt, 3);
  EXPECT_EQ(c.site, "ny");
  EXPECT_EQ(c.replicas, (std::vector<std::string>{"ny:7800", "fra:7800", "ldn:7800", "tky:7800"}));
}

TEST(DiscoveryTest, TheLongestPrefixWinsAndAnUnclaimedHostTakesTheNearest) {
  SiteMap map = Map({{"campus", {"10.0.0.0/8"}}, {"lab", {"10.9.9.0/24"}}, {"far", {}}});
  std::map<std::string, int64_t> rtt = {{"campus:7800", 500}, {"far:7800", 100}, {"lab:7800", 900}};
  DiscoveryChoice c = ChooseReplicas(map, Ips({"10.9.9.9"}), rtt, 1);
  EXPECT_EQ(c.site, "lab");
  EXPECT_EQ(c.replicas, (std::vector<std::string>{"lab:7800", "far:7800"}));

  c = ChooseReplicas(map, Ips({"192.168.1.1"}), rtt, 1);
  EXPECT_EQ(c.site, "");
  EXPECT_EQ(c.replicas, (std::vector<std::string>{"far:7800", "campus:7800"}))
      << "no site claims it: the nearest two";
}

// Fault 11: hosts move only for a cause. A site that appears nearer than
// the one an unclaimed host reads from does not take it; the host's own site
// (what an admin assigned) does; a replica gone or silent lets it go.
TEST(DiscoveryTest, AHostMovesToAnotherSiteOnlyForACause) {
  SiteMap map = Map({{"campus", {}}, {"far", {}}});
  std::map<std::string, int64_t> rtt = {{"campus:7800", 900}, {"far:7800", 400}};
  const auto unclaimed = Ips({"192.168.1.1"});
  DiscoveryChoice c = ChooseReplicas(map, unclaimed, rtt, 1);
  ASSERT_EQ(c.replicas, (std::vector<std::string>{"far:7800", "campus:7800"}));

  // A new site, nearer than any: it becomes a fallback, not the first.
  map = Map({{"campus", {}}, {"far", {}}, {"near", {}}});
  rtt["near:7800"] = 10;
  c = ChooseReplicas(map, unclaimed, rtt, 1, c.replicas);
  EXPECT_EQ(c.replicas, (std::vector<std::string>{"far:7800", "near:7800"}));
  // Without a choice of its own (a host starting), the nearest.
  EXPECT_EQ(ChooseReplicas(map, unclaimed, rtt, 1).replicas.front(), "near:7800");

  // The replica it used stops answering, or leaves the map: it moves.
  rtt.erase("far:7800");
  EXPECT_EQ(ChooseReplicas(map, unclaimed, rtt, 1, {"far:7800"}).replicas.front(), "near:7800");
  map = Map({{"campus", {}}, {"near", {}}});
  rtt["far:7800"] = 400;
  EXPECT_EQ(ChooseReplicas(map, unclaimed, rtt, 1, {"far:7800"}).replicas.front(), "near:7800");

  // An admin assigns the host's network to campus: it goes there.
  map = Map({{"campus", {"192.168.0.0/16"}}, {"far", {}}, {"near", {}}});
  c = ChooseReplicas(map, unclaimed, rtt, 1, {"far:7800", "near:7800"});
  EXPECT_EQ(c.site, "campus");
  EXPECT_EQ(c.replicas.front(), "campus:7800");
}

// A host that failed over from its own site's replica stays with the one it
// went to when the list changes further down; a new first replica moves it.
TEST(DiscoveryTest, ANewListKeepsAFailoverUnlessItsFirstReplicaChanged) {
  Remote remote({"own:1", "a:1", "b:1"}, Credentials::Insecure(), std::chrono::seconds(1), nullptr);
  ASSERT_EQ(remote.preferred()->address(), "own:1");
  remote.Prefer(remote.clients()[1]);  // own:1 failed
  EXPECT_TRUE(remote.SetAddresses({"own:1", "a:1", "c:1"}));
  EXPECT_EQ(remote.preferred()->address(), "a:1");
  EXPECT_TRUE(remote.SetAddresses({"own:1", "c:1"}));
  EXPECT_EQ(remote.preferred()->address(), "own:1") << "a:1 left the list";
  remote.Prefer(remote.clients()[1]);
  EXPECT_TRUE(remote.SetAddresses({"new:1", "c:1"}));
  EXPECT_EQ(remote.preferred()->address(), "new:1");
}

TEST(DiscoveryTest, NoReachableMapIsAnErrorNamingEveryFailure) {
  Discovery d({.seeds = {"127.0.0.1:1"}, .deadline = std::chrono::milliseconds(500)});
  auto c = d.Learn();
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::IsUnavailable(c.status())) << c.status();
  EXPECT_NE(c.status().message().find("127.0.0.1:1"), std::string::npos) << c.status();
}

}  // namespace
}  // namespace vms
