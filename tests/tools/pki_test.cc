#include "tools/pki/pki.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>

#include "core/x509.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms::pki {
namespace {

// Verifies `cert_pem` against the CA in `ca_pem` as a TLS peer would; the
// OpenSSL error string, or "" when it verifies.
std::string Verify(const std::string& ca_pem, const std::string& cert_pem) {
  BIO* cb = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  X509* ca = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO* eb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(eb, nullptr, nullptr, nullptr);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, nullptr);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
  std::string err = X509_verify_cert(ctx) == 1
                        ? ""
                        : X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(cert);
  X509_free(ca);
  BIO_free(eb);
  BIO_free(cb);
  return err;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(PkiTest, ACaIssuesCertificatesThatNameTheirPrincipalAndVerify) {
  testing::TempDir dir;
  const std::string ca = dir / "ca";
  ASSERT_TRUE(InitCa(ca).ok());
  EXPECT_EQ(ModeOf(ca + "/ca.key"), 0600u);
  for (KeyType key : {KeyType::kP256, KeyType::kEd25519}) {
    std::string name = key == KeyType::kP256 ? "alice" : "bob";
    auto issued = Issue(ca, "user", name, {.key = key});
    ASSERT_TRUE(issued.ok()) << issued.status();
    EXPECT_EQ(issued->principal, "vms://user/" + name);
    EXPECT_EQ(issued->cert_path, ca + "/user-" + name + ".crt");
    EXPECT_EQ(ModeOf(issued->key_path), 0600u);
    std::string pem = testing::ReadFileOrDie(issued->cert_path);
    EXPECT_EQ(PrincipalOfCertificate(pem)->uri(), "vms://user/" + name);
    EXPECT_EQ(Verify(testing::ReadFileOrDie(ca + "/ca.crt"), pem), "");
  }
  auto site = Issue(ca, "site", "ny");
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(Verify(testing::ReadFileOrDie(ca + "/ca.crt"), testing::ReadFileOrDie(site->cert_path)),
            "");
}

TEST(PkiTest, AnotherCasOrAnExpiredCertificateDoesNotVerify) {
  testing::TempDir dir;
  ASSERT_TRUE(InitCa(dir / "a").ok());
  ASSERT_TRUE(InitCa(dir / "b").ok());
  auto alice = Issue(dir / "a", "user", "alice");
  auto old = Issue(dir / "a", "user", "old", {.expired = true});
  ASSERT_TRUE(alice.ok() && old.ok());
  EXPECT_NE(
      Verify(testing::ReadFileOrDie(dir / "b/ca.crt"), testing::ReadFileOrDie(alice->cert_path)),
      "");
  EXPECT_EQ(
      Verify(testing::ReadFileOrDie(dir / "a/ca.crt"), testing::ReadFileOrDie(old->cert_path)),
      "certificate has expired");
}

TEST(PkiTest, BadRequestsSayWhatIsWrongAndNothingIsOverwritten) {
  testing::TempDir dir;
  const std::string ca = dir / "ca";
  EXPECT_TRUE(absl::IsFailedPrecondition(Issue(ca, "user", "alice").status()))
      << "no CA yet: says to run vms-pki init";
  ASSERT_TRUE(InitCa(ca).ok());
  const std::string ca_crt = testing::ReadFileOrDie(ca + "/ca.crt");
  auto again = InitCa(ca);
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_EQ(testing::ReadFileOrDie(ca + "/ca.crt"), ca_crt) << "the CA was not replaced";

  auto kind = Issue(ca, "admin", "x").status();
  EXPECT_TRUE(absl::IsInvalidArgument(kind));
  EXPECT_NE(kind.message().find("is not one of user, site, host, master"), std::string::npos)
      << kind;
  EXPECT_TRUE(absl::IsInvalidArgument(Issue(ca, "user", "Alice").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Issue(ca, "user", "../x").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Issue(ca, "user", "u", {.dns = {"h"}}).status()))
      << "a user does not serve";
  EXPECT_TRUE(absl::IsInvalidArgument(Issue(ca, "site", "ny", {.ips = {"not-an-ip"}}).status()));

  auto first = Issue(ca, "host", "h1");
  ASSERT_TRUE(first.ok());
  const std::string key = testing::ReadFileOrDie(first->key_path);
  EXPECT_TRUE(absl::IsAlreadyExists(Issue(ca, "host", "h1").status()));
  EXPECT_EQ(testing::ReadFileOrDie(first->key_path), key) << "the key was not replaced";
}

}  // namespace
}  // namespace vms::pki
