#include "core/live_verifier.h"

#include "core/envelope.h"
#include "gtest/gtest.h"

namespace vms {
namespace {

Envelope Record(const SigningKey& key, const std::string& app, const std::string& version,
                uint64_t seq) {
  LiveRecord r;
  r.set_app(app);
  r.set_version(version);
  r.set_live_seq(seq);
  return SignEnvelope(kLiveType, r.SerializeAsString(), key);
}

TEST(LiveVerifierTest, AcceptsIncreasingSeqs) {
  SigningKey key = SigningKey::Generate();
  LiveVerifier v(key.public_key());
  EXPECT_TRUE(v.Accept(Record(key, "app", "1", 1)).ok());
  EXPECT_TRUE(v.Accept(Record(key, "app", "2", 2)).ok());
  EXPECT_TRUE(v.Accept(Record(key, "app", "3", 5)).ok());  // gaps are allowed here
  EXPECT_EQ(v.highest("app"), 5u);
}

TEST(LiveVerifierTest, RejectsAnOldRecordReplayedLater) {
  SigningKey key = SigningKey::Generate();
  LiveVerifier v(key.public_key());
  Envelope old = Record(key, "app", "1", 1);
  ASSERT_TRUE(v.Accept(old).ok());
  ASSERT_TRUE(v.Accept(Record(key, "app", "2", 2)).ok());
  auto s = v.Accept(old).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("stale live record"), std::string::npos) << s;
  EXPECT_FALSE(v.Accept(Record(key, "app", "2", 2)).ok()) << "the same seq twice";
  EXPECT_EQ(v.highest("app"), 2u);
}

TEST(LiveVerifierTest, SeqsArePerApp) {
  SigningKey key = SigningKey::Generate();
  LiveVerifier v(key.public_key());
  ASSERT_TRUE(v.Accept(Record(key, "a", "1", 7)).ok());
  EXPECT_TRUE(v.Accept(Record(key, "b", "1", 1)).ok());
}

TEST(LiveVerifierTest, RejectsFlippedBitsAndForeignKeys) {
  SigningKey key = SigningKey::Generate(), other = SigningKey::Generate();
  LiveVerifier v(key.public_key());
  Envelope env = Record(key, "app", "1", 1);
  for (size_t byte = 0; byte < env.payload().size(); ++byte) {
    Envelope bad = env;
    (*bad.mutable_payload())[byte] ^= 0x04;
    EXPECT_TRUE(absl::IsUnauthenticated(v.Accept(bad).status())) << "byte " << byte;
  }
  EXPECT_TRUE(absl::IsUnauthenticated(v.Accept(Record(other, "app", "1", 9)).status()));
  EXPECT_EQ(v.highest("app"), 0u) << "nothing accepted changes the state";
  EXPECT_TRUE(v.Accept(env).ok());
}

TEST(LiveVerifierTest, RestoredSeqsStillRejectReplays) {
  SigningKey key = SigningKey::Generate();
  LiveVerifier v(key.public_key());
  v.Restore({{"app", 4}});
  EXPECT_FALSE(v.Accept(Record(key, "app", "1", 4)).ok());
  EXPECT_TRUE(v.Accept(Record(key, "app", "1", 5)).ok());
}

}  // namespace
}  // namespace vms
