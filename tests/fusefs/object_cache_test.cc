#include "fusefs/object_cache.h"

#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

std::string Blob(char c, size_t n = 1000) { return std::string(n, c); }

std::string ReadFd(int fd, size_t n) {
  std::string out(n, '\0');
  EXPECT_EQ(pread(fd, out.data(), n, 0), static_cast<ssize_t>(n));
  return out;
}

TEST(ObjectCacheTest, PutPinReadRoundTrip) {
  testing::TempDir dir;
  auto cache = ObjectCache::Open(dir.path(), 1 << 20).value();
  ASSERT_TRUE(cache->Put(Sha256(Blob('a')), Blob('a')).ok());
  EXPECT_TRUE(cache->Contains(Sha256(Blob('a'))));
  ASSERT_TRUE(cache->Pin(Sha256(Blob('a'))).ok());
  auto fd = cache->OpenFd(Sha256(Blob('a')));
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_EQ(ReadFd(fd->get(), 1000), Blob('a'));
  cache->Unpin(Sha256(Blob('a')));
  EXPECT_EQ(cache->Read(Sha256(Blob('a'))).value(), Blob('a'));
  EXPECT_TRUE(absl::IsNotFound(cache->Pin(Sha256("absent"))));
}

TEST(ObjectCacheTest, EvictsLeastRecentlyUsedButNeverPinned) {
  testing::TempDir dir;
  auto cache = ObjectCache::Open(dir.path(), 3000).value();
  for (char c : {'a', 'b', 'c'}) ASSERT_TRUE(cache->Put(Sha256(Blob(c)), Blob(c)).ok());
  ASSERT_TRUE(cache->Pin(Sha256(Blob('a'))).ok());  // a: used last, and open
  ASSERT_TRUE(cache->Read(Sha256(Blob('b'))).ok());
  ASSERT_TRUE(cache->Put(Sha256(Blob('d')), Blob('d')).ok());
  EXPECT_FALSE(cache->Contains(Sha256(Blob('c')))) << "c was least recently used";
  EXPECT_TRUE(cache->Contains(Sha256(Blob('a'))));
  EXPECT_LE(cache->bytes(), 3000u);

  // Everything else pinned: the cache grows past its bound rather than
  // evicting an open file, and shrinks back when they close.
  ASSERT_TRUE(cache->Pin(Sha256(Blob('b'))).ok());
  ASSERT_TRUE(cache->Pin(Sha256(Blob('d'))).ok());
  ASSERT_TRUE(cache->Put(Sha256(Blob('e')), Blob('e')).ok());
  EXPECT_TRUE(cache->Contains(Sha256(Blob('a'))));
  EXPECT_EQ(cache->bytes(), 4000u);
  for (char c : {'a', 'b', 'd'}) cache->Unpin(Sha256(Blob(c)));
  EXPECT_LE(cache->bytes(), 3000u);
}

TEST(ObjectCacheTest, SurvivesRestart) {
  testing::TempDir dir;
  {
    auto cache = ObjectCache::Open(dir.path(), 1 << 20).value();
    ASSERT_TRUE(cache->Put(Sha256(Blob('a')), Blob('a')).ok());
  }
  auto cache = ObjectCache::Open(dir.path(), 1 << 20).value();
  EXPECT_TRUE(cache->Contains(Sha256(Blob('a'))));
  EXPECT_EQ(cache->bytes(), 1000u);
  EXPECT_EQ(cache->Read(Sha256(Blob('a'))).value(), Blob('a'));
  auto smaller = ObjectCache::Open(dir.path(), 10);
  EXPECT_EQ(smaller.value()->bytes(), 0u) << "a smaller bound evicts at open";
}

TEST(ObjectCacheTest, CorruptFileOnDiskIsDroppedNotServed) {
  testing::TempDir dir;
  Hash h = Sha256(Blob('a'));
  {
    auto cache = ObjectCache::Open(dir.path(), 1 << 20).value();
    ASSERT_TRUE(cache->Put(h, Blob('a')).ok());
  }
  std::string path = dir.path() + "/objects/" + h.Hex().substr(0, 2) + "/" + h.Hex();
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  testing::WriteFile(path, Blob('z'));
  auto cache = ObjectCache::Open(dir.path(), 1 << 20).value();
  EXPECT_TRUE(absl::IsDataLoss(cache->Pin(h)));
  EXPECT_FALSE(cache->Contains(h));
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace vms
