#include "core/principal.h"

#include "core/x509.h"
#include "gtest/gtest.h"

namespace vms {
namespace {

TEST(PrincipalTest, ParsesEachKindAndPrintsItBack) {
  for (const char* uri :
       {"vms://user/alice", "vms://site/ny", "vms://host/web-12.a", "vms://master/main"}) {
    auto p = ParsePrincipal(uri);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->uri(), uri);
  }
  EXPECT_EQ(ParsePrincipal("vms://site/ny")->kind, PrincipalKind::kSite);
}

TEST(PrincipalTest, RefusesWhatIsNotAPrincipalAndSaysTheForm) {
  for (const char* bad :
       {"", "alice", "https://user/alice", "vms://user", "vms://user/", "vms://admin/alice",
        "vms://user/Alice", "vms://user/a/b", "vms://user/../x"}) {
    auto p = ParsePrincipal(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.status().message().find("vms://KIND/NAME"), std::string::npos) << p.status();
  }
}

TEST(PrincipalTest, ABareNameIsAUser) {
  EXPECT_EQ(NormalizePrincipal("alice").value(), "vms://user/alice");
  EXPECT_EQ(NormalizePrincipal("vms://site/ny").value(), "vms://site/ny");
  EXPECT_FALSE(NormalizePrincipal("Alice").ok());
}

TEST(SerialTest, EverySpellingOfASerialIsOneAndBlanksAreNone) {
  EXPECT_EQ(NormalizeSerial("serial=0A1B"), "a1b");
  EXPECT_EQ(NormalizeSerial("0a:1b"), "a1b");
  EXPECT_EQ(NormalizeSerial("A1B"), "a1b");
  EXPECT_EQ(NormalizeSerial("00"), "0");
  EXPECT_EQ(NormalizeSerial("xyz"), "");
  EXPECT_EQ(NormalizeSerial(""), "");
  // A blank line in a revocation list once revoked serial 0.
  EXPECT_EQ(NormalizeSerial("  \t\r"), "");
  EXPECT_EQ(ParseRevokedSerials("# cut off\nserial=0A1B  # alice's laptop\n   \n\r\nbad!\n0c\n"),
            (std::set<std::string>{"a1b", "c"}));
}

}  // namespace
}  // namespace vms
