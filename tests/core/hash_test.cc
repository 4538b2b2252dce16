#include "core/hash.h"

#include <string>

#include "gtest/gtest.h"

namespace vms {
namespace {

struct Vector {
  std::string input;
  std::string hex;
};

TEST(HashTest, MatchesFipsVectors) {
  const Vector vectors[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
  for (const Vector& v : vectors) {
    EXPECT_EQ(Sha256(v.input).Hex(), v.hex) << "input of " << v.input.size() << " bytes";
  }
}

TEST(HashTest, IncrementalEqualsOneShot) {
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  Sha256Hasher hasher;
  for (size_t i = 0; i < data.size(); i += 777) hasher.Update(data.substr(i, 777));
  EXPECT_EQ(hasher.Finish(), Sha256(data));
  // Finish() resets: the hasher is reusable.
  hasher.Update("abc");
  EXPECT_EQ(hasher.Finish(), Sha256("abc"));
}

TEST(HashTest, HexRoundTrip) {
  Hash h = Sha256("round trip");
  auto back = Hash::FromHex(h.Hex());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
  EXPECT_EQ(Hash::FromHex(std::string(64, 'A')).value().Hex(), std::string(64, 'a'));
}

TEST(HashTest, RejectsMalformedHex) {
  EXPECT_FALSE(Hash::FromHex("abc").ok());
  EXPECT_FALSE(Hash::FromHex(std::string(64, 'g')).ok());
  EXPECT_FALSE(Hash::FromHex(std::string(66, 'a')).ok());
  EXPECT_FALSE(Hash::FromBytes("short").ok());
}

}  // namespace
}  // namespace vms
