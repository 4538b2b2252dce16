// DistFs's parts on their own: OpenFiles and TreeCache.
#include <map>
#include <string>
#include <vector>

#include "core/tree.h"
#include "fusefs/content.h"
#include "fusefs/open_files.h"
#include "fusefs/tree_cache.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

class PartsTest : public ::testing::Test {
 protected:
  PartsTest()
      : cache_(ObjectCache::Open(dir_ / "cache", 1 << 30).value()),
        content_(cache_.get(), [this](std::span<const Hash> hashes, const Upstream::Sink& sink) {
          ++requests_;
          std::vector<StoredObject> batch;
          for (const Hash& h : hashes) {
            batch.push_back({h, Codec::kRaw, objects_.at(h).size(), objects_.at(h)});
          }
          return sink(&batch);
        }) {}

  Hash Put(const std::string& raw) {
    objects_[Sha256(raw)] = raw;
    return Sha256(raw);
  }
  Hash Tree(const std::string& name) {
    return Put(EncodeTree({{.name = name, .type = EntryType::kFile, .size = 1, .hash = Put("x")}})
                   .value());
  }
  // Pins `raw` (fetching it) as DistFs does before OpenFiles::Add.
  OpenFiles::Piece Pinned(const std::string& raw, uint64_t offset = 0) {
    Hash h = Put(raw);
    EXPECT_TRUE(content_.Pin(h).ok());
    return {h, offset, raw.size()};
  }

  testing::TempDir dir_;
  std::map<Hash, std::string> objects_;
  int requests_ = 0;
  std::unique_ptr<ObjectCache> cache_;
  Content content_;
};

TEST_F(PartsTest, OpenFilesPinUntilRemovedAndASecondAddGivesItsPinsBack) {
  OpenFiles files(&content_);
  EXPECT_TRUE(files.Add(7, {Pinned("aaaa")}));
  EXPECT_EQ(cache_->pinned(), 1u);
  // Another thread got there first: its pins go back, the first stay.
  EXPECT_FALSE(files.Add(7, {Pinned("aaaa")}));
  EXPECT_EQ(cache_->pinned(), 1u);
  EXPECT_TRUE(files.Contains(7));
  files.Remove(7);
  EXPECT_FALSE(files.Contains(7));
  EXPECT_EQ(cache_->pinned(), 0u);
  files.Remove(7);  // twice is nothing
}

TEST_F(PartsTest, OpenFilesLocateSpansAcrossPiecesAndMarkTheFirstRead) {
  OpenFiles files(&content_);
  OpenFiles::Piece a = Pinned("0123456789"), b = Pinned("abcdef", 10);
  ASSERT_TRUE(files.Add(1, {a, b}));
  std::vector<OpenFiles::Span> spans;
  ASSERT_TRUE(files.Locate(1, 8, 4, &spans));
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].hash, a.hash);
  EXPECT_EQ(spans[0].pos, 8u);
  EXPECT_EQ(spans[0].len, 2u);
  EXPECT_EQ(spans[1].hash, b.hash);
  EXPECT_EQ(spans[1].pos, 0u);
  EXPECT_EQ(spans[1].len, 2u);
  ASSERT_TRUE(files.Locate(1, 14, 100, &spans));  // past the end: what there is
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].len, 2u);
  EXPECT_FALSE(files.Locate(2, 0, 1, &spans)) << "not open";
  EXPECT_TRUE(files.MarkRead(1));
  EXPECT_FALSE(files.MarkRead(1));
}

TEST_F(PartsTest, OpenFilesLeastRecentlyReadComeFirstUntilTheBytesAreCovered) {
  OpenFiles files(&content_);
  for (uint64_t ino = 1; ino <= 4; ++ino) {
    ASSERT_TRUE(files.Add(ino, {Pinned(std::string(100, static_cast<char>('a' + ino)))}));
  }
  std::vector<OpenFiles::Span> spans;
  files.Locate(1, 0, 1, &spans);  // 1 is now the most recently read
  files.Locate(3, 0, 1, &spans);
  EXPECT_EQ(files.LeastRecentlyRead(150), (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(files.LeastRecentlyRead(1000), (std::vector<uint64_t>{2, 4, 1, 3}));
  EXPECT_TRUE(files.LeastRecentlyRead(0).empty());
}

TEST_F(PartsTest, TreeCacheFetchesOnceAndDropsTheLeastRecentlyUsed) {
  TreeCache trees(&content_, 2);
  Hash a = Tree("a"), b = Tree("b"), c = Tree("c");
  ASSERT_TRUE(trees.Get(a).ok());
  ASSERT_TRUE(trees.Get(b).ok());
  ASSERT_EQ(trees.Get(a).value()->at(0).name, "a");  // a is now the most recent
  ASSERT_TRUE(trees.Get(c).ok());                    // b goes
  EXPECT_EQ(trees.size(), 2u);
  const int before = requests_;
  ASSERT_TRUE(trees.Get(a).ok());
  ASSERT_TRUE(trees.Get(c).ok());
  EXPECT_EQ(requests_, before) << "both still decoded in memory";
}

TEST_F(PartsTest, TreeCacheCallsABadTreeCorruptionNotAPath) {
  TreeCache trees(&content_, 2);
  Hash bad = Put("not a tree object");
  auto got = trees.Get(bad);
  EXPECT_FALSE(got.ok());
  EXPECT_TRUE(absl::IsDataLoss(got.status()) || absl::IsInvalidArgument(got.status()))
      << got.status();
  const TreeEntry* none = FindEntry({}, "x");
  EXPECT_EQ(none, nullptr);
}

}  // namespace
}  // namespace vms
