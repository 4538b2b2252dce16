#include "core/cidr.h"

#include "gtest/gtest.h"

namespace vms {
namespace {

IpAddress Ip(const char* s) { return ParseIp(s).value(); }

TEST(CidrTest, ContainsByPrefix) {
  Cidr net = ParseCidr("10.1.0.0/16").value();
  EXPECT_TRUE(net.Contains(Ip("10.1.0.1")));
  EXPECT_TRUE(net.Contains(Ip("10.1.255.254")));
  EXPECT_FALSE(net.Contains(Ip("10.2.0.1")));
  EXPECT_FALSE(net.Contains(Ip("fd00::1"))) << "an IPv4 network holds no IPv6 address";
  EXPECT_EQ(net.text, "10.1.0.0/16");

  Cidr odd = ParseCidr("192.168.5.130/25").value();  // host bits are ignored
  EXPECT_TRUE(odd.Contains(Ip("192.168.5.129")));
  EXPECT_FALSE(odd.Contains(Ip("192.168.5.127")));

  Cidr v6 = ParseCidr("fd00:1::/32").value();
  EXPECT_TRUE(v6.Contains(Ip("fd00:1:2::3")));
  EXPECT_FALSE(v6.Contains(Ip("fd00:2::1")));
  EXPECT_FALSE(v6.Contains(Ip("10.1.0.1")));

  EXPECT_TRUE(ParseCidr("0.0.0.0/0").value().Contains(Ip("8.8.8.8")));
  Cidr host = ParseCidr("127.0.0.1").value();  // a bare address is one host
  EXPECT_TRUE(host.Contains(Ip("127.0.0.1")));
  EXPECT_FALSE(host.Contains(Ip("127.0.0.2")));
  EXPECT_GT(host.specificity(), net.specificity());
}

TEST(CidrTest, BadNetworksAreNamed) {
  for (const char* bad : {"", "10.1.0.0/", "10.1.0.0/33", "fd00::/129", "10.1.0/16", "10.1.0.0/1x",
                          "host.example/8", "10.1.0.0/0016"}) {
    auto c = ParseCidr(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("CIDR"), std::string::npos) << c.status();
  }
}

TEST(CidrTest, LocalAddressesHaveLoopback) {
  bool loopback = false;
  for (const IpAddress& a : LocalAddresses()) loopback |= ParseCidr("127.0.0.0/8")->Contains(a);
  EXPECT_TRUE(loopback);
}

}  // namespace
}  // namespace vms
