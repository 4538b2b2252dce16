#include "core/codec.h"

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

TEST(CodecTest, CompressibleRoundTrip) {
  std::string raw(100000, 'z');
  EncodedObject enc = Encode(raw, 1);
  EXPECT_EQ(enc.codec, Codec::kZstd);
  EXPECT_LT(enc.data.size(), raw.size() / 10);
  auto back = Decode(Sha256(raw), enc.codec, raw.size(), enc.data);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, raw);
}

TEST(CodecTest, IncompressibleStaysRaw) {
  std::string raw = testing::RandomBytes(100000, 1);
  EncodedObject enc = Encode(raw, 1);
  EXPECT_EQ(enc.codec, Codec::kRaw);
  EXPECT_EQ(enc.data, raw);
  EXPECT_TRUE(Decode(Sha256(raw), enc.codec, raw.size(), enc.data).ok());
}

TEST(CodecTest, EmptyAndTinyObjects) {
  for (std::string raw : {std::string(), std::string("x"), std::string(63, 'a')}) {
    EncodedObject enc = Encode(raw, 3);
    auto back = Decode(Sha256(raw), enc.codec, raw.size(), enc.data);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, raw);
  }
}

TEST(CodecTest, DetectsWrongHash) {
  std::string raw(5000, 'q');
  EncodedObject enc = Encode(raw, 1);
  auto s = Decode(Sha256("something else"), enc.codec, raw.size(), enc.data).status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("does not match its hash"), std::string::npos);
}

TEST(CodecTest, DetectsWrongSizeAndCorruptFrame) {
  std::string raw(5000, 'q');
  Hash h = Sha256(raw);
  EncodedObject enc = Encode(raw, 1);
  EXPECT_TRUE(absl::IsDataLoss(Decode(h, enc.codec, raw.size() + 1, enc.data).status()));
  std::string broken = enc.data;
  broken[broken.size() / 2] ^= 0x55;
  broken.resize(broken.size() - 3);
  EXPECT_FALSE(Decode(h, enc.codec, raw.size(), broken).ok());
  EXPECT_TRUE(absl::IsDataLoss(Decode(h, Codec::kRaw, raw.size() - 1, raw.substr(1)).status()));
}

TEST(CodecTest, RefusesOversizedClaimsAndUnknownCodecs) {
  EXPECT_TRUE(
      absl::IsInvalidArgument(Decode(Sha256(""), Codec::kZstd, kMaxObjectSize + 1, "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(CodecFromWire(7).status()));
}

}  // namespace
}  // namespace vms
