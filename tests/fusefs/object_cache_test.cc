#include "fusefs/object_cache.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include "core/codec.h"
#include "core/db.h"
#include "gtest/gtest.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

std::string Blob(char c, size_t n = 1000) { return std::string(n, c); }

absl::Status Put(ObjectCache* cache, const std::string& raw) {
  EncodedObject enc = Encode(raw, 1);
  std::vector<StoredObject> batch = {{Sha256(raw), enc.codec, raw.size(), enc.data}};
  return cache->Put(&batch);
}

TEST(ObjectCacheTest, PutPinReadRoundTrip) {
  testing::TempDir dir;
  auto cache = ObjectCache::Open(dir.path(), 1 << 20).value();
  ASSERT_TRUE(Put(cache.get(), Blob('a')).ok());
  EXPECT_TRUE(cache->Contains(Sha256(Blob('a'))));
  ASSERT_TRUE(cache->Pin(Sha256(Blob('a'))).ok());
  EXPECT_EQ(cache->Read(Sha256(Blob('a'))).value(), Blob('a'));
  cache->Unpin(Sha256(Blob('a')));
  EXPECT_TRUE(absl::IsNotFound(cache->Pin(Sha256("absent"))));
  EXPECT_FALSE(cache->PinIfCached(Sha256("absent")));
}

TEST(ObjectCacheTest, ConcurrentPutsAndEvictionsNeverLeaveAnIndexedObjectOffDisk) {
  // Eviction once deleted from disk outside the lock: a concurrent Put of
  // the same object could index it, then the delete landed, and the cache
  // said "present" for bytes it no longer had (read as corruption).
  testing::TempDir dir;
  auto cache = ObjectCache::Open(dir.path(), 3000).value();  // three of the eight fit
  std::vector<std::string> blobs;
  for (char c = 'a'; c < 'i'; ++c) blobs.push_back(Blob(c));
  std::atomic<int> lost{0};
  std::vector<std::thread> threads;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000 && std::chrono::steady_clock::now() < end; ++i) {
        const std::string& raw = blobs[(i * 3 + t) % blobs.size()];
        ASSERT_TRUE(Put(cache.get(), raw).ok());
        auto read = cache->Read(Sha256(raw));
        if (absl::IsDataLoss(read.status())) ++lost;  // NotFound: evicted meanwhile, fine
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(lost, 0) << "reads of indexed objects whose bytes were gone";
}

TEST(ObjectCacheTest, RefusesObjectsThatDoNotMatchTheirHash) {
  testing::TempDir dir;
  auto cache = ObjectCache::Open(dir.path(), 1 << 20).value();
  std::vector<StoredObject> batch = {{Sha256("claimed"), Codec::kRaw, 5, "other"}};
  EXPECT_TRUE(absl::IsDataLoss(cache->Put(&batch)));
  EXPECT_FALSE(cache->Contains(Sha256("claimed")));
}

TEST(ObjectCacheTest, EvictsLeastRecentlyUsedButNeverPinned) {
  testing::TempDir dir;
  auto cache = ObjectCache::Open(dir.path(), 3000).value();
  for (char c : {'a', 'b', 'c'}) ASSERT_TRUE(Put(cache.get(), Blob(c)).ok());
  ASSERT_TRUE(cache->Pin(Sha256(Blob('a'))).ok());  // a: used last, and open
  ASSERT_TRUE(cache->Read(Sha256(Blob('b'))).ok());
  ASSERT_TRUE(Put(cache.get(), Blob('d')).ok());
  EXPECT_FALSE(cache->Contains(Sha256(Blob('c')))) << "c was least recently used";
  EXPECT_TRUE(cache->Contains(Sha256(Blob('a'))));
  EXPECT_LE(cache->bytes(), 3000u);

  // Everything else pinned: the cache grows past its bound rather than
  // evicting an open file, says so, and shrinks back when they close.
  int pressure = 0;
  cache->SetPressureCallback([&] { ++pressure; });
  ASSERT_TRUE(cache->Pin(Sha256(Blob('b'))).ok());
  ASSERT_TRUE(cache->Pin(Sha256(Blob('d'))).ok());
  ASSERT_TRUE(Put(cache.get(), Blob('e')).ok());
  EXPECT_TRUE(cache->Contains(Sha256(Blob('a'))));
  EXPECT_EQ(cache->bytes(), 4000u);
  EXPECT_GT(pressure, 0);
  for (char c : {'a', 'b', 'd'}) cache->Unpin(Sha256(Blob(c)));
  EXPECT_LE(cache->bytes(), 3000u);
}

TEST(ObjectCacheTest, SurvivesRestart) {
  testing::TempDir dir;
  {
    auto cache = ObjectCache::Open(dir.path(), 1 << 20).value();
    ASSERT_TRUE(Put(cache.get(), Blob('a')).ok());
  }
  auto cache = ObjectCache::Open(dir.path(), 1 << 20).value();
  EXPECT_TRUE(cache->Contains(Sha256(Blob('a'))));
  EXPECT_EQ(cache->bytes(), 1000u);
  EXPECT_EQ(cache->Read(Sha256(Blob('a'))).value(), Blob('a'));
  cache.reset();
  auto smaller = ObjectCache::Open(dir.path(), 10);
  EXPECT_EQ(smaller.value()->bytes(), 0u) << "a smaller bound evicts at open";
}

TEST(ObjectCacheTest, CorruptionOnDiskIsDroppedNotServed) {
  testing::TempDir dir;
  Hash h = Sha256(Blob('a'));
  {
    auto cache = ObjectCache::Open(dir.path(), 1 << 20).value();
    ASSERT_TRUE(Put(cache.get(), Blob('a')).ok());
  }
  {
    auto db = Db::Open(dir.path() + "/objects", ObjectStore::Families()).value();
    ASSERT_TRUE(
        db->raw()
            ->Put({}, db->Family(kObjectsFamily), h.View(), std::string(1, '\0') + Blob('z'))
            .ok());
  }
  auto cache = ObjectCache::Open(dir.path(), 1 << 20).value();
  EXPECT_TRUE(absl::IsDataLoss(cache->Read(h).status()));
  EXPECT_FALSE(cache->Contains(h)) << "dropped, so it is fetched again";
  ASSERT_TRUE(Put(cache.get(), Blob('a')).ok());
  EXPECT_EQ(cache->Read(h).value(), Blob('a'));
}

TEST(ObjectCacheTest, ALargeObjectCorruptOnDiskIsDroppedNotServed) {
  testing::TempDir dir;
  std::string big = testing::RandomBytes(3 << 20, 21);
  Hash h = Sha256(big);
  std::filesystem::path file = std::filesystem::path(dir.path()) / "objects" / "large" / h.Hex();
  {
    auto cache = ObjectCache::Open(dir.path(), 64 << 20).value();
    ASSERT_TRUE(Put(cache.get(), big).ok());
    ASSERT_TRUE(std::filesystem::exists(file)) << "a file of its own";
    EXPECT_EQ(cache->Read(h).value(), big);
  }
  std::filesystem::resize_file(file, 1 << 20);  // torn by a power cut: never synced
  auto cache = ObjectCache::Open(dir.path(), 64 << 20).value();
  EXPECT_TRUE(absl::IsDataLoss(cache->Read(h).status()));
  EXPECT_FALSE(cache->Contains(h)) << "dropped, so it is fetched again";
  EXPECT_FALSE(std::filesystem::exists(file));
  ASSERT_TRUE(Put(cache.get(), big).ok());
  EXPECT_EQ(cache->Read(h).value(), big);
}

}  // namespace
}  // namespace vms
