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

TEST(CodecTest, BigObjectsAreSampledFirst) {
  // Random through and through: stays raw, and is the bytes given.
  std::string random = testing::RandomBytes(4 << 20, 11);
  EncodedObject enc = Encode(random, 1);
  EXPECT_EQ(enc.codec, Codec::kRaw);
  EXPECT_EQ(enc.data, random);
  // Random but for its last third: a sample finds it, and it is compressed.
  std::string mixed = testing::RandomBytes(2 << 20, 12);
  std::fill(mixed.begin() + mixed.size() / 3 * 2, mixed.end(), 'x');
  enc = Encode(mixed, 1);
  EXPECT_EQ(enc.codec, Codec::kZstd);
  EXPECT_LT(enc.data.size(), mixed.size() * 3 / 4);
  EXPECT_EQ(Decode(Sha256(mixed), enc.codec, mixed.size(), enc.data).value(), mixed);
}

TEST(CodecTest, VerifyChecksWithoutKeepingTheBytes) {
  std::string raw = testing::RandomBytes(100000, 13), text(100000, 't');
  EXPECT_TRUE(Verify(Sha256(raw), Codec::kRaw, raw.size(), raw).ok());
  EncodedObject enc = Encode(text, 1);
  EXPECT_TRUE(Verify(Sha256(text), enc.codec, text.size(), enc.data).ok());
  EXPECT_TRUE(absl::IsDataLoss(Verify(Sha256(text), Codec::kRaw, raw.size(), raw)));
  EXPECT_TRUE(absl::IsDataLoss(Verify(Sha256(raw), Codec::kRaw, raw.size() + 1, raw)));
  EXPECT_TRUE(absl::IsInvalidArgument(Verify(Sha256(raw), Codec::kRaw, kMaxObjectSize + 1, raw)));
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
