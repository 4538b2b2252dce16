#include "core/tree.h"

#include "core/coding.h"
#include "gtest/gtest.h"

namespace vms {
namespace {

std::vector<TreeEntry> SampleEntries() {
  TreeEntry bin{.name = "bin", .type = EntryType::kDir, .size = 10, .hash = Sha256("bin-tree")};
  TreeEntry tool{
      .name = "tool", .type = EntryType::kFile, .exec = true, .size = 5, .hash = Sha256("tool")};
  TreeEntry big{.name = "big.so",
                .type = EntryType::kFile,
                .chunked = true,
                .size = 9 << 20,
                .hash = Sha256("chunks")};
  TreeEntry link{.name = "current", .type = EntryType::kSymlink, .size = 4, .target = "bin/"};
  return {bin, tool, big, link};
}

TEST(TreeTest, EncodingIsIndependentOfInputOrder) {
  std::vector<TreeEntry> a = SampleEntries();
  std::vector<TreeEntry> b(a.rbegin(), a.rend());
  EXPECT_EQ(EncodeTree(a).value(), EncodeTree(b).value());
}

TEST(TreeTest, RoundTrip) {
  auto encoded = EncodeTree(SampleEntries());
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  auto decoded = DecodeTree(*encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 4u);
  EXPECT_EQ((*decoded)[0].name, "big.so");  // bytewise order
  EXPECT_TRUE((*decoded)[0].chunked);
  EXPECT_EQ((*decoded)[2].target, "bin/");
  EXPECT_TRUE((*decoded)[3].exec);
  EXPECT_EQ(EncodeTree(*decoded).value(), *encoded);
  EXPECT_EQ(TreeBytes(*decoded), 10u + 5u + (9u << 20));
}

TEST(TreeTest, EncodeRefusesBadEntries) {
  auto with = [](TreeEntry e) {
    std::vector<TreeEntry> v = SampleEntries();
    v.push_back(std::move(e));
    return EncodeTree(v).status();
  };
  EXPECT_FALSE(with({.name = "..", .type = EntryType::kFile}).ok());
  EXPECT_FALSE(with({.name = "a/b", .type = EntryType::kFile}).ok());
  EXPECT_FALSE(with({.name = "bin", .type = EntryType::kFile}).ok());  // duplicate
  EXPECT_FALSE(with({.name = "d", .type = EntryType::kDir, .exec = true}).ok());
  EXPECT_FALSE(with({.name = "l", .type = EntryType::kSymlink, .target = ""}).ok());
}

// Hand-builds an encoded tree, to feed the decoder what an encoder never makes.
std::string RawTree(std::vector<std::string> entries) {
  std::string out = "VMSTREE1";
  PutVarint(&out, entries.size());
  for (const std::string& e : entries) out += e;
  return out;
}

std::string RawFile(std::string name, uint8_t type = 2, uint8_t flags = 0) {
  std::string e;
  e.push_back(static_cast<char>(type));
  e.push_back(static_cast<char>(flags));
  PutVarint(&e, name.size());
  e += name;
  PutVarint(&e, 1);
  e += Sha256(name).View();
  return e;
}

TEST(TreeTest, DecodeRejectsCorruptTrees) {
  ASSERT_TRUE(DecodeTree(RawTree({RawFile("a"), RawFile("b")})).ok());
  const std::pair<std::string, std::string> bad[] = {
      {"bad magic", "VMSTREE2" + RawTree({}).substr(8)},
      {"unsorted", RawTree({RawFile("b"), RawFile("a")})},
      {"duplicate", RawTree({RawFile("a"), RawFile("a")})},
      {"dot-dot", RawTree({RawFile("..")})},
      {"slash", RawTree({RawFile("a/b")})},
      {"empty name", RawTree({RawFile("")})},
      {"unknown type", RawTree({RawFile("a", 9)})},
      {"flags on dir", RawTree({RawFile("a", 1, 1)})},
      {"unknown flag", RawTree({RawFile("a", 2, 4)})},
      {"truncated", RawTree({RawFile("a")}).substr(0, 30)},
      {"trailing bytes", RawTree({RawFile("a")}) + "x"},
      {"count lie", RawTree({RawFile("a")}).replace(8, 1, "\x7f")},
      {"empty", ""},
  };
  for (const auto& [what, data] : bad) {
    auto s = DecodeTree(data).status();
    EXPECT_TRUE(absl::IsDataLoss(s)) << what << ": " << s;
  }
}

TEST(TreeTest, ChunkListRoundTripAndValidation) {
  std::vector<ChunkRef> chunks = {{1 << 20, Sha256("a")}, {3 << 20, Sha256("b")}};
  std::string encoded = EncodeChunkList(chunks);
  EXPECT_EQ(DecodeChunkList(encoded).value(), chunks);
  EXPECT_FALSE(DecodeChunkList(encoded + "x").ok());
  EXPECT_FALSE(DecodeChunkList(encoded.substr(0, encoded.size() - 1)).ok());
  EXPECT_FALSE(DecodeChunkList(EncodeChunkList({})).ok());
  EXPECT_FALSE(DecodeChunkList(EncodeChunkList({{0, Sha256("z")}})).ok());
  EXPECT_FALSE(DecodeTree(encoded).ok());  // a chunk list is not a tree
}

TEST(TreeTest, VarintsAreCanonical) {
  std::string s;
  PutVarint(&s, 300);
  std::string_view in = s;
  uint64_t v;
  ASSERT_TRUE(GetVarint(&in, &v));
  EXPECT_EQ(v, 300u);
  std::string overlong = "\x80\x00";
  in = std::string_view(overlong.data(), 2);
  EXPECT_FALSE(GetVarint(&in, &v));
}

}  // namespace
}  // namespace vms
