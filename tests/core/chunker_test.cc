#include "core/chunker.h"

#include <numeric>
#include <set>

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

// Small parameters so tests exercise many boundaries on little data.
const ChunkerParams kSmall{.min_size = 2048, .avg_size = 8192, .max_size = 65536};

std::vector<std::string> Pieces(const Chunker& c, const std::string& data) {
  std::vector<std::string> out;
  size_t off = 0;
  for (size_t n : c.Split(data)) {
    out.push_back(data.substr(off, n));
    off += n;
  }
  return out;
}

TEST(ChunkerTest, ChunksCoverInputWithinBounds) {
  Chunker c(kSmall);
  std::string data = testing::RandomBytes(2 << 20, 7);
  std::vector<size_t> sizes = c.Split(data);
  EXPECT_EQ(std::accumulate(sizes.begin(), sizes.end(), size_t{0}), data.size());
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    EXPECT_GE(sizes[i], kSmall.min_size);
    EXPECT_LE(sizes[i], kSmall.max_size);
  }
  double avg = static_cast<double>(data.size()) / sizes.size();
  EXPECT_GT(avg, kSmall.avg_size / 2);
  EXPECT_LT(avg, kSmall.avg_size * 2);
}

TEST(ChunkerTest, SameInputSameCuts) {
  std::string data = testing::RandomBytes(1 << 20, 9);
  EXPECT_EQ(Chunker(kSmall).Split(data), Chunker(kSmall).Split(data));
}

TEST(ChunkerTest, BoundariesStayPutWhenBytesAreInsertedEarlier) {
  Chunker c(kSmall);
  std::string data = testing::RandomBytes(4 << 20, 11);
  std::string edited = data;
  edited.insert(100000, "a few inserted bytes");
  std::vector<std::string> before = Pieces(c, data), after = Pieces(c, edited);
  std::set<std::string> old_set(before.begin(), before.end());
  size_t shared = 0;
  for (const std::string& p : after) shared += old_set.count(p);
  // Only the chunk(s) around the insertion differ; everything after it is
  // cut at the same content positions.
  EXPECT_GE(shared + 3, after.size());
  EXPECT_EQ(before.back(), after.back());
}

TEST(ChunkerTest, DefaultParametersKeepLaterChunksAfterAnInsertion) {
  Chunker c;  // production sizes: 1 / 4 / 16 MiB
  std::string data = testing::RandomBytes(40 << 20, 13);
  std::string edited = data;
  edited.insert(1 << 20, std::string(4096, 'x'));
  std::vector<std::string> before = Pieces(c, data), after = Pieces(c, edited);
  ASSERT_GE(before.size(), 4u);
  std::set<std::string> old_set(before.begin(), before.end());
  size_t shared = 0;
  for (const std::string& p : after) shared += old_set.count(p);
  EXPECT_GE(shared + 2, after.size());
}

TEST(ChunkerTest, ShortInputIsOneChunk) {
  Chunker c(kSmall);
  EXPECT_EQ(c.Split(std::string(1000, 'a')), std::vector<size_t>{1000});
  EXPECT_TRUE(c.Split("").empty());
}

TEST(ChunkerTest, UniformInputStillCutsWithinBounds) {
  Chunker c(kSmall);
  std::vector<size_t> sizes = c.Split(std::string(200000, '\0'));
  ASSERT_GE(sizes.size(), 3u);
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    EXPECT_GE(sizes[i], kSmall.min_size);
    EXPECT_LE(sizes[i], kSmall.max_size);
  }
}

}  // namespace
}  // namespace vms
