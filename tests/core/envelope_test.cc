#include "core/envelope.h"

#include <filesystem>

#include "core/file_util.h"
#include "core/hash.h"
#include "core/keys.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

Envelope SignedRelease(const SigningKey& key) {
  Release r;
  r.set_app("python");
  r.set_version("3.11.7");
  r.set_root(std::string(Sha256("root").View()));
  r.set_file_count(55000);
  return SignEnvelope(kReleaseType, r.SerializeAsString(), key);
}

TEST(EnvelopeTest, SignatureVerifies) {
  SigningKey key = SigningKey::Generate();
  Envelope env = SignedRelease(key);
  ASSERT_TRUE(VerifyEnvelope(env, kReleaseType, key.public_key()).ok());
  auto r = OpenRelease(env, key.public_key());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version(), "3.11.7");
}

TEST(EnvelopeTest, EveryFlippedPayloadBitIsRejected) {
  SigningKey key = SigningKey::Generate();
  Envelope env = SignedRelease(key);
  for (size_t byte = 0; byte < env.payload().size(); ++byte) {
    Envelope bad = env;
    (*bad.mutable_payload())[byte] ^= 0x01;
    EXPECT_TRUE(absl::IsUnauthenticated(VerifyEnvelope(bad, kReleaseType, key.public_key())))
        << "byte " << byte;
  }
}

TEST(EnvelopeTest, FlippedSignatureBitIsRejected) {
  SigningKey key = SigningKey::Generate();
  Envelope env = SignedRelease(key);
  (*env.mutable_signatures(0)->mutable_sig())[10] ^= 0x80;
  auto s = VerifyEnvelope(env, kReleaseType, key.public_key());
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_NE(s.message().find("does not verify"), std::string::npos) << s;
}

TEST(EnvelopeTest, OtherKeyIsRejected) {
  SigningKey key = SigningKey::Generate(), other = SigningKey::Generate();
  auto s = VerifyEnvelope(SignedRelease(other), kReleaseType, key.public_key());
  EXPECT_TRUE(absl::IsUnauthenticated(s));
  EXPECT_NE(s.message().find("not signed by the trusted key"), std::string::npos) << s;
}

TEST(EnvelopeTest, TypeIsBoundIntoTheSignature) {
  SigningKey key = SigningKey::Generate();
  Envelope env = SignedRelease(key);
  env.set_payload_type(std::string(kLiveType));
  EXPECT_FALSE(VerifyEnvelope(env, kLiveType, key.public_key()).ok());
  EXPECT_FALSE(VerifyEnvelope(SignedRelease(key), kLiveType, key.public_key()).ok());
}

TEST(EnvelopeTest, PreAuthEncodingSeparatesFields) {
  EXPECT_NE(PreAuthEncoding("a b", "c"), PreAuthEncoding("a", "b c"));
}

TEST(KeysTest, PemRoundTrip) {
  SigningKey key = SigningKey::Generate();
  auto again = SigningKey::FromPem(key.PrivatePem());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->public_key().keyid(), key.public_key().keyid());
  auto pub = PublicKey::FromPem(key.public_key().Pem());
  ASSERT_TRUE(pub.ok());
  EXPECT_TRUE(pub->Verify("m", key.Sign("m")));
  EXPECT_FALSE(pub->Verify("n", key.Sign("m")));
  EXPECT_FALSE(PublicKey::FromPem("not a key").ok());
  EXPECT_FALSE(SigningKey::FromPem(key.public_key().Pem()).ok());
}

TEST(KeysTest, LoadOrCreateCreatesOnceThenReloads) {
  testing::TempDir dir;
  auto first = SigningKey::LoadOrCreate(dir.path(), "master");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(std::filesystem::status(dir / "master.key").permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  auto second = SigningKey::LoadOrCreate(dir.path(), "master");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->public_key().keyid(), second->public_key().keyid());
  auto pub = PublicKey::Load(dir / "master.pub");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->keyid(), first->public_key().keyid());
}

TEST(KeysTest, LoadOrCreateRefusesMismatchedOrHalfPairs) {
  testing::TempDir dir;
  ASSERT_TRUE(SigningKey::LoadOrCreate(dir.path(), "master").ok());
  ASSERT_TRUE(WriteFileAtomic(dir / "master.pub", SigningKey::Generate().public_key().Pem()).ok());
  auto s = SigningKey::LoadOrCreate(dir.path(), "master").status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  std::filesystem::remove(dir / "master.key");
  s = SigningKey::LoadOrCreate(dir.path(), "master").status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("restore the private key"), std::string::npos);
}

}  // namespace
}  // namespace vms
