#include "core/object_store.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <utility>

#include "core/closure.h"
#include "core/coding.h"
#include "core/tree.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "tests/testing/testing.h"

namespace vms {
namespace {

StoredObject Make(const std::string& raw, int level = 1) {
  EncodedObject enc = Encode(raw, level);
  return {Sha256(raw), enc.codec, raw.size(), enc.data};
}

class ObjectStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    db_.reset();
    db_ = Db::Open(dir_ / "db", ObjectStore::Families()).value();
    store_ = std::make_unique<ObjectStore>(db_.get());
    ASSERT_TRUE(store_->Recover().ok());
  }
  std::filesystem::path LargeFile(const std::string& raw) {
    return std::filesystem::path(dir_ / "db") / "large" / Sha256(raw).Hex();
  }
  absl::Status Put(std::vector<StoredObject> objects) { return store_->Ingest(&objects).status(); }

  testing::TempDir dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ObjectStoreTest, RoundTripSurvivesReopen) {
  std::string small = "hello", big(1 << 20, 'b'), random = testing::RandomBytes(300000, 3);
  std::vector<StoredObject> batch = {Make(small), Make(big), Make(random)};
  auto stats = store_->Ingest(&batch);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->stored, 3u);
  Reopen();
  for (const std::string& raw : {small, big, random}) {
    auto got = store_->GetRaw(Sha256(raw));
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, raw);
  }
  auto enc = store_->GetEncoded(Sha256(big));
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(enc->codec, Codec::kZstd);
  EXPECT_EQ(enc->raw_size, big.size());
}

TEST_F(ObjectStoreTest, MissingAndSizes) {
  ASSERT_TRUE(Put({Make("a"), Make("bb")}).ok());
  std::vector<Hash> ask = {Sha256("a"), Sha256("zz"), Sha256("bb"), Sha256("yy")};
  EXPECT_EQ(store_->Missing(ask).value(), (std::vector<Hash>{Sha256("zz"), Sha256("yy")}));
  auto sizes = store_->Sizes(ask).value();
  EXPECT_EQ(sizes[2], 2u);
  EXPECT_FALSE(sizes[1].has_value());
  EXPECT_TRUE(absl::IsNotFound(store_->GetRaw(Sha256("zz")).status()));
}

TEST_F(ObjectStoreTest, BadObjectRejectsWholeBatch) {
  StoredObject good = Make("good"), bad = Make("bad");
  bad.hash = Sha256("not bad");
  auto s = Put({good, bad});
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_EQ(store_->Missing(std::vector<Hash>{good.hash}).value().size(), 1u);
}

// A batch refused for one bad object once left the large objects before it
// on disk, named by no entry, until a restart's Recover() found them.
TEST_F(ObjectStoreTest, ARefusedBatchLeavesNoLargeFileBehind) {
  const std::string big = testing::RandomBytes(2 << 20, 21);
  StoredObject bad = Make("bad");
  bad.hash = Sha256("not bad");
  auto s = Put({Make(big), bad});
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_FALSE(std::filesystem::exists(LargeFile(big)));
  EXPECT_EQ(store_->large_bytes(), 0u);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "db/large", ec)) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
}

TEST_F(ObjectStoreTest, DuplicatesAreStoredOnce) {
  std::vector<StoredObject> batch = {Make("same"), Make("same")};
  auto stats = store_->Ingest(&batch).value();
  EXPECT_EQ(stats.stored, 1u);
  EXPECT_EQ(stats.present, 1u);
  batch = {Make("same")};
  EXPECT_EQ(store_->Ingest(&batch).value().present, 1u);
}

TEST_F(ObjectStoreTest, CorruptionOnDiskIsDetectedOnRead) {
  std::string raw(100000, 'c');
  ASSERT_TRUE(Put({Make(raw)}).ok());
  // Overwrite the stored bytes behind the store's back, as a bad disk would.
  std::string bogus = std::string(1, '\0') + std::string(100000, 'd');
  ASSERT_TRUE(db_->raw()->Put({}, db_->Family(kObjectsFamily), Sha256(raw).View(), bogus).ok());
  auto s = store_->GetRaw(Sha256(raw)).status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST_F(ObjectStoreTest, LargeObjectsAreFilesOfTheirOwn) {
  // Random (stored raw) and compressible (stored as a zstd frame), both
  // large once encoded, and one just under the line.
  std::string random = testing::RandomBytes(3 << 20, 5);
  std::string text;
  while (text.size() < (8u << 20)) text += testing::RandomBytes(64, text.size()) + "some text ";
  std::string under = testing::RandomBytes(kLargeObjectBytes - 1, 6);
  std::vector<StoredObject> batch = {Make(random), Make(text), Make(under)};
  ASSERT_GE(batch[1].data.size(), kLargeObjectBytes);
  ASSERT_EQ(batch[1].codec, Codec::kZstd);
  ASSERT_TRUE(store_->Ingest(&batch).ok());
  EXPECT_EQ(std::filesystem::file_size(LargeFile(random)), random.size());
  EXPECT_TRUE(std::filesystem::exists(LargeFile(text)));
  EXPECT_FALSE(std::filesystem::exists(LargeFile(under)));
  EXPECT_EQ(store_->large_bytes(), random.size() + batch[1].data.size());
  Reopen();
  EXPECT_EQ(store_->large_bytes(), random.size() + batch[1].data.size());
  for (const std::string* raw : {&random, &text, &under}) {
    EXPECT_EQ(store_->GetRaw(Sha256(*raw)).value(), *raw);
    auto served = store_->GetVerified(Sha256(*raw));
    ASSERT_TRUE(served.ok()) << served.status();
    EXPECT_EQ(served->raw_size, raw->size());
  }
  EXPECT_EQ(store_->GetEncoded(Sha256(text))->codec, Codec::kZstd);
  EXPECT_EQ(store_->Sizes(std::vector<Hash>{Sha256(random)}).value()[0], random.size());

  ASSERT_TRUE(store_->Remove(Sha256(random)).ok());
  EXPECT_FALSE(std::filesystem::exists(LargeFile(random)));
  EXPECT_TRUE(absl::IsNotFound(store_->GetRaw(Sha256(random)).status()));
  ASSERT_TRUE(store_->Erase(std::vector<Hash>{Sha256(text), Sha256(under)}).ok());
  EXPECT_FALSE(std::filesystem::exists(LargeFile(text)));
  EXPECT_EQ(store_->large_bytes(), 0u);
  EXPECT_TRUE(absl::IsNotFound(store_->GetRaw(Sha256(under)).status()));
}

TEST_F(ObjectStoreTest, ALargeObjectCorruptOrGoneIsDataLoss) {
  std::string a = testing::RandomBytes(2 << 20, 7), b = testing::RandomBytes(2 << 20, 8);
  ASSERT_TRUE(Put({Make(a), Make(b)}).ok());
  {
    std::fstream f(LargeFile(a), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(12345);
    f.put(static_cast<char>(0x5a ^ a[12345]));
  }
  EXPECT_TRUE(absl::IsDataLoss(store_->GetRaw(Sha256(a)).status()));
  EXPECT_TRUE(absl::IsDataLoss(store_->GetVerified(Sha256(a)).status()));
  std::filesystem::resize_file(LargeFile(b), 1000);
  EXPECT_TRUE(absl::IsDataLoss(store_->GetVerified(Sha256(b)).status()));
  std::filesystem::remove(LargeFile(b));
  auto gone = store_->GetVerified(Sha256(b)).status();
  EXPECT_TRUE(absl::IsDataLoss(gone)) << gone;
  EXPECT_NE(gone.message().find("missing"), std::string::npos) << gone;
  // Quarantined, it is missing, so fetched again.
  ASSERT_TRUE(store_->Remove(Sha256(b)).ok());
  EXPECT_EQ(store_->Missing(std::vector<Hash>{Sha256(b)}).value().size(), 1u);
  ASSERT_TRUE(Put({Make(b)}).ok());
  EXPECT_EQ(store_->GetRaw(Sha256(b)).value(), b);
}

// Runs `hook` once, as a large object's file is opened: a sweep that comes
// between a reader's index lookup and its open.
class SweepOnOpenFs : public rocksdb::FileSystemWrapper {
 public:
  SweepOnOpenFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "SweepOnOpenFs"; }
  rocksdb::IOStatus NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                        rocksdb::IODebugContext* dbg) override {
    if (hook && f.find("/large/") != std::string::npos) std::exchange(hook, nullptr)();
    return target()->NewRandomAccessFile(f, o, r, dbg);
  }
  std::function<void()> hook;
};

// A downstream asking for an object while it is collected is told it is
// not here; it is not sent into quarantine (and a recheck) by a DataLoss.
TEST(ObjectStoreSweepTest, AnObjectSweptWhileItIsReadIsNotFoundNotCorrupt) {
  testing::TempDir dir;
  auto fs = std::make_shared<SweepOnOpenFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  auto db = Db::Open(dir / "db", ObjectStore::Families(), env.get()).value();
  ObjectStore store(db.get());
  ASSERT_TRUE(store.Recover().ok());
  std::string big = testing::RandomBytes(2 << 20, 11);
  std::vector<StoredObject> batch = {Make(big)};
  ASSERT_TRUE(store.Ingest(&batch).ok());
  const std::vector<Hash> gone = {Sha256(big)};
  auto plan = store.PlanSweep(gone);
  ASSERT_TRUE(plan.ok()) << plan.status();
  fs->hook = [&] { ASSERT_TRUE(store.Sweep(*plan, nullptr).ok()); };
  auto read = store.GetVerified(Sha256(big));
  EXPECT_EQ(fs->hook, nullptr);  // the sweep ran in between
  EXPECT_TRUE(absl::IsNotFound(read.status())) << read.status();
  // Damage is still damage: a file gone while its entry stays.
  std::string other = testing::RandomBytes(2 << 20, 12);
  batch = {Make(other)};
  ASSERT_TRUE(store.Ingest(&batch).ok());
  std::filesystem::remove(dir / ("db/large/" + Sha256(other).Hex()));
  EXPECT_TRUE(absl::IsDataLoss(store.GetVerified(Sha256(other)).status()));
}

TEST_F(ObjectStoreTest, RecoverDropsLargeFilesNoEntryNames) {
  std::string kept = testing::RandomBytes(2 << 20, 9);
  ASSERT_TRUE(Put({Make(kept)}).ok());
  // What a crash leaves: a file whose batch was never written, and one
  // never finished.
  std::string orphan = testing::RandomBytes(2 << 20, 10);
  auto large = std::filesystem::path(dir_ / "db") / "large";
  std::ofstream(LargeFile(orphan), std::ios::binary) << orphan;
  std::ofstream(large / (Sha256(orphan).Hex() + ".tmp7"), std::ios::binary) << "half";
  Reopen();
  EXPECT_FALSE(std::filesystem::exists(LargeFile(orphan)));
  EXPECT_FALSE(std::filesystem::exists(large / (Sha256(orphan).Hex() + ".tmp7")));
  EXPECT_EQ(store_->GetRaw(Sha256(kept)).value(), kept);
  EXPECT_EQ(store_->large_bytes(), kept.size());
  // And the orphan, sent again, is stored.
  ASSERT_TRUE(Put({Make(orphan)}).ok());
  EXPECT_EQ(store_->GetRaw(Sha256(orphan)).value(), orphan);
}

TEST_F(ObjectStoreTest, ServingChecksCompressedBytesWithoutDecoding) {
  std::string raw(100000, 'c'), other(100000, 'e');
  StoredObject o = Make(raw);
  ASSERT_EQ(o.codec, Codec::kZstd);
  ASSERT_TRUE(Put({o}).ok());
  auto served = store_->GetVerified(o.hash);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->data, o.data);
  // Another valid frame of the same size, then raw bytes, in its place.
  std::string frame = std::string(1, static_cast<char>(Codec::kZstd)) + Make(other).data;
  std::string plain = std::string(1, static_cast<char>(Codec::kRaw)) + other;
  for (const std::string& bogus : {frame, plain}) {
    ASSERT_TRUE(db_->raw()->Put({}, db_->Family(kObjectsFamily), o.hash.View(), bogus).ok());
    auto s = store_->GetVerified(o.hash).status();
    EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  }
}

TEST_F(ObjectStoreTest, IndexEntriesWithoutADigestAreVerifiedByDecoding) {
  std::string raw(100000, 'c');
  StoredObject o = Make(raw);
  ASSERT_TRUE(Put({o}).ok());
  // An entry as written before stored-byte digests: the raw size alone.
  std::string old_index;
  PutVarint(&old_index, raw.size());
  ASSERT_TRUE(db_->raw()->Put({}, db_->Family(kObjectIndexFamily), o.hash.View(), old_index).ok());
  EXPECT_TRUE(store_->GetVerified(o.hash).ok());
  EXPECT_EQ(store_->Sizes(std::vector<Hash>{o.hash}).value()[0], raw.size());
  std::string bogus =
      std::string(1, static_cast<char>(Codec::kZstd)) + Make(std::string(100000, 'e')).data;
  ASSERT_TRUE(db_->raw()->Put({}, db_->Family(kObjectsFamily), o.hash.View(), bogus).ok());
  auto s = store_->GetVerified(o.hash).status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

// --- closure ---

std::string TreeOf(std::vector<TreeEntry> entries) { return EncodeTree(entries).value(); }

TEST_F(ObjectStoreTest, ClosureOfCompleteTree) {
  std::string f1 = "one", f2(5000, 'x');
  std::string sub =
      TreeOf({{.name = "f2", .type = EntryType::kFile, .size = f2.size(), .hash = Sha256(f2)}});
  std::string root =
      TreeOf({{.name = "f1", .type = EntryType::kFile, .exec = true, .size = 3, .hash = Sha256(f1)},
              {.name = "d", .type = EntryType::kDir, .size = f2.size(), .hash = Sha256(sub)},
              {.name = "same", .type = EntryType::kDir, .size = f2.size(), .hash = Sha256(sub)},
              {.name = "l", .type = EntryType::kSymlink, .target = "f1"}});
  ASSERT_TRUE(Put({Make(f1), Make(f2), Make(sub), Make(root)}).ok());
  auto result = WalkClosure(*store_, Sha256(root));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->missing.empty());
  EXPECT_EQ(result->totals.files, 3u);  // f1, d/f2, same/f2
  EXPECT_EQ(result->totals.bytes, 3u + 2 * f2.size());
  EXPECT_EQ(result->totals.dirs, 3u);
  EXPECT_EQ(result->totals.symlinks, 1u);
  EXPECT_EQ(result->newly_complete.size(), 2u);  // root and the shared subtree
}

TEST_F(ObjectStoreTest, CompleteSubtreesAreNotWalkedAgain) {
  std::string f = "leaf";
  std::string sub = TreeOf({{.name = "f", .type = EntryType::kFile, .size = 4, .hash = Sha256(f)}});
  std::string root =
      TreeOf({{.name = "d", .type = EntryType::kDir, .size = 4, .hash = Sha256(sub)}});
  ASSERT_TRUE(Put({Make(f), Make(sub), Make(root)}).ok());
  auto first = WalkClosure(*store_, Sha256(root)).value();
  rocksdb::WriteBatch batch;
  for (const auto& [tree, totals] : first.newly_complete)
    store_->MarkComplete(&batch, tree, totals);
  ASSERT_TRUE(db_->Write(&batch, true).ok());

  // Corrupt the leaf behind the store's back: a walk that trusts the
  // complete marks never reads it, one that does not would fail.
  ASSERT_TRUE(db_->raw()
                  ->Put({}, db_->Family(kObjectsFamily), Sha256(sub).View(),
                        std::string(1, '\0') + "garbage")
                  .ok());
  std::string root2 =
      TreeOf({{.name = "d", .type = EntryType::kDir, .size = 4, .hash = Sha256(sub)},
              {.name = "x", .type = EntryType::kFile, .size = 4, .hash = Sha256(f)}});
  ASSERT_TRUE(Put({Make(root2)}).ok());
  auto second = WalkClosure(*store_, Sha256(root2));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->totals.files, 2u);
  EXPECT_EQ(second->totals.dirs, 2u);
  ASSERT_EQ(second->newly_complete.size(), 1u);
  EXPECT_EQ(second->newly_complete[0].first, Sha256(root2));
  auto complete = store_->CompleteTrees(std::vector<Hash>{Sha256(sub), Sha256(root2)}).value();
  EXPECT_TRUE(complete[0].has_value());
  EXPECT_FALSE(complete[1].has_value());
}

TEST_F(ObjectStoreTest, ClosureReportsMissingObjects) {
  std::string root =
      TreeOf({{.name = "a", .type = EntryType::kFile, .size = 1, .hash = Sha256("a")},
              {.name = "d", .type = EntryType::kDir, .size = 0, .hash = Sha256("absent tree")}});
  ASSERT_TRUE(Put({Make(root)}).ok());
  auto result = WalkClosure(*store_, Sha256(root)).value();
  EXPECT_EQ(result.missing.size(), 2u);
  EXPECT_TRUE(result.newly_complete.empty());
  EXPECT_EQ(WalkClosure(*store_, Sha256("no root")).value().missing.size(), 1u);
}

TEST_F(ObjectStoreTest, ClosureRejectsSizeLies) {
  std::string blob = "12345";
  std::string root =
      TreeOf({{.name = "a", .type = EntryType::kFile, .size = 4, .hash = Sha256(blob)}});
  ASSERT_TRUE(Put({Make(blob), Make(root)}).ok());
  EXPECT_TRUE(absl::IsDataLoss(WalkClosure(*store_, Sha256(root)).status()));
}

TEST_F(ObjectStoreTest, ClosureRejectsCorruptTreeObject) {
  std::string not_a_tree = "just bytes";
  std::string root = TreeOf({{.name = "d", .type = EntryType::kDir, .hash = Sha256(not_a_tree)}});
  ASSERT_TRUE(Put({Make(not_a_tree), Make(root)}).ok());
  auto s = WalkClosure(*store_, Sha256(root)).status();
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_NE(s.message().find("\"d\""), std::string::npos) << "names the path: " << s;
}

TEST_F(ObjectStoreTest, ClosureChecksChunkLists) {
  std::string c1(3000, '1'), c2(4000, '2');
  std::string list = EncodeChunkList({{c1.size(), Sha256(c1)}, {c2.size(), Sha256(c2)}});
  std::string root = TreeOf({{.name = "big",
                              .type = EntryType::kFile,
                              .chunked = true,
                              .size = 7000,
                              .hash = Sha256(list)}});
  ASSERT_TRUE(Put({Make(list), Make(root), Make(c1)}).ok());
  auto result = WalkClosure(*store_, Sha256(root)).value();
  ASSERT_EQ(result.missing.size(), 1u);
  EXPECT_EQ(result.missing[0], Sha256(c2));
  ASSERT_TRUE(Put({Make(c2)}).ok());
  EXPECT_TRUE(WalkClosure(*store_, Sha256(root)).value().missing.empty());
}

}  // namespace
}  // namespace vms
