#include "core/trust.h"

#include "core/envelope.h"
#include "gtest/gtest.h"

namespace vms {
namespace {

// A root of `n` keys needing `k`, signed by the first `signers` of them.
struct Made {
  std::vector<SigningKey> keys;
  Envelope env;
};
Made MakeRoot(int n, int k, int signers) {
  Made m;
  RootRecord r;
  r.set_version(1);
  r.set_threshold(k);
  for (int i = 0; i < n; ++i) {
    m.keys.push_back(SigningKey::Generate());
    r.add_keys(m.keys.back().public_key().Pem());
  }
  m.env.set_payload_type(std::string(kRootType));
  m.env.set_payload(r.SerializeAsString());
  for (int i = 0; i < signers; ++i) AddSignature(&m.env, m.keys[i]);
  return m;
}

TEST(TrustTest, ARootNeedsAThresholdOfItsOwnKeys) {
  Made two_of_three = MakeRoot(3, 2, 2);
  auto root = OpenRoot(two_of_three.env);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->keys.size(), 3u);
  EXPECT_EQ(root->record.threshold(), 2u);

  Made one_of_three = MakeRoot(3, 2, 1);
  auto short_one = OpenRoot(one_of_three.env);
  EXPECT_TRUE(absl::IsUnauthenticated(short_one.status())) << short_one.status();
  EXPECT_NE(short_one.status().message().find("signed by 1 of its keys; it takes 2"),
            std::string::npos);

  // The same key twice counts once; an outsider's signature counts for nothing.
  AddSignature(&one_of_three.env, one_of_three.keys[0]);
  AddSignature(&one_of_three.env, SigningKey::Generate());
  EXPECT_FALSE(OpenRoot(one_of_three.env).ok());
  AddSignature(&one_of_three.env, one_of_three.keys[2]);
  EXPECT_TRUE(OpenRoot(one_of_three.env).ok());
}

TEST(TrustTest, AnAlteredRootOrABadShapeIsRefused) {
  Made m = MakeRoot(1, 1, 1);
  Envelope altered = m.env;
  RootRecord r;
  ASSERT_TRUE(r.ParseFromString(altered.payload()));
  r.set_version(2);
  altered.set_payload(r.SerializeAsString());
  EXPECT_TRUE(absl::IsUnauthenticated(OpenRoot(altered).status()));

  Made zero = MakeRoot(2, 0, 2);
  EXPECT_TRUE(absl::IsInvalidArgument(OpenRoot(zero.env).status()));
  Made too_high = MakeRoot(2, 3, 2);
  EXPECT_TRUE(absl::IsInvalidArgument(OpenRoot(too_high.env).status()));
  Envelope other = m.env;
  other.set_payload_type(std::string(kLiveType));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenRoot(other).status()));
}

TEST(TrustTest, ArmorRoundTripsAndDamageIsNamed) {
  Made m = MakeRoot(2, 1, 2);
  std::string text = ArmorRoot(m.env);
  EXPECT_TRUE(text.starts_with("-----BEGIN VMS ROOT-----\n"));
  auto back = DearmorRoot("some words before\n" + text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->SerializeAsString(), m.env.SerializeAsString());
  EXPECT_TRUE(OpenRoot(*back).ok());
  EXPECT_FALSE(DearmorRoot("-----BEGIN PUBLIC KEY-----\nabc\n").ok());
  std::string damaged = text;
  damaged[30] = damaged[30] == 'A' ? 'B' : 'A';
  auto d = DearmorRoot(damaged);
  EXPECT_TRUE(!d.ok() || !OpenRoot(*d).ok());
}

}  // namespace
}  // namespace vms
